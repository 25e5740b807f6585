r"""Chapter 1's exponent fits, their two errors and the verdict on the reference map (claim ``C1ref``).

From the measured flows of :mod:`.ch1_clt` (``{law: FlowResult}``): the exponents :math:`y_n` of
:math:`\kappa_n(l)\propto b^{ly_n}` (eq. 1.4, exact :math:`y_n=1-n/2`) per law and combined over laws,
each with the naive error of the weighted least squares (levels independent) and the error of a
bootstrap over whole lattices (:mod:`rgsym.clt.lattice_bootstrap`, levels as correlated as they are);
the check that estimates of vanishing cumulants are noise; the eigenvalue :math:`\lambda_4` across block
sizes; and :func:`reference_verdict`, the verdict with its named thresholds and its control (the flows
of a deliberately wrong map, :data:`.ch1_clt.CONTROL_FIELD_EXPONENT`).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..verdicts import Verdict, decide
from ..clt.blockmap import fit_exponent, fit_points
from ..clt.lattice_bootstrap import bootstrap_se, exponent_replicates

if TYPE_CHECKING:  # pragma: no cover
    from .ch1_clt import FlowResult

FIT_ORDERS = (3, 4, 5, 6)
"""The orders whose exponents are fitted and tabulated."""

FIT_Z_MAX = 3.0
r"""Pass mark of the exponent fits: every :math:`|y_\text{fit}-y_\text{exact}|/\text{se}` below this
(for the verdict, se is the bootstrap error over whole lattices)."""

FIT_SNR_MIN = 3.0
r"""A level enters an exponent fit when :math:`|k_n(l)|\ge` this many standard errors
(:func:`~rgsym.clt.blockmap.fit_points`)."""

Y_FLOOR = 1e-9
r"""Numerical floor of a fitted exponent: float64 rounding of :math:`\log|k|` differences is
:math:`\sim10^{-13}`; deviations and errors below this are ties, never compared."""

BOOT_LEVEL = 0.9
"""Coverage of the percentile intervals of the lattice bootstrap (as :func:`rgsym.verdicts.bootstrap`)."""

ZERO_RMS_MAX = 1.5
r"""Pass mark of the vanishing cumulants: the root-mean-square of :math:`k/\text{se}` below this ..."""

ZERO_ABS_MAX = 4
r"""... and no single :math:`|k/\text{se}|` beyond this (the largest of a few hundred standard normal
draws rarely is)."""


def exponent_table(results: dict[str, FlowResult], orders: Sequence[int] = FIT_ORDERS, *,
                   snr_min: float = FIT_SNR_MIN):
    r"""Fitted RG exponents :math:`y_n` against :math:`1-n/2`, one row per (law, n) whose exact
    :math:`\kappa_n` is non-zero: a pandas DataFrame with columns ``law, b, n, y_fit, y_se, y_se_boot,
    y_exact, z, z_boot, lam_fit, lam_exact, points, y_rep``. ``y_se`` is the naive error of the weighted
    least squares (levels independent), ``y_se_boot`` the standard deviation of the fit repeated on the
    lattice resamples of the flow (``y_rep``, shape ``(n_boot,)``, on the same levels), ``z = (y_fit -
    y_exact) / y_se`` and ``z_boot`` the same over ``max(y_se_boot,`` :data:`Y_FLOOR` ``)`` (nan without
    resamples)."""
    import pandas as pd

    rows = []
    for law, res in results.items():
        for n in orders:
            j = res.column(n)
            kappa = res.exact[0, j]
            if not np.isfinite(kappa) or kappa == 0:
                continue
            fit = fit_exponent(res.ell, res.k[:, j], res.se[:, j], res.b, snr_min=snr_min)
            y_exact = 1 - n / 2
            if res.n_boot:
                points = fit_points(res.k[:, j], res.se[:, j], snr_min)
                y_rep = exponent_replicates(res.ell, res.k_boot[:, :, j], res.se_boot[:, :, j], res.b, points)
                se_boot = float(bootstrap_se(y_rep))
            else:
                y_rep, se_boot = np.zeros(0), math.nan
            rows.append({"law": law, "b": res.b, "n": n, "y_fit": fit.y, "y_se": fit.y_se, "y_se_boot": se_boot,
                         "y_exact": y_exact, "z": (fit.y - y_exact) / fit.y_se,
                         "z_boot": _z(fit.y - y_exact, se_boot), "lam_fit": fit.lam,
                         "lam_exact": res.b**y_exact, "points": fit.n_points, "y_rep": y_rep})
    return pd.DataFrame(rows, columns=["law", "b", "n", "y_fit", "y_se", "y_se_boot", "y_exact", "z", "z_boot",
                                       "lam_fit", "lam_exact", "points", "y_rep"])


def _z(deviation: float, se: float) -> float:
    """``deviation / max(se, Y_FLOOR)``, zero when the deviation is below the floor (a tie)."""
    if not (np.isfinite(deviation) and np.isfinite(se)):
        return math.nan
    return 0.0 if abs(deviation) < Y_FLOOR else float(deviation / max(se, Y_FLOOR))


def zero_cumulant_z(results: dict[str, FlowResult]) -> np.ndarray:
    """``k / se`` for every (law, step, order) whose exact cumulant vanishes (the mean, odd orders of
    symmetric laws, all orders >= 3 of the Gaussian): these should look like standard normal draws."""
    out = []
    for res in results.values():
        zero = res.exact == 0
        out.append((res.k / res.se)[zero])
    return np.concatenate(out) if out else np.zeros(0)


def combine_exponents(table):
    r"""Per order ``n``, the inverse-variance weighted mean (naive weights :math:`1/\text{y\_se}^2`) of
    the fitted exponents over laws: a DataFrame with ``n, y_fit, y_se, y_se_boot, y_exact, z, z_boot,
    laws``. ``y_se`` is the naive combined error; ``y_se_boot`` repeats the same weighted mean on the
    laws' lattice resamples (the laws' lattices are independent, so resample ``r`` of each law is
    combined) and takes its standard deviation."""
    import pandas as pd

    rows = []
    for n, grp in table.dropna(subset=["y_fit", "y_se"]).groupby("n"):
        w = 1.0 / grp.y_se.to_numpy() ** 2
        y = float(np.sum(w * grp.y_fit.to_numpy()) / np.sum(w))
        se = float(1.0 / math.sqrt(np.sum(w)))
        reps = list(grp.y_rep) if "y_rep" in grp else []
        if reps and all(len(r) == len(reps[0]) and len(r) for r in reps):
            se_boot = float(bootstrap_se(np.tensordot(w / w.sum(), np.stack(reps), axes=1)))
        else:
            se_boot = math.nan
        y_exact = 1 - n / 2
        rows.append({"n": int(n), "y_fit": y, "y_se": se, "y_se_boot": se_boot, "y_exact": y_exact,
                     "z": (y - y_exact) / se, "z_boot": _z(y - y_exact, se_boot), "laws": len(grp)})
    return pd.DataFrame(rows, columns=["n", "y_fit", "y_se", "y_se_boot", "y_exact", "z", "z_boot", "laws"])


def combined_exponent(results: dict[str, FlowResult], n: int, *,
                      snr_min: float = FIT_SNR_MIN) -> tuple[float, float, float]:
    """``(y, se, se_boot)``: the exponent of order ``n`` fitted per law and combined over the laws whose
    :math:`\\kappa_n` is non-zero (:func:`exponent_table`, :func:`combine_exponents`), with its naive
    and its lattice-bootstrap error; nans when no law has a non-zero :math:`\\kappa_n`."""
    comb = combine_exponents(exponent_table(results, orders=(n,), snr_min=snr_min))
    if comb.empty:
        return math.nan, math.nan, math.nan
    return float(comb.y_fit.iloc[0]), float(comb.y_se.iloc[0]), float(comb.y_se_boot.iloc[0])


# --------------------------------------------------------------------------------------------
# the chapter's verdicts
# --------------------------------------------------------------------------------------------
def z_extent(table, column: str = "z_boot") -> tuple[float, int]:
    r"""``(worst, n_nonfinite)``: the largest finite :math:`|z|` of ``column`` of an exponent table (nan
    without finite ones) and the number of fits whose :math:`z` is not finite (unfittable: fewer than
    two levels above :data:`FIT_SNR_MIN`, or no usable resamples). Every check of the fits reads both,
    so that a fit that cannot be made never passes by dropping out."""
    z = np.abs(table[column].to_numpy(dtype=float)) if len(table) else np.zeros(0)
    finite = np.isfinite(z)
    return (float(z[finite].max()) if finite.any() else math.nan), int(z.size - finite.sum())


def fit_check(table, column: str = "z") -> dict:
    """The exponent fits against the exact :math:`y_n`: ``n_fits``, ``max_z`` (the largest finite
    :math:`|z|` of ``column``, ``"z"`` (naive) or ``"z_boot"``, nan without any: :func:`z_extent`),
    ``n_nonfinite`` (fits without a finite :math:`z`) and ``ok`` (at least one fit, every one finite
    and every :math:`|z|` below :data:`FIT_Z_MAX`)."""
    if not len(table):
        return {"n_fits": 0, "max_z": float("nan"), "n_nonfinite": 0, "ok": False}
    max_z, bad = z_extent(table, column)
    return {"n_fits": int(len(table)), "max_z": max_z, "n_nonfinite": bad, "ok": bool(bad == 0 and max_z < FIT_Z_MAX)}


def worst_z(table) -> float:
    r"""The largest finite :math:`|z_\text{boot}|` of an exponent table (nan without finite ones; the
    count of the others is :func:`z_extent`'s)."""
    return z_extent(table)[0]


def worst_z_interval(table, level: float = BOOT_LEVEL) -> tuple[float, float]:
    r"""Percentile interval (coverage ``level``) of the worst :math:`|z|` over the lattice resamples:
    resample ``r`` gives :math:`\max_\text{fits}|y_r-y_\text{exact}|/\text{se}_\text{boot}`."""
    table = table.dropna(subset=["y_se_boot"])
    if not len(table) or not all(len(r) for r in table.y_rep):
        return (math.nan, math.nan)
    reps = np.stack(list(table.y_rep))  # (n_fits, n_boot)
    dev = np.abs(reps - table.y_exact.to_numpy()[:, None])
    z = dev / np.maximum(table.y_se_boot.to_numpy()[:, None], Y_FLOOR)
    z = np.where(dev < Y_FLOOR, 0.0, z)
    worst = np.nanmax(np.where(np.isfinite(z), z, np.nan), axis=0)
    worst = worst[np.isfinite(worst)]
    if not worst.size:
        return (math.nan, math.nan)
    lo, hi = np.quantile(worst, [(1 - level) / 2, (1 + level) / 2])
    return (float(lo), float(hi))


C1REF_STATEMENT = ("the measured block-map flow reproduces the exact eigenvalues b^(1-n/2) (eq. 1.4) within "
                   "the bootstrap uncertainty")
C1REF_TEST = ("Fit y_n of |k_n(l)| ~ b^(l y_n) per law and order n = 3..6 over the levels measured with at "
              "least FIT_SNR_MIN standard errors; z = (y_fit - (1 - n/2)) / se_boot, se_boot from a bootstrap "
              "over whole lattices (every level of one resample from the same lattices). Supported when every "
              "|z| < FIT_Z_MAX AND the same fit on the control map s' = b^(-a) sum s (a = "
              "CONTROL_FIELD_EXPONENT) has some |z| >= FIT_Z_MAX. Margin: the smaller of FIT_Z_MAX - worst |z| "
              "and the control's worst |z| - FIT_Z_MAX. Deviations below Y_FLOOR are ties.")


def reference_verdict(results: dict[str, FlowResult], control: dict[str, FlowResult], *,
                      figure: str = "Figure 2", fits=None, control_fits=None) -> Verdict:
    """The verdict on the reference map (claim ``C1ref``, :data:`C1REF_TEST`), built with
    :func:`rgsym.verdicts.decide` over the thresholds :data:`FIT_Z_MAX` and :data:`FIT_SNR_MIN`; the
    interval is the lattice-bootstrap interval of the worst :math:`|z|` (:func:`worst_z_interval`).
    It fails when any fit, of the map or of the control, has no finite :math:`z` (:func:`z_extent`;
    the notes say so). ``fits``, ``control_fits``: the :func:`exponent_table` of ``results`` and
    ``control`` at :data:`FIT_SNR_MIN` where already built (else built here); each threshold's tables
    are built once."""
    tables = {FIT_SNR_MIN: (exponent_table(results, snr_min=FIT_SNR_MIN) if fits is None else fits,
                            exponent_table(control, snr_min=FIT_SNR_MIN) if control_fits is None else control_fits)}

    def extents(snr_min):  # the tables change only with FIT_SNR_MIN: build each once
        if snr_min not in tables:
            tables[snr_min] = (exponent_table(results, snr_min=snr_min), exponent_table(control, snr_min=snr_min))
        return tuple(z_extent(t) for t in tables[snr_min])

    def test(FIT_Z_MAX, FIT_SNR_MIN):
        (real, real_bad), (ctrl, ctrl_bad) = extents(FIT_SNR_MIN)
        if real_bad or ctrl_bad or not (np.isfinite(real) and np.isfinite(ctrl)):
            return False, math.nan
        margin = min(FIT_Z_MAX - real, ctrl - FIT_Z_MAX)
        return bool(real < FIT_Z_MAX and ctrl >= FIT_Z_MAX), margin

    table, ctrl = tables[FIT_SNR_MIN]
    (_, real_bad), (_, ctrl_bad) = extents(FIT_SNR_MIN)
    notes = (f"{len(table)} fits, {results[next(iter(results))].n_boot} lattice resamples; worst |z| (bootstrap) "
             f"{worst_z(table):.3g}, naive {fit_check(table)['max_z']:.3g}; control (a = "
             f"{_field_exponent(control)}) worst |z| {worst_z(ctrl):.3g} over {len(ctrl)} fits")
    if real_bad or ctrl_bad:
        notes += (f"; NOT SUPPORTED: {real_bad} fit(s) of the map and {ctrl_bad} of the control have no finite "
                  f"|z| (unfittable at FIT_SNR_MIN = {FIT_SNR_MIN:g})")
    return decide("C1ref", C1REF_STATEMENT, C1REF_TEST, "worst |y_fit - y_exact| / se_boot over the fits",
                  test, {"FIT_Z_MAX": FIT_Z_MAX, "FIT_SNR_MIN": FIT_SNR_MIN}, interval=worst_z_interval(table),
                  figure=figure, notes=notes)


def _field_exponent(results) -> float:
    """The ``a`` of the map that made ``results`` (nan for none)."""
    return next(iter(results.values())).field_exponent if results else math.nan


def zero_cumulant_check(z: np.ndarray) -> dict:
    """The estimates of vanishing cumulants in units of their error (:func:`zero_cumulant_z`):
    ``count``, ``rms``, ``max`` (largest magnitude) and ``ok`` (pure noise: rms below
    :data:`ZERO_RMS_MAX` and no estimate beyond :data:`ZERO_ABS_MAX`)."""
    rms = np.sqrt(np.mean(z**2))
    largest = np.max(np.abs(z))
    return {"count": int(z.size), "rms": float(rms), "max": float(largest),
            "ok": bool(rms < ZERO_RMS_MAX and largest < ZERO_ABS_MAX)}


def block_size_eigenvalues(by_b: dict[int, dict[str, FlowResult]], n: int = 4) -> dict[int, tuple]:
    r"""``{b: (lambda_n, se, se_boot)}``: the eigenvalue :math:`\lambda_n=b^{y_n}` from the combined
    exponent (:func:`combined_exponent`) of each block size's flows, with its naive and its
    lattice-bootstrap error (both propagated, :math:`\lambda\log b\,\text{se}`)."""
    out = {}
    for bb, results in by_b.items():
        y, se, se_boot = combined_exponent(results, n)
        out[bb] = (float(bb**y), float(bb**y * np.log(bb) * se), float(bb**y * np.log(bb) * se_boot))
    return out


def eigenvalue_table(lam: dict[int, tuple]):
    """:func:`block_size_eigenvalues` as a DataFrame against the exact :math:`1/b` (for n = 4)."""
    import pandas as pd

    return pd.DataFrame({"b": list(lam), "fitted lambda_4": [v[0] for v in lam.values()],
                         "naive error": [v[1] for v in lam.values()],
                         "bootstrap error": [v[2] for v in lam.values()], "exact 1/b": [1 / bb for bb in lam]})
