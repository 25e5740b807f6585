r"""The sweep engine: chunks of ensembles trained, measured (G1-G3), cached and tabulated (Chapters 2, 4).

A *sweep spec* (:class:`rgsym.learn.mlp_sweep.SweepSpec` for MLPs,
:class:`rgsym.learn.gnn_sweep.GNNSweepSpec` for GNNs) names a grid of members -- each with a
``config`` (its architecture), a ``task`` (the base law :math:`p_0` it learns :math:`T_b` on) and a
``seed`` -- and groups them into *chunks*, the members trained together as one stacked ensemble. This
module runs any such spec:

* :func:`execute_chunks` loads the cached chunks and trains the missing ones, sequentially or in
  spawned worker processes, caching each chunk as soon as it is done (an interrupted sweep resumes);
* :func:`train_and_measure` trains one chunk (:func:`rgsym.learn.training.train_ensemble`), measures
  it (:func:`rgsym.learn.measures.evaluate`) and returns the cacheable payload with its provenance;
* :func:`member_tables` joins the payloads into the members table (:data:`MEMBER_COLUMNS`) and the
  tidy measures table;
* :class:`SweepResult` holds both tables and the trained parameters, and rebuilds any members as an
  ensemble through the spec's ``member_model(member, payload, pos)``.

The key of a chunk hashes its members, the training and measure settings and the code that computes
it (:func:`rgsym.codehash.code_hash` of the spec's runner module); the device is provenance only.
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd
import torch

from ..devices import describe_device
from ..validation import as_int
from . import cache
from .measures import MEASURE_COLUMNS, SUMMARY, MeasureConfig, evaluate
from .training import TrainConfig, train_ensemble

MEMBER_COLUMNS = ("member_id", "b", "depth", "width", "size", "n_params", "activation", "alpha", "symmetry",
                  "antisymmetrised", "task", "seed", "diverged", "diverged_step", "final_train_loss",
                  "chunk", "device", "torch", "source_hash", "created")
"""Columns of a sweep's members table (a GNN sweep adds ``edges`` and ``model``)."""


SECONDS_PER_MEMBER_STEP = 1e-5
"""A lower bound on the time of one training step of one member (the fastest rate measured on a 2-core
CPU, tiny networks in large ensembles): the budget check below never overestimates."""
MAX_HOURS = 24.0
"""A sweep whose training would take at least this long is refused unless ``RGSYM_ALLOW_LONG=1``."""


def check_budget(member_steps: int, workers: int = 1) -> float:
    """Refuse, before any work, a sweep of ``member_steps`` (members x Adam steps still to train) that would
    take more than :data:`MAX_HOURS` even at :data:`SECONDS_PER_MEMBER_STEP` on ``workers`` processes,
    unless the environment variable ``RGSYM_ALLOW_LONG`` is ``1``. Returns the lower bound in hours."""
    hours = member_steps * SECONDS_PER_MEMBER_STEP / max(1, workers) / 3600
    if hours > MAX_HOURS and os.environ.get("RGSYM_ALLOW_LONG") != "1":
        raise ValueError(f"this sweep would train {member_steps:.3g} member-steps: at least {hours:.3g} h on "
                         f"{workers} process(es), over the limit of {MAX_HOURS:g} h; lower steps or n_seeds, or "
                         f"set RGSYM_ALLOW_LONG=1 to go ahead")
    return hours


def check_workers(workers) -> int:
    """The number of training processes: a positive integer."""
    return as_int("workers", workers, lo=1)


def resolve_workers(workers: int | None, device=None) -> int:
    """Training processes for a sweep (Chapters 2 and 4): ``workers`` (checked), ``None`` meaning one per
    CPU core; 1 on any device but the CPU, where :func:`execute_chunks` trains every chunk in this process."""
    if workers is not None:
        workers = check_workers(workers)
    if device is not None and torch.device(device).type != "cpu":
        return 1
    return max(1, os.cpu_count() or 1) if workers is None else workers


