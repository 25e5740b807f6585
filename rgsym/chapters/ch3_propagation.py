r"""Chapter 3 (cumulant propagation) on a whole sweep of Chapter 2: settings, tidy tables, the
summaries the chapter glues and the verdict on claim C3, with its pass marks as named constants.

Notation as in :mod:`rgsym.propagation`: :math:`\kappa'_n` the predicted output cumulants,
:math:`z = |\text{predicted} - \text{measured}|/\sqrt{{\rm se}^2 + \text{error}^2}`, the exact flow
:math:`\kappa_n(l) = b^{l(1-n/2)}\kappa_n` (eq. 1.4) and its eigenvalues :math:`b^{1-n/2}`.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..config import PROFILES
from ..report import verdict
from ..validation import check_choice
from .ch3_tables import (CHAPTER3_PROFILES, Chapter3Settings, chapter3_settings, eigen_table,  # noqa: F401
                         flow_table, method_comparison, prediction_table)

Z_PASS = 3.0
"""A prediction agrees with Monte Carlo when it is within this many standard errors."""
RESOLVED_SE, RESOLVED_ERROR, REL_TOL = 0.01, 0.001, 0.01
"""A cumulant is *resolved* when 3 se < 1 % and the prediction error < 0.1 % of it; resolved predictions
are compared at 1 % relative tolerance."""
HEAVY_KURTOSIS = 1.5
"""Laws with at least this excess kurtosis count as heavy-tailed."""
GT_REL_TOL = 0.01
"""The Gaussian truncation's variance counts as off beyond this relative error."""
FP_LINE_DISTANCE, FP_EIGEN_ATOL = 1e-3, 1e-2
"""A fixed point lies on the Gaussian line within this distance, with the exact eigenvalues within this."""
FACTOR2 = 2.0
"""Predicted and measured successive-RG errors agree 'within a factor of two'."""
C3_WITHIN3_MIN, C3_RHO_MIN = 0.9, 0.5
"""Claim C3's agreement part: at least 90 % within three se and rank correlation at least 0.5."""
CMP_LAWS = ("gaussian", "uniform", "laplace", "exponential")
"""Laws of the side-by-side comparison of methods."""

# ------------------------------------------------------------------------------------------------
# what the chapter reports: summaries (keys are the chapter's glue names) and the verdict on C3
# ------------------------------------------------------------------------------------------------
FIT_BOUNDS = {"smoke": (0.5, 1.0, 2.0, 4.0), "paper": (0.5, 1.0, 2.0, 4.0, 8.0)}
FIT_STARTS = {"smoke": 4, "paper": 12}
"""Weight bounds B and random starts of the best tied-hidden fits (eq. 3.10, ``eq-c3-fit``) per profile."""


def tied_fits(profile: str, *, alpha: float, b: int, seed: int) -> tuple:
    """``(bounds, fits, table)``: :func:`rgsym.propagation.analytic.best_tied_hidden_fit` on Gaussian sites
    at every bound of :data:`FIT_BOUNDS` (sympy, imported here)."""
    from ..propagation.analytic import best_tied_hidden_fit

    check_choice("profile", profile, PROFILES)
    bounds = list(FIT_BOUNDS[profile])
    starts = FIT_STARTS[profile]
    fits = [best_tied_hidden_fit(alpha=alpha, b=b, law="gaussian", param_bound=B, starts=starts, seed=seed)
            for B in bounds]
    tab = pd.DataFrame({"bound B": bounds, "loss": [f.loss for f in fits],
                        "|Q|_F": [f.quadratic_norm for f in fits],
                        "kappa_3 after one step": [f.kappa3_after_one_step for f in fits]})
    return bounds, fits, tab


def fit_summary(bounds, fits, tab) -> dict:
    r"""Glue values of :func:`tied_fits`: the quadratic part at the first and last bound, its log-log slope
    in the bound, and the :math:`|\kappa'_3|` injected at the last bound."""
    return {"q_first": fits[0].quadratic_norm, "q_last": fits[-1].quadratic_norm, "b_last": bounds[-1],
            "k3_last": abs(fits[-1].kappa3_after_one_step),
            "slope_q": float(np.polyfit(np.log(bounds), np.log(tab["|Q|_F"]), 1)[0])}


