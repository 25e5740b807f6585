"""Content-addressed cache of heavy results (trained ensembles and their measures).

A result is stored under a key that hashes everything that determines it: the full configuration and
the code of the rgsym module that runs the computation together with every rgsym module it imports
(:func:`rgsym.codehash.code_hash`, docstrings and comments stripped). Rerunning with the same inputs
therefore costs nothing, and any change to the code that computes a result invalidates it by itself.
Sweeps save one file per chunk, so an interrupted sweep resumes from the chunks that finished.

Location: ``$RGSYM_CACHE_DIR`` if set, else ``~/.cache/rgsym``. Files are written atomically (temporary
file, fsync, rename, fsync of the folder) with :func:`torch.save` behind a header that carries the
SHA-256 of the payload, and read with ``weights_only=True`` (plain data and tensors only).

**The cache heals.** A file that fails to load -- truncated, zero-length, zeroed, or whose checksum no
longer matches -- is reported with a :class:`CacheWarning` naming it, moved to ``<namespace>/quarantine/``
and treated as missing, so the result is recomputed: a corrupt chunk never blocks a rerun.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

MAGIC = b"RGSYM-CACHE-1\n"
"""First bytes of every cache file; then the payload's SHA-256 (hex) and a newline, then the payload."""


class CacheWarning(UserWarning):
    """A cached result could not be read; it was quarantined and will be recomputed."""


class CorruptEntry(OSError):
    """A cache file that is not a complete, intact result (the message names the file and the reason)."""


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
    """Write ``obj`` (dicts/lists of plain data and tensors) atomically and durably to ``path``."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(obj, buf)
    payload = buf.getvalue()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def load(path: Path) -> Any:
    """Read what :func:`save` wrote (tensors on the CPU); :class:`CorruptEntry` if the file is not intact."""
    import torch

    path = Path(path)
    data = path.read_bytes()
    head = len(MAGIC) + 65
    if not data.startswith(MAGIC) or len(data) < head or data[head - 1:head] != b"\n":
        raise CorruptEntry(f"{path}: not an rgsym cache file (truncated, zeroed or foreign; {len(data)} bytes)")
    digest, payload = data[len(MAGIC):head - 1].decode("ascii", "replace"), data[head:]
    if hashlib.sha256(payload).hexdigest() != digest:
        raise CorruptEntry(f"{path}: checksum mismatch ({len(payload)} payload bytes)")
    try:
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # an intact checksum over a payload torch cannot read
        raise CorruptEntry(f"{path}: unreadable payload ({exc.__class__.__name__}: {exc})") from None


def _log(event: str, namespace: str, key: str, obj: Any) -> None:
    """Append a line to ``$RGSYM_CACHE_LOG`` (set by the book pipeline): a result loaded from the cache
    (``hit``) or computed and stored now (``put``), with the compute seconds it took when it was made,
    so that a chapter's provenance can tell its run time from the compute behind its results."""
    path = os.environ.get("RGSYM_CACHE_LOG")
    if not path:
        return
    prov = obj.get("provenance", {}) if isinstance(obj, dict) else {}
    seconds = prov.get("total_seconds", prov.get("seconds")) if isinstance(prov, dict) else None
    try:
        with open(path, "a") as fh:
            fh.write(json.dumps({"event": event, "namespace": namespace, "key": key, "seconds": seconds}) + "\n")
    except OSError:  # provenance only: never fail a computation over it
        pass


class Store:
    """A folder of cached results under :func:`cache_dir` ``/ namespace``, one file per key."""

    def __init__(self, namespace: str):
        self.namespace = namespace
        self.path = cache_dir() / namespace
        self._loaded: dict[str, Any] = {}

    def file(self, key: str) -> Path:
        return self.path / f"{key}.pt"

    def __contains__(self, key: str) -> bool:
        """Whether an intact result is stored under ``key`` (it is read once here, and a corrupt file is
        quarantined with a :class:`CacheWarning`, so that the caller recomputes it)."""
        if key in self._loaded:
            return True
        f = self.file(key)
        if not f.exists():
            return False
        try:
            self._loaded[key] = load(f)
        except (CorruptEntry, OSError) as exc:
            self.quarantine(key, str(exc))
            return False
        return True

    def get(self, key: str) -> Any:
        obj = self._loaded.pop(key) if key in self._loaded else load(self.file(key))
        _log("hit", self.namespace, key, obj)
        return obj

    def quarantine(self, key: str, reason: str) -> Path | None:
        """Move a corrupt file out of the way (to ``quarantine/``) and warn, naming it."""
        f = self.file(key)
        dest = self.path / "quarantine" / f"{key}.{time.strftime('%Y%m%dT%H%M%S')}.pt"
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, dest)
        except OSError:
            dest = None
        warnings.warn(f"rgsym cache: {reason}; moved to {dest} and recomputing", CacheWarning, stacklevel=3)
        return dest

    def put(self, key: str, obj: Any) -> None:
        save(self.file(key), obj)
        _log("put", self.namespace, key, obj)

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.path.glob("*.pt")) if self.path.exists() else []
