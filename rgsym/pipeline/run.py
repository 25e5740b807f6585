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
import uuid
from datetime import datetime, timezone
from pathlib import Path

from .chapters import Chapter, find_chapters, repo_root
from .params import resolve_params
from .launch import make_launch_copy, unpinned
from .hashing import code_hash_of_script, hashed_files, input_hash, prose_hash, sources_hash

META_KEY = "rgsym"


class ChapterFailed(RuntimeError):
    """A chapter raised while executing; the failed notebook is kept for inspection."""


_NOTEBOOKS: dict[str, tuple] = {}


def load_notebook(path: Path) -> dict:
    """An executed notebook as a dict, parsed once per version of the file (keyed on its modification
    time and size), so that a book build reading every page for the banner, the claims page and the
    appendices parses each notebook once. Treat the result as read-only. ``OSError``/``ValueError``
    propagate."""
    path = Path(path)
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _NOTEBOOKS.get(str(path.resolve()))
    if hit is None or hit[0] != stamp:
        with open(path) as fh:
            hit = _NOTEBOOKS[str(path.resolve())] = (stamp, json.load(fh))
    return hit[1]


def read_meta(path: Path) -> dict | None:
    try:
        return load_notebook(path).get("metadata", {}).get(META_KEY)
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
    """Return ``(reuse: bool, reason: str, src_hash, in_hash, meta)`` for one chapter (``meta``: the
    provenance record of its executed notebook, ``None`` if there is none)."""
    src_hash = sources_hash(chapter.source, root)
    in_hash = input_hash(src_hash, params)
    meta = read_meta(chapter.notebook_path(out_dir))
    if force:
        return False, "forced", src_hash, in_hash, meta
    if meta is None:
        return False, "no executed notebook", src_hash, in_hash, meta
    if meta.get("input_hash") == in_hash:
        return True, "inputs unchanged", src_hash, in_hash, meta
    if not explicit and meta.get("sources_hash") == src_hash:
        return True, f"sources unchanged (kept its {meta.get('profile')} run)", src_hash, in_hash, meta
    if meta.get("sources_hash") != src_hash:
        return False, "sources changed", src_hash, in_hash, meta
    return False, "parameters changed", src_hash, in_hash, meta


VISIBILITY_TAGS = ("remove-cell", "remove-input", "remove-output", "hide-cell", "hide-input", "hide-output")


def present(cells: list) -> None:
    """Tag code cells for reading, in place: code inputs hidden behind a toggle (``hide-input``), the
    parameters cells collapsed whole (``hide-cell``); a cell the source already tags keeps its tags."""
    for c in cells:
        if c.get("cell_type") != "code":
            continue
        tags = list(c.setdefault("metadata", {}).get("tags", []))
        if any(t in VISIBILITY_TAGS for t in tags):
            continue
        tags.append("hide-cell" if {"parameters", "injected-parameters"} & set(tags) else "hide-input")
        c["metadata"]["tags"] = tags


class _Lock:
    """An exclusive lock on one output notebook (``.<stem>.lock`` beside it), so that two runs never
    write the same page; a second run fails at once with a one-line message."""

    def __init__(self, target: Path):
        self.path = target.with_name(f".{target.stem}.lock")
        self.fh = None

    def __enter__(self):
        import fcntl

        while True:
            self.fh = open(self.path, "a")
            try:
                fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self.fh.close()
                raise ChapterFailed(f"another run is writing {self.path.with_name(self.path.stem[1:] + '.ipynb')} "
                                    f"(lock {self.path}); wait for it or use --out") from None
            try:  # the file locked must still be the one at the path (a finishing run unlinks it)
                if os.stat(self.path).st_ino == os.fstat(self.fh.fileno()).st_ino:
                    return self
            except FileNotFoundError:
                pass
            self.fh.close()

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)  # before the lock is released: no run can lock a stale file
        self.fh.close()


def _summarise_cache_log(path: Path) -> dict:
    """What the kernel's cache log says: results loaded from the cache and computed now, with the
    compute seconds each took when it was made."""
    hits = made = 0
    hit_s = made_s = 0.0
    try:
        lines = path.read_text().splitlines()
    except OSError:
        lines = []
    for ln in lines:
        try:
            ev = json.loads(ln)
        except ValueError:
            continue
        if ev.get("event") == "hit":
            hits += 1
            hit_s += float(ev.get("seconds") or 0.0)
        elif ev.get("event") == "put":
            made += 1
            made_s += float(ev.get("seconds") or 0.0)
    return {"cached_results": hits, "cached_compute_s": round(hit_s, 1), "computed_results": made,
            "computed_s": round(made_s, 1)}


