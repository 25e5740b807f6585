"""Execute chapters with papermill, keyed on content (``python -m rgsym.pipeline run``).

A chapter is executed only when no notebook for it exists, or when the recorded input hash differs
from the current one (its source, the rgsym science sources, requirements.txt or the parameters
changed). When no parameter is given on the command line, a notebook whose *sources* are current is
reused whatever parameters it ran with -- so the committed paper-profile notebooks are kept -- and
stale or missing chapters are executed with the defaults of their parameters cell (the smoke
profile on CPU).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from ..config import DEVICES, PROFILES, check_choice
from .chapters import Chapter, find_chapters, parse_parameters, repo_root
from .hashing import hashed_files, input_hash, sources_hash

META_KEY = "rgsym"


class ChapterFailed(RuntimeError):
    """A chapter raised while executing; the failed notebook is kept for inspection."""


def parse_value(text: str):
    """Parse a ``-p name value`` value as papermill does: numbers, booleans, None and lists; else a string."""
    if text == "None":
        return None
    try:
        val = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return val if isinstance(val, (bool, int, float, list)) else text


def resolve_params(chapter: Chapter, overrides: dict) -> dict:
    """The chapter's defaults updated by ``overrides``, validated before anything runs."""
    defaults = chapter.defaults
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ValueError(
            f"chapter {chapter.stem} has no parameter {', '.join(map(repr, unknown))}; "
            f"valid parameters are: {', '.join(defaults)}"
        )
    params = {**defaults, **overrides}
    check_choice("profile", params["profile"], PROFILES)
    check_choice("device", params["device"], DEVICES)
    return params


def rerun_command(meta: dict, root: Path | None = None) -> str:
    """The command that executes a notebook again as it was made: its profile, and every other
    parameter whose value differs from the chapter's default (read from the source under ``root``)."""
    import shlex

    defaults = {}
    if root is not None:
        try:
            defaults = parse_parameters((Path(root) / meta.get("source", "")).read_text())
        except (OSError, ValueError, SyntaxError):
            defaults = {}
    params = meta.get("parameters", {})
    args = []
    for k, v in params.items():
        if k == "profile" or k not in defaults or defaults[k] != v:
            text = "None" if v is None else v if isinstance(v, str) else json.dumps(v)
            args.append(f"-p {k} {shlex.quote(text)}")
    return " ".join(["python -m rgsym.pipeline run", str(meta.get("chapter", "")), *args])


def read_meta(path: Path) -> dict | None:
    try:
        with open(path) as fh:
            return json.load(fh).get("metadata", {}).get(META_KEY)
    except (OSError, ValueError):
        return None


def git_info(root: Path, paths: list[Path]) -> dict:
    def git(*args):
        try:
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--", *[str(p) for p in paths])) if commit else None
    return {"commit": commit or "unknown", "dirty": dirty}


def decide(chapter: Chapter, params: dict, explicit: bool, out_dir: Path, root: Path, force: bool = False):
    """Return ``(reuse: bool, reason: str, src_hash, in_hash)`` for one chapter."""
    src_hash = sources_hash(chapter.source, root)
    in_hash = input_hash(src_hash, params)
    meta = read_meta(chapter.notebook_path(out_dir))
    if force:
        return False, "forced", src_hash, in_hash
    if meta is None:
        return False, "no executed notebook", src_hash, in_hash
    if meta.get("input_hash") == in_hash:
        return True, "inputs unchanged", src_hash, in_hash
    if not explicit and meta.get("sources_hash") == src_hash:
        return True, f"sources unchanged (kept its {meta.get('profile')} run)", src_hash, in_hash
    if meta.get("sources_hash") != src_hash:
        return False, "sources changed", src_hash, in_hash
    return False, "parameters changed", src_hash, in_hash