def prediction_summary(pred) -> dict:
    """Agreement of :func:`prediction_table` with Monte Carlo: percent within :data:`Z_PASS` se, median
    :math:`z`, the resolved cases and their share within :data:`REL_TOL`, and the percentage of the
    failures that are deep quadratic networks on heavy-tailed laws; only output cumulants that exist
    (``exists``), the excluded ones counted in ``n_excluded``."""
    ex = pred["exists"] if "exists" in pred else pd.Series(True, index=pred.index)
    n_excl = int((~ex).sum())
    pred = pred[ex]
    within3 = float((pred["z"] < Z_PASS).mean())
    resolved = pred[(3 * pred["se"] < RESOLVED_SE * pred["measured"].abs())
                    & (pred["pred_error"] < RESOLVED_ERROR * pred["predicted"].abs())]
    rel1 = float(((resolved["predicted"] - resolved["measured"]).abs() < REL_TOL * resolved["predicted"].abs()).mean())
    big = pred[pred["z"] >= Z_PASS]
    heavy = (big["law_kurtosis"] >= HEAVY_KURTOSIS) & (big["activation"] == "quadratic") & (big["depth"] >= 2)
    return {"n_excluded": n_excl, "z3_heavy_share": 100 * float(heavy.mean()) if len(big) else 0.0,
            "within3": 100 * within3,
            "med_z": float(pred["z"].median()), "n_resolved": len(resolved), "rel1": 100 * rel1}


def truncation_table(pred):
    """The variance rows of :func:`prediction_table` (non-constant networks) with the Gaussian truncation's
    relative error ``gt_rel_err`` and the predicted standardised ``skew`` and ``kurt``."""
    if "exists" in pred:
        pred = pred[pred["exists"].groupby([pred["member_id"], pred["law"]]).transform("all")]
    v = pred[(pred["order"] == 2) & (pred["variance"] > 1e-12)].copy()  # constant-output networks have no shape
    v["gt_rel_err"] = (v["gaussian"] / v["predicted"] - 1).abs()
    m3 = pred[pred["order"] == 3].set_index(["member_id", "law"])
    m4 = pred[pred["order"] == 4].set_index(["member_id", "law"])
    key_idx = pd.MultiIndex.from_frame(v[["member_id", "law"]])
    v["skew"] = (m3.loc[key_idx, "predicted"].to_numpy() / m3.loc[key_idx, "sigma_n"].to_numpy())
    v["kurt"] = (m4.loc[key_idx, "predicted"].to_numpy() / m4.loc[key_idx, "sigma_n"].to_numpy())
    return v


def truncation_summary(v) -> tuple:
    """``(median error by depth and law, glue values)`` of :func:`truncation_table`."""
    depths = sorted(v["depth"].unique())
    gt_by = v.groupby(["depth", "law"])["gt_rel_err"].median().unstack()
    worst = v.loc[v["gt_rel_err"].idxmax()]
    return gt_by, {
        "gt_frac1": 100 * float((v["gt_rel_err"] > GT_REL_TOL).mean()),
        "gt_med_d1": float(v[v["depth"] == depths[0]]["gt_rel_err"].median()),
        "gt_med_dmax": float(v[v["depth"] == depths[-1]]["gt_rel_err"].median()),
        "depth_max": int(depths[-1]), "gt_worst": float(worst["gt_rel_err"]), "gt_worst_law": worst["law"],
        "gt_worst_net": f"{worst['activation']} {worst['symmetry']} {worst['size']}",
        "gt_worst_law_med": gt_by.median(axis=0).idxmax(), "kurt_med": float(v["kurt"].abs().median()),
        "kurt_p90": float(v["kurt"].abs().quantile(0.9))}


def tanh_method_comparison(res, spec, *, nodes: int, n_mc: int, seed: int, laws=CMP_LAWS) -> tuple:
    """:func:`method_comparison` for the free tanh networks of the first two sizes of a Chapter 2 sweep
    (task ``spec.tasks[0]``). Returns ``(table, medians)``: medians of :math:`z` of order 4 by size,
    method and law."""
    valid = res.members[~res.members["diverged"].astype(bool)]
    rows = []
    for d, w in spec.sizes[:2]:
        sel = valid[(valid["activation"] == "tanh") & (valid["symmetry"] == "free") & (valid["depth"] == d)
                    & (valid["width"] == w) & (valid["task"] == spec.tasks[0])]
        if not len(sel):
            continue
        tab = method_comparison(res.model(sel["member_id"].tolist()), laws, nodes=nodes, n_mc=n_mc, seed=seed)
        tab["size"] = f"{d}x{w}"
        rows.append(tab)
    cmp = pd.concat(rows, ignore_index=True)
    med = cmp[cmp["order"] == 4].groupby(["size", "method", "law"])["z"].median().unstack("law")[list(laws)]
    return cmp, med


