r"""Chapter 4: MLPs against GNNs on matched configurations, paired by seed (the digest's hypothesis).

The hypothesis (from a machine digest of the paper, not its abstract): MLPs reproduce the RG flow better
than GNNs. The two families are compared on *matched* configurations only, one GNN variant for one MLP
symmetry (:data:`MATCHED`), so that neither side picks its best of several noisy variants:

=================  ====================  ==============================================
MLP symmetry       GNN (``block`` edges)  what they share
=================  ====================  ==============================================
``perm-in``        ``shared``            the block's permutation symmetry
``free``           ``broken``            position-dependent weights
``perm-in+odd``    ``shared+odd``        permutation symmetry and :math:`f(-s) = -f(s)`
``odd``            ``broken+odd``        :math:`f(-s) = -f(s)` only
=================  ====================  ==============================================

A *cell* is one pair at one activation, size and training law; inside it MLP and GNN are paired by
seed. Cells where either class is linear by construction (:func:`rgsym.nets.expressivity.linear_by_construction`)
are left out: both contain the exact map. Per pair the statistic is
:math:`d = \log_{10}[\max(G_{\rm GNN}, F)/\max(G_{\rm MLP}, F)]` with :math:`F` the numerical floor of
the measure (``FLOOR_FACTOR`` times the exact map's own float32 error), so differences below the floor
are ties. The family statistic :math:`D` is the median over cells of the median over seeds of
:math:`d` (positive: the MLPs are better).

**The test** (:func:`verdict_mlp_gnn`): the MLPs capture the flow better (measure G3) when the 90 %
seed-bootstrap interval of :math:`D` lies above ``PAIR_TIE`` (the GNNs when it lies below
``-PAIR_TIE``), while the **control** -- the same statistic for MLPs against the same MLPs with the seeds
paired off by one, where no family difference exists -- lies inside :math:`\pm` ``PAIR_TIE``.
"""
from __future__ import annotations

import math
import numpy as np
import pandas as pd

from ..nets.expressivity import linear_by_construction
from ..nets.gnn_config import GNNConfig
from ..nets.mlp import MLPConfig
from ..verdicts import Verdict, decide

MATCHED = (("perm-in", "shared"), ("free", "broken"), ("perm-in+odd", "shared+odd"), ("odd", "broken+odd"))
"""(MLP symmetry, GNN symmetry) pairs compared, the GNN on ``block`` edges (no MLP sees a neighbour block)."""
PAIR_TIE = 0.1
r"""A family is better only when the interval of :math:`D` clears this many decades (a factor 1.26)."""
FLOOR_FACTOR = 10.0
"""The floor of a measure is this many times the exact map's own error in the training dtype."""
N_BOOT = 2000
"""Seed-bootstrap resamples."""

MLP_GNN_STATEMENT = "MLPs reproduce the RG flow better than GNNs (a machine digest's reading, not the abstract)."
MLP_GNN_TEST = ("On matched (MLP symmetry, GNN variant) cells paired by seed, nonlinear classes only: D = median over "
                "cells of the seed-median log10(GNN/MLP) of G3, each floored at FLOOR_FACTOR x the exact map's error. "
                "MLPs better when the 90 % seed-bootstrap interval of D lies above PAIR_TIE, while MLPs against "
                "themselves (seeds paired off by one) stay within +-PAIR_TIE.")


def _linear(row, family: str, b: int) -> bool:
    if family == "MLP":
        cfg = MLPConfig(b=b, width=int(row.width), depth=int(row.depth), activation=row.activation, symmetry=row.symmetry)
    else:
        cfg = GNNConfig(b=b, width=int(row.width), depth=int(row.depth), activation=row.activation,
                        symmetry=row.symmetry, edges="block")
    return linear_by_construction(cfg)[0]


def paired_table(mlp: pd.DataFrame, gnn: pd.DataFrame, measure: str, floor: float, *, b: int = 2,
                 shift_mlp: int | None = None) -> pd.DataFrame:
    r"""One row per matched cell and common seed: ``activation, size, task, pair, seed, mlp, gnn, d`` with
    :math:`d = \log_{10}[\max(\text{gnn}, F)/\max(\text{mlp}, F)]`, diverged or non-finite members dropped,
    and cells where either class is linear by construction left out. ``mlp``/``gnn`` are
    :func:`rgsym.chapters.ch4_gnns.tidy_summary` tables. ``shift_mlp``: the control -- the "GNN" side is
    the MLP of the same cell at the seed ``shift_mlp`` places further on (cyclically)."""
    keys = ["activation", "size", "task"]
    ok = lambda t: t[~t.diverged.astype(bool) & np.isfinite(t[measure].astype(float))]  # noqa: E731
    m = ok(mlp)
    g = ok(gnn[gnn.edges == "block"]) if shift_mlp is None else m
    rows = []
    for ms, gs in MATCHED:
        mm = m[m.symmetry == ms]
        gg = g[g.symmetry == (gs if shift_mlp is None else ms)]
        for key, a in mm.groupby(keys):
            other = gg
            for k, v in zip(keys, key):
                other = other[other[k] == v]
            if other.empty or _linear(a.iloc[0], "MLP", b) or (
                    shift_mlp is None and _linear(other.iloc[0], "GNN", b)):
                continue
            av = dict(zip(a.seed.astype(int), a[measure].astype(float)))
            ov = dict(zip(other.seed.astype(int), other[measure].astype(float)))
            seeds = sorted(av)
            for i, s in enumerate(seeds):
                t = s if shift_mlp is None else seeds[(i + shift_mlp) % len(seeds)]
                if t in ov:
                    d = math.log10(max(ov[t], floor) / max(av[s], floor))
                    rows.append((*key, f"{ms} | {gs}", s, av[s], ov[t], d))
    return pd.DataFrame(rows, columns=[*keys, "pair", "seed", "mlp", "gnn", "d"])