def execute_chapter(chapter: Chapter, params: dict, out_dir: Path, *, root: Path, src_hash: str,
                    in_hash: str, progress: bool = False) -> Path:
    """Execute one chapter with papermill; write ``out_dir/<stem>.ipynb`` with provenance metadata."""
    import jupytext
    import papermill as pm
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    failed_dir = out_dir / "_failed"
    nb = jupytext.read(chapter.source)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    injected = {k: v for k, v in params.items() if chapter.defaults.get(k, object()) != v}
    tmp = out_dir / f".{chapter.stem}.running.ipynb"
    fd, prov_file = tempfile.mkstemp(prefix="rgsym-prov-", suffix=".json")
    os.close(fd)
    # the kernel inherits these: where to write the provenance record, and no progress bars in the
    # stored outputs (a rendered page would otherwise carry hundreds of tqdm updates)
    env = {"RGSYM_PROVENANCE_FILE": prov_file, "RGSYM_QUIET": "1"}
    old_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(nb, str(tmp), parameters=injected, kernel_name="python3", language="python",
                            cwd=str(chapter.book_dir), progress_bar=progress, log_output=False)
    except pm.PapermillExecutionError as exc:
        failed_dir.mkdir(exist_ok=True)
        dest = failed_dir / f"{chapter.stem}.ipynb"
        tmp.replace(dest)
        raise ChapterFailed(
            f"chapter {chapter.stem} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
            f"  the failed notebook is {dest}"
        ) from None
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    wall = time.perf_counter() - t0
    try:
        with open(prov_file) as fh:
            ran_on = json.load(fh)
    except (OSError, ValueError):
        ran_on = {}
    os.unlink(prov_file)

    with open(tmp) as fh:
        out = json.load(fh)
    tracked = hashed_files(chapter.source, root)
    out["metadata"][META_KEY] = {
        "chapter": chapter.stem,
        "source": chapter.source.resolve().relative_to(root.resolve()).as_posix(),
        "input_hash": in_hash,
        "sources_hash": src_hash,
        "parameters": params,
        "profile": params["profile"],
        "device_requested": params["device"],
        "device": ran_on.get("device", "unknown"),
        **git_info(root, tracked),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "wall_time_s": round(wall, 2),
        "executed_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    target = chapter.notebook_path(out_dir)
    with open(tmp, "w") as fh:
        json.dump(out, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    tmp.replace(target)
    (failed_dir / f"{chapter.stem}.ipynb").unlink(missing_ok=True)
    return target


def run_chapters(select=None, overrides: dict | None = None, *, out_dir=None, force=False,
                 book_dir=None, progress=False, log=print) -> list[dict]:
    """Execute (or reuse) the selected chapters; returns one summary dict per chapter.

    Every chapter's parameters are validated before the first one executes.
    """
    root = repo_root(book_dir or Path.cwd())
    book_dir = Path(book_dir) if book_dir else root / "book"
    chapters = find_chapters(book_dir, select)
    overrides = dict(overrides or {})
    explicit = bool(overrides)
    if not select and len(chapters) > 1:
        known = set().union(*(c.defaults for c in chapters))
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"no chapter has parameter {', '.join(map(repr, unknown))}; "
                             f"valid parameters are: {', '.join(sorted(known))}")
    plans = []
    for ch in chapters:
        # with several chapters, each takes the parameters it knows; a named chapter must know them all
        own = overrides if select or len(chapters) == 1 else {k: v for k, v in overrides.items() if k in ch.defaults}
        plans.append((ch, resolve_params(ch, own)))
    out_dir = Path(out_dir) if out_dir else book_dir / "notebooks"
    summary = []
    for ch, params in plans:
        reuse, reason, src_hash, in_hash = decide(ch, params, explicit, out_dir, root, force)
        if reuse:
            log(f"[reuse]   {ch.stem}: {reason}")
            summary.append({"chapter": ch.stem, "executed": False, "reason": reason})
            continue
        log(f"[execute] {ch.stem}: {reason}; profile={params['profile']}, device={params['device']}")
        t0 = time.perf_counter()
        path = execute_chapter(ch, params, out_dir, root=root, src_hash=src_hash, in_hash=in_hash, progress=progress)
        dt = time.perf_counter() - t0
        log(f"          wrote {path} in {dt:.1f} s")
        summary.append({"chapter": ch.stem, "executed": True, "reason": reason, "seconds": dt, "path": str(path)})
    return summary
