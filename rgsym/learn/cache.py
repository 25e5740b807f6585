"""Content-addressed cache of heavy results (trained ensembles and their measures).

A result is stored under a key that hashes everything that determines it: the full configuration and
the code of the rgsym module that runs the computation together with every rgsym module it imports
(:func:`rgsym.codehash.code_hash`, docstrings and comments stripped). Rerunning with the same inputs
therefore costs nothing, and any change to the code that computes a result invalidates it by itself.
Sweeps save one file per chunk, so an interrupted sweep resumes from the chunks that finished.

Location: ``$RGSYM_CACHE_DIR`` if set, else ``~/.cache/rgsym``. Files are written atomically
(temporary file + rename) with :func:`torch.save` and read with ``weights_only=True`` (plain data and
tensors only).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """The cache root: ``$RGSYM_CACHE_DIR`` or ``~/.cache/rgsym`` (created if missing)."""
    root = os.environ.get("RGSYM_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "rgsym")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_key(*parts: Any) -> str:
    """SHA-256 (hex, 24 chars) of the JSON of ``parts`` (dict keys sorted)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def save(path: Path, obj: Any) -> None:
    """Write ``obj`` (dicts/lists of plain data and tensors) atomically to ``path``."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: Path) -> Any:
    """Read what :func:`save` wrote (tensors on the CPU)."""
    import torch

    return torch.load(Path(path), map_location="cpu", weights_only=True)


class Store:
    """A folder of cached results under :func:`cache_dir` ``/ namespace``, one file per key."""

    def __init__(self, namespace: str):
        self.path = cache_dir() / namespace

    def file(self, key: str) -> Path:
        return self.path / f"{key}.pt"

    def __contains__(self, key: str) -> bool:
        return self.file(key).exists()

    def get(self, key: str) -> Any:
        return load(self.file(key))

    def put(self, key: str, obj: Any) -> None:
        save(self.file(key), obj)

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.path.glob("*.pt")) if self.path.exists() else []
