r"""Sweeps: grids of block-map MLPs (symmetry x activation x size x task x seed), trained as batched
ensembles, measured (G1-G3), cached by content and returned as tidy tables (Chapter 2).

A :class:`SweepSpec` names the grid and how to train and measure. :func:`run_sweep` splits the members
into chunks (members that share tensor shapes and the antisymmetrisation flag train together as one
ensemble), trains and measures every chunk that is not in the cache, and saves each chunk on its own,
so an interrupted sweep resumes from the chunks that finished. The key of a chunk hashes its members,
the training and measure settings and the rgsym science source (:func:`rgsym.cache.source_hash`);
the device is recorded as provenance but is not part of the key.

The returned :class:`SweepResult` holds

* ``members``: one row per member (configuration, task, seed, free-parameter count, divergence,
  provenance),
* ``table``: one row per member and measure (the member columns plus ``measure``, ``family``,
  ``law``, ``scale``, ``level``, ``order``, ``value``),
* the trained networks: :meth:`SweepResult.model` rebuilds any members as an
  :class:`~rgsym.models.EnsembleMLP`, so later chapters load the networks of Chapter 2 by calling the
  same cached sweep.
"""
from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from . import cache
from .activations import ACTIVATIONS, DEFAULT_ALPHA
from .config import check_choice, describe_device
from .distributions import LAWS, TRAIN_LAWS
from .measures import MeasureConfig, SUMMARY, evaluate
from .models import MAX_DEPTH, SYMMETRIES, EnsembleMLP, MLPConfig
from .training import TrainConfig, train_ensemble

NAMESPACE = "mlp-sweeps"


@dataclass(frozen=True)
class Member:
    """One network of a sweep: architecture, task (training law) and seed."""

    config: MLPConfig
    task: str
    seed: int

    def key(self) -> dict:
        return {**self.config.key(), "task": self.task, "seed": self.seed}


