r"""Chapter 5's test of claim C4: deviations that shrink like sampling noise, per law, over networks and
seeds; the division of labour with its control; the verdict.

Notation: a *unit* is one trained network at one seed (the independent unit of every bootstrap); for
unit :math:`u`, law :math:`\ell`, sample size :math:`n`, point, feature and order :math:`r`,
:math:`z=(\text{pred}-k_r)/\mathrm{SE}_n` with :math:`\mathrm{SE}_n` the exact standard error of eq. P5
(population moments of the reference, eq. P4), and the deviation in per-sample units
:math:`\delta=(\text{pred}-k_r)/(\sqrt n\,\mathrm{SE}_n)`. :math:`D(n)=\langle\delta^2\rangle^{1/2}` over a
cell's rows; pure sampling noise gives :math:`D\propto n^{-1/2}`, a bias :math:`D\to\text{const}`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..clt import get_law
from ..propagation.gnn import compare, predict_node_cumulants
from ..propagation.quadrature import MAX_NODES
from ..propagation.gnn_reference import exact_kstat_se, reference_node_cumulants, reference_nodes, sample_node_kstats
from ..seeds import stable_seed
from ..validation import as_int
from ..verdicts import bootstrap, decide
from .ch3_verdict import strict_min

SIZES = {"smoke": (2**10, 2**12, 2**14), "paper": (2**11, 2**13, 2**15)}
"""Monte Carlo sample sizes of the scaling test (each span 16x)."""
NOISE_SLOPE = -0.5
"""The log-log slope of :math:`D(n)` for pure sampling noise."""
SLOPE_TOL = 0.25
"""A cell's deviations shrink like noise when its 90 % slope interval lies within this of -1/2 (halfway to a bias's 0)."""
RMS_Z_PASS = 2.0
"""A cell is SE-consistent when its root-mean-square z over all rows and sizes is below this."""
CREATE_SHARE = 0.5
"""Division of labour: activations create orders 3-4 in at least this share of their stages ..."""
REMOVE_SHARE = 0.5
"""... and the summing stages (message passing, readout) remove them in at least this share of theirs."""
REF_EXTRA_NODES = 3
"""The reference is computed at m and m + this many nodes; the larger SE is used (the spread is reported)."""
SE_FLOOR = 1e-12
"""Rows whose exact SE is below this fraction of the feature's scale are exact (ties), not tested."""


def main_method(model) -> tuple:
    """``(method, keywords)`` of the propagation under test, member 0's
    :func:`~rgsym.chapters.ch5_gnn_propagation.main_predictor` (``quadrature`` with its ``NODES``)."""
    from .ch5_gnn_propagation import NODES, main_predictor

    method = main_predictor(model)
    return method, ({"nodes": NODES} if method == "quadrature" else {})


def reference_se(model, law, sizes, *, order: int = 4) -> tuple:
    """``({n: SE table}, spread)``: the exact SE (eq. P5) of every feature and order at each size, the larger
    of the references at :func:`reference_nodes` and ``+ REF_EXTRA_NODES`` nodes; ``spread`` is the largest
    relative difference of the two (the reference's own accuracy)."""
    m = reference_nodes(model, 0, 2 * order)
    refs = [reference_node_cumulants(model, law, order=2 * order, nodes=k) for k in (m, min(m + REF_EXTRA_NODES, MAX_NODES))]
    keys = ["point", "node", "channel"]
    kap = [r.pivot_table(index=keys, columns="order", values="value", sort=False) for r in refs]
    out, spread = {}, 0.0
    for n in sizes:
        se = [exact_kstat_se(k.to_numpy(), n, order) for k in kap]
        big = np.maximum(se[0], se[1])
        spread = max(spread, float(np.nanmax(np.abs(se[0] - se[1]) / np.where(big > 0, big, 1.0))))
        t = pd.DataFrame(big, index=kap[0].index, columns=range(1, order + 1)).stack().rename("se").reset_index()
        out[n] = t.rename(columns={"level_3": "order"})
    return out, spread


