r"""Chapter 4 (GNNs on the lattice graph): its grids, the MLP-GNN comparison and the computed verdicts.

* :func:`run_settings`, :func:`chapter4_specs` -- how to run, and the two GNN sweeps (``main``: every
  symmetry x edges x activation at Chapter 2's sizes; ``capacity``: tanh GNNs over depth and width);
* :func:`constraint_errors`, :func:`constraint_summary` -- the built-in symmetries hold to rounding;
* :func:`tidy_summary`, :func:`variant_medians` -- one table for both families, medians and quartiles
  over seeds (the paired MLP-GNN test is in :mod:`rgsym.chapters.ch4_pairs`);
* :func:`capacity_cases` -- claim C2 along the capacity axis, by Chapter 2's seed-bootstrap test;
* :func:`edge_effect` -- what the cross-block edges do to G3.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..config import PROFILES
from ..learn.gnn_sweep import GNNSweepSpec
from ..learn.sweep import resolve_workers
from ..nets.gnn import EnsembleGNN
from ..nets.gnn_config import GNN_SYMMETRIES, GNNConfig
from ..nets.graphs import EDGE_VARIANTS
from ..seeds import stable_seed
from ..validation import as_int, as_optional_int, as_tuple, check_choice
from .ch2_constraint import END_TAIL, FLOOR_FACTOR, N_BOOT, interior_test
from .ch2_mlps import chapter2_spec

FLOOR = 1e-9
"""Errors both below this are exact to rounding (:func:`edge_effect` leaves such cells out)."""
CONSTRAINT_REL = 1e-4
"""The constraints hold when the largest violation among members carrying a symmetry is below this
fraction of the broken members' median violation ..."""
CONSTRAINT_ABS = 1e-10
"""... or below this absolutely."""
EDGE_FLOOR = 1e-12
"""Errors are clipped at this (rounding level) in the block+nn / block ratio of :func:`edge_effect`."""


def run_settings(profile: str, device, *, threads: int | None = 1, workers: int | None = None) -> dict:
    """Keyword arguments ``threads`` and ``workers`` for :func:`rgsym.learn.gnn_sweep.run_gnn_sweep` and
    :func:`rgsym.learn.mlp_sweep.run_sweep`, validated: ``workers=None`` means one process for ``smoke`` and
    one per CPU core for ``paper``; on a GPU always one (:func:`rgsym.learn.sweep.resolve_workers`)."""
    check_choice("profile", profile, PROFILES)
    threads = as_optional_int("threads (cpu_threads)", threads, lo=1)
    if workers is None and profile == "smoke":
        workers = 1
    return {"threads": threads, "workers": resolve_workers(workers, device)}


# -- the grids of Chapter 4 ----------------------------------------------------------------------
CHAPTER4_ACTIVATIONS = ("quadratic", "tanh", "relu")
"""Activations of Chapter 4's main grid: Chapter 2's nonlinear ones minus SiLU (for time). The identity
GNNs are linear by construction and contain the exact map: they compare nothing, and Chapter 5 trains
the one it opens itself."""
GNN_SEEDS = {"smoke": 2, "paper": 5}
"""Training seeds per GNN configuration (paired with Chapter 2's MLP seeds of the same index)."""


