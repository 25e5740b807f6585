r"""The training runs of Chapter 6: symmetric and free networks trained with the symmetry measures logged.

:class:`BreakingSpec` names the runs: block-map MLPs (or lattice GNNs) of each activation and
symmetry, from a *small* and a *standard* initialisation (:data:`INIT_NAMES`) and from the symmetric
subspace plus a relative perturbation :math:`\epsilon` (``sym-<eps>``, :func:`init_kind`), with and
without L2 weight decay, trained on one task law; :data:`FAMILIES` says, per model family, which symmetry is free, which one cannot break, and
which measures see the break (the parameter distance :math:`\Delta_{\rm tied}` (6.3) or
:math:`\Delta_{\rm shared}` (6.9)) and the restoration (the even part (6.5) or the permutation
asymmetry (6.6)). :func:`run_breaking` trains every member with the
:class:`~rgsym.symmetry.logger.SymmetryLogger` callback, one batched ensemble per initialisation
(all arms in one batched ensemble, one cached chunk keyed by content), and returns the tidy
:class:`BreakingResult`. Weight decay is an L2 penalty :math:`\tfrac\lambda2\lVert\theta\rVert^2` per decayed member, applied by the
training engine (:func:`rgsym.learn.training.train_ensemble`, ``weight_decay``).
The analysis of the runs (breaking, restoration, the verdict on claim C5) is Chapter 6's
(:mod:`rgsym.chapters.ch6_symmetry`).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from importlib.metadata import version

import numpy as np
import pandas as pd
import torch

from ..codehash import code_hash
from ..devices import describe_device
from ..clt.laws import LAWS
from ..learn.cache import Store, content_key
from ..learn.training import TrainConfig, train_ensemble
from ..nets.activations import ACTIVATIONS
from ..nets.ensemble import project_shared
from ..nets.mlp import SYMMETRIES, EnsembleMLP, MLPConfig
from ..validation import as_float, as_int, check_choice
from .logger import SymmetryLogger
from .parameters import project_hidden_perm

__all__ = ["INIT_NAMES", "SYM_PREFIX", "init_kind", "FAMILIES", "BreakingSpec", "BreakingResult", "run_breaking"]


INIT_NAMES = {"small": 0.01, "standard": 1.0}
"""The scaled initialisations of Chapter 6: every initial weight and bias of the standard
:math:`U(-d_{in}^{-1/2}, d_{in}^{-1/2})` draw multiplied by this factor."""

SYM_PREFIX = "sym-"
r"""An initialisation named ``sym-<eps>`` (e.g. ``sym-0.001``) starts on the symmetric subspace: from the
standard draw :math:`\theta`, :math:`\theta_0 = P\theta + \epsilon\lVert P\theta\rVert\,\delta/\lVert\delta\rVert`
with :math:`\delta = \theta - P\theta` and :math:`P` the family's projection (hidden-unit permutations (6.3')
for MLPs, the shared subspace (6.9) for GNNs), so that :math:`\Delta/\lVert\theta_0\rVert =
\epsilon/\sqrt{1+\epsilon^2}`. Only the family's free symmetry runs from these."""


def init_kind(name: str) -> tuple:
    """``('scale', factor)`` for a name of :data:`INIT_NAMES`, ``('sym', eps)`` for ``sym-<eps>``."""
    if name in INIT_NAMES:
        return ("scale", INIT_NAMES[name])
    if isinstance(name, str) and name.startswith(SYM_PREFIX):
        try:
            eps = float(name[len(SYM_PREFIX):])
        except ValueError:
            eps = math.nan
        if math.isfinite(eps) and eps >= 0:
            return ("sym", eps)
    raise ValueError(f"unknown initialisation {name!r}: valid choices are {tuple(INIT_NAMES)} or "
                     f"'{SYM_PREFIX}<eps>' with eps >= 0 (e.g. 'sym-0.001')")


