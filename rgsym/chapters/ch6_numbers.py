r"""Chapter 6: the numbers and sentence fragments each section glues, computed from the verdict record
of :func:`rgsym.chapters.ch6_symmetry.c5_verdict` (``V``). Rates are in percent; :math:`r =
\Delta/\lVert\theta\rVert` is the scale-free distance from the symmetric subspace.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..report import verdict as word
from . import ch6_symmetry as C

__all__ = ["scale_numbers", "arm_table", "breaking_numbers", "restoration_numbers", "stall_numbers",
           "timing_numbers", "verdict_numbers", "ARM_COLUMNS"]


def _med(x) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else math.nan


def _pct(x) -> float:
    x = np.asarray(x, dtype=float)
    return 100 * float(x.mean()) if x.size else math.nan


def _free(V, family="mlp", **eq) -> pd.DataFrame:
    s = V["summary"]
    s = s[(s.role == "free") & ~s.diverged & (s.family == family)]
    for k, v in eq.items():
        s = s[s[k] == v]
    return s


def _names(values) -> str:
    return ", ".join(values) or "none"


def scale_numbers(V: dict) -> dict:
    """The expert's contrast, reproduced: at the scaled inits (free MLPs) the relative distance at the start
    and end, the weight norm at the start and end, and the old absolute criterion's rise and pass rates,
    including on the controls (identity MLPs, broken GNNs from the small init)."""
    out = {}
    for init in ("small", "standard"):
        f = _free(V, init=init, decay=0.0)
        out.update({f"r0_{init}": _med(f.r0), f"rfinal_{init}": _med(f.r_final), f"theta0_{init}": _med(f.theta0),
                    f"thetafinal_{init}": _med(f.theta_final), f"absrise_{init}": _med(f.abs_rise),
                    f"absbroke_{init}": _pct(f.abs_broke), f"relbroke_{init}": _pct(f.broke)})
    ident = _free(V, init="small", decay=0.0, activation="identity")
    g = _free(V, "gnn", init="small")
    out.update({"absbroke_identity": _pct(ident.abs_broke), "absbroke_gnn": _pct(g.abs_broke),
                "break_factor": C.BREAK_FACTOR})
    return out


ARM_COLUMNS = {"family": "family", "arm": "arm", "activation": "activation", "n": "nets", "r0": "r start",
               "r_max": "r peak", "r_final": "r end", "broke": "% broke", "restored": "% broke+restored",
               "distinct_final": "distinct (end)", "test_final": "test MSE (end)"}
"""The columns of the chapter's per-arm table and their headings."""


def arm_table(V: dict) -> pd.DataFrame:
    """Per (family, arm, activation): medians over seeds of the free networks' :math:`r` and final test error,
    and the percentages that broke and that broke and were then restored."""
    s = V["summary"]
    s = s[(s.role == "free") & ~s.diverged]
    rows = []
    for (fam, arm, act), g in s.groupby(["family", "arm", "activation"], sort=False):
        rows.append({"family": fam, "arm": arm, "activation": act, "n": len(g), "r0": _med(g.r0),
                     "r_max": _med(g.r_max), "r_final": _med(g.r_final), "broke": _pct(g.broke),
                     "restored": _pct(g.restored), "distinct_final": _med(g.distinct_final),
                     "test_final": _med(g.test_final)})
    return pd.DataFrame(rows, columns=list(ARM_COLUMNS)).rename(columns=ARM_COLUMNS)


def _arm_text(V, key, arms) -> str:
    pa = V["parts"]["per_arm"]
    return "; ".join(f"{a}: need {100 * pa[a][f'{key}_need']:.0f}%, identity {100 * pa[a][f'{key}_identity']:.0f}%"
                     + ("" if math.isnan(pa[a][f"{key}_gnn"]) else f", broken GNN {100 * pa[a][f'{key}_gnn']:.0f}%")
                     for a in arms) or "no such arm"