def chapter4_specs(profile: str, *, seeds: int | None = None, activations: Sequence[str] | None = None):
    r"""The two GNN sweeps of Chapter 4 for a profile, with the training and measurement settings of
    Chapter 2's MLP sweep (:func:`rgsym.chapters.ch2_mlps.chapter2_spec`): the same tasks, test laws and budget.

    * ``main``: every symmetry x edge variant x activation at Chapter 2's MLP sizes of depth 1 and 2;
    * ``capacity``: the symmetry/expressivity axis, tanh GNNs on ``block+nn`` graphs, shared and
      broken, depth 1-4 at a narrow and a wide width (smoke: three sizes), on the Gaussian task.

    ``seeds``: seeds per configuration (default :data:`GNN_SEEDS`); ``activations``: the main grid's
    activations (default :data:`CHAPTER4_ACTIVATIONS`). Returns ``(main, capacity)``.
    """
    check_choice("profile", profile, PROFILES)
    mlp = chapter2_spec(profile)
    if seeds is None:
        seeds = GNN_SEEDS[profile]
    seeds = as_int("seeds", seeds, 1, 20)
    acts = CHAPTER4_ACTIVATIONS if activations is None else as_tuple("activations", activations)
    common = dict(b=mlp.b, alpha=mlp.alpha, tasks=mlp.tasks, train=mlp.train, measures=mlp.measures)
    main_sizes = tuple(sz for sz in mlp.sizes if sz[0] <= 2)  # Chapter 2's sizes up to depth 2 (time)
    main = GNNSweepSpec(symmetries=GNN_SYMMETRIES, edges=EDGE_VARIANTS, activations=acts,
                        sizes=main_sizes, seeds=tuple(range(seeds)), **common)
    if profile == "smoke":
        sizes = ((1, 4), (2, 4), (2, 16))
    else:
        sizes = ((1, 4), (2, 4), (4, 4), (1, 32), (2, 32), (4, 32))
    capacity = GNNSweepSpec(symmetries=("shared", "broken"), edges=("block+nn",), activations=("tanh",),
                            sizes=sizes, seeds=tuple(range(seeds)), **{**common, "tasks": ("gaussian",)})
    return main, capacity


# -- comparisons: MLPs against GNNs, symmetry against expressivity --------------------------------
HEADLINE = ("G1", "G2", "G3", "G3_fp")
"""The headline measures of a member in :func:`tidy_summary`."""


def tidy_summary(result, family: str | None = None):
    r"""One row per member with the headline measures (:data:`HEADLINE`) and the columns that
    name a model across families: ``member_id`` (in its sweep), ``family`` ('MLP' or 'GNN'), ``variant``
    (the symmetry, plus the edge variant for GNNs), ``symmetry``, ``edges`` ('' for MLPs), ``activation``,
    ``size``, ``depth``, ``width``, ``n_params``, ``task``, ``seed``, ``diverged``."""
    s = result.summary(HEADLINE)
    fam = family or ("GNN" if "edges" in s.columns else "MLP")
    check_choice("model family", fam, ("MLP", "GNN"))
    s = s.copy()
    s["family"] = fam
    if "edges" not in s.columns:
        s["edges"] = ""
    s["variant"] = [f"{sym} ({e})" if e else sym for sym, e in zip(s["symmetry"], s["edges"])]
    cols = ["member_id", "family", "variant", "symmetry", "edges", "activation", "size", "depth", "width", "n_params",
            "task", "seed", "diverged", *HEADLINE]
    return s[cols]


def _diverged_as_inf(summary, measure: str):
    r"""A copy of ``summary`` with ``measure`` as floats and :math:`+\infty` for the diverged members."""
    s = summary.copy()
    s[measure] = np.where(s["diverged"].astype(bool), np.inf, s[measure].astype(float))
    return s


def variant_medians(summary, measure: str, by: Sequence[str] = ("family", "variant", "activation", "size", "task")):
    r"""Median and quartiles (``value``, ``q25``, ``q75``) of ``measure`` over seeds for every variant (``by``
    columns). Diverged members count as :math:`+\infty` (a variant that diverges on most seeds is never the
    best), column ``n_diverged``."""
    g = _diverged_as_inf(summary, measure).groupby(list(by), sort=True)
    return g.agg(value=(measure, "median"), q25=(measure, lambda x: _quantile(x, 0.25)),
                 q75=(measure, lambda x: _quantile(x, 0.75)), n=(measure, "size"),
                 n_diverged=("diverged", "sum")).reset_index()