FAMILIES = {
    "mlp": {"free": "free", "constrained": "tied-hidden", "distance": "d_tied_hidden", "restore": "even",
            "symmetries": ("free", "perm-in+odd", "tied-hidden")},
    "gnn": {"free": "broken", "constrained": "shared", "distance": "d_shared", "restore": "perm_fn",
            "symmetries": ("broken", "shared")},
}
r"""The two model families of Chapter 6 and what their analysis compares: the unconstrained symmetry
(``free``), the one that cannot break (``constrained``), the parameter distance that measures the
break (:math:`\Delta_{\rm tied}` (6.3) for MLPs, :math:`\Delta_{\rm shared}` (6.9) for GNNs) and the
function measure whose return counts as restoration (the even part (6.5) for MLPs, whose hidden units
pair up to cancel it; the permutation asymmetry (6.6) for GNNs, whose broken weights break it), and
the default symmetries run."""


@dataclass(frozen=True)
class BreakingSpec:
    r"""The runs of Chapter 6: block-map MLPs (``family='mlp'``) or lattice GNNs (``'gnn'``) of each
    activation and symmetry, from each initialisation, trained on one task with the symmetry measures
    logged (``symmetries`` ``None``: the family's default, :data:`FAMILIES`).

    Every combination of ``activations`` x ``symmetries`` x ``inits`` x ``seeds`` is one member, of width
    ``width`` and ``depth`` hidden layers (inits: names of :data:`INIT_NAMES`, or ``sym-<eps>``
    (:data:`SYM_PREFIX`), which run the free symmetry only); every init of ``decay_inits`` is run once
    more, free symmetry only, with L2 weight decay ``weight_decay``. All members train together as one
    batched ensemble (one cached chunk). A free member and the constrained members with the same seed
    start from the projections of the same raw weights, and every arm of a seed trains on the same data.
    """

    activations: tuple = ("identity", "quadratic", "tanh", "relu", "gelu", "silu")
    symmetries: tuple | None = None
    inits: tuple = ("small", "standard")
    seeds: tuple = tuple(range(10))
    width: int = 8
    depth: int = 1
    b: int = 2
    alpha: float = 0.5
    task: str = "gaussian"
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=5000, n_train=1024, log_points=40))
    n_eval: int = 1024
    tol: float = 0.05
    family: str = "mlp"
    weight_decay: float = 0.0
    decay_inits: tuple = ()

    def __post_init__(self):
        from ..nets.gnn_config import GNN_SYMMETRIES

        check_choice("model family", self.family, tuple(FAMILIES))
        fam = FAMILIES[self.family]
        if self.symmetries is None:
            object.__setattr__(self, "symmetries", fam["symmetries"])
        object.__setattr__(self, "symmetries", tuple(self.symmetries))
        sym_choices = SYMMETRIES if self.family == "mlp" else GNN_SYMMETRIES
        for name, values, choices in (("activation", self.activations, ACTIVATIONS),
                                      (f"{self.family} symmetry", self.symmetries, sym_choices)):
            if not values:
                raise ValueError(f"at least one {name} is needed")
            for v in values:
                check_choice(name, v, choices)
        object.__setattr__(self, "inits", tuple(self.inits))
        object.__setattr__(self, "decay_inits", tuple(self.decay_inits))
        if not self.inits:
            raise ValueError("at least one initialisation is needed")
        for v in self.inits + self.decay_inits:
            init_kind(v)
        as_float("weight_decay", self.weight_decay, lo=0.0)
        if self.decay_inits and not self.weight_decay > 0:
            raise ValueError("decay_inits need a weight_decay > 0")
        if fam["free"] not in self.symmetries:
            raise ValueError(f"the symmetries must include {fam['free']!r} (the reference of every comparison)")
        if not self.seeds:
            raise ValueError(f"seeds must be a non-empty tuple of integers, got {self.seeds!r}")
        for s in self.seeds:
            as_int("seed", s)
        check_choice("task law", self.task, LAWS)
        self.config("quadratic", self.symmetries[0])
        if not isinstance(self.train, TrainConfig):
            raise TypeError("train must be a rgsym.learn.training.TrainConfig")
        as_int("n_eval", self.n_eval, lo=8)

    def config(self, activation: str, symmetry: str):
        """The :class:`~rgsym.nets.mlp.MLPConfig` (or :class:`~rgsym.nets.gnn.GNNConfig`) of one member."""
        kw = dict(b=self.b, width=self.width, depth=self.depth, activation=activation, symmetry=symmetry,
                  alpha=self.alpha if activation == "quadratic" else None)
        if self.family == "gnn":
            from ..nets.gnn_config import GNNConfig

            return GNNConfig(**kw)
        return MLPConfig(**kw)

    def build(self, members, device=None):
        """The ensemble of ``members`` ``[(activation, symmetry, seed), ...]``."""
        configs = [self.config(a, sym) for a, sym, _ in members]
        seeds = [int(seed) for *_, seed in members]
        if self.family == "gnn":
            from ..nets.gnn import EnsembleGNN

            return EnsembleGNN(configs, seeds, dtype=self.train.torch_dtype, device=device)
        return EnsembleMLP(configs, seeds, dtype=self.train.torch_dtype, device=device)

    def key(self) -> dict:
        d = {k: getattr(self, k) for k in ("activations", "symmetries", "inits", "width", "depth", "b",
                                           "alpha", "task", "n_eval", "tol", "family", "weight_decay",
                                           "decay_inits")}
        return {**d, "seeds": [int(s) for s in self.seeds], "train": self.train.key(), "init_scales": INIT_NAMES}

    def replace(self, **changes) -> "BreakingSpec":
        return dataclasses.replace(self, **changes)

    def members(self) -> list:
        """Every member as ``(activation, symmetry, init, decay, seed)``, in training order."""
        free = FAMILIES[self.family]["free"]
        arms = [(i, 0.0) for i in self.inits] + [(i, float(self.weight_decay)) for i in self.decay_inits]
        out = []
        for init, decay in arms:
            syms = self.symmetries if (init_kind(init)[0] == "scale" and decay == 0) else (free,)
            out += [(a, sym, init, decay, int(seed)) for a in self.activations for sym in syms for seed in self.seeds]
        return out


