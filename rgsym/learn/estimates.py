r"""What a sweep will cost before it runs: a calibrated estimate of its training time (issue 15).

Every chapter that trains networks states this estimate in its set-up, before any training, whether
the run goes ahead or not; a run estimated above :data:`rgsym.learn.sweep.MAX_HOURS` is refused there
(the same limit and the same ``RGSYM_ALLOW_LONG=1`` escape as :func:`rgsym.learn.sweep.check_budget`,
which every sweep still applies as its own floor).

**The model.** One Adam step of a chunk (one batched ensemble) costs

.. math:: t_{\rm step} = a + c\, u, \qquad u = \text{the chunk's cost units per step}

where :math:`u` is the sweep's own planning cost of the chunk (``_chunk_cost`` of
:mod:`~rgsym.learn.mlp_sweep` or :mod:`~rgsym.learn.gnn_sweep`) times the batch size, :math:`a` the
fixed per-step overhead (kernel launches, the optimiser, the minibatch hash) and :math:`c` the cost of a
unit. :math:`(a, c)` were fitted, by least squares on relative error, to the per-chunk training times
recorded in the cache of one paper-profile run on :data:`CALIBRATION_MACHINE` (24 MLP chunks of
Chapter 2; 14 GNN chunks of Chapter 4). On that run the fitted model predicts each chunk within the
factors in :data:`CHUNK_ERROR` and the grid's total within 6 % (MLP) and 37 % (GNN). On another machine
the estimate scales with its speed; it is a planning number, not a measurement.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .sweep import MAX_HOURS

CALIBRATION_MACHINE = "2-core Intel Xeon (AVX-512), torch 2.13 CPU, one thread per process"
"""Where :data:`STEP_COSTS` were measured."""


@dataclass(frozen=True)
class StepCost:
    """Seconds per Adam step of one chunk: ``overhead + per_unit * units``."""

    overhead: float
    per_unit: float

    def seconds(self, units: float, steps: int) -> float:
        return float(steps) * (self.overhead + self.per_unit * float(units))


STEP_COSTS = {"mlp": StepCost(1.62e-3, 2.83e-10), "gnn": StepCost(1.87e-3, 1.01e-10)}
"""The fitted :math:`(a, c)` of each network family (see the module docstring)."""

CHUNK_ERROR = {"mlp": (0.80, 1.51), "gnn": (0.58, 2.39)}
"""Range of actual / estimated training time over the calibration chunks."""


@dataclass(frozen=True)
class Estimate:
    """A sweep's estimated training time from an empty cache (``seconds``) and what is still to train
    (``remaining_seconds``, over ``chunks - cached`` chunks), for ``workers`` parallel processes."""

    label: str
    family: str
    chunks: int
    cached: int | None
    seconds: float
    remaining_seconds: float
    workers: int = 1

    def line(self) -> str:
        lo, hi = CHUNK_ERROR[self.family]
        return (f"Estimated training cost of {self.label}: {_fmt(self.seconds)} from an empty cache "
                f"({self.chunks} chunk{'s' if self.chunks > 1 else ''}; per-chunk error {lo:.1f}-{hi:.1f}x on the "
                f"calibration machine, {self.workers} process{'es' if self.workers > 1 else ''}; "
                + ("cache not checked" if self.cached is None else
                   f"{self.cached} cached, about {_fmt(self.remaining_seconds)} left to train")
                + f"). Limit: {MAX_HOURS:g} h.")


def _fmt(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def _family(spec):
    from . import gnn_sweep, mlp_sweep

    if isinstance(spec, mlp_sweep.SweepSpec):
        return "mlp", mlp_sweep, mlp_sweep._chunk_cost, mlp_sweep._chunk_key, mlp_sweep.NAMESPACE
    if isinstance(spec, gnn_sweep.GNNSweepSpec):
        return "gnn", gnn_sweep, gnn_sweep._gnn_chunk_cost, gnn_sweep._gnn_chunk_key, gnn_sweep.GNN_NAMESPACE
    raise TypeError(f"expected a SweepSpec or a GNNSweepSpec, got {type(spec).__name__}")


def estimate_sweep(spec, label: str, *, workers: int = 1, check_cache: bool = True) -> Estimate:
    """The :class:`Estimate` of a sweep spec (MLP or GNN): every chunk of ``spec.chunks()`` is costed by
    the model above; ``check_cache`` also looks up which chunks are already cached (nothing is loaded)."""
    from ..codehash import code_hash
    from . import cache

    family, module, cost_fn, key_fn, namespace = _family(spec)
    members = spec.members()
    rate = STEP_COSTS[family]
    store = cache.Store(namespace) if check_cache else None
    src = code_hash(module.__name__) if check_cache else None
    total = remaining = 0.0
    cached = 0
    chunks = spec.chunks()
    for ids in chunks:
        ms = [members[i] for i in ids]
        s = rate.seconds(cost_fn(spec, ms) * spec.train.batch_size, spec.train.steps)
        total += s
        if store is not None and key_fn(spec, ms, src) in store:
            cached += 1
        else:
            remaining += s
    w = max(1, int(workers))
    return Estimate(label, family, len(chunks), cached, total / w, remaining / w, w)


def estimate_members(n_members: int, units_per_member: float, steps: int, batch_size: int, label: str,
                     family: str = "mlp") -> Estimate:
    """The :class:`Estimate` of one batched ensemble of ``n_members`` (e.g. Chapter 6's runs), each
    costing ``units_per_member`` units per lattice per step; nothing is looked up in the cache."""
    s = STEP_COSTS[family].seconds(n_members * units_per_member * batch_size, steps)
    return Estimate(label, family, 1, None, s, s)


def estimate_breaking(spec, label: str) -> Estimate:
    """The :class:`Estimate` of a symmetry-breaking run (:class:`rgsym.symmetry.breaking.BreakingSpec`,
    Chapter 6): one ensemble of ``spec.members()``, each costed like a sweep member of its family (GNN
    members on one block of ``b`` sites). It trains as one chunk, so ``workers`` do not apply."""
    from types import SimpleNamespace

    from . import gnn_sweep, mlp_sweep

    if spec.family == "mlp":
        cost, ctx = mlp_sweep._chunk_cost, None
    else:  # the sweep's own GNN cost, on the single training block of b sites
        cost, ctx = gnn_sweep._gnn_chunk_cost, SimpleNamespace(context=lambda edges: spec.b)
    units = sum(cost(ctx, [SimpleNamespace(config=spec.config(m[0], m[1]))]) for m in spec.members())
    return estimate_members(1, units, spec.train.steps, spec.train.batch_size, label, spec.family)


def announce(*estimates: Estimate) -> None:
    """Print each estimate's line and refuse (``RuntimeError``) when the remaining total exceeds
    :data:`~rgsym.learn.sweep.MAX_HOURS`, unless ``RGSYM_ALLOW_LONG=1``. Returns nothing, so that a
    chapter cell ending in it displays only the printed lines."""
    for e in estimates:
        print(e.line())
    left = sum(e.remaining_seconds for e in estimates)
    if left > MAX_HOURS * 3600 and os.environ.get("RGSYM_ALLOW_LONG") != "1":
        raise RuntimeError(f"this run is estimated at {_fmt(left)} of training, above the {MAX_HOURS:g} h limit; "
                           "lower steps or seeds, or set RGSYM_ALLOW_LONG=1 to go ahead")