def _quantile(x, q: float) -> float:
    r"""A quantile that keeps :math:`+\infty` (diverged members) instead of interpolating it into NaN."""
    v = np.asarray(x, dtype=float)
    big = np.isposinf(v)
    r = float(np.quantile(np.where(big, 1e300, v), q))
    return math.inf if r >= 1e299 else r


@torch.no_grad()
def constraint_errors(model, *, n_samples: int = 256, seed: int = 0):
    r"""How exactly the trained members keep their symmetries, on Gaussian lattices of
    ``4 b`` sites (float64 copies of the members):

    * ``perm``: :math:`\max|f(\pi s) - f(s)|` with :math:`\pi` reversing the sites inside every
      block (an automorphism of the ``"block"`` graph), for ``"block"`` members;
    * ``reflect``: :math:`\max|f(Rs) - R'f(s)|` with :math:`R` the reflection of the ring (and
      :math:`R'` that of the coarse ring), for ``"block+nn"`` members;
    * ``odd``: :math:`\max|f(-s) + f(s)|`.

    Returns a DataFrame with one row per member (``symmetry``, ``edges``, ``activation``, the three errors;
    NaN where a check does not apply)."""
    m = EnsembleGNN(model.configs, model.seeds, dtype=torch.float64, context=None,
                    _raw={k: ([x.double().cpu() for x in v] if isinstance(v, list) else v.double().cpu())
                          for k, v in model.raw().items()})
    n = 4 * m.b
    g = torch.Generator().manual_seed(stable_seed("constraint-errors", int(seed)))
    s = torch.randn(m.n_members, n_samples, n, generator=g, dtype=torch.float64)
    f = m(s)
    within = torch.arange(n).reshape(-1, m.b).flip(-1).reshape(-1)
    perm = (m(s[..., within]) - f).abs().flatten(1).amax(1)
    refl = (m(s.flip(-1)) - f.flip(-1)).abs().flatten(1).amax(1)
    odd = (m(-s) + f).abs().flatten(1).amax(1)
    rows = []
    for e, c in enumerate(m.configs):
        rows.append((c.symmetry, c.edges, c.activation, float(perm[e]) if c.edges == "block" else np.nan,
                     float(refl[e]) if c.edges == "block+nn" else np.nan, float(odd[e])))
    return pd.DataFrame(rows, columns=["symmetry", "edges", "activation", "perm", "reflect", "odd"])


def constraint_summary(errs: pd.DataFrame) -> tuple[pd.DataFrame, float, float, bool]:
    """From the rows of :func:`constraint_errors`: the table (max over members with the symmetry,
    median over members without it), the largest violation among members that carry a symmetry, the
    broken members' smallest median violation, and whether the constraints hold
    (:data:`CONSTRAINT_REL`, :data:`CONSTRAINT_ABS`)."""
    errs = errs.copy()
    errs["shared"] = errs.symmetry.str.startswith("shared")
    errs["is_odd"] = errs.symmetry.str.endswith("odd")
    tab = pd.DataFrame({
        "shared: block permutation": [errs[errs.shared].perm.max(), errs[~errs.shared].perm.median()],
        "shared: ring reflection": [errs[errs.shared].reflect.max(), errs[~errs.shared].reflect.median()],
        "odd: f(-s)+f(s)": [errs[errs.is_odd].odd.max(), errs[~errs.is_odd].odd.median()],
    }, index=["max over members with the symmetry", "median over members without it"])
    exact_err = float(np.nanmax([errs[errs.shared].perm.max(), errs[errs.shared].reflect.max(),
                                 errs[errs.is_odd].odd.max()]))
    broken_err = float(np.nanmin([errs[~errs.shared].perm.median(), errs[~errs.shared].reflect.median()]))
    ok = exact_err < CONSTRAINT_REL * max(broken_err, 1e-12) or exact_err < CONSTRAINT_ABS
    return tab, exact_err, broken_err, ok