def execute_chapter(chapter: Chapter, params: dict, out_dir: Path, *, root: Path, src_hash: str,
                    in_hash: str, progress: bool = False) -> Path:
    """Execute one chapter with papermill; write ``out_dir/<stem>.ipynb`` with provenance metadata.

    The notebook is written under a unique temporary name and moved into place only when complete; a
    failure of any kind (an error in a cell, a dead kernel, a full disk) ends in a one-line
    :class:`ChapterFailed` naming the copy kept in ``_failed/``, and no temporary file is left behind.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    target = chapter.notebook_path(out_dir)
    with _Lock(target):
        for stale in out_dir.glob(f".{chapter.stem}.running*.ipynb"):  # left by an interrupted run
            stale.unlink(missing_ok=True)
        return _execute_locked(chapter, params, out_dir, target, root=root, src_hash=src_hash, in_hash=in_hash,
                               progress=progress)


def _execute_locked(chapter, params, out_dir, target, *, root, src_hash, in_hash, progress) -> Path:
    import jupytext
    import papermill as pm

    failed_dir = out_dir / "_failed"
    nb = jupytext.read(chapter.source)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    injected = {k: v for k, v in params.items() if chapter.defaults.get(k, object()) != v}
    tmp = out_dir / f".{chapter.stem}.running-{os.getpid()}-{uuid.uuid4().hex[:6]}.ipynb"
    fd, prov_file = tempfile.mkstemp(prefix="rgsym-prov-", suffix=".json")
    os.close(fd)
    cache_log = Path(prov_file + ".cache.jsonl")
    # the kernel inherits these: where to write the provenance record and the cache log, and no
    # progress bars in the stored outputs (a rendered page would otherwise carry hundreds of updates)
    env = {"RGSYM_PROVENANCE_FILE": prov_file, "RGSYM_CACHE_LOG": str(cache_log), "RGSYM_QUIET": "1"}
    old_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    t0 = time.perf_counter()
    try:
        try:
            pm.execute_notebook(nb, str(tmp), parameters=injected, kernel_name="python3", language="python",
                                cwd=str(chapter.book_dir), progress_bar=progress, log_output=False)
        except BaseException as exc:
            dest = None
            if tmp.exists():
                failed_dir.mkdir(exist_ok=True)
                dest = failed_dir / f"{chapter.stem}.ipynb"
                tmp.replace(dest)
            kept = f"\n  the failed notebook is {dest}" if dest else ""
            if isinstance(exc, pm.PapermillExecutionError):
                raise ChapterFailed(f"chapter {chapter.stem} failed in cell {exc.exec_count}: "
                                    f"{exc.ename}: {exc.evalue}{kept}") from None
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise ChapterFailed(f"chapter {chapter.stem} could not be executed: {exc.__class__.__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}{kept}") from None
        wall = time.perf_counter() - t0
        try:
            with open(prov_file) as fh:
                ran_on = json.load(fh)
        except (OSError, ValueError):
            ran_on = {}
        with open(tmp) as fh:
            out = json.load(fh)
        out["metadata"].pop("papermill", None)  # it records machine paths (input_path, output_path)
        present(out["cells"])
        import torch

        out["metadata"][META_KEY] = {
            "chapter": chapter.stem,
            "source": chapter.source.resolve().relative_to(root.resolve()).as_posix(),
            "input_hash": in_hash,
            "sources_hash": src_hash,
            "prose_hash": prose_hash(chapter.source),
            "parameters": params,
            "profile": params["profile"],
            "device_requested": params["device"],
            "device": ran_on.get("device", "unknown"),
            **git_info(root, hashed_files(chapter.source, root)),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "platform": f"{platform.system()} {platform.machine()}",
            "wall_time_s": round(wall, 2),
            **_summarise_cache_log(cache_log),
            "executed_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        }
        make_launch_copy(out["cells"], out["metadata"][META_KEY], root)
        with open(tmp, "w") as fh:
            json.dump(out, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(target)
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        for f in (Path(prov_file), cache_log, tmp):
            f.unlink(missing_ok=True)
    (failed_dir / f"{chapter.stem}.ipynb").unlink(missing_ok=True)
    return target


def _code(src: str) -> str:
    try:
        return code_hash_of_script(src)
    except SyntaxError:  # a cell with IPython magics: compare it as written
        return src


PROSE_METADATA = ("tags", "mystnb")
"""Code-cell metadata that is narrative (visibility tags, figure captions and labels): refreshed from the
source without executing."""


def refresh_prose(chapter: Chapter, nb_path: Path, meta: dict | None = None) -> bool:
    """Where only the narrative of ``chapter`` changed since ``nb_path`` was executed, rewrite the
    notebook's markdown (and the code cells' :data:`PROSE_METADATA`) from the source, keeping every code
    cell's outputs; nothing is executed. Returns ``"refreshed"``, ``"current"`` (the prose had not
    changed; nothing written) or ``"regrouped"`` (the same code, but cut into other cells: the outputs
    cannot be carried over one to one, so the chapter must be executed; nothing written)."""
    import jupytext
    import nbformat

    meta = read_meta(nb_path) if meta is None else meta
    if meta is None or meta.get("prose_hash") == prose_hash(chapter.source):
        return "current"
    old = nbformat.read(str(nb_path), as_version=4)
    new = jupytext.read(chapter.source)
    injected = [c for c in old.cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    old_code = [c for c in old.cells if c.cell_type == "code" and c not in injected]
    new_code = [c for c in new.cells if c.cell_type == "code"]
    # the launch copy pins the install cell to a commit: compare it as the source writes it
    if len(old_code) != len(new_code) or any(_code(unpinned(a.source)) != _code(b.source)
                                             for a, b in zip(old_code, new_code)):
        return "regrouped"
    cells, it = [], iter(old_code)
    for c in new.cells:
        if c.cell_type != "code":
            cells.append(c)
            continue
        o = next(it)
        o.source = c.source
        # tags and the figure options (mystnb: caption, label) come from the source; the rest is kept
        fresh = {k: c.get("metadata", {})[k] for k in PROSE_METADATA if k in c.get("metadata", {})}
        o.metadata = {**{k: v for k, v in o.metadata.items() if k not in PROSE_METADATA}, **fresh}
        cells.append(o)
        if "parameters" in fresh.get("tags", []):
            cells += injected
    present(cells)
    make_launch_copy(cells, old.metadata[META_KEY], repo_root(chapter.book_dir))
    seen = set()
    for c in cells:  # nbformat 4.5 wants a unique id on every cell
        if not c.get("id") or c["id"] in seen:
            c["id"] = uuid.uuid4().hex[:8]
        seen.add(c["id"])
    old.cells = cells
    old.metadata[META_KEY]["prose_hash"] = prose_hash(chapter.source)
    tmp = nb_path.with_name(f".{nb_path.stem}.prose-{os.getpid()}.ipynb")
    nbformat.write(old, str(tmp))
    tmp.replace(nb_path)
    return "refreshed"


def protected(meta: dict | None, params: dict) -> bool:
    """True when executing with ``params`` would replace a paper-profile notebook (``meta``) by one of
    another profile or with other parameters -- committed results that take long to remake."""
    return bool(meta) and meta.get("profile") == "paper" and meta.get("parameters") != params


def run_chapters(select=None, overrides: dict | None = None, *, out_dir=None, force=False,
                 book_dir=None, progress=False, log=print, replace=False) -> list[dict]:
    """Execute (or reuse) the selected chapters; returns one summary dict per chapter.

    Every chapter's parameters are validated before the first one executes. An override applies only
    to the chapters that declare that parameter. A run that would replace a paper-profile notebook by
    one of another profile or with other parameters writes to ``runs/`` instead, unless ``replace``.
    """
    root = repo_root(book_dir or Path.cwd())
    book_dir = Path(book_dir) if book_dir else root / "book"
    chapters = find_chapters(book_dir, select)
    overrides = dict(overrides or {})
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
        plans.append((ch, resolve_params(ch, own), bool(own)))
    out_dir = Path(out_dir) if out_dir else book_dir / "notebooks"
    summary = []
    for ch, params, explicit in plans:
        reuse, reason, src_hash, in_hash, meta = decide(ch, params, explicit, out_dir, root, force)
        prose = refresh_prose(ch, ch.notebook_path(out_dir), meta) if reuse else None
        if prose == "refreshed":
            log(f"[prose]   {ch.stem}: {reason}; narrative refreshed from the source, nothing executed")
            summary.append({"chapter": ch.stem, "executed": False, "reason": reason, "prose": True})
            continue
        if prose == "regrouped":
            reuse, reason = False, "code cells regrouped (outputs cannot be carried over)"
        if reuse:
            log(f"[reuse]   {ch.stem}: {reason}")
            summary.append({"chapter": ch.stem, "executed": False, "reason": reason})
            continue
        dest = out_dir
        if not replace and protected(meta, params):
            dest = root / "runs"
            log(f"[protect] {ch.stem}: {ch.notebook_path(out_dir)} holds a paper-profile run with other parameters; "
                f"writing this run to {dest}/ instead (pass --replace to replace it)")
        log(f"[execute] {ch.stem}: {reason}; profile={params['profile']}, device={params['device']}")
        t0 = time.perf_counter()
        path = execute_chapter(ch, params, dest, root=root, src_hash=src_hash, in_hash=in_hash, progress=progress)
        dt = time.perf_counter() - t0
        log(f"          wrote {path} in {dt:.1f} s")
        summary.append({"chapter": ch.stem, "executed": True, "reason": reason, "seconds": dt, "path": str(path),
                        "protected": dest != out_dir})
    return summary
