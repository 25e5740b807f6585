"""The standardised base laws: exact cumulants, sampling, errors (rgsym.clt.laws)."""
from __future__ import annotations

import math
import types
import warnings

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch

from rgsym.clt.conversions import moments_to_cumulants
from rgsym.clt.estimators import kstats
from rgsym.clt.laws import LAWS, TRAIN_LAWS, bernoulli, empirical_law, get_law, unseen_laws


def _scipy_reference(name, n):
    """Cumulants 1..n from scipy's own raw moments of the same standardised law (independent)."""
    law = get_law(name)
    if name == "rademacher":
        raw = [float(r % 2 == 0) for r in range(1, n + 1)]
    elif name == "laplace":  # E|X|^r = r! s^r for the Laplace law of scale s
        raw = [0.0 if r % 2 else math.factorial(r) * 0.5 ** (r / 2) for r in range(1, n + 1)]
    elif name == "bimodal":
        mu, sig = law.mu, law.sigma
        gauss = [1.0 if j == 0 else scipy.stats.norm.moment(j) for j in range(n + 1)]
        # half N(mu, sig^2) + half N(-mu, sig^2), binomially expanded
        raw = [sum(math.comb(r, j) * (mu ** (r - j) + (-mu) ** (r - j)) / 2 * sig**j * gauss[j]
                   for j in range(r + 1)) for r in range(1, n + 1)]
    else:
        # laws with a location shift: take scipy's closed-form moments of the unshifted law and
        # shift kappa_1 only (cumulants of order >= 2 are shift invariant)
        shift = 0.0
        if name == "gaussian":
            dist = scipy.stats.norm()
        elif name == "uniform":
            dist, shift = scipy.stats.uniform(scale=2 * math.sqrt(3)), -math.sqrt(3)
        elif name == "exponential":
            dist, shift = scipy.stats.expon(), -1.0
        elif name == "gamma":
            dist, shift = scipy.stats.gamma(a=law.k, scale=1 / math.sqrt(law.k)), -math.sqrt(law.k)
        else:
            dist = scipy.stats.t(df=law.nu, scale=math.sqrt((law.nu - 2) / law.nu))
        with warnings.catch_warnings():  # scipy integrates moments beyond order 4 numerically
            warnings.simplefilter("ignore", scipy.integrate.IntegrationWarning)
            kappa = moments_to_cumulants([dist.moment(r) for r in range(1, n + 1)])
        kappa[0] += shift
        return np.array(kappa)
    return np.array(moments_to_cumulants(raw))