def parameter_table(sizes) -> pd.DataFrame:
    """Free parameters of every GNN variant (columns ``symmetry (edges)``) at each size (rows)."""
    rows = []
    for d, w in sorted(set(sizes)):
        row = {"size": f"{d}x{w}"}
        for sym in GNN_SYMMETRIES:
            for e in EDGE_VARIANTS:
                row[f"{sym} ({e})"] = GNNConfig(width=w, depth=d, symmetry=sym, edges=e).n_params
        rows.append(row)
    return pd.DataFrame(rows).set_index("size")


def capacity_medians(gcap: pd.DataFrame, measure: str) -> pd.DataFrame:
    """:func:`variant_medians` of the capacity axis per (variant, size), with each size's ``n_params``."""
    return variant_medians(gcap, measure, by=("variant", "size")).merge(
        gcap.drop_duplicates(["variant", "size"])[["variant", "size", "n_params"]], on=["variant", "size"])


def capacity_span(gcap: pd.DataFrame) -> float:
    """The smallest, over weight schemes, growth factor of the free-parameter count along the axis."""
    return float(gcap.groupby("symmetry").n_params.agg(lambda x: x.max() / x.min()).min())


def edge_effect(gmain: pd.DataFrame) -> tuple[int, float]:
    r"""Over the (activation, size, task) cells with both edge sets (and not both exact), the median
    :math:`\log_{10}` of the best block+nn GNN's G3 over the best block GNN's (diverged members count as
    :math:`+\infty`). Returns ``(cells, median log10 ratio)`` (NaN without cells)."""
    rows = []
    for _, grp in _diverged_as_inf(gmain, "G3").groupby(["activation", "size", "task"]):
        best = grp.groupby(["edges", "variant"]).G3.median().groupby(level=0).min()
        if {"block", "block+nn"} <= set(best.index) and best.max() > FLOOR:
            rows.append(np.log10(max(best["block+nn"], EDGE_FLOOR) / max(best["block"], EDGE_FLOOR)))
    return len(rows), (float(np.median(rows)) if rows else float("nan"))


def capacity_cases(gcap: pd.DataFrame, measures: Sequence[str], exact_err: dict, *,
                   floor_factor: float = FLOOR_FACTOR, end_tail: float = END_TAIL, n_boot: int = N_BOOT,
                   seed: int = 0) -> pd.DataFrame:
    """Claim C2 along the GNNs' capacity axis, by the test of Chapter 2 on one axis
    (:func:`rgsym.chapters.ch2_constraint.interior_test`): per weight scheme and measure, the sizes ordered by
    free parameters, scored by their seed medians floored at ``floor_factor`` x the exact map's error
    (``exact_err``), diverged members never scored. The case holds when the argmin is interior and at most
    ``end_tail`` of ``n_boot`` seed resamples put it at either end. Returns one row per (measure, variant):
    ``holds, margin, argmin, p_small, p_large, n_seeds``."""
    seeds = sorted(gcap.seed.unique())
    boot_idx = np.random.default_rng(seed).integers(0, len(seeds), (n_boot, len(seeds)))
    rows = []
    for measure in measures:
        ok = gcap[~gcap.diverged.astype(bool) & np.isfinite(gcap[measure].astype(float))]
        for var, d in ok.groupby("variant"):
            order = d.drop_duplicates("size").sort_values(["n_params", "size"])["size"].tolist()
            V = np.full((len(order), len(seeds)), np.nan)
            for z, sd, v in zip(d["size"], d.seed, d[measure]):
                V[order.index(z), seeds.index(sd)] = float(v)
            idx = np.arange(len(order))
            ends = np.stack([idx == 0, idx == len(order) - 1], -1)
            r = interior_test(V, ends, floor_factor * exact_err[measure], end_tail=end_tail, boot_idx=boot_idx)
            rows.append({"measure": measure, "variant": var, "holds": r["holds"], "margin": r["margin"],
                         "argmin": ", ".join(order[i] for i in np.flatnonzero(r["point"])),
                         "p_small": r["p_ends"][0], "p_large": r["p_ends"][1], "n_seeds": len(seeds)})
    return pd.DataFrame(rows)
