r"""The training runs of Chapter 6: symmetric and free networks trained with the symmetry measures logged.

:class:`BreakingSpec` names the runs: block-map MLPs (or lattice GNNs) of each activation and
symmetry, from a *small* and a *standard* initialisation (:data:`INIT_NAMES`), trained on one task
law; :data:`FAMILIES` says, per model family, which symmetry is free, which one cannot break, and
which measures see the break (the parameter distance :math:`\Delta_{\rm tied}` (6.3) or
:math:`\Delta_{\rm shared}` (6.9)) and the restoration (the even part (6.5) or the permutation
asymmetry (6.6)). :func:`run_breaking` trains every member with the
:class:`~rgsym.symmetry.logger.SymmetryLogger` callback, one batched ensemble per initialisation
(one cached chunk each, keyed by content), and returns the tidy :class:`BreakingResult`.
The analysis of the runs (breaking, restoration, the verdict on claim C5) is Chapter 6's
(:mod:`rgsym.chapters.ch6_symmetry`).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from importlib.metadata import version

import numpy as np
import pandas as pd
import torch

from ..codehash import code_hash
from ..config import describe_device
from ..clt.laws import LAWS
from ..learn.cache import Store, content_key
from ..learn.training import TrainConfig, train_ensemble
from ..nets.activations import ACTIVATIONS
from ..nets.mlp import SYMMETRIES, EnsembleMLP, MLPConfig
from ..validation import as_int, check_choice
from .logger import SymmetryLogger

__all__ = ["INIT_NAMES", "FAMILIES", "BreakingSpec", "BreakingResult", "run_breaking"]


INIT_NAMES = {"small": 0.01, "standard": 1.0}
"""The two initialisations of Chapter 6: every initial weight and bias of the standard
:math:`U(-d_{in}^{-1/2}, d_{in}^{-1/2})` draw multiplied by this factor."""


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

    Every combination of ``activations`` x ``symmetries`` x ``inits`` (names of :data:`INIT_NAMES`)
    x ``seeds`` is one member, of width ``width`` and ``depth`` hidden layers; the members of one
    initialisation train together as one ensemble (one cached chunk). A free member and
    the constrained members with the same seed start from the projections of the same raw weights.
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

    def __post_init__(self):
        from ..nets.gnn import GNN_SYMMETRIES  # torch-geometric: imported here, not when the module loads

        check_choice("model family", self.family, tuple(FAMILIES))
        fam = FAMILIES[self.family]
        if self.symmetries is None:
            object.__setattr__(self, "symmetries", fam["symmetries"])
        object.__setattr__(self, "symmetries", tuple(self.symmetries))
        sym_choices = SYMMETRIES if self.family == "mlp" else GNN_SYMMETRIES
        for name, values, choices in (("activation", self.activations, ACTIVATIONS),
                                      (f"{self.family} symmetry", self.symmetries, sym_choices),
                                      ("initialisation", self.inits, tuple(INIT_NAMES))):
            if not values:
                raise ValueError(f"at least one {name} is needed")
            for v in values:
                check_choice(name, v, choices)
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
            from ..nets.gnn import GNNConfig

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
                                           "alpha", "task", "n_eval", "tol", "family")}
        return {**d, "seeds": [int(s) for s in self.seeds], "train": self.train.key(), "init_scales": INIT_NAMES}

    def replace(self, **changes) -> "BreakingSpec":
        return dataclasses.replace(self, **changes)


@dataclass
class BreakingResult:
    """What :func:`run_breaking` returns.

    ``members``: one row per member (``member, activation, symmetry, init, init_scale, seed,
    diverged, diverged_step, final_loss``). ``traj``: one row per member and logged step with the
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


def _run_chunk(spec: BreakingSpec, init: str, device, progress) -> dict:
    members = [(act, sym, int(seed)) for act in spec.activations for sym in spec.symmetries for seed in spec.seeds]
    model = spec.build(members, device)
    with torch.no_grad():  # scaling the raw weights keeps them in (and the effective ones on) each symmetric subspace
        for p in model.parameters():
            p.mul_(INIT_NAMES[init])
    logger = SymmetryLogger(b=spec.b, task=spec.task, n_eval=spec.n_eval, tol=spec.tol)
    t0 = time.perf_counter()
    res = train_ensemble(model, [spec.task] * len(members), [s for *_, s in members], spec.train, device=device,
                         callback=logger, progress=progress, desc=f"{init} init")
    names = [k for k in res.logs[0] if k != "step"]
    logs = {k: torch.as_tensor(np.stack([log[k] for log in res.logs], axis=1)) for k in names}
    dev = torch.device(device) if device is not None else torch.device("cpu")
    return {
        "init": init, "members": [list(m) for m in members],
        "log_steps": [int(t) for t in res.log_steps], "train_loss": torch.as_tensor(res.train_loss),
        "logs": logs, "final_loss": torch.as_tensor(res.final_loss), "diverged": torch.as_tensor(res.diverged),
        "diverged_step": torch.as_tensor(res.diverged_step),
        "provenance": {"device": describe_device(dev), "torch": str(torch.__version__),
                       "rgsym": version("rgsym"), "source_hash": code_hash(__name__),
                       "train_seconds": res.wall_time, "total_seconds": time.perf_counter() - t0},
    }


def run_breaking(spec: BreakingSpec, *, device=None, progress: bool | None = None) -> BreakingResult:
    """Train (or load from the cache) every member of ``spec`` with the symmetry measures logged.

    The members of one initialisation (all activations, symmetries and seeds) train as one ensemble;
    each such chunk is cached on its own under ``rgsym.learn.cache.cache_dir()/symmetry-runs``, keyed
    by the spec, the initialisation and the code it runs (:func:`rgsym.codehash.code_hash` of this
    module and all it imports), so an interrupted run resumes from the chunks that finished. The
    device is provenance, not part of the key.
    """
    if not isinstance(spec, BreakingSpec):
        raise TypeError("spec must be a BreakingSpec")
    store = Store("symmetry-runs")
    src = code_hash(__name__)
    mrows, trows, prov = [], [], []
    mid = 0
    for init in spec.inits:
        key = content_key("symmetry-chunk", spec.key(), init, src)  # spec.key() holds the family
        if key in store:
            payload = store.get(key)
        else:
            payload = _run_chunk(spec, init, device, progress)
            store.put(key, payload)
        prov.append({"init": init, **payload["provenance"]})
        steps = payload["log_steps"]
        loss = payload["train_loss"].numpy()
        logs = {k: v.numpy() for k, v in payload["logs"].items()}
        for i, (act, sym, seed) in enumerate(payload["members"]):
            row = {"member": mid, "activation": act, "symmetry": sym, "init": init,
                   "init_scale": INIT_NAMES[init], "seed": int(seed)}
            mrows.append({**row, "diverged": bool(payload["diverged"][i]),
                          "diverged_step": int(payload["diverged_step"][i]),
                          "final_loss": float(payload["final_loss"][i])})
            cols = {"step": steps, "train_loss": loss[i], **{k: v[i] for k, v in logs.items()}}
            trows.append(pd.DataFrame({**row, **cols}))
            mid += 1
    return BreakingResult(spec, pd.DataFrame(mrows), pd.concat(trows, ignore_index=True), prov)