def train_and_measure(model, members: Sequence, ids: Sequence[int], train: TrainConfig,
                      measures: MeasureConfig, *, key: str, src: str, device, progress: bool, desc: str,
                      threads: int | None = 1) -> dict:
    """Train an ensemble (MLP or GNN) on its members' tasks, measure it, and return the cacheable
    payload shared by every sweep: losses, divergence flags, the tidy measures and provenance (the
    caller adds the trained parameters)."""
    tasks, seeds = [m.task for m in members], [m.seed for m in members]
    t0, c0 = time.perf_counter(), time.process_time()
    res = train_ensemble(model, tasks, seeds, train, device=device, progress=progress, desc=desc, threads=threads)
    df = evaluate(model, tasks, measures, device=device, threads=threads)
    df["member"] = [ids[i] for i in df["member"]]
    where = torch.device(device) if device is not None else next(model.parameters()).device
    return {
        "key": key,
        "member_ids": list(map(int, ids)),
        "log_steps": list(map(int, res.log_steps)),
        "train_loss": torch.as_tensor(res.train_loss),
        "final_loss": torch.as_tensor(res.final_loss),
        "diverged": torch.as_tensor(res.diverged),
        "diverged_step": torch.as_tensor(res.diverged_step),
        "measures": {col: df[col].tolist() for col in df.columns},
        "provenance": {
            "device": describe_device(where), "torch": str(torch.__version__),
            "rgsym": importlib.metadata.version("rgsym"),
            "source_hash": src, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "train_seconds": res.wall_time, "total_seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0,
        },
    }


@dataclass(frozen=True)
class Member:
    """One network of a sweep, MLP or GNN: architecture (an ``MLPConfig`` or ``GNNConfig``), task
    (training law) and seed."""

    config: object
    task: str
    seed: int

    def key(self) -> dict:
        return {**self.config.key(), "task": self.task, "seed": self.seed}


@dataclass
class SweepResult:
    """Members, tidy measures and trained weights of a sweep (MLP or GNN; see the module docstring)."""

    spec: object
    members: pd.DataFrame
    table: pd.DataFrame
    payloads: dict
    n_trained: int = 0
    n_cached: int = 0

    def valid(self, table: pd.DataFrame | None = None) -> pd.DataFrame:
        """Rows of non-diverged members only (of ``table``, default the tidy table)."""
        t = self.table if table is None else table
        return t[~t["diverged"].astype(bool)]

    @property
    def n_diverged(self) -> int:
        return int(self.members["diverged"].sum())

    def summary(self, measures: Iterable[str] = SUMMARY) -> pd.DataFrame:
        """One row per member with the headline measures as columns (diverged members included)."""
        t = self.table[self.table["measure"].isin(list(measures))]
        wide = t.pivot(index="member_id", columns="measure", values="value")
        return self.members.set_index("member_id").join(wide).reset_index()

    def model(self, member_ids: Iterable[int]):
        """The trained networks of ``member_ids`` as one ensemble (in the order given); they must share
        ``(depth, width)`` (and, for GNNs, the edges) -- call once per size otherwise."""
        ids = [int(i) for i in member_ids]
        where = {mid: (key, pos) for key, p in self.payloads.items() for pos, mid in enumerate(p["member_ids"])}
        members = self.spec.members()
        parts = []
        for mid in ids:
            if mid not in where:
                raise KeyError(f"member {mid} is not in this sweep's loaded chunks (0..{len(members) - 1})")
            key, pos = where[mid]
            parts.append(self.spec.member_model(members[mid], self.payloads[key], pos))
        shapes = {(p.depth, p.width) for p in parts}
        if len(shapes) > 1:
            raise ValueError(f"members {ids} have different sizes {sorted(shapes)}; load one size at a time")
        return type(parts[0]).stack(parts)

    def train_history(self, member_ids: Iterable[int]) -> pd.DataFrame:
        """Training-set loss at the logged steps, tidy: ``member_id, step, train_loss``."""
        want = {int(i) for i in member_ids}
        rows = []
        for p in self.payloads.values():
            for pos, mid in enumerate(p["member_ids"]):
                if mid in want:
                    rows += [(mid, s, float(v)) for s, v in zip(p["log_steps"], p["train_loss"][pos].tolist())]
        return pd.DataFrame(rows, columns=["member_id", "step", "train_loss"])