@dataclass
class BreakingResult:
    """What :func:`run_breaking` returns.

    ``members``: one row per member (``member, activation, symmetry, init, decay, arm`` (init, ``+wd`` when
    decayed), ``init_scale, eps`` (NaN for scaled inits), ``seed, diverged, diverged_step, final_loss``). ``traj``: one row per member and logged step with the
    member columns, ``step``, ``train_loss`` (on the member's training set) and one column per
    logged measure (:data:`~rgsym.symmetry.parameters.PARAM_MEASURES`,
    :data:`~rgsym.symmetry.functions.FUNCTION_MEASURES`, :data:`~rgsym.symmetry.logger.ERROR_MEASURES`).
    ``provenance``: device, torch and rgsym versions, code hash and timings of every chunk.
    """

    spec: BreakingSpec
    members: pd.DataFrame
    traj: pd.DataFrame
    provenance: list

    @property
    def n_diverged(self) -> int:
        return int(self.members["diverged"].sum())

    @property
    def train_seconds(self) -> float:
        return float(sum(p["train_seconds"] for p in self.provenance))


def _groups(model, family: str) -> list:
    """The raw parameter tensors of the family's symmetry, each with its projection onto the symmetric
    subspace (MLP: hidden-unit permutations (6.3'); GNN: the shared subspace (6.9)), as ``[(p, Pp)]``."""
    if family == "gnn":
        ps = list(model.root) + list(model.msg) + list(model.bias) + [model.readout]
        return [(p, project_shared(p)) for p in ps]
    layers = list(zip(model.weights, model.biases))
    proj = project_hidden_perm(layers)
    return [pair for (W, c), (P, q) in zip(layers, proj) for pair in ((W, P), (c, q))]


def _initialise(model, members, family: str) -> None:
    """Scale (``small``, ``standard``) or place on the symmetric subspace plus a relative perturbation
    (``sym-<eps>``) each member's raw weights, in place (see :data:`SYM_PREFIX`)."""
    E = len(members)
    kinds = [init_kind(m[2]) for m in members]
    ref = next(model.parameters())
    scale = torch.tensor([v if k == "scale" else 1.0 for k, v in kinds], dtype=ref.dtype, device=ref.device)
    sym = torch.tensor([k == "sym" for k, _ in kinds], device=ref.device)
    eps = torch.tensor([v if k == "sym" else 0.0 for k, v in kinds], dtype=ref.dtype, device=ref.device)
    with torch.no_grad():
        if bool(sym.any()):
            pairs = _groups(model, family)
            n_sym = torch.stack([Pp.reshape(E, -1).square().sum(1) for _, Pp in pairs]).sum(0).sqrt()
            n_off = torch.stack([(p - Pp).reshape(E, -1).square().sum(1) for p, Pp in pairs]).sum(0).sqrt()
            gain = torch.where(n_off > 0, eps * n_sym / torch.where(n_off > 0, n_off, torch.ones_like(n_off)),
                               torch.zeros_like(n_off))
            new = [Pp + gain.view(E, *[1] * (p.dim() - 1)) * (p - Pp) for p, Pp in pairs]
            for (p, _), q in zip(pairs, new):
                p.copy_(torch.where(sym.view(E, *[1] * (p.dim() - 1)), q, p))
        for p in model.parameters():  # scaling keeps the raw weights in (the effective ones on) each subspace
            p.mul_(scale.view(E, *[1] * (p.dim() - 1)))