def scaling_rows(model, law, sizes, *, unit: str, seed: int = 0, order: int = 4) -> tuple:
    """Predicted against measured cumulants of every feature of one unit on ``law`` at every size in
    ``sizes`` (independent lattices per size), with the exact SE: rows of :func:`compare` plus ``n``,
    ``delta``, ``unit``, ``law``; and the reference spread."""
    method, kw = main_method(model)
    pred = predict_node_cumulants(model, law, order=order, method=method, **kw)
    ses, spread = reference_se(model, law, sizes, order=order)
    name = get_law(law).name
    out = []
    for n in sizes:
        meas = sample_node_kstats(model, law, order=order, n_samples=n, seed=stable_seed("c5-scaling", unit, seed, name, n))
        meas = meas.merge(ses[n], on=["point", "node", "channel", "order"])
        t = compare(pred, meas)
        scale = np.maximum(t.pred.abs(), np.sqrt(n) * t.se)
        t = t[t.se > SE_FLOOR * scale].copy()
        t["delta"] = (t.pred - t.meas) / (np.sqrt(n) * t.se)
        out.append(t.assign(n=n, unit=unit, law=name))
    return pd.concat(out, ignore_index=True), spread


def fit_slope(n, D) -> tuple:
    r"""Least-squares slope of :math:`\log D` against :math:`\log n` and its standard error
    (``nan`` for two points). ``n``, ``D``: equal-length positive sequences, at least two distinct sizes."""
    x, y = np.log(np.asarray(n, float)), np.log(np.asarray(D, float))
    if len(x) < 2 or len(set(x)) < 2 or not np.all(np.isfinite(y)):
        raise ValueError("a slope needs >= 2 distinct sizes and positive finite deviations")
    A = np.vstack([x, np.ones_like(x)]).T
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = len(x) - 2
    se = float(np.sqrt(res[0] / dof / ((x - x.mean()) ** 2).sum())) if dof > 0 and len(res) else float("nan")
    return float(coef[0]), se


def unit_sums(rows: pd.DataFrame, by=("net_kind", "law", "order")) -> tuple:
    """``(cells, units, sizes, S)``: per cell, unit and size the sums of ``delta**2``, ``z**2`` and the row
    count, ``S`` of shape ``(cells, units, sizes, 3)`` (zeros where a unit has no rows in a cell)."""
    by = [k for k in by if k in rows.columns]
    units = sorted(rows.unit.unique())
    sizes = sorted(rows.n.unique())
    g = rows.assign(d2=rows.delta ** 2, z2=rows.z ** 2, k=1.0).groupby(by + ["unit", "n"], sort=False)[["d2", "z2", "k"]].sum()
    cells = list(dict.fromkeys(tuple(i[:len(by)]) for i in g.index))
    S = np.zeros((len(cells), len(units), len(sizes), 3))
    ci = {c: i for i, c in enumerate(cells)}
    ui = {u: i for i, u in enumerate(units)}
    ni = {n: i for i, n in enumerate(sizes)}
    for idx, v in zip(g.index, g.to_numpy()):
        S[ci[tuple(idx[:len(by)])], ui[idx[len(by)]], ni[idx[len(by) + 1]]] = v
    return pd.DataFrame(cells, columns=by), units, np.asarray(sizes, float), S


def _stats(S: np.ndarray, sizes, pick) -> tuple:
    """(rms z, slope) per cell for the units ``pick`` (indices, repeats allowed)."""
    T = S[:, pick].sum(1)  # (cells, sizes, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        D = np.sqrt(T[..., 0] / T[..., 2])
        rmsz = np.sqrt(T[..., 1].sum(-1) / T[..., 2].sum(-1))
    xc = np.log(sizes) - np.log(sizes).mean()
    slope = (np.log(D) * xc).sum(-1) / (xc ** 2).sum()
    return rmsz, slope