def method_summary(med) -> dict:
    """Glue values of the method comparison: worst and best-on-uniform median :math:`z` of the highest
    Hermite order, worst of the moment-matched rule and of the Gaussian truncation."""
    methods = list(med.index.get_level_values(1).unique())
    herm = sorted(m for m in methods if m.startswith("hermite"))
    quad = [m for m in methods if m.startswith("quadrature")][0]
    return {"herm_worst": float(med.xs(herm[-1], level="method").max().max()),
            "herm_best_light": float(med.xs(herm[-1], level="method")["uniform"].min()),
            "quad_worst": float(med.xs(quad, level="method").max().max()),
            "gauss_k4_worst": float(med.xs("gaussian", level="method").max().max())}


def representatives(valid, spec, activation: str, size, task: str):
    """The valid members of one activation, size, task and the first seed (one per symmetry)."""
    return valid[(valid["activation"] == activation) & (valid["depth"] == size[0]) & (valid["width"] == size[1])
                 & (valid["task"] == task) & (valid["seed"] == spec.seeds[0])]


def eigen_summary(eig, b: int) -> tuple:
    """``(median modulus by symmetry and n, glue values)`` of :func:`eigen_table`: free against tied-hidden
    :math:`|\\lambda_3|, |\\lambda_4|` and the exact :math:`b^{1-n/2}`."""
    med = eig.groupby(["symmetry", "n"])["eigenvalue"].median().unstack()
    out = {}
    for s, tag in (("free", "free"), ("tied-hidden", "tied")):
        out[f"lam3_{tag}"] = float(med.loc[s, 3]) if s in med.index else float("nan")
        out[f"lam4_{tag}"] = float(med.loc[s, 4]) if s in med.index else float("nan")
    out["lam3_exact"] = b ** (-0.5)
    out["lam4_exact"] = b ** (-1.0)
    return med, out


def fixed_point_table(fp, symmetries):
    """One row per member of a :class:`rgsym.propagation.flows.FixedPoint`: convergence, :math:`\\kappa^*`,
    its distance from the Gaussian line and the eigenvalue moduli there."""
    rows = []
    for j, sym in enumerate(symmetries):
        k = fp.kappa[j].numpy()
        rows.append({"symmetry": sym, "converged": bool(fp.converged[j]), "kappa_1*": k[0], "kappa_2*": k[1],
                     "kappa_3*": k[2], "kappa_4*": k[3],
                     "distance from the Gaussian line": float(np.sqrt(k[0] ** 2 + k[2] ** 2 + k[3] ** 2)),
                     "eigenvalue moduli": np.round(np.sort(np.abs(fp.eigenvalues[j].numpy()))[::-1], 3)})
    return pd.DataFrame(rows)


def fixed_point_summary(fp_tab, b: int) -> dict:
    """Glue values of :func:`fixed_point_table`: how many converged, how many keep the Gaussian line (on it
    within :data:`FP_LINE_DISTANCE`, exact eigenvalues within :data:`FP_EIGEN_ATOL`) and the range of the
    isolated ones."""
    conv = fp_tab[fp_tab["converged"]] if len(fp_tab) else fp_tab
    # a network keeps the Gaussian line when its fixed point is on it and the variance direction is marginal
    exact_lin = b ** (1 - np.arange(1, 5) / 2)
    on_line = (conv["distance from the Gaussian line"] < FP_LINE_DISTANCE) & conv["eigenvalue moduli"].map(
        lambda m: bool(np.allclose(np.sort(m)[::-1], np.sort(exact_lin)[::-1], atol=FP_EIGEN_ATOL))) \
        if len(conv) else pd.Series(dtype=bool)
    iso = conv[~on_line] if len(conv) else conv
    nan = float("nan")
    return {"fp_converged": int(len(conv)), "fp_total": len(fp_tab),
            "n_fp_line": int(on_line.sum()) if len(conv) else 0,
            "fp_line_syms": ", ".join(conv[on_line]["symmetry"]) if len(conv) and on_line.any() else "none",
            "n_fp_iso": int(len(iso)),
            "fp_k2_min": float(iso["kappa_2*"].min()) if len(iso) else nan,
            "fp_k2_max": float(iso["kappa_2*"].max()) if len(iso) else nan,
            "fp_d_min": float(iso["distance from the Gaussian line"].min()) if len(iso) else nan,
            "fp_d_max": float(iso["distance from the Gaussian line"].max()) if len(iso) else nan}


