"""The whole book from scratch: every chapter of one profile executed with an empty network cache (issue 14).

    python benchmarks/bench_book.py --profile smoke        # about 5 minutes on 2 CPU cores
    python benchmarks/bench_book.py --profile paper        # about 30 minutes on 2 CPU cores

Each chapter is executed in order by the pipeline (``python -m rgsym.pipeline run -p profile P --out
TMP/notebooks CHAPTER``), exactly as ``make book`` executes it, with ``RGSYM_CACHE_DIR`` pointing at a
fresh folder. So the first chapter to need a grid trains it, and a later chapter that reuses it
(Chapters 3 and 5 propagate the networks of Chapters 2 and 4) finds it cached, as in a real first build.
Nothing is written to the book: the notebooks and the cache go to a temporary folder that is removed
afterwards (``--keep`` keeps it).

Per chapter it records the wall time and the CPU time of the pipeline and everything it started (the
kernel and its sweep workers: ``RUSAGE_CHILDREN``), and writes
``benchmarks/results/bench_book_<profile>_<device>.json``.
Targets (issue 14, 2 CPU cores): the paper profile <= 15 min in total, the smoke profile <= 4 min.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = {"paper": 15 * 60, "smoke": 4 * 60}


def _chapters() -> list[str]:
    return sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.py"))


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=tuple(TARGET_S), default="smoke")
    ap.add_argument("--device", default="cpu", help="the chapters' device parameter (cpu, cuda, auto)")
    ap.add_argument("--chapters", nargs="*", default=None, help="chapter stems (default: all, in order)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary notebooks and cache")
    args = ap.parse_args(argv)
    chapters = args.chapters or _chapters()
    unknown = sorted(set(chapters) - set(_chapters()))
    if unknown:
        ap.error(f"unknown chapters {unknown}; choose from {_chapters()}")

    tmp = Path(tempfile.mkdtemp(prefix="rgsym-book-"))
    env = {**os.environ, "RGSYM_CACHE_DIR": str(tmp / "cache"), "RGSYM_QUIET": "1"}
    rows = []
    try:
        for ch in chapters:
            cmd = [sys.executable, "-m", "rgsym.pipeline", "run", "-p", "profile", args.profile,
                   "-p", "device", args.device, "--out", str(tmp / "notebooks"), "--no-progress", ch]
            c0, t0 = _cpu_children(), time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
            wall, cpu = time.perf_counter() - t0, _cpu_children() - c0
            rows.append({"chapter": ch, "wall_s": wall, "cpu_s": cpu, "ok": proc.returncode == 0})
            print(f"{ch:<28s} {wall:8.1f} s wall {cpu:8.1f} s CPU  {'ok' if proc.returncode == 0 else 'FAILED'}",
                  flush=True)
            if proc.returncode:
                print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
                break
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    total = sum(r["wall_s"] for r in rows)
    ok = all(r["ok"] for r in rows) and len(rows) == len(chapters)
    target = TARGET_S[args.profile]
    print(f"total {total / 60:.1f} min wall, {sum(r['cpu_s'] for r in rows) / 60:.1f} min CPU; target "
          f"<= {target / 60:g} min: {'met' if ok and total <= target else 'NOT met'}")
    report = {"what": f"every chapter of the {args.profile} profile executed from an empty network cache, in order",
              "profile": args.profile, "device": args.device, "chapters": rows, "total_wall_s": total,
              "total_cpu_s": sum(r["cpu_s"] for r in rows), "complete": ok, "target_s": target,
              "target_met": bool(ok and total <= target)}
    save_result(f"bench_book_{args.profile}_{args.device}", report)
    return report


if __name__ == "__main__":
    main()