@dataclass(frozen=True)
class SweepSpec:
    r"""A grid of block-map MLPs and how to train and measure them.

    ``sizes`` are ``(depth, width)`` pairs; every combination of ``symmetries`` x ``activations`` x
    ``sizes`` x ``tasks`` x ``seeds`` is one member. ``alpha`` is the quadratic activation's
    coefficient; ``chunk_size`` the most members trained as one ensemble (and cached as one file);
    ``split_activations`` trains each activation in its own ensembles (on the CPU this is faster than
    mixing activations, which costs a copy per layer; on a GPU fewer, larger ensembles win).
    The chunking does not change any member's numbers.
    """

    symmetries: tuple = ("free", "perm-in", "tied-hidden", "odd", "perm-in+odd")
    activations: tuple = ("identity", "quadratic", "tanh", "relu", "silu")
    sizes: tuple = ((1, 2), (2, 12), (3, 24))
    tasks: tuple = TRAIN_LAWS
    seeds: tuple = tuple(range(10))
    b: int = 2
    alpha: float = DEFAULT_ALPHA
    train: TrainConfig = field(default_factory=TrainConfig)
    measures: MeasureConfig = field(default_factory=MeasureConfig)
    chunk_size: int = 1024
    split_activations: bool = True

    def __post_init__(self):
        for name, valid in (("symmetries", SYMMETRIES), ("activations", ACTIVATIONS), ("tasks", LAWS)):
            vals = tuple(getattr(self, name))
            if not vals:
                raise ValueError(f"{name} must not be empty")
            for v in vals:
                check_choice(name.rstrip("s").replace("symmetrie", "symmetry"), v, valid)
            if len(set(vals)) != len(vals):
                raise ValueError(f"{name} has repeated entries: {vals!r}")
            object.__setattr__(self, name, vals)
        sizes = tuple(tuple(int(x) for x in s) for s in self.sizes)
        for s in sizes:
            if len(s) != 2 or not 1 <= s[0] <= MAX_DEPTH or s[1] < 1:
                raise ValueError(f"sizes must be (depth, width) pairs with depth in 1..{MAX_DEPTH} and "
                                 f"width >= 1; got {s!r}")
        object.__setattr__(self, "sizes", sizes)
        seeds = tuple(int(s) for s in self.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct integers, got {self.seeds!r}")
        object.__setattr__(self, "seeds", seeds)
        if not isinstance(self.chunk_size, int) or self.chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {self.chunk_size!r}")
        if not isinstance(self.train, TrainConfig) or not isinstance(self.measures, MeasureConfig):
            raise TypeError("train must be a TrainConfig and measures a MeasureConfig")
        MLPConfig(b=self.b, activation="quadratic", alpha=self.alpha)  # validates b and alpha

    def replace(self, **changes) -> "SweepSpec":
        return replace(self, **changes)

    def config(self, depth: int, width: int, activation: str, symmetry: str) -> MLPConfig:
        return MLPConfig(b=self.b, width=width, depth=depth, activation=activation, symmetry=symmetry,
                         alpha=self.alpha if activation == "quadratic" else None)

    def members(self) -> list[Member]:
        """All members, in the sweep's order (size, activation, symmetry, task, seed)."""
        return [Member(self.config(d, w, a, s), t, seed)
                for d, w in self.sizes for a in self.activations for s in self.symmetries
                for t in self.tasks for seed in self.seeds]

    def chunks(self) -> list[list[int]]:
        """Member indices grouped into ensembles: same ``(depth, width)`` and antisymmetrisation flag
        (and activation, if ``split_activations``), at most ``chunk_size`` each."""
        groups: dict = {}
        for i, m in enumerate(self.members()):
            c = m.config
            key = (c.depth, c.width, c.antisymmetrised) + ((c.activation,) if self.split_activations else ())
            groups.setdefault(key, []).append(i)
        out = []
        for ids in groups.values():
            for a in range(0, len(ids), self.chunk_size):
                out.append(ids[a:a + self.chunk_size])
        return out

    def cost(self) -> float:
        """Rough training cost in units of (member-steps x hidden units x batch), for planning."""
        tot = 0.0
        for m in self.members():
            c = m.config
            per = c.width * (c.b + (c.depth - 1) * c.width + 1) + 4 * c.width * c.depth
            tot += per * (2 if c.antisymmetrised else 1)
        return tot * self.train.steps * self.train.batch_size

    def key(self) -> dict:
        return {"sizes": self.sizes, "symmetries": self.symmetries, "activations": self.activations,
                "tasks": self.tasks, "seeds": self.seeds, "b": self.b, "alpha": self.alpha,
                "train": self.train.key(), "measures": self.measures.key()}

    def describe(self) -> str:
        """One line naming the grid (for figure stamps)."""
        sz = ", ".join(f"{d}x{w}" for d, w in self.sizes)
        return (f"b={self.b}, {len(self.symmetries)} sym x {len(self.activations)} act x sizes [{sz}] x "
                f"{len(self.tasks)} tasks x {len(self.seeds)} seeds, {self.train.steps} Adam steps, "
                f"batch {self.train.batch_size}, n_train={self.train.n_train}")


MEMBER_COLUMNS = ("member_id", "b", "depth", "width", "size", "n_params", "activation", "alpha", "symmetry",
                  "antisymmetrised", "task", "seed", "diverged", "diverged_step", "final_train_loss",
                  "chunk", "device", "torch", "source_hash", "created")


def _chunk_key(spec: SweepSpec, members: Sequence[Member], src: str) -> str:
    return cache.content_key("mlp-chunk", [m.key() for m in members], spec.train.key(), spec.measures.key(), src)


def _train_chunk(spec: SweepSpec, members: Sequence[Member], ids: Sequence[int], key: str, src: str,
                 device, progress: bool, desc: str, threads: int | None = 1) -> dict:
    """Train and measure one chunk; returns the payload that is cached."""
    dtype = spec.train.torch_dtype
    model = EnsembleMLP([m.config for m in members], [m.seed for m in members], dtype=dtype, device=device)
    payload = train_and_measure(model, members, ids, spec.train, spec.measures, key=key, src=src, device=device,
                                progress=progress, desc=desc, threads=threads)
    payload["weights"] = [w.detach().cpu() for w in model.weights]
    payload["biases"] = [c.detach().cpu() for c in model.biases]
    return payload


def train_and_measure(model, members: Sequence[Member], ids: Sequence[int], train: TrainConfig,
                      measures: MeasureConfig, *, key: str, src: str, device, progress: bool, desc: str,
                      threads: int | None = 1) -> dict:
    """Train an ensemble (MLP or GNN) on its members' tasks, measure it, and return the cacheable
    payload shared by every sweep: losses, divergence flags, the tidy measures and provenance (the
    caller adds the trained parameters)."""
    import rgsym

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
            "device": describe_device(where), "torch": str(torch.__version__), "rgsym": str(rgsym.__version__),
            "source_hash": src, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "train_seconds": res.wall_time, "total_seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0,
        },
    }