def cell_table(rows: pd.DataFrame, *, by=("net_kind", "law", "order"), n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per cell (``by``): ``rms_z``, the slope of :math:`D(n)` with its least-squares ``slope_se``,
    the 90 % bootstrap interval over units (``slope_lo``, ``slope_hi``; ``rmsz_hi`` the 95th percentile),
    ``D`` at the smallest and largest size, and the number of units."""
    cells, units, sizes, S = unit_sums(rows, by)
    rmsz, slope = _stats(S, sizes, np.arange(len(units)))
    rng = np.random.default_rng(seed)
    boots = [_stats(S, sizes, rng.integers(0, len(units), len(units))) for _ in range(n_boot)]
    bz, bs = np.array([b[0] for b in boots]), np.array([b[1] for b in boots])
    T = S.sum(1)
    D = np.sqrt(T[..., 0] / T[..., 2])
    out = cells.copy()
    out["units"] = (S[..., 2].sum(-1) > 0).sum(-1)
    out["rms_z"], out["rmsz_hi"] = rmsz, np.nanquantile(bz, 0.95, axis=0)
    out["slope"] = slope
    out["slope_se"] = [fit_slope(sizes, d)[1] for d in D]
    out["slope_lo"], out["slope_hi"] = np.nanquantile(bs, 0.05, axis=0), np.nanquantile(bs, 0.95, axis=0)
    out["D_small"], out["D_large"] = D[:, 0], D[:, -1]
    return out


def point_cells(rows: pd.DataFrame, by=("net_kind", "law", "order")) -> pd.DataFrame:
    """``rms_z`` and ``slope`` of every cell, no interval."""
    cells, units, sizes, S = unit_sums(rows, by)
    rmsz, slope = _stats(S, sizes, np.arange(len(units)))
    return cells.assign(rms_z=rmsz, slope=slope)


def cell_word(row, *, rms_z_pass: float = RMS_Z_PASS, slope_tol: float = SLOPE_TOL) -> str:
    """What a cell of :func:`cell_table` says: agreement, a bias, a too-small SE, or undecided."""
    slope_ok = row.slope_lo >= NOISE_SLOPE - slope_tol and row.slope_hi <= NOISE_SLOPE + slope_tol
    if slope_ok and row.rms_z < rms_z_pass:
        return "agrees (noise-like)"
    if row.slope > NOISE_SLOPE + slope_tol:
        return "does not shrink like noise: a bias"
    if slope_ok:
        return "shrinks like noise but exceeds the SE"
    return "undecided: slope not pinned down"


def law_verdicts(cells: pd.DataFrame, **thr) -> pd.DataFrame:
    """Per law: ``agrees`` (every order's cell agrees) and the words of the failing orders."""
    keys = [k for k in ("net_kind", "law") if k in cells.columns]
    rows = []
    for key, g in cells.groupby(keys, sort=False):
        words = [cell_word(r, **thr) for r in g.itertuples()]
        bad = [f"order {o}: {w}" for o, w in zip(g.order, words) if not w.startswith("agrees")]
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, not bad, "; ".join(bad) if bad else "agrees at every order"))
    return pd.DataFrame(rows, columns=[*keys, "agrees", "why"])


def division_shares(budget: pd.DataFrame) -> dict:
    """From an order budget (orders 3-4): share of activation stages that create, and of summing stages
    (message passing and readout) that remove, with the counts (``act_creates`` of ``act_stages``,
    ``sum_removes`` of ``sum_stages``)."""
    b = budget[budget.order.isin([3, 4])]
    act = b[b.kind == "activation"]
    sums = b[b.kind.isin(["message passing", "readout"])]
    return {"act_create_share": float((act.verdict == "creates").mean()) if len(act) else float("nan"),
            "sum_remove_share": float((sums.verdict == "removes").mean()) if len(sums) else float("nan"),
            "act_stages": len(act), "sum_stages": len(sums),
            "act_creates": int((act.verdict == "creates").sum()), "sum_removes": int((sums.verdict == "removes").sum()),
            "sum_keep_share": float((sums.verdict == "keeps").mean()) if len(sums) else float("nan")}


def division_holds(shares: dict, create_share: float = CREATE_SHARE, remove_share: float = REMOVE_SHARE) -> bool:
    """The division of labour holds when both shares reach their thresholds."""
    return bool(shares["act_create_share"] >= create_share and shares["sum_remove_share"] >= remove_share)


C4_STATEMENT = ("Cumulant propagation extends from MLPs to GNNs, checked layer by layer, and shows what each layer "
                "does to the distribution.")
C4_TEST = ("On every law, for the linear and the trained nonlinear GNNs (every order 1-4, all points, >= 3 seeds), "
           "the rms z with exact SEs is below RMS_Z_PASS and the 90 % bootstrap interval (over network-seed "
           "units) of the log-log slope of the deviation against the sample size lies within SLOPE_TOL of -1/2; "
           "and activations create orders 3-4 in >= CREATE_SHARE of their stages while sums remove them in "
           ">= REMOVE_SHARE of theirs, which the linear control must fail. Margin: the smallest of the "
           "parts' margins, each as a fraction of its threshold.")


