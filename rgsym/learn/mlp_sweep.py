r"""Sweeps of block-map MLPs (Chapter 2): the grid symmetry x activation x size x task x seed.

A :class:`SweepSpec` names the grid and how to train and measure it; :func:`run_sweep` runs it on the
engine of :mod:`rgsym.learn.sweep`: members that share tensor shapes and the antisymmetrisation flag
(and, with ``split_activations``, the activation) train together as one
:class:`~rgsym.nets.mlp.EnsembleMLP`, each chunk is cached on its own under
:func:`rgsym.learn.cache.cache_dir` ``/ mlp-sweeps``, keyed by its members, the settings and
:func:`rgsym.codehash.code_hash` of this module (and so of everything it imports). The returned
:class:`~rgsym.learn.sweep.SweepResult` holds the members table, the tidy measures table and the
trained weights (:meth:`~rgsym.learn.sweep.SweepResult.model` rebuilds them, so later chapters load
the networks of Chapter 2 by calling the same cached sweep).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Sequence

import torch

from ..codehash import code_hash
from ..clt.laws import LAWS, TRAIN_LAWS
from ..nets.activations import ACTIVATIONS, DEFAULT_ALPHA
from ..nets.mlp import MAX_DEPTH, SYMMETRIES, EnsembleMLP, MLPConfig
from ..nets.expressivity import linear_by_construction
from ..validation import as_choices, as_int, check_choice
from . import cache
from .measures import MeasureConfig
from .sweep import (Member, SweepResult, check_workers, execute_chunks, member_tables,
                    train_and_measure)
from .training import TrainConfig

NAMESPACE = "mlp-sweeps"
GROUPINGS = ("symmetry", "graded")
r"""How a sweep sets the hidden-unit groups: as each symmetry says, or graded :math:`g = 1, 2, \dots, H`."""
MEMBER_EXTRA = {"groups": lambda m: m.config.hidden_groups,
                "linear_class": lambda m: linear_by_construction(m.config)[0]}
"""Columns an MLP sweep adds to the members table: the hidden-unit groups :math:`g` and whether the
member's class is linear by construction."""


@dataclass(frozen=True)
class SweepSpec:
    r"""A grid of block-map MLPs and how to train and measure them.

    ``sizes`` are ``(depth, width)`` pairs; every combination of ``symmetries`` x ``activations`` x
    ``sizes`` x ``tasks`` x ``seeds`` is one member. ``alpha`` is the quadratic activation's
    coefficient; ``chunk_size`` the most members trained as one ensemble (and cached as one file);
    ``split_activations`` trains each activation in its own ensembles (on the CPU this is faster than
    mixing activations, which costs a copy per layer; on a GPU fewer, larger ensembles win).
    The chunking does not change any member's numbers.

    ``groups``: ``'symmetry'`` (the hidden units are as the symmetry says: free, or one group under
    ``tied-hidden``) or ``'graded'`` (every symmetry is crossed with the hidden units tied in
    :math:`g = 1, 2, 4, \dots, H` groups, :attr:`MLPConfig.groups`; the widths must then be powers of
    two and no symmetry may name ``tied-hidden``, which is :math:`g = 1`). ``linear_classes=False`` leaves
    out the configurations whose class is linear by construction
    (:func:`rgsym.nets.expressivity.linear_by_construction`): they contain :math:`T_b` and are
    references, not points of a constraint axis.
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
    groups: str = "symmetry"
    linear_classes: bool = True

    def __post_init__(self):
        for name, valid, kind in (("symmetries", SYMMETRIES, "symmetry"), ("activations", ACTIVATIONS, "activation"),
                                  ("tasks", LAWS, "task")):
            object.__setattr__(self, name, as_choices(name, getattr(self, name), valid, kind=kind))
        sizes = tuple(tuple(as_int("a size's depth and width", x, lo=1) for x in s) for s in self.sizes)
        for s in sizes:
            if len(s) != 2 or not 1 <= s[0] <= MAX_DEPTH or s[1] < 1:
                raise ValueError(f"sizes must be (depth, width) pairs with depth in 1..{MAX_DEPTH} and "
                                 f"width >= 1; got {s!r}")
        object.__setattr__(self, "sizes", sizes)
        seeds = tuple(as_int("seed", s, lo=0) for s in self.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct integers, got {self.seeds!r}")
        object.__setattr__(self, "seeds", seeds)
        as_int("chunk_size", self.chunk_size, lo=1)
        check_choice("groups", self.groups, GROUPINGS)
        if self.groups == "graded":
            bad = [w for _, w in sizes if w & (w - 1)]
            if bad:
                raise ValueError(f"graded tying needs widths that are powers of two; got {sorted(set(bad))}")
            tied = [s for s in self.symmetries if "tied-hidden" in s]
            if tied:
                raise ValueError(f"graded tying already holds tied-hidden (g = 1); leave out {tied}")
        if not isinstance(self.train, TrainConfig) or not isinstance(self.measures, MeasureConfig):
            raise TypeError("train must be a TrainConfig and measures a MeasureConfig")
        MLPConfig(b=self.b, activation="quadratic", alpha=self.alpha)  # validates b and alpha

    def replace(self, **changes) -> "SweepSpec":
        return replace(self, **changes)

    def config(self, depth: int, width: int, activation: str, symmetry: str, groups: int | None = None) -> MLPConfig:
        return MLPConfig(b=self.b, width=width, depth=depth, activation=activation, symmetry=symmetry,
                         alpha=self.alpha if activation == "quadratic" else None, groups=groups)

    def group_levels(self, width: int) -> tuple:
        """The hidden-unit groupings of a width: ``(None,)`` (as the symmetry says) or ``(1, 2, 4, ..., width)``."""
        if self.groups == "symmetry":
            return (None,)
        return tuple(2**k for k in range(int(width).bit_length()) if 2**k <= width)

    def configs(self) -> list[MLPConfig]:
        """The distinct configurations, in the sweep's order (size, activation, symmetry, groups)."""
        out = [self.config(d, w, a, s, g) for d, w in self.sizes for a in self.activations for s in self.symmetries
               for g in self.group_levels(w)]
        if not self.linear_classes:
            out = [c for c in out if not linear_by_construction(c)[0]]
        return out

    def members(self) -> list[Member]:
        """All members, in the sweep's order (size, activation, symmetry, groups, task, seed)."""
        return [Member(c, t, seed) for c in self.configs() for t in self.tasks for seed in self.seeds]

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
        return sum(_config_cost(m.config) for m in self.members()) * self.train.steps * self.train.batch_size

    def member_model(self, member: Member, payload: dict, pos: int) -> EnsembleMLP:
        """The trained network at position ``pos`` of a cached chunk ``payload``, as an ensemble of one."""
        raw = ([w[pos:pos + 1].clone() for w in payload["weights"]], [c[pos:pos + 1].clone() for c in payload["biases"]])
        return EnsembleMLP([member.config], [member.seed], dtype=raw[0][0].dtype, _raw=raw)

    def key(self) -> dict:
        d = {"sizes": self.sizes, "symmetries": self.symmetries, "activations": self.activations,
             "tasks": self.tasks, "seeds": self.seeds, "b": self.b, "alpha": self.alpha,
             "train": self.train.key(), "measures": self.measures.key()}
        if self.groups != "symmetry" or not self.linear_classes:
            d.update(groups=self.groups, linear_classes=self.linear_classes)
        return d

    def describe(self) -> str:
        """One line naming the grid (for figure stamps)."""
        sz = ", ".join(f"{d}x{w}" for d, w in self.sizes)
        graded = " x groups g = 1, 2, ..., H" if self.groups == "graded" else ""
        lin = "" if self.linear_classes else f" ({len(self.configs())} configurations, linear-by-construction ones left out)"
        return (f"b={self.b}, {len(self.symmetries)} sym{graded} x {len(self.activations)} act x sizes [{sz}]{lin} x "
                f"{len(self.tasks)} tasks x {len(self.seeds)} seeds, {self.train.steps} Adam steps, "
                f"batch {self.train.batch_size}, n_train={self.train.n_train}")


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