@dataclass
class SweepResult:
    """Members, tidy measures and trained weights of a sweep (see the module docstring)."""

    spec: SweepSpec
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

    def model(self, member_ids: Iterable[int]) -> EnsembleMLP:
        """The trained networks of ``member_ids`` as one ensemble (in the order given); they must share
        ``(depth, width)`` -- call once per size otherwise."""
        ids = [int(i) for i in member_ids]
        where = {}
        for key, p in self.payloads.items():
            for pos, mid in enumerate(p["member_ids"]):
                where[mid] = (key, pos)
        members = self.spec.members()
        parts = []
        for mid in ids:
            if mid not in where:
                raise KeyError(f"member {mid} is not in this sweep (0..{len(members) - 1})")
            key, pos = where[mid]
            p = self.payloads[key]
            raw = ([w[pos:pos + 1].clone() for w in p["weights"]], [c[pos:pos + 1].clone() for c in p["biases"]])
            m = members[mid]
            parts.append(EnsembleMLP([m.config], [m.seed], dtype=raw[0][0].dtype, _raw=raw))
        shapes = {(p.depth, p.width) for p in parts}
        if len(shapes) > 1:
            raise ValueError(f"members {ids} have different sizes {sorted(shapes)}; load one size at a time")
        return EnsembleMLP.stack(parts)

    def train_history(self, member_ids: Iterable[int]) -> pd.DataFrame:
        """Training-set loss at the logged steps, tidy: ``member_id, step, train_loss``."""
        want = {int(i) for i in member_ids}
        rows = []
        for p in self.payloads.values():
            for pos, mid in enumerate(p["member_ids"]):
                if mid in want:
                    rows += [(mid, s, float(v)) for s, v in zip(p["log_steps"], p["train_loss"][pos].tolist())]
        return pd.DataFrame(rows, columns=["member_id", "step", "train_loss"])


def run_sweep(spec: SweepSpec, *, device=None, progress: bool | None = None, max_chunks: int | None = None,
              threads: int | None = 1, workers: int = 1) -> SweepResult:
    """Train and measure every member of ``spec`` (cached chunks are loaded, not retrained).

    ``device``: where to train (default CPU). ``max_chunks`` stops after training that many new chunks
    (the rest are missing from the result; used to spread a sweep over several calls). ``threads``:
    torch CPU threads per training process (:func:`rgsym.training.cpu_threads`). ``workers > 1``
    trains chunks in that many parallel processes (CPU only; each chunk is cached as soon as it is
    done, exactly as in a sequential run). The workers are *spawned*, so a script that calls this
    needs the usual ``if __name__ == "__main__":`` guard (notebooks need nothing).
    """
    if progress is None:
        progress = not os.environ.get("RGSYM_QUIET")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    src = cache.source_hash()
    gpu = device is not None and torch.device(device).type != "cpu"
    payloads, n_trained, n_cached = execute_chunks(
        spec, spec.chunks(), namespace=NAMESPACE, src=src, key_fn=_chunk_key, train_fn=_train_chunk,
        worker_fn=_worker, cost_fn=_chunk_cost, label="sweep chunks", device=device, gpu=gpu, progress=progress,
        max_chunks=max_chunks, threads=threads, workers=workers)
    mem, tab = member_tables(spec.members(), payloads)
    return SweepResult(spec, mem, tab, payloads, n_trained, n_cached)


