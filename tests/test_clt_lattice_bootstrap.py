"""The bootstrap over whole lattices (rgsym.clt.lattice_bootstrap) against known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rgsym.clt import blockmap as rg
from rgsym.clt import lattice_bootstrap as lb
from rgsym.clt.estimators import kstats, kstats_from_moments
from rgsym.clt.kstat_formulas import kstat_variance


def _flow_sums(s, b, steps, rmax):
    """Per-lattice power sums of every level of the block-map flow of ``s`` (n, b**steps)."""
    P, centres = [], []
    for level in rg.rg_flow(s, b, steps):
        c = float(level.mean())
        P.append(lb.lattice_power_sums(level, rmax, c))
        centres.append(c)
    return np.stack(P, axis=1), centres


def test_power_sums_pool_to_the_kstats_of_the_pooled_sample():
    rng = np.random.default_rng(0)
    s = rng.exponential(size=(300, 16)) - 1.0
    P = lb.lattice_power_sums(s, 8, 0.1)
    np.testing.assert_allclose(P[:, 3], ((s - 0.1) ** 3).sum(1), rtol=1e-12)
    assert np.all(P[:, 0] == 16)
    mean, m = lb.moments_from_sums(P.sum(0), 0.1)
    k, se = kstats_from_moments(mean, m, s.size, (1, 2, 3, 4))
    k0, se0 = kstats(s.ravel(), (1, 2, 3, 4))
    np.testing.assert_allclose(k, k0, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(se, se0, rtol=1e-10)
    # grouping whole lattices keeps the pooled sums
    np.testing.assert_allclose(lb.group_sums(P, 3).sum(0), P.sum(0), rtol=1e-13)
    with pytest.raises(ValueError, match="groups of 7"):
        lb.group_sums(P, 7)


def test_unit_group_and_counts():
    assert lb.unit_group(32768, 4096) == 8 and lb.unit_group(100, 4096) == 1
    assert lb.unit_group(25890, 4096) == 10 and lb.unit_group(4099, 4096) == 1  # prime: every lattice
    counts = lb.resample_counts(50, 7, np.random.default_rng(1))
    assert counts.shape == (7, 50) and np.all(counts.sum(1) == 50) and np.all(counts >= 0)


def test_bootstrap_se_of_gaussian_kstats_matches_the_closed_form():
    """Gaussian lattices: every level is Gaussian with kappa_2 = 1, so the exact se of k_n at level l is
    sqrt(Var k_n) of eq. K7 at the Gaussian moments mu_2r = (2r-1)!! with N_l pooled values. The
    bootstrap must find it for n = 2, 3 (whose plug-in variances are themselves precise at this N; for
    n = 4 the data's own 8th moment scatters by ~20 %), and for every n it must agree with what it
    estimates, eq. K7 at the sample moments of the pooled level."""
    n_lat, b, steps = 4000, 2, 2
    s = np.random.default_rng(2).standard_normal((n_lat, b**steps))
    P, centres = _flow_sums(s, b, steps, 8)
    k, se = lb.resampled_kstats(P, centres, (2, 3, 4), 1500, np.random.default_rng(3))
    assert k.shape == se.shape == (1500, steps + 1, 3)
    mu = [1, 0] + [float(math.prod(range(r - 1, 0, -2))) if r % 2 == 0 else 0.0 for r in range(2, 9)]
    for level, values in enumerate(rg.rg_flow(s, b, steps)):
        N = values.size
        _, plug_in = kstats(values.ravel(), (2, 3, 4))
        for j, n in enumerate((2, 3, 4)):
            boot = k[:, level, j].std(ddof=1)
            if n < 4:
                assert boot == pytest.approx(math.sqrt(kstat_variance(mu, n, N)), rel=0.1), (level, n)
            assert boot == pytest.approx(plug_in[j], rel=0.08), (level, n)
            assert np.median(se[:, level, j]) == pytest.approx(plug_in[j], rel=0.05)


def test_bootstrap_keeps_the_correlation_of_the_levels():
    """Gaussian, b = 2: k_n is the mean of He_n to leading order, and Cov(He_n(x1), He_n((x1+x2)/sqrt2))
    = n! 2^(-n/2), so corr(k_n(l), k_n(l+1)) = b^((1-n)/2). Resampling rows of one level independently
    of the others (the wrong unit) would give 0."""
    n_lat, b, steps = 4000, 2, 2
    s = np.random.default_rng(4).standard_normal((n_lat, b**steps))
    P, centres = _flow_sums(s, b, steps, 8)
    k, _ = lb.resampled_kstats(P, centres, (2, 3, 4), 1500, np.random.default_rng(5))
    for j, n in enumerate((2, 3, 4)):
        corr = np.corrcoef(k[:, 0, j], k[:, 1, j])[0, 1]
        assert corr == pytest.approx(b ** ((1 - n) / 2), abs=0.08), n


def test_anticorrelated_levels_make_the_fit_error_larger_than_the_naive_one():
    """A constructed flow: level 0 holds x ~ U(-1, 1), level 1 holds y = +-sqrt(2 - x^2) of the same
    lattice, so k_2(1) = 2 - k_2(0) + O(1/N): the levels are perfectly anti-correlated and the slope of
    log k_2 has the error (r_0 + r_1) / log b (r_l = se_l / k_l), not the naive sqrt(r_0^2 + r_1^2) / log b."""
    rng = np.random.default_rng(6)
    n_lat, M, b = 2000, 32, 2
    x = rng.uniform(-1, 1, (n_lat, M))
    y = np.sqrt(2 - x**2) * rng.choice([-1.0, 1.0], size=x.shape)
    levels = [x, y]
    centres = [float(v.mean()) for v in levels]
    P = np.stack([lb.lattice_power_sums(v, 4, c) for v, c in zip(levels, centres)], axis=1)
    k, se = lb.resampled_kstats(P, centres, (2,), 2000, np.random.default_rng(7))
    y_rep = lb.exponent_replicates([0, 1], k[:, :, 0], se[:, :, 0], b, np.array([True, True]))
    boot = float(lb.bootstrap_se(y_rep))
    k0, se0 = kstats(np.stack([x.ravel(), y.ravel()]), (2,))
    r = se0[:, 0] / k0[:, 0]
    naive = rg.fit_exponent([0, 1], k0[:, 0], se0[:, 0], b, snr_min=0).y_se
    assert naive == pytest.approx(math.sqrt(r[0] ** 2 + r[1] ** 2) / math.log(b), rel=1e-6)
    assert boot == pytest.approx((r[0] + r[1]) / math.log(b), rel=0.08)
    assert boot > 1.1 * naive


def test_exponent_replicates_reproduce_the_weighted_fit():
    ell = np.arange(5)
    k = 3.0 * 2.0 ** (-ell * 1.0) * (1 + 0.01 * np.array([1, -2, 0.5, 1, -1]))
    se = 0.02 * k * (1 + ell)
    fit = rg.fit_exponent(ell, k, se, 2)
    rep = lb.exponent_replicates(ell, np.stack([k, k]), np.stack([se, se]), 2, np.ones(5, bool))
    np.testing.assert_allclose(rep, fit.y, rtol=1e-10)
    assert np.isnan(lb.exponent_replicates(ell, k[None], se[None], 2, np.eye(5, dtype=bool)[0])).all()
    assert math.isnan(float(lb.bootstrap_se([1.0, math.nan])))
    assert float(lb.bootstrap_se([1.0, 3.0, math.nan])) == pytest.approx(math.sqrt(2))


def test_exponent_replicates_are_fit_exponent_bit_for_bit():
    """Every replicate is the very fit of rg.fit_exponent on that resample (one algebra, not a copy)."""
    rng = np.random.default_rng(11)
    ell = np.arange(6)
    k = 2.0 ** (-ell * 0.7) * rng.uniform(0.7, 1.3, (40, 6)) * rng.choice([-1.0, 1.0], (40, 6))
    se = np.abs(k) * rng.uniform(0.01, 0.3, (40, 6))
    rep = lb.exponent_replicates(ell, k, se, 3, np.ones(6, bool))
    fits = np.array([rg.fit_exponent(ell, k[i], se[i], 3, snr_min=0).y for i in range(40)])
    assert np.array_equal(rep, fits)
    # a resample whose weights vanish on all but one level has no fit: nan, not an error
    k[0, 1:] = 0.0
    assert np.isnan(lb.exponent_replicates(ell, k, se, 3, np.ones(6, bool))[0])


def test_power_sums_are_shared_with_the_central_moments():
    from rgsym.clt import sample_moments as sm

    rng = np.random.default_rng(2)
    s = rng.exponential(size=(300, 64))
    P = lb.lattice_power_sums(s, 6, 0.8)
    assert np.array_equal(P, sm.power_sums(s, 6, 0.8, blocks="rows"))
    mean, m = sm.central_moments(s, 6)
    c = s.mean(-1, keepdims=True)
    mean2, m2 = sm.moments_from_sums(sm.power_sums(s, 6, c), c[..., 0], N=64)
    assert np.array_equal(mean, mean2) and np.array_equal(m, m2)
    with pytest.raises(ValueError, match="single number"):
        sm.power_sums(s, 6, c, blocks="rows")
