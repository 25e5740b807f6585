"""Pipeline timings: each chapter's smoke execution on this machine, and a rebuild of the whole book
with nothing changed (every chapter reused, then `jupyter-book build book/`).

    python benchmarks/bench_pipeline.py [--chapters 01 02 ...]

Targets: Chapter 1 smoke <= 60 s on 2 CPU cores and a no-change rebuild <= 30 s (issue 2); Chapters 2
and 6 smoke <= 120 s each (issues 3, 6); Chapters 4 and 5 smoke <= 180 s together (issue 5).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMOKE_TARGETS = {"01_clt_rg": 60, "02_mlps": 120, "03_cumulant_propagation": 120, "06_symmetry_breaking": 120}


def copy_repo(dest: Path) -> Path:
    for name in ("_config.yml", "_toc.yml", "requirements.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "rgsym", dest / "rgsym", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "benchmarks", dest / "benchmarks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "book", dest / "book", symlinks=True, ignore=shutil.ignore_patterns("_build", "notebooks"))
    return dest


def timed(cmd, cwd, env=None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True, env=env)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chapters", nargs="*", default=None)
    args = ap.parse_args()
    py = sys.executable
    jb = str(Path(py).parent / "jupyter-book")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_repo(Path(tmp))
        env = {**os.environ, "RGSYM_CACHE_DIR": str(Path(tmp) / "cache"), "RGSYM_QUIET": "1"}
        stems = sorted(p.stem for p in (root / "book").glob("[0-9][0-9]_*.py"))
        if args.chapters:
            stems = [s for s in stems if s in args.chapters or s[:2] in args.chapters]
        for stem in stems:
            sec = timed([py, "-m", "rgsym.pipeline", "run", stem, "-p", "profile", "smoke", "-p", "device", "cpu"], root, env)
            target = SMOKE_TARGETS.get(stem)
            rows.append({"chapter": stem, "smoke_seconds": round(sec, 1), "target_s": target,
                         "meets_target": None if target is None else sec <= target})
            print(rows[-1])
        pair = [r for r in rows if r["chapter"][:2] in ("04", "05")]
        if len(pair) == 2:
            sec = sum(r["smoke_seconds"] for r in pair)
            rows.append({"chapter": "04 + 05 together", "smoke_seconds": round(sec, 1), "target_s": 180,
                         "meets_target": sec <= 180})
        first_build = timed([jb, "build", "book/"], root, env)
        rebuild = timed([py, "-m", "rgsym.pipeline", "run"], root, env) + timed([jb, "build", "book/"], root, env)
        shutil.rmtree(root / "_build")
        clean_rebuild = timed([py, "-m", "rgsym.pipeline", "run"], root, env) + timed([jb, "build", "book/"], root, env)
    summary = {
        "first build after executing (s)": round(first_build, 1),
        "rebuild, nothing changed, incremental (s)": round(rebuild, 1),
        "rebuild, nothing changed, empty _build (s)": round(clean_rebuild, 1),
        "rebuild target (s)": 30,
        "rebuild meets target": max(rebuild, clean_rebuild) <= 30,
    }
    print(summary)
    save_result("bench_pipeline", {
        "title": "Book pipeline: chapter execution and no-change rebuild",
        "description": "Each chapter executed alone in the smoke profile on the CPU (kernel start included), "
                       "then the whole book rebuilt with every chapter reused: `python -m rgsym.pipeline run` "
                       "followed by `jupyter-book build book/`.",
        "chapters": rows,
        "rebuild": summary,
    })


if __name__ == "__main__":
    main()