def c4_margins(cells: pd.DataFrame, shares: dict, control: dict, *, rms_z_pass=RMS_Z_PASS, slope_tol=SLOPE_TOL,
               create_share=CREATE_SHARE, remove_share=REMOVE_SHARE, use_interval: bool = True) -> dict:
    """Each part's margin as a fraction of its threshold (positive: passes)."""
    lo = cells.slope_lo if use_interval and "slope_lo" in cells else cells.slope
    hi = cells.slope_hi if use_interval and "slope_hi" in cells else cells.slope
    exc = np.maximum((lo - NOISE_SLOPE).abs(), (hi - NOISE_SLOPE).abs())
    exc = np.maximum(exc, (cells.slope - NOISE_SLOPE).abs())
    ctrl = division_holds(control, create_share, remove_share)
    # strict_min: a part that cannot be evaluated (NaN anywhere) has margin NaN, and fails
    return {"rms_z": strict_min(1 - cells.rms_z / rms_z_pass),
            "slope": strict_min(1 - exc / slope_tol),
            "division": strict_min([shares["act_create_share"] / create_share,
                                    shares["sum_remove_share"] / remove_share]) - 1,
            "control_fails": 1.0 if not ctrl else -1.0}


def verdict_c4(cells: pd.DataFrame, shares: dict, control: dict, *, unit_rows: pd.DataFrame | None = None,
               budget_by_unit: dict | None = None, n_boot: int = 1000, seed: int = 0):
    """The verdict on C4 (:func:`rgsym.verdicts.decide`): thresholds :data:`RMS_Z_PASS`, :data:`SLOPE_TOL`,
    :data:`CREATE_SHARE`, :data:`REMOVE_SHARE`; interval: bootstrap over units of the smallest margin
    (slopes as point estimates inside a resample) when ``unit_rows`` and ``budget_by_unit`` are given."""
    def test(RMS_Z_PASS, SLOPE_TOL, CREATE_SHARE, REMOVE_SHARE):
        m = c4_margins(cells, shares, control, rms_z_pass=RMS_Z_PASS, slope_tol=SLOPE_TOL,
                       create_share=CREATE_SHARE, remove_share=REMOVE_SHARE)
        return all(v > 0 for v in m.values()), strict_min([m["rms_z"], m["slope"], m["division"]])

    interval, notes = None, "no interval: units not given"
    if unit_rows is not None and budget_by_unit is not None:
        cl, units, sizes, S = unit_sums(unit_rows)

        def counts(b):
            d = division_shares(b)
            return [d["act_creates"], d["act_stages"], d["sum_removes"], d["sum_stages"]]

        cnt = np.array([counts(budget_by_unit[u]) if u in budget_by_unit else [0, 0, 0, 0] for u in units], float)

        def stat(pick):
            pick = np.asarray(pick)
            rmsz, slope = _stats(S, sizes, pick)
            c = cnt[pick].sum(0)
            sh = {"act_create_share": c[0] / c[1] if c[1] else np.nan, "sum_remove_share": c[2] / c[3] if c[3] else np.nan}
            m = c4_margins(cl.assign(rms_z=rmsz, slope=slope), sh, control, use_interval=False)
            return strict_min([m["rms_z"], m["slope"], m["division"]])

        interval = bootstrap(list(range(len(units))), stat, n_boot=n_boot, seed=seed)
        centre = stat(np.arange(len(units)))
        notes = (f"interval: 90 % bootstrap over {len(units)} network-seed units of the smallest margin with the "
                 f"slopes as point estimates (that statistic on all units: {centre:.3g}); the test's margin reads "
                 f"each slope's 90 % interval instead, so it is stricter and may lie below this interval")
    thr = {"RMS_Z_PASS": RMS_Z_PASS, "SLOPE_TOL": SLOPE_TOL, "CREATE_SHARE": CREATE_SHARE, "REMOVE_SHARE": REMOVE_SHARE}
    return decide("C4", C4_STATEMENT, C4_TEST, "rms z and deviation slope per law and order; division-of-labour shares",
                  test, thr, interval=interval, figure="fig-c4-scaling", notes=notes)
