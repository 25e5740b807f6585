r"""Chapter 4 (GNNs on the lattice graph): its grids, the MLP-GNN comparison and the computed verdicts.

* :func:`run_settings`, :func:`chapter4_specs` -- how to run, and the two GNN sweeps (``main``: every
  symmetry x edges x activation at Chapter 2's sizes; ``capacity``: tanh GNNs over depth and width);
* :func:`constraint_errors`, :func:`constraint_summary` -- the built-in symmetries hold to rounding;
* :func:`tidy_summary`, :func:`variant_medians`, :func:`family_comparison`, :func:`family_verdict`,
  :func:`family_numbers`, :func:`flow_verdict` -- MLPs against GNNs cell by cell (ties within
  :data:`TIE` decades or below :data:`FLOOR`);
* :func:`capacity_optimum`, :func:`capacity_numbers` -- where the error is lowest along the capacity
  axis (claim C2 inside the GNN family);
* :func:`edge_effect` -- what the cross-block edges do to G3.
"""
from __future__ import annotations

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
from ..validation import as_int, as_optional_int, check_choice
from .ch2_mlps import chapter2_spec

TIE = 0.1
r"""MLP and GNN tie in a cell when :math:`|\log_{10}(\text{GNN}/\text{MLP})|` is below this..."""
FLOOR = 1e-9
"""... or when both errors are below this (exact to rounding)."""
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
CHAPTER4_ACTIVATIONS = ("identity", "quadratic", "tanh", "relu")
"""Activations of Chapter 4's main grid (those of Chapter 2 minus SiLU, for time)."""


def chapter4_specs(profile: str, *, seeds: int | None = None, activations: Sequence[str] | None = None):
    r"""The two GNN sweeps of Chapter 4 for a profile, with the training and measurement settings of
    Chapter 2's MLP sweep (:func:`rgsym.chapters.ch2_mlps.chapter2_spec`): the same tasks, test laws and budget.

    * ``main``: every symmetry x edge variant x activation at Chapter 2's MLP sizes of depth 1 and 2;
    * ``capacity``: the symmetry/expressivity axis, tanh GNNs on ``block+nn`` graphs, shared and
      broken, depth 1-4 at a narrow and a wide width (smoke: three sizes), on the Gaussian task.

    ``seeds``: seeds per configuration (default 1 for ``smoke``, 2 for ``paper``); ``activations``:
    the main grid's activations (default :data:`CHAPTER4_ACTIVATIONS`). Returns ``(main, capacity)``.
    """
    check_choice("profile", profile, PROFILES)
    mlp = chapter2_spec(profile)
    if seeds is None:
        seeds = 1 if profile == "smoke" else 2
    seeds = as_int("seeds", seeds, 1, 20)
    acts = CHAPTER4_ACTIVATIONS if activations is None else tuple(activations)
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
    r"""Median of ``measure`` over seeds for every variant (``by`` columns). Diverged members count as
    :math:`+\infty` (a variant that diverges on most seeds is never the best), column ``n_diverged``."""
    g = _diverged_as_inf(summary, measure).groupby(list(by), sort=True)
    return g.agg(value=(measure, "median"), n=(measure, "size"), n_diverged=("diverged", "sum")).reset_index()