def noise_floor(n_sites: int) -> dict:
    r"""Three standard errors of a k-statistic :math:`k_n` of unit-variance Gaussian data on ``n_sites``
    sites, :math:`3\sqrt{n!/N}`, per order ``n = 1..4``."""
    return {n: 3 * np.sqrt(float(math.factorial(n)) / n_sites) for n in range(1, 5)}


def flow_error_stats(flows, L: int, floor: dict, symmetries=None):
    """Per order at the last level ``L`` of :func:`flow_table`: networks, those above the noise ``floor``,
    the Spearman correlation of predicted and measured deviations and the fraction (above the floor)
    predicted within :data:`FACTOR2`."""
    from scipy.stats import spearmanr

    fl_L = flows[flows["level"] == L]
    stats = []
    for n in range(1, 5):
        t = fl_L[(fl_L["order"] == n)]
        t = t[np.isfinite(t["predicted_dev"]) & np.isfinite(t["measured_ddev"])]
        above = t[(t["measured_ddev"] > floor[n]) | (t["predicted_dev"] > floor[n])]
        rho = spearmanr(t["predicted_dev"], t["measured_ddev"]).statistic if len(t) > 2 else np.nan
        ratio = (above["predicted_dev"] / above["measured_ddev"]).to_numpy()
        f2 = float(np.mean((ratio > 1 / FACTOR2) & (ratio < FACTOR2))) if len(above) else np.nan
        stats.append({"order": n, "networks": len(t), "above floor": len(above), "Spearman rho": rho,
                      "within factor 2 (above floor)": f2})
    return pd.DataFrame(stats)


def flow_summary(flows, stats, L: int) -> dict:
    """Glue values of the successive-RG error prediction: rank correlations over all levels and per order,
    the median fraction within a factor two, and the tied-hidden / free median drift in :math:`\\kappa_3`
    at level ``L`` (identity activation excluded) with its reading."""
    from scipy.stats import spearmanr

    all_lv = flows[np.isfinite(flows["predicted_dev"]) & np.isfinite(flows["measured_ddev"])]
    fl_L = flows[flows["level"] == L]
    tied3 = fl_L[(fl_L["order"] == 3) & (fl_L["symmetry"] == "tied-hidden") & (fl_L["activation"] != "identity")]["predicted_dev"]
    free3 = fl_L[(fl_L["order"] == 3) & (fl_L["symmetry"] == "free") & (fl_L["activation"] != "identity")]["predicted_dev"]
    drift_ratio = float(tied3.median() / free3.median()) if len(tied3) and len(free3) else float("nan")
    return {"rho_all": float(spearmanr(all_lv["predicted_dev"], all_lv["measured_ddev"]).statistic),
            "rho_min": float(stats["Spearman rho"].min()), "rho_max": float(stats["Spearman rho"].max()),
            "f2_med": 100 * float(stats["within factor 2 (above floor)"].median()), "drift_ratio": drift_ratio,
            "drift_reading": verdict(drift_ratio > 1, "as expected from an even part that cannot cancel",
                                     "so the trained networks do not show the drift the analysis leads one to expect")}


def c3_preconditions(*, no_solution: bool, manifold_impossible: bool, floor_derived: bool, free_exact: bool,
                     relu_ok: bool, checks_ok: bool, pred, rho_all: float, floor_ok: bool) -> dict:
    """The tool checks claim C3's verdict rests on (preconditions, not evidence): the sympy identities, the
    propagation agreeing with Monte Carlo on existing cumulants (at least :data:`C3_WITHIN3_MIN` within
    :data:`Z_PASS` se) and with Chapter 2's successive-RG errors (rank correlation >= :data:`C3_RHO_MIN`),
    and the floor respected by every one-layer tied quadratic net. ``{name: bool}``."""
    p = pred[pred["exists"]] if "exists" in pred else pred
    within3 = float((p["z"] < Z_PASS).mean())
    return {"sympy checks": bool(checks_ok and free_exact and relu_ok and no_solution),
            "impossible on the physical manifold": bool(manifold_impossible),
            "floor formulas derived": bool(floor_derived),
            "predictions agree with Monte Carlo": within3 >= C3_WITHIN3_MIN,
            "flow errors rank-correlate": bool(rho_all >= C3_RHO_MIN), "floor respected": bool(floor_ok)}
