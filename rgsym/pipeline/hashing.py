"""Content keys of executed chapters.

A chapter's *sources hash* covers what can change its results: its own source file, every file of
the rgsym package except this pipeline sub-package (which only runs and renders), and
``requirements.txt``. The *input hash* adds the parameters it ran with. An executed notebook is
reused only while these match.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path


def _science_files(root: Path) -> list[Path]:
    pkg = root / "rgsym"
    return sorted(
        p for p in pkg.rglob("*.py")
        if "pipeline" not in p.relative_to(pkg).parts and "__pycache__" not in p.parts
    )


def hashed_files(chapter_source: Path, root: Path) -> list[Path]:
    """The files a chapter's sources hash covers, in hashing order (also what makes a run "dirty")."""
    return [Path(chapter_source), *_science_files(root), root / "requirements.txt"]


def sources_hash(chapter_source: Path, root: Path) -> str:
    """SHA-256 over the chapter source, the rgsym science sources and requirements.txt."""
    h = hashlib.sha256()
    for p in hashed_files(chapter_source, root):
        rel = p.resolve().relative_to(root.resolve()).as_posix()
        h.update(rel.encode() + b"\0")
        h.update(p.read_bytes() if p.exists() else b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def canonical_params(params: dict) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def input_hash(src_hash: str, params: dict) -> str:
    """SHA-256 of a sources hash together with the (canonical JSON) parameters."""
    return hashlib.sha256((src_hash + "\0" + canonical_params(params)).encode()).hexdigest()