def run_sweep(spec: SweepSpec, *, device=None, progress: bool | None = None, max_chunks: int | None = None,
              threads: int | None = 1, workers: int = 1, executor=None) -> SweepResult:
    """Train and measure every member of ``spec`` (cached chunks are loaded, not retrained).

    ``device``: where to train (default CPU). ``max_chunks`` stops after training that many new chunks
    (the rest are missing from the result; used to spread a sweep over several calls). ``threads``:
    torch CPU threads per training process (:func:`rgsym.learn.training.cpu_threads`). ``workers > 1``
    trains chunks in that many parallel processes (CPU only; each chunk is cached as soon as it is
    done, exactly as in a sequential run). The workers are *spawned*, so a script that calls this
    needs the usual ``if __name__ == "__main__":`` guard (notebooks need nothing); they exit when this
    process dies, and an interrupt cancels the chunks not yet done. ``executor``: any
    :class:`concurrent.futures.Executor` to train the chunks on instead (a dask cluster's
    ``client.get_executor()``); the results are identical to a local run.
    """
    if progress is None:
        progress = not os.environ.get("RGSYM_QUIET")
    check_workers(workers)
    src = code_hash(__name__)
    gpu = device is not None and torch.device(device).type != "cpu"
    payloads, n_trained, n_cached = execute_chunks(
        spec, spec.chunks(), namespace=NAMESPACE, src=src, key_fn=_chunk_key, train_fn=_train_chunk,
        worker_fn=_worker, cost_fn=_chunk_cost, label="sweep chunks", device=device, gpu=gpu, progress=progress,
        max_chunks=max_chunks, threads=threads, workers=workers, executor=executor)
    mem, tab = member_tables(spec.members(), payloads, extra=MEMBER_EXTRA)
    return SweepResult(spec, mem, tab, payloads, n_trained, n_cached)


def _config_cost(c: MLPConfig) -> float:
    """Rough cost of one member-step per block: weights plus hidden units (twice if antisymmetrised)."""
    return (c.width * (c.b + (c.depth - 1) * c.width + 1) + 4 * c.width * c.depth) * (2 if c.antisymmetrised else 1)


def _chunk_cost(spec: SweepSpec, members: Sequence[Member]) -> float:
    return len(members) * _config_cost(members[0].config)


def _worker(spec: SweepSpec, ids: list, key: str, src: str, threads) -> dict:
    """Train one chunk in a worker process and return its payload (the parent caches it, so workers
    need no shared cache folder: any executor, e.g. a dask cluster's, can run them)."""
    members = spec.members()
    return _train_chunk(spec, [members[i] for i in ids], ids, key, src, None, False, "", threads)


