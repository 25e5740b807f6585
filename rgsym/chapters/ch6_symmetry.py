r"""Chapter 6: the runs of the chapter, their analysis and the verdict on claim C5, with its thresholds.

Claim C5 (arXiv:2510.16591, as summarised): learning the RG map proceeds by parameter-symmetry
breaking followed by restoration. The runs are those of :func:`chapter6_spec` (MLPs) and
:func:`gnn_chapter6_spec` (GNNs), trained by :func:`rgsym.symmetry.breaking.run_breaking`. Here:

* :func:`member_summary`: per member, the rise of the breaking distance (:math:`\Delta_{\rm tied}`
  (6.3) or :math:`\Delta_{\rm shared}` (6.9)), whether it *broke* (:data:`BREAK_FACTOR`), whether the
  function's symmetry (even part (6.5) or permutation asymmetry (6.6)) was *restored*
  (:data:`RESTORE_FRACTION`), and the times of breaking, of the first loss halving and of the
  separation from the constrained twin;
* :func:`cell_table`: medians per (initialisation, activation) cell, with the *stall ratio* of the
  constrained members (:data:`STALL_FACTOR`) and the timing coincidence (:data:`COINCIDE_FACTOR`);
* :func:`c5_verdict`: the four parts of the verdict, each holding for a :data:`MAJORITY`;
* the numbers each section of the chapter glues (:func:`breaking_numbers`, :func:`restoration_numbers`,
  :func:`stall_numbers`, :func:`z2_numbers`, :func:`timing_numbers`, :func:`gnn_numbers`,
  :func:`verdict_numbers`) and the per-cell table (:func:`cell_display_table`).

The thresholds are module constants, fixed before looking at the numbers.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..config import PROFILES
from ..learn.training import TrainConfig
from ..report import verdict
from ..symmetry.breaking import FAMILIES, BreakingResult, BreakingSpec
from ..validation import as_optional_int, as_tuple, check_choice

__all__ = [
    "BREAK_FACTOR", "RESTORE_FRACTION", "STALL_FACTOR", "COINCIDE_FACTOR", "MAJORITY", "PIO_WORSE_FACTOR",
    "chapter6_spec", "gnn_chapter6_spec", "member_summary", "cell_table", "c5_verdict",
    "breaking_numbers", "restoration_numbers", "stall_numbers", "z2_numbers", "timing_numbers",
    "CELL_COLUMNS", "cell_display_table", "gnn_numbers", "verdict_numbers",
]

BREAK_FACTOR = 10.0
r"""A member *breaks* hidden-unit symmetry when :math:`\max_t\Delta_{\rm tied}(t) \ge` this factor times
:math:`\Delta_{\rm tied}(0)` and it ends with at least two distinct units."""

RESTORE_FRACTION = 0.1
r"""The learned function's :math:`\mathbb Z_2` symmetry *returns* when the final even part is at most
this fraction of its largest value along the trajectory."""

STALL_FACTOR = 10.0
"""An over-constrained (``tied-hidden``) model *stalls* where its median final test error is at least
this factor above that of the free models of the same activation and initialisation."""

COINCIDE_FACTOR = 2.0
"""Breaking and a loss drop *coincide* when their times differ by at most this factor."""

MAJORITY = 0.8
"""Fraction of the members (or cells) that must show a behaviour for a part of the verdict to hold."""

PIO_WORSE_FACTOR = 1.5
"""A ``perm-in+odd`` network (the map's own symmetries imposed) ends *worse* than the free ones when its
median final test error exceeds theirs by more than this factor (at its worse initialisation)."""


# ------------------------------------------------------------------------------------- the runs
def chapter6_spec(profile: str, *, steps: int | None = None, n_seeds: int | None = None,
                  activations=None, width: int | None = None, task: str = "gaussian") -> BreakingSpec:
    """The runs of Chapter 6 for a profile: ``'paper'`` (10 seeds, 5000 Adam steps) or ``'smoke'``
    (3 seeds, 1500 steps); ``None`` arguments take the profile's value. Everything is validated here,
    before any training."""
    check_choice("profile", profile, PROFILES)
    steps = as_optional_int("steps", steps, lo=1)
    n_seeds = as_optional_int("n_seeds", n_seeds, lo=1)
    width = as_optional_int("width", width, lo=1)
    paper = profile == "paper"
    steps = steps or (5000 if paper else 1500)
    n_seeds = n_seeds or (10 if paper else 3)
    kw = {} if activations is None else {"activations": as_tuple("activations", activations)}
    return BreakingSpec(seeds=tuple(range(n_seeds)), width=width or 8, task=task,
                        train=TrainConfig(steps=steps, n_train=1024, log_points=40 if paper else 30), **kw)


def gnn_chapter6_spec(profile: str, *, steps: int | None = None, n_seeds: int | None = None,
                      width: int | None = None, task: str = "gaussian") -> BreakingSpec:
    """The GNN runs of Chapter 6: ``broken`` against ``shared`` lattice GNNs (one message-passing
    layer, block edges) of three activations from the small initialisation; the profile's steps and
    seeds as in :func:`chapter6_spec`."""
    mlp = chapter6_spec(profile, steps=steps, n_seeds=n_seeds, width=width, task=task)
    return mlp.replace(family="gnn", symmetries=None, activations=("quadratic", "tanh", "relu"), inits=("small",))


# ---------------------------------------------------------------------------------------- analysis
def _first_step(steps: np.ndarray, mask: np.ndarray) -> float:
    idx = np.flatnonzero(mask)
    return float(steps[idx[0]]) if idx.size else math.nan


def member_summary(result: BreakingResult) -> pd.DataFrame:
    r"""One row per member with the numbers that the verdict on claim C5 uses.

    The family's names (:data:`FAMILIES`) decide what is compared: ``role`` is ``'free'`` for the
    unconstrained symmetry (``free`` MLPs, ``broken`` GNNs), ``'constrained'`` for the one that cannot
    break (``tied-hidden`` MLPs, ``shared`` GNNs) and ``'other'`` otherwise; :math:`\Delta` is the
    family's breaking distance (:math:`\Delta_{\rm tied}` (6.3), :math:`\Delta_{\rm shared}` (6.9)) and
    the *asymmetry* its restoration measure (even part (6.5), permutation asymmetry (6.6)).

    Columns: ``d0, d_max, d_final, rise = d_max / d0``; ``distinct0, distinct_final`` (MLPs; NaN for
    GNNs); ``asym0, asym_peak, asym_final`` and ``restored`` (final asymmetry :math:`\le`
    :data:`RESTORE_FRACTION` of its peak); ``nonlin_peak, nonlin_final``; ``test_final, ood_final,
    train_final``; ``broke`` (``rise >=`` :data:`BREAK_FACTOR` and, for MLPs, at least two distinct
    units at the end); the times (logged steps) ``t_break`` (first step where :math:`\Delta` has
    covered half of its rise, only for members that broke), ``t_drop`` (first step where the train loss
    is at most half its initial value) and, for free members, ``t_sep`` (first step where its train
    loss is at most half that of the constrained member with the same activation, initialisation and
    seed). Diverged members are flagged, not dropped.
    """
    fam = FAMILIES[result.spec.family]
    tr = result.traj
    m = result.members.set_index("member")
    role = {fam["free"]: "free", fam["constrained"]: "constrained"}
    rows = []
    for mid, g in tr.groupby("member", sort=True):
        g = g.sort_values("step")
        steps = g["step"].to_numpy()
        d = g[fam["distance"]].to_numpy()
        asym = g[fam["restore"]].to_numpy()
        loss = g["train_loss"].to_numpy()
        d0, dmax = float(d[0]), float(np.nanmax(d))
        rise = dmax / d0 if d0 > 0 else (math.inf if dmax > 0 else math.nan)
        distinct = g["n_distinct"].to_numpy() if "n_distinct" in g else np.full(len(g), math.nan)
        broke = bool(rise >= BREAK_FACTOR and not distinct[-1] < 2)
        t_break = _first_step(steps, d >= d0 + 0.5 * (dmax - d0)) if broke else math.nan
        info = m.loc[mid, ["activation", "symmetry", "init", "seed", "diverged"]].to_dict()
        rows.append({
            "member": mid, **info, "role": role.get(info["symmetry"], "other"),
            "d0": d0, "d_max": dmax, "d_final": float(d[-1]), "rise": rise,
            "distinct0": float(distinct[0]), "distinct_final": float(distinct[-1]),
            "asym0": float(asym[0]), "asym_peak": float(np.nanmax(asym)), "asym_final": float(asym[-1]),
            "restored": bool(asym[-1] <= RESTORE_FRACTION * np.nanmax(asym)),
            "nonlin_peak": float(g["nonlin"].max()), "nonlin_final": float(g["nonlin"].iloc[-1]),
            "test_final": float(g["test_mse"].iloc[-1]),
            "ood_final": float(g["ood_mse"].iloc[-1]) if "ood_mse" in g else math.nan,
            "train_final": float(loss[-1]), "broke": broke, "t_break": t_break,
            "t_drop": _first_step(steps, loss <= 0.5 * loss[0]),
        })
    out = pd.DataFrame(rows)
    out["t_sep"] = math.nan
    if (out.role == "constrained").any():
        loss = tr.pivot_table(index="member", columns="step", values="train_loss")
        tied = out[out.role == "constrained"].set_index(["activation", "init", "seed"])["member"]
        steps = loss.columns.to_numpy()
        for i, r in out[out.role == "free"].iterrows():
            j = tied.get((r.activation, r.init, r.seed))
            if j is not None:
                out.loc[i, "t_sep"] = _first_step(steps, loss.loc[r.member].to_numpy() <= 0.5 * loss.loc[j].to_numpy())
    return out


def _q(x, q):
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.quantile(x, q)) if x.size else math.nan


def _frac(x):
    x = np.asarray(x, dtype=float)
    return float(x.mean()) if x.size else math.nan


def cell_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (initialisation, activation) cell: the free members' breaking, restoration and timing, and the
    stall of the constrained members (``test_tied``, ``stall_ratio`` = constrained over free median
    final test error), with medians over seeds (diverged members left out and counted)."""
    rows = []
    for (init, act), g in summary.groupby(["init", "activation"], sort=False):
        ok = g[~g.diverged]
        free = ok[ok.role == "free"]
        tied = ok[ok.role == "constrained"]
        lag = np.log10(free["t_break"] / free["t_drop"]).to_numpy()
        lag_sep = np.log10(free["t_break"] / free["t_sep"]).to_numpy()
        lag, lag_sep = lag[np.isfinite(lag)], lag_sep[np.isfinite(lag_sep)]
        rows.append({
            "init": init, "activation": act, "n_free": len(free), "n_diverged": int(g.diverged.sum()),
            "rise": _q(free.rise, 0.5), "broke": _frac(free.broke),
            "distinct_final": _q(free.distinct_final, 0.5),
            "asym_peak": _q(free.asym_peak, 0.5), "asym_final": _q(free.asym_final, 0.5),
            "restored": _frac(free.restored),
            "test_free": _q(free.test_final, 0.5), "test_tied": _q(tied.test_final, 0.5),
            "stall_ratio": _q(tied.test_final, 0.5) / _q(free.test_final, 0.5),
            "tied_restored": _frac(tied.restored),
            "t_break": _q(free.t_break, 0.5), "t_drop": _q(free.t_drop, 0.5), "t_sep": _q(free.t_sep, 0.5),
            "lag_drop": _q(lag, 0.5), "lag_sep": _q(lag_sep, 0.5),
            "coincide_drop": _frac(np.abs(lag) <= math.log10(COINCIDE_FACTOR)),
            "coincide_sep": _frac(np.abs(lag_sep) <= math.log10(COINCIDE_FACTOR)),
        })
    return pd.DataFrame(rows)


def c5_verdict(summary: pd.DataFrame) -> dict:
    r"""The computed verdict on claim C5 (learning the RG map proceeds by parameter-symmetry breaking
    followed by restoration), in four parts, each with the numbers behind it (roles as in
    :func:`member_summary`):

    1. ``breaks``: free members started near the symmetric point (small initialisation) break the
       symmetry -- fraction that broke, over the *stall activations* (those where the constrained
       members stall, part 3, i.e. where breaking is needed);
    2. ``restores``: the learned function's symmetry returns at convergence -- fraction of free
       members, all initialisations and activations;
    3. ``stalls``: over-constrained members stall where the free ones break out -- the activations
       whose stall ratio reaches :data:`STALL_FACTOR` at every initialisation (at least one);
    4. ``timing``: breaking coincides, within :data:`COINCIDE_FACTOR`, with the step where the free
       loss separates from the constrained one -- fraction of the breaking small-init members of the
       stall activations.

    C5 ``holds`` (from small initialisation, where a symmetric starting point exists) when parts 1, 2
    and 4 reach :data:`MAJORITY` and part 3 finds a stall activation. ``exceptions`` lists where a
    part fails, so the prose can say where the claim does not hold; ``broke_vs_not`` compares the
    final test errors of the free small-init members of the stall activations that broke with those
    that did not.
    """
    cells = cell_table(summary)
    ok = summary[~summary.diverged]
    free = ok[ok.role == "free"]
    stall_acts = [a for a in dict.fromkeys(cells.activation)
                  if (cells.loc[cells.activation == a, "stall_ratio"] >= STALL_FACTOR).all()]
    need = free[(free.init == "small") & free.activation.isin(stall_acts)]
    breaks = _frac(need.broke)
    restores = _frac(free.restored)
    brk = need[need.broke & np.isfinite(need.t_sep)]
    lag = np.log10(brk.t_break / brk.t_sep).to_numpy()
    timing = _frac(np.abs(lag) <= math.log10(COINCIDE_FACTOR))
    lag_drop = np.log10(free.t_break / free.t_drop).to_numpy()
    small_free = free[free.init == "small"]
    std_free = free[free.init == "standard"]
    parts = {
        "breaks": bool(breaks >= MAJORITY),
        "restores": bool(restores >= MAJORITY),
        "stalls": len(stall_acts) > 0,
        "timing": bool(timing >= MAJORITY),
    }
    small = cells[cells.init == "small"]
    exceptions = {
        "no_breaking": [r.activation for r in small.itertuples() if not r.broke >= MAJORITY],
        "not_restored": [f"{r.init}/{r.activation}" for r in cells.itertuples() if not r.restored >= MAJORITY],
        "no_stall": [a for a in dict.fromkeys(cells.activation) if a not in stall_acts],
        "not_coincident": [r.activation for r in small.itertuples()
                           if r.activation in stall_acts and not r.coincide_sep >= MAJORITY],
    }
    return {
        "holds": all(parts.values()), "parts": parts, "cells": cells, "exceptions": exceptions,
        "stall_activations": stall_acts, "breaks_fraction": breaks, "n_breaks": int(len(need)),
        "restores_fraction": restores, "n_restores": int(len(free)),
        "timing_fraction": timing, "n_timed": int(len(brk)),
        "median_lag_sep": _q(lag, 0.5), "median_lag_drop": _q(lag_drop, 0.5),
        "broke_vs_not": {"n_broke": int(need.broke.sum()), "n_not": int((~need.broke).sum()),
                         "test_broke": _q(need.loc[need.broke, "test_final"], 0.5),
                         "test_not": _q(need.loc[~need.broke, "test_final"], 0.5)},
        "broke_small_all": _frac(small_free.broke), "broke_standard_all": _frac(std_free.broke),
        "restored_small": _frac(small_free.restored),
        "rise_small": _q(small_free.rise, 0.5), "rise_standard": _q(std_free.rise, 0.5),
        "n_members": int(len(summary)), "n_diverged": int(summary.diverged.sum()),
    }


# ------------------------------------------------------------------ the numbers the chapter glues
def _ok_traj(result: BreakingResult) -> pd.DataFrame:
    """The trajectories of the members that did not diverge."""
    ok = result.members.loc[~result.members.diverged, "member"]
    return result.traj[result.traj.member.isin(ok)]


def _free(summary: pd.DataFrame, query: str) -> pd.DataFrame:
    """Free, non-diverged members of ``summary`` matching a pandas query."""
    return summary.query(f"symmetry == 'free' and not diverged and ({query})")


def _names(values) -> str:
    return ", ".join(values) or "none"


def breaking_numbers(result: BreakingResult, summary: pd.DataFrame, V: dict) -> dict:
    """The section *Breaking*: rise of :math:`\\Delta_{\\rm tied}` and fraction that broke by
    initialisation, distinct units at the start and the end, the identity's breaking, the broke /
    did-not-break test errors and the input-permutation distance (6.1), end over start."""
    spec, traj = result.spec, _ok_traj(result)
    acts = list(spec.activations)
    cells = V["cells"].set_index(["init", "activation"])
    bvn = V["broke_vs_not"]
    free_small = traj[(traj.symmetry == "free") & (traj.init == "small")]
    pin = free_small.sort_values("step").groupby("member")["d_perm_in"]
    pin_ratio = (pin.last() / pin.first()).to_frame("r").join(result.members.set_index("member")["activation"])
    return {
        "rise_small": V["rise_small"], "rise_standard": V["rise_standard"],
        "broke_small_all": 100 * V["broke_small_all"], "broke_standard_all": 100 * V["broke_standard_all"],
        "distinct0_small": float(_free(summary, "init == 'small'").distinct0.median()),
        "distinct0_standard": float(_free(summary, "init == 'standard'").distinct0.median()),
        "distinct_text": ", ".join(f"{a} {cells.loc[('small', a), 'distinct_final']:g}" for a in acts),
        "broke_identity_pct": 100 * float(_free(summary, "init == 'small' and activation == 'identity'").broke.mean())
        if "identity" in acts else math.nan,
        "bvn_broke": bvn["test_broke"], "bvn_not": bvn["test_not"],
        "bvn_n_broke": bvn["n_broke"], "bvn_n_not": bvn["n_not"],
        "break_factor": BREAK_FACTOR,
        "pin_ratio_text": ", ".join(f"{a} {pin_ratio.loc[pin_ratio.activation == a, 'r'].median():.2g}" for a in acts),
        "tied0_small": float(free_small[free_small.step == 0]["d_tied_hidden"].median()),
        "tol_text": f"{spec.tol:g}",
    }


def restoration_numbers(summary: pd.DataFrame, V: dict) -> dict:
    """The section *Restoration*: the even part (6.5) of the free networks at the start, peak and end
    by initialisation, the fraction restored, and the final over the largest :math:`\\Delta_{\\rm tied}`."""
    small, standard = _free(summary, "init == 'small'"), _free(summary, "init == 'standard'")
    return {
        "restores_pct": 100 * V["restores_fraction"], "n_restores": V["n_restores"],
        "restore_fraction": RESTORE_FRACTION,
        "even0_small": float(small.asym0.median()), "even_peak_small": float(small.asym_peak.median()),
        "even_final_small": float(small.asym_final.median()),
        "even0_standard": float(standard.asym0.median()), "even_final_standard": float(standard.asym_final.median()),
        "d_return": float((small.d_final / small.d_max).median()),
        "not_restored_text": _names(V["exceptions"]["not_restored"]),
    }


def stall_numbers(spec: BreakingSpec, summary: pd.DataFrame, V: dict) -> dict:
    """The section *Over-constrained networks stall*: stall ratios per cell, the stall activations, the
    tied networks' first loss halving relative to the free ones', the identity's round-off errors, the
    restoration of the tied networks, and the cost of imposing the map's own symmetries
    (``perm-in+odd`` over free, :data:`PIO_WORSE_FACTOR`)."""
    acts = list(spec.activations)
    cells = V["cells"].set_index(["init", "activation"])
    fin = summary[~summary.diverged].groupby(["init", "activation", "symmetry"])
    test_med = fin.test_final.median().unstack("symmetry")
    drop_med = fin.t_drop.median().unstack("symmetry")
    tied_r = V["cells"][V["cells"].activation.isin(V["stall_activations"])].tied_restored
    out = {
        "stall_factor": STALL_FACTOR,
        "stall_acts_text": _names(V["stall_activations"]),
        "no_stall_text": _names(V["exceptions"]["no_stall"]),
        "stall_text": "; ".join(f"{a}: " + ", ".join(f"{cells.loc[(i, a), 'stall_ratio']:.2g} ({i})"
                                                     for i in spec.inits) for a in acts),
        "drop_ratio": float(np.nanmedian(drop_med["tied-hidden"] / drop_med["free"])),
        "id_err": float(V["cells"].query("activation == 'identity'")[["test_free", "test_tied"]].max().max())
        if "identity" in acts else math.nan,
        "tied_restored_pct": 100 * float(tied_r.mean()) if len(tied_r) else math.nan,
    }
    pio = "perm-in+odd" in spec.symmetries
    if pio:
        ratio = test_med["perm-in+odd"] / test_med["free"]
        out["pio_ratio_max"] = float(ratio.max())
        out["pio_ratio_text"] = ", ".join(f"{a} {ratio.xs(a, level='activation').max():.2g}" for a in acts)
    else:
        out["pio_ratio_text"] = "not run"
    pio_worse = [a for a in acts if pio and ratio.xs(a, level="activation").max() > PIO_WORSE_FACTOR]
    out["pio_worse_text"] = ", ".join(pio_worse) if pio_worse else "none"
    return out


def z2_numbers(result: BreakingResult, summary: pd.DataFrame) -> dict:
    """The :math:`\\mathbb Z_2` story in the quadratic form (6.8) and the biases (6.4): the free and tied
    quadratic networks' final and peak :math:`\\lVert Q\\rVert_F`, and :math:`\\Delta_{\\rm odd}` of the free
    identity and tanh networks (start, largest, end) with their final even part."""
    traj = _ok_traj(result)
    members = result.members.set_index("member")
    qfin = traj[traj.activation == "quadratic"].sort_values("step").groupby("member")["quad_form"].last()
    qfin = qfin.to_frame("q").join(members[["symmetry", "init"]])
    qpeak = traj[(traj.activation == "quadratic") & (traj.symmetry == "free")].groupby("member")["quad_form"].max()
    odd_end = traj[traj.activation.isin(["identity", "tanh"]) & (traj.symmetry == "free")].sort_values("step")
    odd_end = odd_end.groupby("member")["d_odd"].agg(["first", "max", "last"]).join(members["init"])
    even_end = _free(summary, "activation in ['identity', 'tanh']").groupby("init").asym_final.median()
    return {
        "q_free": float(qfin[qfin.symmetry == "free"].q.median()) if len(qfin) else math.nan,
        "q_peak": float(qpeak.median()) if len(qpeak) else math.nan,
        "q_tied": float(qfin[qfin.symmetry == "tied-hidden"].q.median()) if len(qfin) else math.nan,
        "dodd_text": "; ".join(
            f"{i} init: start {g['first'].median():.2g}, largest {g['max'].median():.2g}, end {g['last'].median():.2g} "
            f"(even part at the end {even_end.get(i, math.nan):.1e})" for i, g in odd_end.groupby("init", sort=False))
        if len(odd_end) else "not run",
    }


def timing_numbers(V: dict) -> dict:
    """The section *Timing*: the fraction of breaking networks whose break coincides with the
    separation from the tied twin (:data:`COINCIDE_FACTOR`), and the median lags."""
    return {
        "timing_pct": 100 * V["timing_fraction"], "n_timed": V["n_timed"],
        "lag_sep": 10 ** V["median_lag_sep"], "lag_drop": 10 ** V["median_lag_drop"],
        "coincide_factor": COINCIDE_FACTOR,
        "not_coincident_text": _names(V["exceptions"]["not_coincident"]),
    }


CELL_COLUMNS = {
    "init": "init", "activation": "activation", "n_free": "free nets", "broke": "frac. broke",
    "distinct_final": "distinct (end)", "restored": "frac. restored", "asym_peak": "even peak",
    "asym_final": "even end", "test_free": "test free", "test_tied": "test tied", "stall_ratio": "tied/free",
    "t_break": "t break", "t_sep": "t sep", "coincide_sep": "frac. within x2",
}
"""The columns of the chapter's per-cell table (:func:`cell_table`) and their headings."""


def cell_display_table(V: dict) -> pd.DataFrame:
    """The per-cell table of the chapter: :data:`CELL_COLUMNS` of ``V['cells']``, renamed."""
    return V["cells"][list(CELL_COLUMNS)].rename(columns=CELL_COLUMNS)


def gnn_numbers(result: BreakingResult, summary: pd.DataFrame, cells: pd.DataFrame) -> dict:
    """The GNN control: the broken GNNs' breaking, rise of :math:`\\Delta_{\\rm shared}` (6.9) and
    restoration of the permutation symmetry (6.6), the shared over broken test errors, and the largest
    asymmetry of a shared GNN."""
    traj = _ok_traj(result)
    free = summary[(summary.role == "free") & ~summary.diverged]
    some = len(free) > 0
    return {
        "g_n": len(free), "g_n_diverged": int(summary.diverged.sum()),
        "g_broke_pct": 100 * float(free.broke.mean()) if some else math.nan,
        "g_rise": float(free.rise.median()) if some else math.nan,
        "g_restored_pct": 100 * float(free.restored.mean()) if some else math.nan,
        "g_asym_peak": float(free.asym_peak.median()) if some else math.nan,
        "g_asym_final": float(free.asym_final.median()) if some else math.nan,
        "g_stall_text": ", ".join(f"{r.activation} {r.stall_ratio:.2g}" for r in cells.itertuples()),
        "g_shared_asym": float(traj[traj.symmetry == "shared"].perm_fn.max()) if len(traj) else math.nan,
    }


def verdict_numbers(V: dict) -> dict:
    """The verdict on C5 and on each of its parts, in words, with the breaking fraction and the
    majority (:data:`MAJORITY`) it was held to."""
    out = {"c5_verdict": verdict(V["holds"], "supported", "not supported")}
    for name in ("breaks", "restores", "stalls", "timing"):
        out[f"part_{name}"] = verdict(V["parts"][name], "holds", "fails")
    out.update({"breaks_pct": 100 * V["breaks_fraction"], "n_breaks": V["n_breaks"],
                "majority_pct": 100 * MAJORITY, "no_breaking_text": _names(V["exceptions"]["no_breaking"])})
    return out
