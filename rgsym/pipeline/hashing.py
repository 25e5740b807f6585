"""Content keys of executed chapters.

A chapter's *sources hash* covers exactly what can change its results:

* the **code** of its source ``book/NN_name.py`` -- the percent script reduced to its ``ast`` (markdown
  cells are comments to Python, so prose never reaches the key; see :mod:`rgsym.codehash`),
* the normalised code of every rgsym module the chapter imports, transitively (computed from the
  ``import`` statements, not from a hand-kept list; docstrings and comments stripped),
* ``requirements.txt``.

The *input hash* adds the parameters it ran with. An executed notebook is reused only while these
match. A separate *prose hash* (the raw source text) tells when only the narrative changed: then the
pipeline refreshes the notebook's markdown without executing anything.

Nothing here imports torch: the status check and the Sphinx extension stay fast.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import codehash

_INDEXES: dict = {}


def _index(root: Path) -> codehash.CodeIndex:
    """One code index per repository in a process (its caches key on file content, so it stays right)."""
    key = str(Path(root).resolve())
    if key not in _INDEXES:
        _INDEXES[key] = codehash.CodeIndex(Path(root) / "rgsym")
    return _INDEXES[key]


def chapter_modules(chapter_source: Path, index: codehash.CodeIndex) -> tuple[str, ...]:
    """The rgsym modules a chapter's code depends on: its imports and everything they import."""
    text = Path(chapter_source).read_text()
    return index.module_closure(*index.script_imports(text, str(chapter_source)))


def hashed_files(chapter_source: Path, root: Path) -> list[Path]:
    """The files a chapter's sources hash covers (also what makes a run "dirty" against git)."""
    index = _index(root)
    return [Path(chapter_source), *index.files_of(chapter_modules(chapter_source, index)),
            Path(root) / "requirements.txt"]


def code_hash_of_script(text: str, filename: str = "<chapter>") -> str:
    """SHA-256 of a script's normalised code (prose, comments and layout excluded)."""
    return hashlib.sha256(codehash.normalised_code(text, filename).encode()).hexdigest()


def sources_hash(chapter_source: Path, root: Path) -> str:
    """SHA-256 over the chapter's code, the code of the rgsym modules it imports (transitively) and
    ``requirements.txt``."""
    chapter_source, root = Path(chapter_source), Path(root)
    index = _index(root)
    h = hashlib.sha256()
    h.update(b"chapter\0" + code_hash_of_script(chapter_source.read_text(), str(chapter_source)).encode() + b"\0")
    index.update(h, chapter_modules(chapter_source, index))
    req = root / "requirements.txt"
    h.update(b"requirements.txt\0" + req.read_bytes() + b"\0")  # a missing file is an error, not skipped
    return h.hexdigest()


def is_current(meta: dict | None, root: Path) -> bool:
    """Whether an executed notebook's provenance record ``meta`` still matches its chapter's sources
    (the source file exists and its sources hash is the recorded one)."""
    if not meta:
        return False
    src = Path(root) / meta.get("source", "")
    return src.is_file() and sources_hash(src, root) == meta.get("sources_hash")


def prose_hash(chapter_source: Path) -> str:
    """SHA-256 of the chapter source as written (changes with any edit, prose included)."""
    return hashlib.sha256(Path(chapter_source).read_bytes()).hexdigest()


def canonical_params(params: dict) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def input_hash(src_hash: str, params: dict) -> str:
    """SHA-256 of a sources hash together with the (canonical JSON) parameters."""
    return hashlib.sha256((src_hash + "\0" + canonical_params(params)).encode()).hexdigest()