def _run_chunk(spec: BreakingSpec, device, progress) -> dict:
    members = spec.members()
    model = spec.build([(a, sym, seed) for a, sym, _, _, seed in members], device)
    _initialise(model, members, spec.family)
    decay = [d for *_, d, _ in members]
    logger = SymmetryLogger(b=spec.b, task=spec.task, n_eval=spec.n_eval, tol=spec.tol)
    t0 = time.perf_counter()
    res = train_ensemble(model, [spec.task] * len(members), [m[-1] for m in members], spec.train, device=device,
                         callback=logger, progress=progress, desc=f"{spec.family} symmetry runs",
                         weight_decay=decay)
    names = [k for k in res.logs[0] if k != "step"]
    logs = {k: torch.as_tensor(np.stack([log[k] for log in res.logs], axis=1)) for k in names}
    dev = torch.device(device) if device is not None else torch.device("cpu")
    return {
        "members": [list(m) for m in members],
        "log_steps": [int(t) for t in res.log_steps], "train_loss": torch.as_tensor(res.train_loss),
        "logs": logs, "final_loss": torch.as_tensor(res.final_loss), "diverged": torch.as_tensor(res.diverged),
        "diverged_step": torch.as_tensor(res.diverged_step),
        "provenance": {"device": describe_device(dev), "torch": str(torch.__version__),
                       "rgsym": version("rgsym"), "source_hash": code_hash(__name__), "n_members": len(members),
                       "train_seconds": res.wall_time, "total_seconds": time.perf_counter() - t0},
    }


def run_breaking(spec: BreakingSpec, *, device=None, progress: bool | None = None) -> BreakingResult:
    """Train (or load from the cache) every member of ``spec`` with the symmetry measures logged.

    All members (every arm: initialisation and weight decay; every activation, symmetry and seed) train
    as one batched ensemble, cached under ``rgsym.learn.cache.cache_dir()/symmetry-runs``, keyed by the
    spec and the code it runs (:func:`rgsym.codehash.code_hash` of this module and all it imports). The
    device is provenance, not part of the key.
    """
    if not isinstance(spec, BreakingSpec):
        raise TypeError("spec must be a BreakingSpec")
    store = Store("symmetry-runs")
    key = content_key("symmetry-runs", spec.key(), code_hash(__name__))  # spec.key() holds the family
    if key in store:
        payload = store.get(key)
    else:
        payload = _run_chunk(spec, device, progress)
        store.put(key, payload)
    steps = payload["log_steps"]
    loss = payload["train_loss"].numpy()
    logs = {k: v.numpy() for k, v in payload["logs"].items()}
    mrows, trows = [], []
    for i, (act, sym, init, decay, seed) in enumerate(payload["members"]):
        kind, value = init_kind(init)
        row = {"member": i, "activation": act, "symmetry": sym, "init": init, "decay": float(decay),
               "arm": init + ("+wd" if decay > 0 else ""), "init_scale": value if kind == "scale" else 1.0,
               "eps": value if kind == "sym" else math.nan, "seed": int(seed)}
        mrows.append({**row, "diverged": bool(payload["diverged"][i]),
                      "diverged_step": int(payload["diverged_step"][i]),
                      "final_loss": float(payload["final_loss"][i])})
        cols = {"step": steps, "train_loss": loss[i], **{k: v[i] for k, v in logs.items()}}
        trows.append(pd.DataFrame({**row, **cols}))
    return BreakingResult(spec, pd.DataFrame(mrows), pd.concat(trows, ignore_index=True), [payload["provenance"]])
