"""Build-time tables for the appendices: the provenance of every chapter and figure, and the
benchmark results in ``benchmarks/results/*.json``. Rendered by the directives
``{rgsym-provenance}`` and ``{rgsym-benchmarks}`` of :mod:`rgsym.pipeline.sphinx_ext`, so the
appendices are always current with the notebooks and results they describe."""
from __future__ import annotations

import json
from pathlib import Path

from .hashing import is_current
from .params import rerun_command
from .run import META_KEY, load_notebook


def _figures(nb: dict) -> list[dict]:
    """The figures the notebook declares (:func:`rgsym.pipeline.figures.declared_figures`), each with its
    caption's glue roles replaced by the glued values (so it reads the same in the appendix)."""
    from .claims import glued
    from .figures import declared_figures, substitute_glue

    values = glued(nb)
    return [{"name": f["name"], "caption": substitute_glue(f["caption"], values)} for f in declared_figures(nb)]


def provenance_rows(root: Path) -> list[dict]:
    """One row per executed chapter of ``book/notebooks`` (sorted), with its figures."""
    rows = []
    for path in sorted((root / "book" / "notebooks").glob("*.ipynb")):
        nb = load_notebook(path)
        meta = nb.get("metadata", {}).get(META_KEY)
        if not meta:
            continue
        current = is_current(meta, root)
        rows.append({
            "chapter": meta.get("chapter", path.stem),
            "profile": meta.get("profile"),
            "device": meta.get("device"),
            "commit": str(meta.get("commit", ""))[:10] + (" (dirty)" if meta.get("dirty") else ""),
            "inputs": str(meta.get("input_hash", ""))[:12],
            "current": "yes" if current else "NO: sources changed",
            "wall_s": meta.get("wall_time_s"),
            "executed": meta.get("executed_at"),
            "command": rerun_command(meta, root),
            "stem": path.stem,
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


def _yes(ok) -> str:
    return "" if ok is None else ("yes" if ok else "NO")


def headlines(name: str, data: dict) -> list[dict]:
    """The headline numbers of one benchmark result against the targets of the issues: a list of
    ``{"benchmark", "measure", "measured", "target", "met"}`` (empty for a result it does not know)."""
    out = []

    def add(measure, measured, target="", met=None):
        out.append({"benchmark": name, "measure": measure, "measured": measured, "target": target, "met": _yes(met)})

    dev = data.get("device") or "cpu"
    if name.startswith("bench_engine_"):
        for r in data.get("rows", []):
            for k, v in r.get("engine_over", {}).items():
                t = r.get("targets", {}).get(k)
                add(f"engine over {k}, {r['models']} models ({dev}), median of {r['rounds']} interleaved rounds",
                    f"{v['median']:.2f}x ({v['min']:.2f}-{v['max']:.2f})", f">= {t['target']:g}x" if t else "",
                    t["met"] if t else None)
            t = r.get("targets", {}).get("sgemm_share")
            add(f"engine's share of the sgemm rate, {r['models']} models ({dev})", f"{100 * r['sgemm_share']:.1f} %",
                f">= {100 * t['target']:.0f} %" if t else "", t["met"] if t else None)
            t = r.get("targets", {}).get("rate_1600")
            if t:
                add(f"engine rate, {r['models']} models ({dev})", f"{r['rates']['rgsym engine']['median']:.3g}/s",
                    f">= {t['target']:.0e}/s", t["met"])
    elif name.startswith("bench_book_"):
        for r in data.get("chapters", []):
            add(f"{r['chapter']}, {data.get('profile')} profile from an empty cache ({dev})",
                f"{r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU" + ("" if r.get("ok") else " (FAILED)"))
        add(f"whole book, {data.get('profile')} profile from an empty cache ({dev})",
            f"{data['total_wall_s'] / 60:.1f} min" + ("" if data.get("complete") else " (incomplete)"),
            f"<= {data['target_s'] / 60:g} min", data.get("target_met"))
    elif name.startswith("bench_gnn_"):
        for r in data.get("rows", []):
            target, rng = r.get("target", ""), r.get("speedup_range")
            add(f"GNN ensemble over a plain per-model PyG loop, {r['models']} models ({dev}), median of "
                f"{r.get('rounds')} interleaved rounds", f"{r['speedup']:.2f}x" + (f" ({rng[0]:.2f}-{rng[1]:.2f})" if rng else ""),
                target.split(":")[0] if target else "", ("ok" in target) if target else None)
    elif name in ("bench_engine", "bench_gnn"):
        for r in data.get("rows", []):
            target = r.get("target", "")
            add(f"{r['models']} models vs a plain per-model loop ({dev})", f"{r['speedup']:.2f}x",
                target.split(":")[0] if target else "", ("ok" in target) if target else None)
    elif name == "bench_kstat":
        t = data.get("target", {})
        if t:
            add("k-statistics orders 1-8 over 1e7 samples", f"{t['measured_seconds_scaled_to_1e7']:.2f} s",
                f"<= {t['limit_seconds']:g} s", t.get("met"))
        for k, v in data.get("ratios", {}).items():
            if isinstance(v, dict):  # interleaved rounds: median (range)
                add(k.replace(" / ", " over ") + f", median of {data.get('params', {}).get('rounds', '?')} interleaved rounds",
                    f"{v['median']:.2f}x ({v['min']:.2f}-{v['max']:.2f})")
            elif k.startswith("scipy"):
                add(k.replace("_", " ").replace(" / ", " over "), f"{v:.1f}x")
    elif name == "bench_logging":
        lim = data.get("target_extra_fraction")
        for r in data.get("rows", []):
            met = r.get("meets_target", r["extra_fraction"] <= lim if lim is not None else None)  # the script's own test
            add(f"symmetry logging cost, {r['ensemble']}", f"+{100 * r['extra_fraction']:.1f}%",
                f"<= {100 * lim:.0f}%" if lim is not None else "", met)
    elif name == "bench_propagation":
        add(f"cumulant propagation, {data.get('network', '')}, order {data.get('order')}",
            f"{data['propagation_ms']:.1f} ms", f"<= {data['target_ms']:g} ms", data.get("target_met"))
        for r in data.get("rows", []):
            if r.get("method", "").startswith("Monte Carlo,"):
                rng = r.get("speedup_range")
                add(f"speed-up over {r['method']}" + (f", median of {data.get('rounds')} interleaved rounds" if rng else ""),
                    f"{r['speedup']:.3g}x" + (f" ({rng[0]:.3g}-{rng[1]:.3g})" if rng else ""))
    elif name == "bench_pipeline":
        for r in data.get("chapters", []):
            t = r.get("target_s")
            add(f"{r['chapter']} smoke execution", f"{r['smoke_seconds']:.0f} s", f"<= {t} s" if t else "",
                r.get("meets_target"))
        rb = data.get("rebuild", {})
        if rb:
            worst = max(rb.get("rebuild, nothing changed, incremental (s)", 0),
                        rb.get("rebuild, nothing changed, empty _build (s)", 0))
            add("rebuild with nothing changed", f"{worst:.0f} s", f"<= {rb.get('rebuild target (s)', 30)} s",
                rb.get("rebuild meets target"))
    return out
