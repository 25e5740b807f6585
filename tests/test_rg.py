"""The block map, its flow, lattice validation and the Chapter 1 experiment (rgsym.rg)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from rgsym import rg
from rgsym.cumulants import kstats
from rgsym.distributions import LAWS, get_law


# ---------------------------------------------------------------------------------------------
# the map
# ---------------------------------------------------------------------------------------------
def test_block_map_small_example_numpy_and_torch():
    s = np.arange(8.0).reshape(1, 8)
    expected = np.array([[1.0, 5.0, 9.0, 13.0]]) / math.sqrt(2)
    np.testing.assert_allclose(rg.block_map(s, 2), expected)
    out = rg.block_map(torch.from_numpy(s), 2)
    assert isinstance(out, torch.Tensor) and out.shape == (1, 4)
    np.testing.assert_allclose(out.numpy(), expected)
    np.testing.assert_allclose(rg.block_map(np.arange(9.0), 3), np.array([3.0, 12.0, 21.0]) / math.sqrt(3))


def test_block_map_keeps_leading_axes_and_integer_input():
    s = np.ones((2, 3, 16), dtype=np.int64)
    out = rg.block_map(s, 4)
    assert out.shape == (2, 3, 4) and out.dtype == np.float64
    np.testing.assert_allclose(out, 2.0)


def test_rg_flow_shapes_and_consistency():
    s = torch.randn(5, 27, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    flow = rg.rg_flow(s, 3)
    assert [tuple(x.shape) for x in flow] == [(5, 27), (5, 9), (5, 3), (5, 1)]
    # L steps leave one variable: the whole lattice summed, over sqrt(N)
    np.testing.assert_allclose(flow[-1][:, 0].numpy(), s.sum(1).numpy() / math.sqrt(27))
    assert len(rg.rg_flow(np.zeros((2, 12)), 2, steps=2)) == 3
    with pytest.raises(ValueError, match="divisible by b\\*\\*steps = 8"):
        rg.rg_flow(np.zeros((2, 12)), 2, steps=3)


@pytest.mark.parametrize("law", ["uniform", "rademacher", "laplace", "exponential", "bimodal", "student_t"])
@pytest.mark.parametrize("b", [2, 3, 4])
def test_block_map_reproduces_the_cumulant_recursion(law, b):
    """kappa_n' = b^(1-n/2) kappa_n (eq. 1.3), within 5 standard errors, n = 1..4 (1..6 for laws whose
    high moments converge fast)."""
    dist = get_law(law)
    top = 6 if law in ("uniform", "rademacher", "bimodal") else 4
    gen = np.random.default_rng(1000 * b + LAWS.index(law))
    blocks = dist.sample((300_000, b), gen)
    k, se = kstats(rg.block_map(blocks, b)[:, 0], top)
    expected = rg.exact_cumulant_flow(dist.cumulants(top), b, 1)[1]
    z = (k - expected) / se
    assert np.all(np.abs(z) < 5), np.round(z, 2)


def test_three_steps_reproduce_the_flow_in_torch():
    dist = get_law("exponential")
    s = rg.sample_lattice(dist, 40_000, 8, torch.Generator().manual_seed(3), dtype=torch.float64)
    flow = rg.rg_flow(s, 2)
    exact = rg.exact_cumulant_flow(dist.cumulants(4), 2, 3)
    for ell, x in enumerate(flow):
        k, se = kstats(x.reshape(-1), 4)
        assert np.all(np.abs(k.numpy() - exact[ell]) < 5 * se.numpy())


def test_exact_cumulant_flow_formula():
    kappa = [0.0, 1.0, 2.0, 6.0]
    out = rg.exact_cumulant_flow(kappa, 4, 2)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out[2], [0.0, 1.0, 2.0 / 4, 6.0 / 16])
    np.testing.assert_allclose(rg.exact_cumulant_flow([3.0], 2, 2, orders=[6])[:, 0], [3.0, 0.75, 0.1875])
    with pytest.raises(ValueError, match="orders"):
        rg.exact_cumulant_flow([1.0, 2.0], 2, 1, orders=[3])


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("b", [1, 0, -2, 2.5, "2", True, None, float("nan")])
def test_bad_block_sizes_are_rejected(b):
    with pytest.raises(ValueError, match="block size b must be an integer >= 2"):
        rg.check_block_size(b)
    with pytest.raises(ValueError, match="block size b"):
        rg.block_map(np.zeros(8), b)


def test_check_lattice():
    assert rg.check_lattice(1, 2) == 0
    assert rg.check_lattice(64, 2) == 6
    assert rg.check_lattice(81, 3) == 4
    assert rg.check_lattice(64, 4.0) == 3
    with pytest.raises(ValueError, match=r"N=12 is not a power of b=2.*8 \(= 2\*\*3\) or 16 \(= 2\*\*4\)"):
        rg.check_lattice(12, 2)
    with pytest.raises(ValueError, match="not a power of b=3"):
        rg.check_lattice(64, 3)
    with pytest.raises(ValueError, match=">= 1"):
        rg.check_lattice(0, 2)
    with pytest.raises(ValueError, match="integer"):
        rg.check_lattice(8.5, 2)
    with pytest.raises(ValueError, match="not a multiple of b=3"):
        rg.block_map(np.zeros(8), 3)


@given(b=st.integers(2, 7), L=st.integers(0, 8), extra=st.integers(1, 50))
@settings(deadline=None, max_examples=40)
def test_check_lattice_property(b, L, extra):
    assert rg.check_lattice(b**L, b) == L
    N = b**L + extra
    is_power = any(b**j == N for j in range(0, 12))
    if not is_power:
        with pytest.raises(ValueError, match="not a power"):
            rg.check_lattice(N, b)


def test_resolve_flow_settings_defaults():
    cfg = rg.resolve_flow_settings("smoke")
    assert (cfg.b, cfg.steps, cfg.lattice_size) == (2, 6, 64)
    assert cfg.laws == rg.DEFAULT_LAWS and cfg.n_samples == rg.FLOW_PROFILES["smoke"]["n_spins"] // 64
    assert rg.resolve_flow_settings("smoke", b=3).lattice_size == 81
    assert rg.resolve_flow_settings("paper", b=2).lattice_size == 1024
    cfg = rg.resolve_flow_settings("smoke", b=3, lattice_size=27, n_samples=100, laws="laplace")
    assert (cfg.steps, cfg.n_samples, cfg.laws) == (3, 100, ("laplace",))
    other = cfg.with_block_size(2)
    assert other.lattice_size == 32 and other.n_spins == pytest.approx(cfg.n_spins, rel=0.2)
    assert "b=3, L=3, N=27" in cfg.stamp()
    # a big lattice still gets the minimum number of samples by default
    assert rg.resolve_flow_settings("smoke", lattice_size=2**20).n_samples == 12


@pytest.mark.parametrize("kwargs, match", [
    ({"profile": "fast"}, "unknown profile 'fast'; valid choices are: 'smoke', 'paper'"),
    ({"laws": ["uniform", "cauchy"]}, "unknown base law 'cauchy'; valid choices are: 'gaussian', 'uniform'"),
    ({"laws": []}, "at least one"),
    ({"b": 1}, "block size b must be an integer >= 2"),
    ({"lattice_size": 100}, "N=100 is not a power of b=2"),
    ({"lattice_size": 1}, "at least b=2"),
    ({"steps": 3, "lattice_size": 16}, "disagree"),
    ({"steps": 0}, "steps must be >= 1"),
    ({"n_samples": 5}, "n_samples must be >= 12"),
    ({"lattice_size": 2**20, "n_samples": 2**10}, "exceeds the limit"),
    ({"steps": 40}, "too large"),
    ({"orders": []}, "orders must lie in 1..8"),
    ({"orders": [2, 9]}, "orders must lie in 1..8"),
])
def test_resolve_flow_settings_rejects_bad_knobs(kwargs, match):
    kwargs = {"profile": "smoke", **kwargs}
    with pytest.raises(ValueError, match=match.replace("(", "\\(").replace("*", "\\*")):
        rg.resolve_flow_settings(**kwargs)


# ---------------------------------------------------------------------------------------------
# fitting and the experiment
# ---------------------------------------------------------------------------------------------
def test_fit_exponent_recovers_a_known_exponent():
    rng = np.random.default_rng(0)
    ell = np.arange(8)
    truth = 2.0 * 2.0 ** (-1.0 * ell)
    se = 0.002 + 0.01 * truth
    zs = []
    for _ in range(200):
        fit = rg.fit_exponent(ell, truth + se * rng.standard_normal(ell.size), se, 2)
        zs.append((fit.y + 1.0) / fit.y_se)
    zs = np.array(zs)
    assert np.mean(np.abs(zs) < 1.96) > 0.9  # calibrated errors
    assert abs(np.mean(zs)) < 0.3
    fit = rg.fit_exponent(ell, truth, se, 2)
    assert fit.y == pytest.approx(-1.0) and fit.lam == pytest.approx(0.5)
    assert fit.n_points == int(np.sum(truth >= 3 * se))
    nan = rg.fit_exponent([0, 1], [1.0, 0.0], [0.1, 0.1], 2)
    assert math.isnan(nan.y) and nan.n_points == 1


def test_measure_flow_reproducible_and_correct():
    kw = dict(law="exponential", b=2, steps=4, n_samples=4096, seed=5, orders=(1, 2, 3, 4))
    first = rg.measure_flow(**kw)
    assert rg.measure_flow(**kw) is first  # cached
    rg._measure_flow.cache_clear()
    again = rg.measure_flow(**kw)
    np.testing.assert_array_equal(first.k, again.k)  # same seed, same numbers
    assert not np.array_equal(first.k, rg.measure_flow(**{**kw, "seed": 6}).k)
    assert first.k.shape == first.se.shape == first.exact.shape == (5, 4)
    assert list(first.sizes) == [4096 * 16, 4096 * 8, 4096 * 4, 4096 * 2, 4096]
    assert np.all(np.abs(first.k - first.exact) < 5 * first.se)
    assert np.all(np.abs(first.skewness - 2 * 2.0 ** (-first.ell / 2)) < 5 * first.skewness_se)
    assert not first.k.flags.writeable
    assert len(first.laws) == 5 and not first.laws[0].discrete
    with pytest.raises(ValueError, match="valid choices"):
        first.column(7)


def test_measure_flow_rejects_bad_input_before_work():
    with pytest.raises(ValueError, match="valid choices are"):
        rg.measure_flow("cauchy", 2, 3, 100)
    with pytest.raises(ValueError, match="block size"):
        rg.measure_flow("uniform", 1, 3, 100)
    with pytest.raises(ValueError, match="bad flow size"):
        rg.measure_flow("uniform", 2, 3, 4)


def test_exponent_table_and_zero_cumulants_on_a_small_flow():
    cfg = rg.resolve_flow_settings("smoke", b=2, steps=5, n_samples=8192, laws=("laplace", "exponential"))
    res = rg.measure_flows(cfg, seed=1)
    table = rg.exponent_table(res)
    # laplace: n = 4, 6; exponential: n = 3..6
    expected = [("laplace", 4), ("laplace", 6)] + [("exponential", n) for n in (3, 4, 5, 6)]
    assert sorted(zip(table.law, table.n)) == sorted(expected)
    assert np.all(np.abs(table.z) < 5)
    assert np.all(table.y_exact == 1 - table.n / 2)
    z = rg.zero_cumulant_z(res)  # laplace mean, k3, k5 and exponential mean, at every step
    assert z.size == 6 * 3 + 6
    assert np.mean(z**2) < 3