def execute_chunks(spec, chunks: Sequence[Sequence[int]], *, namespace: str, src: str, key_fn, train_fn, worker_fn,
                   cost_fn, label: str, device, gpu: bool, progress: bool, max_chunks: int | None,
                   threads: int | None, workers: int) -> tuple[dict, int, int]:
    """Load the cached chunks of a sweep (MLP or GNN) and train the missing ones, sequentially or in
    ``workers`` spawned processes (most expensive first, by ``cost_fn(spec, ids)``); every chunk is
    cached as soon as it is done, so an interrupted sweep resumes where it stopped.

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
    if workers > 1 and len(todo) > 1 and not gpu:
        import concurrent.futures as cf
        import multiprocessing as mp

        order = sorted(todo, key=lambda t: -cost_fn(spec, t[1]))
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(worker_fn, spec, ids, key, src, threads) for _, ids, key in order]
            for f in tqdm(cf.as_completed(futures), total=len(futures), desc=label, disable=not progress,
                          leave=False):
                key = f.result()
                payloads[key] = store.get(key)
    else:
        for ci, ids, key in tqdm(todo, desc=label, disable=not progress or len(todo) < 2, leave=False):
            cm = [members[i] for i in ids]
            c0 = cm[0].config
            desc = f"chunk {ci + 1}/{len(chunks)} ({c0.size_label} {c0.activation}, {len(cm)} nets)"
            payload = train_fn(spec, cm, ids, key, src, device, progress, desc, threads)
            store.put(key, payload)
            payloads[key] = payload
    return payloads, len(todo), n_cached


def _chunk_cost(spec: SweepSpec, ids: Sequence[int]) -> float:
    c = spec.members()[ids[0]].config
    return len(ids) * c.width * (c.b + (c.depth - 1) * c.width + 1) * (2 if c.antisymmetrised else 1)


def _worker(spec: SweepSpec, ids: list, key: str, src: str, threads) -> str:
    """Train one chunk in a worker process and cache it; returns its key."""
    members = spec.members()
    payload = _train_chunk(spec, [members[i] for i in ids], ids, key, src, None, False, "", threads)
    cache.Store(NAMESPACE).put(key, payload)
    return key


def member_tables(members: Sequence[Member], payloads: dict, extra: dict | None = None
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
    meas = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["member", "measure", "family", "law", "scale", "level", "order", "value"])
    meas = meas.rename(columns={"member": "member_id"})
    tab = mem.merge(meas, on="member_id", how="inner").sort_values(["member_id"], kind="stable").reset_index(drop=True)
    return mem, tab


# -- the grids of Chapter 2 ----------------------------------------------------------------------
def _positive(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    return value


def chapter2_spec(profile: str, *, steps: int | None = None, n_seeds: int | None = None, device=None,
                  **overrides) -> SweepSpec:
    """The sweep of Chapter 2 for a profile (``'smoke'`` or ``'paper'``).

    ``steps`` and ``n_seeds`` (``None``: the profile's) override the Adam steps and the number of seeds;
    on a CUDA ``device`` activations share ensembles (fewer, larger ones are faster there); other keyword
    arguments override fields of the :class:`SweepSpec`.
    """
    from .config import PROFILES

    check_choice("profile", profile, PROFILES)
    _positive("steps", steps)
    _positive("n_seeds", n_seeds)
    if profile == "paper":
        spec = SweepSpec(
            symmetries=("free", "perm-in", "tied-hidden", "odd", "perm-in+odd"),
            activations=("identity", "quadratic", "tanh", "relu", "silu"),
            sizes=((1, 2), (2, 12), (3, 24)),
            seeds=tuple(range(10)),
            train=TrainConfig(steps=5000, lr=3e-3, batch_size=256, n_train=256),
            measures=MeasureConfig(n_eval=4096, L=6, n_flow=4096),
        )
    else:
        spec = SweepSpec(
            symmetries=("free", "perm-in", "tied-hidden", "odd", "perm-in+odd"),
            activations=("identity", "quadratic", "tanh", "relu", "silu"),
            sizes=((1, 2), (2, 8), (3, 16)),
            seeds=(0, 1),
            train=TrainConfig(steps=500, batch_size=128, n_train=256),
            measures=MeasureConfig(n_eval=1024, L=6, n_flow=512),
        )
    if steps is not None:
        overrides.setdefault("train", replace(spec.train, steps=steps))
    if n_seeds is not None:
        overrides.setdefault("seeds", tuple(range(n_seeds)))
    if device is not None and torch.device(device).type == "cuda":
        overrides.setdefault("split_activations", False)
    return spec.replace(**overrides) if overrides else spec


def resolve_workers(workers: int | None, device=None) -> int:
    """Training processes for :func:`run_sweep`: ``None`` means one per CPU core, at most 2, on the CPU
    and 1 on a GPU."""
    _positive("workers", workers)
    if workers is not None:
        return workers
    if device is not None and torch.device(device).type == "cuda":
        return 1
    return max(1, min(2, os.cpu_count() or 1))


# -- analysis of a sweep's table ---------------------------------------------------------------
NONLINEAR = ("quadratic", "tanh", "relu", "gelu", "silu")


def cell_stats(result: SweepResult, measure: str, by: Sequence[str] = ("task", "symmetry", "activation"),
               activations: Iterable[str] | None = None) -> pd.DataFrame:
    r"""Median and quartiles of ``measure`` over the seeds (and any dimension not in ``by``), diverged
    members left out and counted.

    Returns one row per group: the ``by`` columns, ``median``, ``q25``, ``q75``, ``log10_spread``
    (:math:`\log_{10}(q_{75}/q_{25})`), ``n`` (members used) and ``n_excluded`` (diverged).
    """
    t = result.table[result.table["measure"] == measure]
    if t.empty:
        known = sorted(result.table.measure.unique())
        raise ValueError(f"no measure {measure!r} in this sweep; available: {known[:12]}...")
    if activations is not None:
        t = t[t["activation"].isin(list(activations))]
    by = list(by)
    good = t[~t["diverged"].astype(bool)]
    g = good.groupby(by)["value"]
    out = pd.DataFrame({"median": g.median(), "q25": g.quantile(0.25), "q75": g.quantile(0.75), "n": g.size()})
    excl = t[t["diverged"].astype(bool)].groupby(by).size()
    out["n_excluded"] = excl.reindex(out.index).fillna(0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log10_spread"] = np.log10(out["q75"].to_numpy() / out["q25"].to_numpy())
    return out.reset_index()


def c2_verdict(result: SweepResult, measure: str = "G2", activations: Iterable[str] = NONLINEAR,
               factor: float = 2.0) -> pd.DataFrame:
    r"""The computed test of claim C2 (symmetry and expressivity compete), one row per task.

    Cells are (symmetry, size) pairs, scored by the median of ``measure`` over seeds and the given
    (nonlinear) activations, diverged members left out; a cell's complexity is its number of free
    parameters. C2 *holds* for a task when the best cell is neither the most constrained one (fewest
    free parameters) nor the most complex one (most), and both of those are worse than the best by at
    least ``factor``. The row reports the three cells and the ratios.
    """
    acts = [a for a in activations if a in result.spec.activations]
    if not acts:
        raise ValueError(f"none of the activations {tuple(activations)} is in this sweep")
    mem = result.members
    npar = mem.groupby(["symmetry", "size"])["n_params"].first()
    stats = cell_stats(result, measure, by=("task", "symmetry", "size"), activations=acts)
    rows = []
    for task, s in stats.groupby("task"):
        s = s.assign(n_params=[int(npar[(a, z)]) for a, z in zip(s.symmetry, s["size"])])
        s = s[s["n"] > 0]
        best = s.loc[s["median"].idxmin()]
        least = s.sort_values(["n_params", "median"]).iloc[0]
        most = s.sort_values(["n_params", "median"], ascending=[False, True]).iloc[0]
        r_least, r_most = least["median"] / best["median"], most["median"] / best["median"]
        holds = bool(best.name not in (least.name, most.name) and r_least >= factor and r_most >= factor)
        rows.append({"task": task, "measure": measure,
                     "best": f"{best.symmetry} {best['size']}", "best_median": float(best["median"]),
                     "best_n_params": int(best.n_params),
                     "most_constrained": f"{least.symmetry} {least['size']}",
                     "most_constrained_median": float(least["median"]),
                     "most_constrained_n_params": int(least.n_params),
                     "most_complex": f"{most.symmetry} {most['size']}", "most_complex_median": float(most["median"]),
                     "most_complex_n_params": int(most.n_params),
                     "ratio_constrained": float(r_least), "ratio_complex": float(r_most),
                     "n_excluded": int(s["n_excluded"].sum()), "holds": holds})
    return pd.DataFrame(rows)
