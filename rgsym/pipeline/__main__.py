"""Command line of the book pipeline.

    python -m rgsym.pipeline run [CHAPTER ...] [-p NAME VALUE ...] [--force] [--out DIR]
    python -m rgsym.pipeline status

CHAPTER is a stem (``01_clt_rg``) or its number (``01``); without one, every chapter runs.
``-p`` sets a parameter of the chapters' parameters cell, as papermill's ``-p`` does.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .chapters import find_chapters, repo_root
from .hashing import sources_hash
from .run import ChapterFailed, parse_value, read_meta, run_chapters


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rgsym.pipeline", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="execute chapters whose inputs changed (reuse the others)")
    r.add_argument("chapters", nargs="*", help="chapter stems or numbers (default: all)")
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="set a parameter, e.g. -p profile paper -p device cuda -p b 3")
    r.add_argument("--force", action="store_true", help="execute even when an up-to-date notebook exists")
    r.add_argument("--out", type=Path, default=None, help="write notebooks here instead of book/notebooks/")
    r.add_argument("--progress", action="store_true", help="show papermill's cell progress bar")
    s = sub.add_parser("status", help="show which executed notebooks are current")
    s.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    if args.cmd == "status":
        root = repo_root(Path.cwd())
        out = args.out or root / "book" / "notebooks"
        for ch in find_chapters(root / "book"):
            meta = read_meta(ch.notebook_path(out))
            if meta is None:
                state = "missing"
            else:
                current = meta.get("sources_hash") == sources_hash(ch.source, root)
                state = f"{'current' if current else 'STALE'} ({meta.get('profile')}, {meta.get('device')}, {meta.get('executed_at')})"
            print(f"{ch.stem:28s} {state}")
        return 0

    overrides = {name: parse_value(value) for name, value in args.parameter}
    try:
        run_chapters(args.chapters or None, overrides, out_dir=args.out, force=args.force, progress=args.progress)
    except (ValueError, ChapterFailed, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
