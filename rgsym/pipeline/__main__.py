"""Command line of the book pipeline.

    python -m rgsym.pipeline run [CHAPTER ...] [-p NAME VALUE ...] [--force] [--out DIR] [--replace]
    python -m rgsym.pipeline status
    python -m rgsym.pipeline params CHAPTER
    python -m rgsym.pipeline figure CHAPTER NAME [-p NAME VALUE ...] [--out DIR]

CHAPTER is a stem (``01_clt_rg``) or its number (``01``); without one, every chapter runs.
``-p`` sets a parameter of the chapters' parameters cell, converted as papermill's ``-p`` converts it;
``-y YAML`` and ``-f FILE.yaml`` set several at once (lists included), ``-p`` winning over both.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .chapters import find_chapters, repo_root
from .hashing import is_current
from .params import describe_parameters, load_yaml_parameters, parse_value
from .run import ChapterFailed, read_meta, run_chapters


def _terminate(signum, frame):
    """SIGTERM (a scheduler's kill, ``pkill``, a CI timeout) unwinds like Ctrl-C, so that the running
    chapter's temporary notebook, its lock and its kernel are cleaned up by the same ``finally`` blocks."""
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rgsym.pipeline", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="execute chapters whose inputs changed (reuse the others)")
    r.add_argument("chapters", nargs="*", help="chapter stems or numbers (default: all)")
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="set a parameter, e.g. -p profile paper -p device cuda -p b 3")
    r.add_argument("-y", "--parameters_yaml", default=None, metavar="YAML",
                   help="parameters as a YAML mapping, e.g. -y '{laws: [uniform, laplace]}'")
    r.add_argument("-f", "--parameters_file", type=Path, default=None, metavar="FILE",
                   help="parameters from a YAML file (as papermill's -f)")
    r.add_argument("--force", action="store_true", help="execute even when an up-to-date notebook exists")
    r.add_argument("--out", type=Path, default=None, help="write notebooks here instead of book/notebooks/")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show papermill's cell progress bar (default: when stdout is a terminal)")
    r.add_argument("--replace", action="store_true",
                   help="allow replacing a paper-profile notebook by a run of another profile or parameters "
                        "(without it such runs are written to runs/)")
    s = sub.add_parser("status", help="show which executed notebooks are current")
    s.add_argument("--out", type=Path, default=None)
    pp = sub.add_parser("params", help="list a chapter's parameters with defaults, types and valid values")
    pp.add_argument("chapter", help="chapter stem or number")
    fg = sub.add_parser("figure", help="regenerate one figure: execute its chapter (reusing cached results) "
                                       "with the parameters of its page and write the figure's PNG")
    fg.add_argument("chapter", help="chapter stem or number")
    fg.add_argument("name", help="the figure's label, e.g. fig-c1-laws")
    fg.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    fg.add_argument("--out", type=Path, default=None, help="folder for the PNG (default runs/figures/)")
    args = ap.parse_args(argv)

    if args.cmd == "figure":
        from .figures import regenerate

        try:
            regenerate(args.chapter, args.name, {n: parse_value(v) for n, v in args.parameter}, out=args.out)
        except (ValueError, ChapterFailed, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2 if isinstance(exc, ValueError) else 1
        return 0

    if args.cmd == "params":
        try:
            (ch,) = find_chapters(repo_root(Path.cwd()) / "book", [args.chapter])
        except (ValueError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"parameters of {ch.stem} (set with -p NAME VALUE, -y YAML or -f FILE.yaml):")
        for row in describe_parameters(ch):
            print(f"  {row['name']:16s} = {row['default']!r:12s} [{row['type']}]  {row['description']}")
        return 0

    if args.cmd == "status":
        try:
            root = repo_root(Path.cwd())
        except FileNotFoundError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        out = args.out or root / "book" / "notebooks"
        for ch in find_chapters(root / "book"):
            meta = read_meta(ch.notebook_path(out))
            if meta is None:
                state = "missing"
            else:
                state = f"{'current' if is_current(meta, root) else 'STALE'} ({meta.get('profile')}, {meta.get('device')}, {meta.get('executed_at')})"
            failed = out / "_failed" / f"{ch.stem}.ipynb"
            if failed.exists() and (meta is None or failed.stat().st_mtime > ch.notebook_path(out).stat().st_mtime):
                state += f"; a newer run FAILED: {failed}"
            print(f"{ch.stem:28s} {state}")
        return 0

    try:
        if args.out is not None and args.out.exists() and not args.out.is_dir():
            raise ValueError(f"--out {args.out} is a file; give a folder for the executed notebooks")
        if args.parameters_file is not None and not args.parameters_file.is_file():
            raise ValueError(f"-f {args.parameters_file}: no such file")
        overrides = load_yaml_parameters(file=args.parameters_file, text=args.parameters_yaml)
        overrides.update({name: parse_value(value) for name, value in args.parameter})
        run_chapters(args.chapters or None, overrides, out_dir=args.out, force=args.force,
                     progress=sys.stdout.isatty() if args.progress is None else args.progress,
                     replace=args.replace)
    except (ValueError, ChapterFailed, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    return 0


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. `status | head`: the reader left, nothing is wrong
        sys.stderr.close()
        sys.exit(0)
