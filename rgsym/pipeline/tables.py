"""Build-time tables for the appendices: the provenance of every chapter and figure, and the
benchmark results in ``benchmarks/results/*.json``. Rendered by the directives
``{rgsym-provenance}`` and ``{rgsym-benchmarks}`` of :mod:`rgsym.pipeline.sphinx_ext`, so the
appendices are always current with the notebooks and results they describe."""
from __future__ import annotations

import json
from pathlib import Path

from .hashing import sources_hash
from .run import META_KEY


def _figures(nb: dict) -> list[str]:
    """One caption-ish line per figure: the figure's suptitle/title if the cell set a glue or a
    comment, else the cell's first comment line."""
    out = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        n = sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
        if not n:
            continue
        src = "".join(cell.get("source", "")).splitlines()
        label = next((ln.lstrip("# ").strip() for ln in src if ln.startswith("#") and ln.lstrip("# ").strip()), "")
        out += [label or "figure"] * n
    return out


def provenance_rows(root: Path) -> list[dict]:
    """One row per executed chapter of ``book/notebooks`` (sorted), with its figures."""
    rows = []
    for path in sorted((root / "book" / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        meta = nb.get("metadata", {}).get(META_KEY)
        if not meta:
            continue
        src = root / meta.get("source", "")
        current = src.is_file() and sources_hash(src, root) == meta.get("sources_hash")
        params = meta.get("parameters", {})
        extra = " ".join(f"-p {k} {v}" for k, v in params.items() if k in ("profile", "device"))
        rows.append({
            "chapter": meta.get("chapter", path.stem),
            "profile": meta.get("profile"),
            "device": meta.get("device"),
            "commit": str(meta.get("commit", ""))[:10] + (" (dirty)" if meta.get("dirty") else ""),
            "inputs": str(meta.get("input_hash", ""))[:12],
            "current": "yes" if current else "NO: sources changed",
            "wall_s": meta.get("wall_time_s"),
            "executed": meta.get("executed_at"),
            "command": f"python -m rgsym.pipeline run {meta.get('chapter', path.stem)} {extra}".strip(),
            "figures": _figures(nb),
        })
    return rows


def benchmark_results(root: Path) -> list[tuple[str, dict]]:
    """``(name, data)`` for every ``benchmarks/results/*.json``, sorted by name."""
    out = []
    for path in sorted((root / "benchmarks" / "results").glob("*.json")):
        try:
            out.append((path.stem, json.loads(path.read_text())))
        except ValueError:
            continue
    return out
