r"""Sweeps of lattice GNNs (Chapter 4): the grid symmetry x edges x activation x size x task x seed.

The GNN twin of :mod:`rgsym.learn.mlp_sweep`, on the same engine (:mod:`rgsym.learn.sweep`): a
:class:`GNNSweepSpec` names the grid, :func:`run_gnn_sweep` trains every chunk of
:class:`~rgsym.nets.gnn.EnsembleGNN` members with :func:`rgsym.learn.training.train_ensemble`,
measures it with :func:`rgsym.learn.measures.evaluate` (G1-G3) and caches it under
:func:`rgsym.learn.cache.cache_dir` ``/ gnn-sweeps``, keyed by its members, the settings and
:func:`rgsym.codehash.code_hash` of this module. The budget is counted in blocks, as for the MLPs:
``"block+nn"`` GNNs train on rings of ``context_blocks`` blocks (:meth:`GNNSweepSpec.train_config`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Iterable

import torch

from ..codehash import code_hash
from ..clt.laws import LAWS
from ..nets.activations import ACTIVATIONS, DEFAULT_ALPHA
from ..nets.gnn import EnsembleGNN
from ..nets.gnn_config import GNN_SYMMETRIES, MAX_GNN_DEPTH, GNNConfig
from ..nets.graphs import EDGE_VARIANTS
from ..validation import as_choices, as_int, check_choice
from . import cache
from .measures import MeasureConfig
from .sweep import Member, SweepResult, check_workers, execute_chunks, member_tables, train_and_measure
from .training import TrainConfig

GNN_NAMESPACE = "gnn-sweeps"
MERGE_COST = 2**15
"""Above this many (members x batch x depth x width^2) a group of equal shapes is split into ensembles of
equal antisymmetrisation (see :meth:`GNNSweepSpec.chunks`)."""

@dataclass(frozen=True)
class GNNSweepSpec:
    r"""A grid of lattice GNNs and how to train and measure them (the GNN twin of
    :class:`rgsym.learn.mlp_sweep.SweepSpec`).

    Every combination of ``symmetries`` x ``edges`` x ``activations`` x ``sizes`` (``(depth, width)``)
    x ``tasks`` x ``seeds`` is one member. ``train`` and ``measures`` are the engine's settings;
    ``"block"`` GNNs train on single blocks (as the MLPs do), ``"block+nn"`` GNNs on rings of
    ``context_blocks`` blocks, with ``batch_size`` and ``n_train`` divided by ``context_blocks`` so that
    every step sees the same number of blocks and the training set holds the same number of blocks
    (:meth:`train_config`): the same budget as the MLPs, counted in blocks.
    """

    symmetries: tuple = GNN_SYMMETRIES
    edges: tuple = EDGE_VARIANTS
    activations: tuple = ("quadratic", "tanh", "relu")
    sizes: tuple = ((1, 2), (2, 16))
    tasks: tuple = ("gaussian", "uniform")
    seeds: tuple = (0, 1)
    b: int = 2
    alpha: float = DEFAULT_ALPHA
    context_blocks: int = 2
    train: TrainConfig = field(default_factory=TrainConfig)
    measures: MeasureConfig = field(default_factory=MeasureConfig)
    chunk_size: int = 512

    def __post_init__(self):
        for name, valid, what in (("symmetries", GNN_SYMMETRIES, "GNN symmetry"), ("edges", EDGE_VARIANTS, "edge variant"),
                                  ("activations", ACTIVATIONS, "activation"), ("tasks", LAWS, "task (base law)")):
            object.__setattr__(self, name, as_choices(name, getattr(self, name), valid, kind=what))
        sizes = tuple(tuple(as_int("a size's depth and width", x, lo=1) for x in sz) for sz in self.sizes)
        for sz in sizes:
            if len(sz) != 2 or not 1 <= sz[0] <= MAX_GNN_DEPTH or sz[1] < 1:
                raise ValueError(f"sizes must be (depth, width) pairs with depth in 1..{MAX_GNN_DEPTH}, width >= 1; got {sz!r}")
        object.__setattr__(self, "sizes", sizes)
        seeds = tuple(as_int("seed", x, lo=0) for x in self.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct integers, got {self.seeds!r}")
        object.__setattr__(self, "seeds", seeds)
        cb = as_int("context_blocks (cross-block edges need two blocks)", self.context_blocks, lo=2)
        if not isinstance(self.train, TrainConfig) or not isinstance(self.measures, MeasureConfig):
            raise TypeError("train must be a rgsym.learn.training.TrainConfig and measures a "
                            "rgsym.learn.measures.MeasureConfig")
        if "block+nn" in self.edges and (self.train.batch_size % cb or self.train.n_train % cb):
            raise ValueError(f"batch_size ({self.train.batch_size}) and n_train ({self.train.n_train}) must be "
                             f"multiples of context_blocks={cb} to keep the block budget of the 'block+nn' GNNs")
        as_int("chunk_size", self.chunk_size, lo=1)
        GNNConfig(b=self.b, activation="quadratic", alpha=self.alpha)  # validates b and alpha

    def replace(self, **changes) -> "GNNSweepSpec":
        return replace(self, **changes)

    def context(self, edges: str) -> int:
        """Sites of a training lattice: ``b`` for ``"block"``, ``context_blocks * b`` for ``"block+nn"``."""
        check_choice("edge variant", edges, EDGE_VARIANTS)
        return self.b if edges == "block" else self.context_blocks * self.b

    def train_config(self, edges: str):
        """The engine's :class:`~rgsym.learn.training.TrainConfig` for GNNs with these edges (see the class docstring)."""
        k = self.context(edges) // self.b
        return replace(self.train, sites=self.context(edges), batch_size=self.train.batch_size // k,
                       n_train=self.train.n_train // k)

    def config(self, depth: int, width: int, activation: str, symmetry: str, edges: str) -> GNNConfig:
        return GNNConfig(b=self.b, width=width, depth=depth, activation=activation, symmetry=symmetry, edges=edges,
                         alpha=self.alpha if activation == "quadratic" else None)

    def members(self) -> list[Member]:
        """All members, in the sweep's order (size, activation, symmetry, edges, task, seed)."""
        return [Member(self.config(d, w, a, s, e), t, seed)
                for d, w in self.sizes for a in self.activations for s in self.symmetries for e in self.edges
                for t in self.tasks for seed in self.seeds]

    def chunks(self) -> list[list[int]]:
        """Member indices grouped into ensembles of at most ``chunk_size``: same ``(depth, width, edges)``
        (tensor shapes and graph). A heavy group (members x batch x depth x width^2 above
        :data:`MERGE_COST`) is split further by antisymmetrisation flag, so that no member pays for
        another's second (antisymmetrising) pass; shared and broken weights cost the same (on training
        lattices each layer is one block-matrix product, :data:`rgsym.nets.gnn.DENSE_SITES`). Light groups
        stay whole, since there the fixed cost of every training step dominates. The chunks do not
        depend on the device, so the cache keys do not either."""
        members = self.members()
        groups: dict = {}
        for i, m in enumerate(members):
            c = m.config
            groups.setdefault((c.depth, c.width, c.edges), []).append(i)
        out = []
        for (depth, width, _), ids in groups.items():
            if len(ids) * self.train.batch_size * depth * width * width > MERGE_COST:
                sub: dict = {}
                for i in ids:
                    c = members[i].config
                    sub.setdefault(c.antisymmetrised, []).append(i)
                parts = list(sub.values())
            else:
                parts = [ids]
            out += [p[a:a + self.chunk_size] for p in parts for a in range(0, len(p), self.chunk_size)]
        return out

    def member_model(self, member: Member, payload: dict, pos: int) -> EnsembleGNN:
        """The trained GNN at position ``pos`` of a cached chunk ``payload``, as an ensemble of one."""
        one = {k: ([x[pos:pos + 1].clone() for x in v] if isinstance(v, list) else v[pos:pos + 1].clone())
               for k, v in payload["raw"].items()}
        return EnsembleGNN([member.config], [member.seed], dtype=one["readout"].dtype,
                           context=self.context(member.config.edges), _raw=one)

    def key(self) -> dict:
        return {"sizes": self.sizes, "symmetries": self.symmetries, "edges": self.edges,
                "activations": self.activations, "tasks": self.tasks, "seeds": self.seeds, "b": self.b,
                "alpha": self.alpha, "context_blocks": self.context_blocks, "train": self.train.key(),
                "measures": self.measures.key()}

    def describe(self) -> str:
        """One line naming the grid (for figure stamps)."""
        sz = ", ".join(f"{d}x{w}" for d, w in self.sizes)
        return (f"GNNs b={self.b}, {len(self.symmetries)} sym x {len(self.edges)} edge sets x "
                f"{len(self.activations)} act x sizes [{sz}] x {len(self.tasks)} tasks x {len(self.seeds)} seeds, "
                f"{self.train.steps} Adam steps, {self.train.batch_size} blocks/step, n_train={self.train.n_train} blocks")


def _gnn_chunk_key(spec: GNNSweepSpec, members, src: str) -> str:
    edges = members[0].config.edges
    return cache.content_key("gnn-chunk", [m.key() for m in members], spec.train_config(edges).key(),
                             spec.measures.key(), src)


def _train_gnn_chunk(spec: GNNSweepSpec, members, ids, key: str, src: str, device, progress: bool, desc: str,
                     threads: int | None = 1) -> dict:
    """Train and measure one chunk of GNNs (one edge variant); returns the payload that is cached."""
    edges = members[0].config.edges
    tc = spec.train_config(edges)
    model = EnsembleGNN([m.config for m in members], [m.seed for m in members], dtype=tc.torch_dtype,
                        device=device, context=spec.context(edges))
    payload = train_and_measure(model, members, ids, tc, spec.measures, key=key, src=src, device=device,
                                progress=progress, desc=desc, threads=threads)
    payload["raw"] = {k: ([x.detach().cpu() for x in v] if isinstance(v, list) else v.detach().cpu())
                      for k, v in model.raw().items()}
    return payload


def run_gnn_sweep(spec: GNNSweepSpec, *, device=None, progress: bool | None = None, max_chunks: int | None = None,
                  only: Iterable[int] | None = None, threads: int | None = 1, workers: int = 1, executor=None):
    """Train and measure every member of ``spec`` with the engine of Chapter 2 (cached chunks are loaded).

    ``only``: member ids; then just the chunks holding them are trained or loaded (the chunk keys are
    those of the full sweep, so a later chapter reuses the networks an earlier one trained).
    ``max_chunks`` stops after training that many new chunks. ``threads``: torch CPU threads per
    process (:func:`rgsym.learn.training.cpu_threads`); ``workers > 1`` trains chunks in that many spawned
    processes (CPU only; every chunk is cached as soon as it is done). The chunks are the same on every
    device, so results computed on a GPU and on a CPU share their cache keys. Returns a
    :class:`~rgsym.learn.sweep.SweepResult`. ``executor``: as for :func:`rgsym.learn.run_sweep`.
    """
    if progress is None:
        progress = not os.environ.get("RGSYM_QUIET")
    check_workers(workers)
    src = code_hash(__name__)
    members = spec.members()
    gpu = device is not None and torch.device(device).type != "cpu"
    chunks = spec.chunks()  # the same on every device: the cache keys do not depend on where it runs
    if only is not None:
        want = {int(i) for i in only}
        bad = [i for i in want if not 0 <= i < len(members)]
        if bad:
            raise ValueError(f"member ids {sorted(bad)} are not in this sweep (0..{len(members) - 1})")
        chunks = [ids for ids in chunks if want.intersection(ids)]
    payloads, n_trained, n_cached = execute_chunks(
        spec, chunks, namespace=GNN_NAMESPACE, src=src, key_fn=_gnn_chunk_key, train_fn=_train_gnn_chunk,
        worker_fn=_gnn_worker, cost_fn=_gnn_chunk_cost, label="GNN sweep chunks", device=device, gpu=gpu,
        progress=progress, max_chunks=max_chunks, threads=threads, workers=workers, executor=executor)
    mem, tab = member_tables(members, payloads, extra={"edges": lambda m: m.config.edges, "model": lambda m: "GNN"})
    return SweepResult(spec, mem, tab, payloads, n_trained, n_cached)


def _gnn_worker(spec: GNNSweepSpec, ids: list, key: str, src: str, threads) -> dict:
    """Train one chunk in a worker process and return its payload (the parent caches it, so workers
    need no shared cache folder: any executor, e.g. a dask cluster's, can run them)."""
    members = spec.members()
    return _train_gnn_chunk(spec, [members[i] for i in ids], ids, key, src, None, False, "", threads)


def _gnn_chunk_cost(spec: GNNSweepSpec, members) -> float:
    c = members[0].config
    sites = spec.context(c.edges)
    per = c.width * c.width * c.depth * sites * (1 + (c.n_edge_types if c.weights == "broken" else 1))
    return len(members) * (per + 200) * (2 if c.antisymmetrised else 1)