@pytest.mark.parametrize("name", LAWS)
def test_exact_cumulants_match_scipy_moments(name):
    law = get_law(name)
    n = min(8, int(law.max_order) - 1) if math.isfinite(law.max_order) else 8
    # scipy's numerically integrated moments of orders 5..8 are good to about 1e-8
    np.testing.assert_allclose(law.cumulants(n), _scipy_reference(name, n), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", LAWS)
def test_every_law_is_standardised(name):
    law = get_law(name)
    assert law.cumulant(1) == 0.0 and law.cumulant(2) == 1.0
    if law.symmetric:
        assert law.cumulant(3) == 0.0 and law.cumulant(5) == 0.0
    else:
        assert law.cumulant(3) > 0


def test_known_closed_forms():
    assert bernoulli(2) == pytest.approx(1 / 6) and bernoulli(4) == pytest.approx(-1 / 30)
    assert get_law("uniform").cumulant(4) == pytest.approx(-6 / 5)
    assert get_law("rademacher").cumulant(4) == -2.0
    assert get_law("laplace").cumulant(4) == 3.0
    assert get_law("exponential").cumulant(6) == 120.0
    assert get_law("bimodal", mu=0.5).cumulant(4) == pytest.approx(-2 * 0.5**4)


def test_student_t_cumulants_beyond_nu_are_an_error():
    law = get_law("student_t", nu=6)
    assert law.cumulant(5) == 0.0
    assert law.cumulant(4) == pytest.approx(6 / (6 - 4))  # excess kurtosis 6/(nu-4)
    with pytest.raises(ValueError, match="infinite"):
        law.cumulant(6)
    with pytest.raises(ValueError, match="infinite"):
        law.cumulants(7)


@pytest.mark.parametrize("name, kwargs, match", [
    ("student_t", {"nu": 4}, "nu > 4"),
    ("student_t", {"nu": 7.5}, "nu > 4"),
    ("gamma", {"k": 0}, "positive integer"),
    ("bimodal", {"mu": 1.0}, "0 < mu < 1"),
])
def test_bad_shape_parameters(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_law(name, **kwargs)


def test_unknown_law_lists_the_valid_choices():
    with pytest.raises(ValueError) as err:
        get_law("cauchy")
    for name in LAWS:
        assert repr(name) in str(err.value)
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        get_law("gaussian").cumulant(0)


def test_train_and_unseen_laws():
    assert set(TRAIN_LAWS) <= set(LAWS)
    assert unseen_laws("uniform") == tuple(n for n in LAWS if n != "uniform")
    with pytest.raises(ValueError, match="valid choices"):
        unseen_laws("nope")


@pytest.mark.parametrize("name", LAWS)
def test_sampling_reproducible_per_seed(name):
    law = get_law(name)
    a = law.sample((3, 50), np.random.default_rng(7))
    b = law.sample((3, 50), np.random.default_rng(7))
    c = law.sample((3, 50), np.random.default_rng(8))
    assert a.shape == (3, 50) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    ta = law.sample(100, torch.Generator().manual_seed(7))
    tb = law.sample(100, torch.Generator().manual_seed(7))
    assert ta.dtype == torch.float32 and ta.device.type == "cpu" and ta.shape == (100,)
    assert torch.equal(ta, tb)
    assert law.sample(10, torch.Generator().manual_seed(7), dtype=torch.float64).dtype == torch.float64


@pytest.mark.parametrize("name", LAWS)
def test_torch_and_numpy_samplers_draw_the_same_law(name):
    """Both samplers match the exact cumulants 1..4 (200k draws, within 5 standard errors)."""
    law = get_law(name)
    for x in (law.sample(200_000, np.random.default_rng(1)),
              law.sample(200_000, torch.Generator().manual_seed(1), dtype=torch.float64).numpy()):
        assert np.all(np.isfinite(x))
        k, se = kstats(x, 4)
        assert np.all(np.abs(k - law.cumulants(4)) < 5 * se), (k, se)


def test_torch_laplace_is_finite_at_the_edge_of_the_uniform_draw():
    """torch.rand can return exactly 0; the Laplace sampler must not turn it into an infinity."""
    shim = types.SimpleNamespace(rand=lambda shape, **kw: torch.zeros(shape, dtype=kw["dtype"]),
                                 log1p=torch.log1p)
    out = get_law("laplace")._sample_torch(shim, (4,), {"dtype": torch.float64})
    assert torch.isfinite(out).all()


def test_bad_generator_is_rejected():
    with pytest.raises(TypeError, match="Generator"):
        get_law("gaussian").sample(3, 42)


def test_empirical_law_histogram_and_atoms():
    rng = np.random.default_rng(0)
    cont = empirical_law(rng.standard_normal(100_000), bins=40, x_range=(-5, 5))
    assert not cont.discrete and cont.x.shape == (40,)
    assert np.sum(cont.density) * cont.spacing == pytest.approx(1.0, abs=1e-3)
    # sums of 4 Rademacher spins over 2: atoms at (-4..4 step 2)/2 with binomial weights
    spins = get_law("rademacher").sample((50_000, 4), rng)
    atoms = empirical_law(torch.from_numpy(spins.sum(1) / 2))
    assert atoms.discrete and atoms.spacing == pytest.approx(1.0)
    np.testing.assert_allclose(atoms.x, [-2, -1, 0, 1, 2])
    np.testing.assert_allclose(atoms.density, np.array([1, 4, 6, 4, 1]) / 16, atol=0.01)
    with pytest.raises(ValueError, match="increasing"):
        empirical_law([0.0, 1.0], x_range=(1, 0))
