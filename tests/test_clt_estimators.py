"""k-statistics and their standard errors, against scipy, exact arithmetic and the base laws (rgsym.clt.estimators)."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings, strategies as st

from rgsym.clt.conversions import cumulants_to_moments
from rgsym.clt.estimators import (SE_METHODS, cumulant_summary, excess_kurtosis, kstat, kstat_se, kstats,
                                  skewness, standardised_cumulant)
from rgsym.clt.kstat_formulas import kstat_from_power_sums, kstat_variance
from rgsym.clt.laws import LAWS, get_law

DERANDOMISED = settings(derandomize=True, deadline=None, max_examples=25)


def _sample(law, n, seed):
    return get_law(law).sample(n, np.random.default_rng(seed))


# ---------------------------------------------------------------------------------------------
# k-statistics against scipy and exact arithmetic
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_kstat_equals_scipy_to_1e10(n):
    for size, seed in [(10, 0), (137, 1), (5000, 2)]:
        x = _sample("exponential", size, seed) * 1.7 + 0.3
        assert kstat(x, n) == pytest.approx(scipy.stats.kstat(x, n), rel=1e-10, abs=0)


@given(law=st.sampled_from(LAWS), size=st.integers(8, 3000), n=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1), scale=st.floats(0.01, 100), shift=st.floats(-3, 3))
@DERANDOMISED
def test_kstat_matches_scipy_property(law, size, n, seed, scale, shift):
    x = _sample(law, size, seed) * scale + shift * scale
    ours, ref = kstat(x, n), scipy.stats.kstat(x, n)
    # 1e-10 relative to the value, or to the data's own scale where the value is near zero
    natural = max(abs(ref), np.std(x) ** n)
    assert abs(ours - ref) <= 1e-10 * natural


@given(law=st.sampled_from(LAWS), size=st.integers(8, 60), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
@DERANDOMISED
def test_kstat_equals_exact_rational_evaluation(law, size, n, seed):
    """Orders 5..8 have no scipy reference: compare the centred float path with the full formula
    evaluated exactly on the same (rational) data."""
    x = _sample(law, size, seed) + 2.0
    S = [sum(Fraction(v) ** r for v in x) for r in range(n + 1)]
    exact = float(kstat_from_power_sums(S, n, size))
    natural = max(abs(exact), np.std(x) ** n)
    assert abs(kstat(x, n) - exact) <= 1e-10 * natural


@given(seed=st.integers(0, 2**32 - 1), a=st.floats(0.05, 20), c=st.floats(-50, 50), n=st.integers(2, 8))
@DERANDOMISED
def test_kstat_shift_invariant_and_homogeneous(seed, a, c, n):
    x = _sample("gamma", 500, seed)
    assert kstat(a * x + c, n) == pytest.approx(a**n * kstat(x, n), rel=1e-9, abs=1e-9 * a**n)


def test_kstat_accurate_far_from_the_origin():
    """Centring first keeps float64 accurate where raw power sums (scipy) lose every digit."""
    x = _sample("uniform", 10_000, 3)
    for n in (2, 3, 4, 6):
        assert kstat(x + 1e6, n) == pytest.approx(kstat(x, n), rel=1e-6, abs=1e-6)


def test_vectorised_over_leading_axes_and_torch_agrees():
    x = _sample("laplace", 3 * 4 * 500, 4).reshape(3, 4, 500)
    vals, ses = kstats(x, 8)
    assert vals.shape == ses.shape == (3, 4, 8)
    for i, j in [(0, 0), (2, 3), (1, 2)]:
        for n in (1, 2, 5, 8):
            assert vals[i, j, n - 1] == pytest.approx(kstat(x[i, j], n), rel=1e-12, abs=1e-14)
            assert ses[i, j, n - 1] == pytest.approx(kstat_se(x[i, j], n), rel=1e-12)
    tv, tse = kstats(torch.from_numpy(x), 8)
    assert isinstance(tv, torch.Tensor) and tv.dtype == torch.float64
    np.testing.assert_allclose(tv.numpy(), vals, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tse.numpy(), ses, rtol=1e-10, atol=1e-12)
    t32 = kstat(torch.from_numpy(x).float(), 4)
    np.testing.assert_allclose(t32.numpy(), vals[..., 3], rtol=1e-4, atol=1e-5)
    assert isinstance(kstat(x[0, 0], 3), np.floating)


def test_skewness_and_kurtosis_match_scipy_unbiased_estimators():
    x = _sample("exponential", 2000, 5)
    assert skewness(x) == pytest.approx(scipy.stats.skew(x, bias=False), rel=1e-10)
    assert excess_kurtosis(x) == pytest.approx(scipy.stats.kurtosis(x, bias=False), rel=1e-10)
    g, se = standardised_cumulant(x, 3, with_se=True)
    assert g == pytest.approx(skewness(x)) and 0 < se < 1
    summary = cumulant_summary(x, 4)
    assert summary["skewness"] == pytest.approx(g) and summary["skewness_se"] == pytest.approx(se)
    assert summary["k"][3] == pytest.approx(kstat(x, 4))


# ---------------------------------------------------------------------------------------------
# physics: recovery of the exact cumulants of every base law, and calibrated errors
# ---------------------------------------------------------------------------------------------
# highest order tested per law: the error of k_n needs the moment of order 2n, and for skewed or
# heavy-tailed laws the sample estimate of that moment converges slowly
TOP_ORDER = {"gaussian": 6, "uniform": 6, "rademacher": 6, "bimodal": 6, "laplace": 5,
             "exponential": 5, "gamma": 5, "student_t": 4}


@given(law=st.sampled_from(LAWS), seed=st.integers(0, 2**32 - 1))
@settings(derandomize=True, deadline=None, max_examples=24)
def test_kstats_recover_exact_cumulants_within_standard_error(law, seed):
    dist = get_law(law)
    top = TOP_ORDER[law]
    vals, ses = kstats(_sample(law, 200_000, seed), top)
    z = (vals - dist.cumulants(top)) / ses
    assert np.all(np.abs(z) < 5), dict(zip(range(1, top + 1), np.round(z, 2)))


@pytest.mark.parametrize("law, top", [("gaussian", 4), ("uniform", 4), ("bimodal", 4), ("laplace", 3),
                                      ("exponential", 2)])
@pytest.mark.parametrize("method", SE_METHODS)
def test_standard_error_coverage(law, top, method):
    """About 95% of intervals k_n +- 1.96 se cover kappa_n (500 replicates of 4000 values); orders
    kept where 4000 values pin down the moment of order 2n (the tails of Laplace and exponential
    need far more for k_4)."""
    dist = get_law(law)
    x = dist.sample((500, 4000), np.random.default_rng(11))
    vals, ses = kstats(x, top, method=method)
    covered = np.abs(vals - dist.cumulants(top)) < 1.96 * ses
    cover = covered.mean(axis=0)
    assert np.all((cover > 0.91) & (cover < 0.98)), cover
    # the typical standard error matches the spread of the estimates
    np.testing.assert_allclose(ses.mean(axis=0), vals.std(axis=0), rtol=0.12)


def test_exact_variance_matches_monte_carlo_at_small_N():
    dist = get_law("uniform")
    N, R = 12, 40_000
    x = dist.sample((R, N), np.random.default_rng(12))
    central = [1.0] + cumulants_to_moments(dist.cumulants(8))  # mean 0: raw = central moments
    for n in (2, 3, 4):
        predicted = kstat_variance(central, n, N)
        assert np.var(kstat(x, n)) == pytest.approx(predicted, rel=0.04)


def test_rademacher_errors_stay_sound_where_the_delta_method_degenerates():
    """For +-1 spins s^2 = 1, the O(1/N) part of Var k_2 vanishes; the exact plug-in error stays
    at the true size while the delta method collapses with the sample mean."""
    x = get_law("rademacher").sample((400, 1000), np.random.default_rng(13))
    k2 = kstat(x, 2)
    true_sd = math.sqrt(2 / (1000 * 999))  # kappa_4/N + 2 kappa_2^2/(N-1) with kappa_4 = -2
    exact = kstat_se(x, 2)
    assert np.all(exact >= 0.9 * true_sd)
    assert np.mean(np.abs(k2 - 1) < 1.96 * exact) > 0.95
    assert np.min(kstat_se(x, 2, method="delta")) < 0.3 * true_sd


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 9, 2.5, True, "3"])
def test_bad_order_is_rejected(n):
    with pytest.raises(ValueError, match="order"):
        kstat(np.ones(20), n)


def test_too_few_values_and_bad_data_are_rejected():
    with pytest.raises(ValueError, match="at least 4 values"):
        kstat(np.arange(3.0), 4)
    with pytest.raises(ValueError, match="at least one axis"):
        kstat(np.float64(1.0), 2)
    with pytest.raises(TypeError, match="real"):
        kstat(np.ones(10, dtype=complex), 2)
    with pytest.raises(ValueError, match="'exact', 'delta'"):
        kstat_se(np.ones(10), 2, method="bootstrap")
    with pytest.raises(ValueError, match="empty"):
        kstats(np.ones(10), [])


def test_kstats_orders_are_checked_with_a_clear_error():
    import numpy as _np
    import pytest as _pt

    x = _np.random.default_rng(0).standard_normal(100)
    for bad in (2.0, "4", None):
        with _pt.raises(TypeError, match="orders must be an integer K >= 1"):
            kstats(x, bad)
    for bad in (0, -1):
        with _pt.raises(ValueError, match="orders must be an integer K >= 1"):
            kstats(x, bad)
