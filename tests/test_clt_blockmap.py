"""The block map, its flow, lattice validation, the exact flow and exponent fits (rgsym.clt.blockmap)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from rgsym.clt import blockmap as rg
from rgsym.clt.estimators import kstats
from rgsym.clt.laws import LAWS, get_law


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
    assert rg.check_lattice(64, np.int64(4)) == 3
    with pytest.raises(ValueError, match="block size b must be an integer >= 2"):
        rg.check_lattice(64, 4.0)  # floats are refused, not truncated
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


# ---------------------------------------------------------------------------------------------
# fitting the exponents
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


def test_block_map_refuses_a_list_with_a_clear_error():
    import pytest as _pt

    with _pt.raises(TypeError, match="numpy array or a torch tensor.*numpy.asarray"):
        rg.block_map([1.0, 2.0], 2)