def breaking_numbers(V: dict) -> dict:
    """The section *Breaking from the symmetric subspace*: the largest :math:`r` of the :math:`\\epsilon = 0`
    arm (must stay at zero), the breaking rates per :math:`\\epsilon > 0` arm for the networks that need it and
    the controls, and the smallest excess."""
    P = V["parts"]
    zero = _free(V, arm="sym-0")
    zero_g = _free(V, "gnn", arm="sym-0")
    rmax0 = float(np.nanmax(np.r_[zero.r_max.to_numpy(float), zero_g.r_max.to_numpy(float), -np.inf]))
    return {"sym0_rmax": rmax0 if math.isfinite(rmax0) else math.nan, "sym0_n": len(zero),
            "sym0_text": word(len(zero) > 0 and rmax0 <= C.R_FLOOR, "stays on the subspace to within the floor",
                              "leaves the subspace" if len(zero) else "was not run"),
            "break_arms_text": _arm_text(V, "break", P["break_arms"]),
            "break_excess_pct": 100 * P["break_excess"]}


def restoration_numbers(V: dict) -> dict:
    """The section *Restoration*: breaking followed by restoration of the parameters' symmetry with and
    without weight decay (rates per arm, need and controls), the median final over peak :math:`r` of the
    networks that broke, and the function's relative even part (6.5') at its peak and end (free MLPs)."""
    P = V["parts"]
    need = _free(V)
    need = need[need.activation.isin(V["stall_activations"])]

    def ret(decayed):
        g = need[(need.decay > 0) == decayed]
        g = g[g.broke]
        return _med(g.r_final / g.r_max)

    f = _free(V, init="small", decay=0.0)
    return {"restore_arms_text": _arm_text(V, "restore", P["restore_arms"]),
            "nodecay_arms_text": _arm_text(V, "restore", P["break_arms"]),
            "restore_excess_pct": 100 * P["restore_excess"],
            "r_return_decay": ret(True), "r_return_nodecay": ret(False),
            "even_rel_peak": _med(f.asym_rel_peak), "even_rel_final": _med(f.asym_rel_final)}


def stall_numbers(V: dict) -> dict:
    """The section *Over-constrained networks stall*: tied over free final test error per activation and
    scaled init, and the stall activations (where breaking is needed)."""
    ratio = V["stall_ratio"]
    text = "; ".join(f"{a}: " + ", ".join(f"{ratio.loc[i, a]:.2g} ({i})" for i in ratio.index)
                     for a in ratio.columns) if len(ratio) else "not run"
    return {"stall_text": text, "stall_acts_text": _names(V["stall_activations"])}


def timing_numbers(V: dict) -> dict:
    """The section *Timing*: the fraction of breaking networks (that need it, :math:`\\epsilon > 0`, no
    decay) whose breaking step is within :data:`~rgsym.chapters.ch6_symmetry.COINCIDE_FACTOR` of the first
    loss halving, its shuffled null, the median ratio of the two steps."""
    P = V["parts"]
    return {"coincide_pct": 100 * P["coincide"], "coincide_null_pct": 100 * P["coincide_null"],
            "timing_excess_pct": 100 * P["timing_excess"], "lag_drop": P["lag_drop"], "n_timed": P["n_timed"]}


def verdict_numbers(V: dict) -> dict:
    """The verdict on C5 in words, with its margin (percentage points), seed-bootstrap interval and
    sensitivity to each threshold halved and doubled, and the word of each part."""
    v, P = V["verdict"], V["parts"]
    lo, hi = v.interval if v.interval is not None else (math.nan, math.nan)
    return {"c5_verdict": v.word, "c5_margin_pct": 100 * v.margin, "c5_lo_pct": 100 * lo, "c5_hi_pct": 100 * hi,
            "c5_sensitivity": v.sensitivity_text(),
            "part_breaks": word(P["break_excess"] >= C.BREAK_MARGIN, "holds", "fails"),
            "part_restores": word(P["restore_excess"] >= C.BREAK_MARGIN, "holds", "fails"),
            "part_timing": word(P["timing_excess"] >= C.TIMING_MARGIN, "holds", "fails"),
            "part_stalls": word(bool(V["stall_activations"]), "holds", "fails")}