def _cell_matrix(pairs: pd.DataFrame) -> tuple[np.ndarray, list]:
    """``d`` as an array ``(n_cells, n_seeds)`` (NaN where a cell lacks a seed) and the seeds."""
    seeds = sorted(pairs.seed.unique())
    wide = pairs.pivot_table(index=["activation", "size", "task", "pair"], columns="seed", values="d")
    return wide.reindex(columns=seeds).to_numpy(dtype=float), seeds


def _statistic(M: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """D for seed resamples ``idx`` ``(B, n_seeds)`` of the cell matrix ``M``: ``(B,)``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a cell without any of the drawn seeds: left out
        return np.nanmedian(np.nanmedian(M[:, idx], -1), 0)


def family_statistic(pairs: pd.DataFrame) -> float:
    """:math:`D`: the median over cells of the median over seeds of ``d``."""
    if pairs.empty:
        return math.nan
    M, seeds = _cell_matrix(pairs)
    return float(_statistic(M, np.arange(len(seeds))[None])[0])


def family_interval(pairs: pd.DataFrame, *, n_boot: int = N_BOOT, level: float = 0.9, seed: int = 0) -> tuple:
    """The seed-bootstrap percentile interval of :math:`D` (the same resampled seeds in every cell)."""
    if pairs.empty:
        return (math.nan, math.nan)
    M, seeds = _cell_matrix(pairs)
    idx = np.random.default_rng(seed).integers(0, len(seeds), (n_boot, len(seeds)))
    vals = _statistic(M, idx)
    vals = vals[np.isfinite(vals)]
    lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def cell_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per matched cell: the seed-median MLP and GNN values, the median ``d`` and the number of seed pairs."""
    g = pairs.groupby(["activation", "size", "task", "pair"])
    return pd.DataFrame({"mlp (median)": g.mlp.median(), "gnn (median)": g.gnn.median(), "median d": g.d.median(),
                         "seed pairs": g.size()}).reset_index()


def verdict_mlp_gnn(mlp: pd.DataFrame, gnn: pd.DataFrame, exact_err: dict, *, measure: str = "G3", b: int = 2,
                    n_boot: int = N_BOOT, seed: int = 0) -> Verdict:
    """The pre-registered test of the digest's hypothesis (module docstring); ``exact_err``: the exact map's
    own error per measure (the floor is ``FLOOR_FACTOR`` times it). Margin: the interval's lower end minus
    ``PAIR_TIE`` (decades); the notes give the GNN-side and control outcomes."""
    memo = {}

    def parts(floor_factor):
        if floor_factor not in memo:
            floor = floor_factor * exact_err[measure]
            real = paired_table(mlp, gnn, measure, floor, b=b)
            ctrl = paired_table(mlp, gnn, measure, floor, b=b, shift_mlp=1)
            memo[floor_factor] = (real, family_interval(real, n_boot=n_boot, seed=seed),
                                  ctrl, family_interval(ctrl, n_boot=n_boot, seed=seed))
        return memo[floor_factor]

    def test(PAIR_TIE, FLOOR_FACTOR):
        _, (lo, hi), _, (clo, chi) = parts(FLOOR_FACTOR)
        control_flat = clo > -PAIR_TIE and chi < PAIR_TIE
        return bool(lo > PAIR_TIE and control_flat), float(lo - PAIR_TIE)

    real, (lo, hi), ctrl, (clo, chi) = parts(FLOOR_FACTOR)
    D = family_statistic(real)
    gnn_better = hi < -PAIR_TIE
    notes = (f"D = {D:+.2f} decades over {real.groupby(['activation', 'size', 'task', 'pair']).ngroups} matched cells "
             f"and {real.seed.nunique()} seeds; GNNs better by the same rule: {gnn_better}; control (MLP against MLP, "
             f"seeds shifted): interval {clo:+.2f} to {chi:+.2f}")
    return decide("MLP-GNN", MLP_GNN_STATEMENT, MLP_GNN_TEST, f"{measure}, log10(GNN/MLP) paired by seed", test,
                  {"PAIR_TIE": PAIR_TIE, "FLOOR_FACTOR": FLOOR_FACTOR}, interval=(lo, hi), figure="fig-c4g-pairs",
                  notes=notes)