def execute_chunks(spec, chunks: Sequence[Sequence[int]], *, namespace: str, src: str, key_fn, train_fn, worker_fn,
                   cost_fn, label: str, device, gpu: bool, progress: bool, max_chunks: int | None,
                   threads: int | None, workers: int, executor=None) -> tuple[dict, int, int]:
    """Load the cached chunks of a sweep (MLP or GNN) and train the missing ones, sequentially or in
    ``workers`` spawned processes (most expensive first, by ``cost_fn(spec, members)`` of each chunk's
    members); every chunk is cached as soon as it is done, so an interrupted sweep resumes where it stopped.

    ``key_fn(spec, members, src)`` names a chunk, ``train_fn(spec, members, ids, key, src, device,
    progress, desc, threads)`` returns its payload, and ``worker_fn(spec, ids, key, src, threads)``
    (a module-level function, so that it can be sent to a worker) returns it from a worker; this
    process caches every payload as it arrives. ``executor``: any :class:`concurrent.futures.Executor`
    (e.g. ``dask.distributed.Client(...).get_executor()``) to run the chunks on instead of local spawned
    processes; its workers need rgsym installed, not this machine's cache folder.
    Returns ``(payloads by chunk key, chunks trained now, chunks loaded from the cache)``.
    """
    from tqdm import tqdm

    store = cache.Store(namespace)
    members = spec.members()
    payloads, todo = {}, []
    for ci, ids in enumerate(chunks):
        key = key_fn(spec, [members[i] for i in ids], src)
        if key in store:
            payloads[key] = store.get(key)
        else:
            todo.append((ci, ids, key))
    n_cached = len(payloads)
    if max_chunks is not None:
        todo = todo[:max_chunks]
    check_budget(sum(len(ids) for _, ids, _ in todo) * int(spec.train.steps), workers)
    if todo and (executor is not None or (workers > 1 and len(todo) > 1 and not gpu)):
        import concurrent.futures as cf
        import multiprocessing as mp

        order = sorted(todo, key=lambda t: -cost_fn(spec, [members[i] for i in t[1]]))
        pool = executor or cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                                  initializer=die_with_parent, initargs=(os.getpid(),))
        futures = {}
        try:
            futures = {pool.submit(worker_fn, spec, ids, key, src, threads): key for _, ids, key in order}
            for f in tqdm(cf.as_completed(futures), total=len(futures), desc=label, disable=not progress,
                          leave=False):
                key = futures[f]
                payload = f.result()
                store.put(key, payload)  # cached as soon as it is done: an interrupted sweep resumes here
                payloads[key] = payload
        except BaseException:
            # an interrupt (or a failed chunk): cancel what has not started, stop what is running now
            for f in futures:
                f.cancel()
            if executor is None:
                stop_pool(pool)
            raise
        if executor is None:
            pool.shutdown(wait=True)
    else:
        for ci, ids, key in tqdm(todo, desc=label, disable=not progress or len(todo) < 2, leave=False):
            cm = [members[i] for i in ids]
            c0 = cm[0].config
            desc = f"chunk {ci + 1}/{len(chunks)} ({c0.size_label} {c0.activation}, {len(cm)} nets)"
            payload = train_fn(spec, cm, ids, key, src, device, progress, desc, threads)
            store.put(key, payload)
            payloads[key] = payload
    return payloads, len(todo), n_cached


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def die_with_parent(parent: int) -> None:
    """Worker initializer: exit as soon as the parent process ``parent`` is gone (killed, crashed, or
    its kernel restarted), so that no orphaned worker goes on training. On Linux the kernel delivers
    SIGKILL on the parent's death (``PR_SET_PDEATHSIG``); everywhere a daemon thread also polls the
    parent pid twice a second."""
    import threading

    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # not Linux: the watch thread below does it
        pass
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="rgsym-parent-watch").start()


def stop_pool(pool) -> None:
    """Cancel the pending work of a process pool and terminate its running workers at once."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=5)


def member_tables(members: Sequence, payloads: dict, extra: dict | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The members table (one row per trained member, :data:`MEMBER_COLUMNS` plus the ``extra``
    columns, each a function of a member) and the tidy measures table (members joined to measures)."""
    extra = extra or {}
    rows = []
    for key, p in payloads.items():
        prov = p["provenance"]
        for pos, mid in enumerate(p["member_ids"]):
            m = members[mid]
            c = m.config
            rows.append((mid, c.b, c.depth, c.width, c.size_label, c.n_params, c.activation, c.alpha, c.symmetry,
                         c.antisymmetrised, m.task, m.seed, bool(p["diverged"][pos]), int(p["diverged_step"][pos]),
                         float(p["final_loss"][pos]), key, prov["device"], prov["torch"], prov["source_hash"],
                         prov["created"], *(fn(m) for fn in extra.values())))
    cols = list(MEMBER_COLUMNS) + list(extra)
    mem = pd.DataFrame(rows, columns=cols).sort_values("member_id").reset_index(drop=True)
    parts = [pd.DataFrame(p["measures"]) for p in payloads.values()]
    meas = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(MEASURE_COLUMNS))
    meas = meas.rename(columns={"member": "member_id"})
    tab = mem.merge(meas, on="member_id", how="inner").sort_values(["member_id"], kind="stable").reset_index(drop=True)
    return mem, tab


def member_ids(spec, **where) -> list[int]:
    """Ids of the members of a sweep (GNN or MLP) whose config / task / seed match ``where``
    (e.g. ``member_ids(spec, activation='tanh', symmetry='shared', task='gaussian')``)."""
    out = []
    for i, m in enumerate(spec.members()):
        vals = {**m.config.key(), "task": m.task, "seed": m.seed, "size": (m.config.depth, m.config.width)}
        if all(vals.get(k) == v for k, v in where.items()):
            out.append(i)
    return out