def family_comparison(summary, measure: str = "G3", *, cells: Sequence[str] = ("activation", "size", "task"),
                      tie: float = TIE, floor: float = FLOOR):
    r"""MLPs against GNNs cell by cell (a cell = one activation, size and task, both families trained
    alike): in each family the best variant (lowest median of ``measure`` over seeds), its value, and
    ``log10_ratio`` :math:`=\log_{10}(\text{GNN}/\text{MLP})` (positive: the MLP is better). The
    ``winner`` is 'MLP', 'GNN' or 'tie' (:math:`|\log_{10}|<` ``tie``, or both below ``floor``, where
    both represent the map to rounding error). Cells one family lacks are dropped."""
    med = variant_medians(summary, measure, by=("family", "variant", *cells))
    rows = []
    for key, grp in med.groupby(list(cells), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        best = {}
        for fam in ("MLP", "GNN"):
            g = grp[grp["family"] == fam]
            if len(g):
                i = g["value"].astype(float).idxmin()
                best[fam] = (g.loc[i, "variant"], float(g.loc[i, "value"]))
        if len(best) < 2:
            continue
        (mv, m), (gv, g) = best["MLP"], best["GNN"]
        both_small = m < floor and g < floor
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float(np.log10(max(g, floor) / max(m, floor)))
        winner = "tie" if both_small or abs(ratio) < tie else ("MLP" if ratio > 0 else "GNN")
        rows.append((*key, mv, m, gv, g, ratio, winner))
    return pd.DataFrame(rows, columns=[*cells, "mlp_variant", "mlp_value", "gnn_variant", "gnn_value", "log10_ratio",
                                       "winner"])


def family_verdict(comparison) -> dict:
    r"""Summary of :func:`family_comparison`: the number of cells, the wins of each family and ties,
    the median :math:`\log_{10}(\text{GNN}/\text{MLP})`, and ``mlp_better`` = the MLPs win more cells
    than the GNNs *and* the median ratio favours them (``gnn_better`` likewise)."""
    w = comparison["winner"]
    n_m, n_g, n_t = int((w == "MLP").sum()), int((w == "GNN").sum()), int((w == "tie").sum())
    med = float(np.median(comparison["log10_ratio"])) if len(comparison) else float("nan")
    return {"cells": int(len(comparison)), "mlp_wins": n_m, "gnn_wins": n_g, "ties": n_t,
            "median_log10_ratio": med, "mlp_better": bool(n_m > n_g and med > 0),
            "gnn_better": bool(n_g > n_m and med < 0)}


def capacity_optimum(summary, measure: str, *, by: Sequence[str] = ("variant",)):
    r"""For every variant (``by``) the size (``depth x width``) with the lowest median of ``measure``
    over tasks and seeds, ordered by free-parameter count: columns ``best_size``, ``best_n_params``,
    ``best_value``, ``smallest_value``, ``largest_value`` (at the fewest / most parameters) and
    ``interior`` = the optimum is neither the smallest nor the largest model (the competition
    between symmetry and expressivity of claim C2)."""
    return _optimum(variant_medians(summary, measure, by=(*by, "size", "n_params")), by)


def _optimum(med, by: Sequence[str]):
    """:func:`capacity_optimum` from the medians ``med`` (:func:`variant_medians` by ``by``, size, n_params)."""
    rows = []
    for key, grp in med.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        grp = grp.sort_values(["n_params", "size"]).reset_index(drop=True)
        i = int(grp["value"].idxmin())
        rows.append((*key, grp.loc[i, "size"], int(grp.loc[i, "n_params"]), float(grp.loc[i, "value"]),
                     float(grp["value"].iloc[0]), float(grp["value"].iloc[-1]), 0 < i < len(grp) - 1))
    return pd.DataFrame(rows, columns=[*by, "best_size", "best_n_params", "best_value", "smallest_value",
                                       "largest_value", "interior"])


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


def family_numbers(comparison: pd.DataFrame) -> dict:
    """:func:`family_verdict` plus the median factor and the family it favours ('MLPs', 'GNNs' or
    'neither (a tie)', by :data:`TIE`)."""
    v = family_verdict(comparison)
    r = v["median_log10_ratio"]
    return {**v, "factor": float(10 ** abs(r)),
            "dir": "MLPs" if r > TIE else "GNNs" if r < -TIE else "neither (a tie)"}


def flow_verdict(v3: dict, vfp: dict) -> dict:
    """The sentence of the verdict on G3 (``text``), whether the digest's "MLPs capture the flow
    better" agrees (``mlp_better``), and how the fixed-point distance G3_fp leans (``fp``)."""
    if v3["mlp_better"]:
        text = "the MLPs capture the flow better than the GNNs"
    elif v3["gnn_better"]:
        text = "the GNNs capture the flow better than the MLPs"
    else:
        text = "neither family captures the flow better than the other"
    same = vfp["mlp_better"] == v3["mlp_better"] and vfp["gnn_better"] == v3["gnn_better"]
    lean = "favours the MLPs" if vfp["mlp_better"] else "favours the GNNs" if vfp["gnn_better"] else "favours neither"
    fp = (f"{'points the same way' if same else 'points another way'}: it {lean} "
          f"(MLP better in {vfp['mlp_wins']}, GNN in {vfp['gnn_wins']}, {vfp['ties']} ties of {vfp['cells']} cells)")
    return {"text": text, "mlp_better": v3["mlp_better"], "fp": fp}


def capacity_medians(gcap: pd.DataFrame, measure: str) -> pd.DataFrame:
    """:func:`variant_medians` of the capacity axis per (variant, size), with each size's ``n_params``."""
    return variant_medians(gcap, measure, by=("variant", "size")).merge(
        gcap.drop_duplicates(["variant", "size"])[["variant", "size", "n_params"]], on=["variant", "size"])


def capacity_span(gcap: pd.DataFrame) -> float:
    """The smallest, over weight schemes, growth factor of the free-parameter count along the axis."""
    return float(gcap.groupby("symmetry").n_params.agg(lambda x: x.max() / x.min()).min())


def capacity_numbers(gcap: pd.DataFrame, measures: Sequence[str]) -> dict:
    """The capacity axis in numbers: ``opt`` (:func:`capacity_optimum` per measure), ``n_interior``
    (optima strictly inside the size range), ``consistent`` (more than half are), ``n_worst_end``
    ((variant, measure) pairs whose worst size is an end of the range), and by G3 the best size of each
    weight scheme (``best_size``) and the best shared / broken values."""
    meds = {m: capacity_medians(gcap, m) for m in measures}  # once per measure: the optima and the ends
    opt = pd.concat([_optimum(meds[m], ("variant",)).assign(measure=m) for m in measures], ignore_index=True)
    n_interior = int(opt.interior.sum())
    n_worst_end = 0
    for meas in measures:
        for _, grp in meds[meas].groupby("variant"):
            grp = grp.sort_values("n_params").reset_index(drop=True)
            n_worst_end += int(int(grp.value.idxmax()) in (0, len(grp) - 1))
    g3opt = opt[opt.measure == "G3"].set_index("variant")
    best_size = {var.split()[0]: g3opt.loc[var, "best_size"] for var in g3opt.index}
    return {"opt": opt, "n_interior": n_interior, "n_opt": len(opt), "consistent": n_interior > len(opt) / 2,
            "n_worst_end": n_worst_end, "best_size": best_size,
            "shared_best": float(g3opt.filter(like="shared", axis=0).best_value.min()),
            "broken_best": float(g3opt.filter(like="broken", axis=0).best_value.min())}


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
