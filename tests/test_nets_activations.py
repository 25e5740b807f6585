"""Tests of rgsym.nets.activations: values against closed forms, oddness, polynomial coefficients, names."""
import math

import pytest
import torch

from rgsym.nets.activations import ACTIVATIONS, DEFAULT_ALPHA, Activation, get_activation

Z = torch.linspace(-4, 4, 801, dtype=torch.float64)


def test_required_names_present():
    for name in ("identity", "quadratic", "tanh", "relu", "gelu", "silu"):
        assert name in ACTIVATIONS


def test_unknown_name_lists_valid_choices():
    with pytest.raises(ValueError) as err:
        get_activation("sigmoidish")
    for name in ACTIVATIONS:
        assert repr(name) in str(err.value)


def test_alpha_only_for_quadratic():
    with pytest.raises(ValueError, match="quadratic"):
        get_activation("tanh", alpha=0.3)
    with pytest.raises(ValueError, match="finite"):
        get_activation("quadratic", alpha=float("nan"))
    assert get_activation("quadratic").alpha == DEFAULT_ALPHA


@pytest.mark.parametrize("alpha", [0.0, 0.5, -1.25])
def test_quadratic_closed_form_and_coeffs(alpha):
    act = get_activation("quadratic", alpha=alpha)
    assert torch.equal(act(Z), Z + alpha * Z * Z)
    assert act.poly_coeffs == (0.0, 1.0, alpha)
    assert act.is_odd == (alpha == 0.0)


def test_closed_forms_of_smooth_activations():
    erf = torch.special.erf
    assert torch.allclose(get_activation("gelu")(Z), Z * 0.5 * (1 + erf(Z / math.sqrt(2))), atol=1e-14)
    assert torch.allclose(get_activation("silu")(Z), Z / (1 + torch.exp(-Z)), atol=1e-14)
    assert torch.allclose(get_activation("tanh")(Z), (torch.exp(2 * Z) - 1) / (torch.exp(2 * Z) + 1), atol=1e-14)
    assert torch.equal(get_activation("relu")(Z), torch.clamp(Z, min=0))
    assert torch.equal(get_activation("identity")(Z), Z)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_is_odd_flag_is_true(name):
    act = get_activation(name)
    odd = torch.equal(act(-Z), -act(Z))
    assert odd == act.is_odd, name


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_poly_coeffs_reproduce_polynomials(name):
    act = get_activation(name)
    if act.poly_coeffs is None:
        assert name in ("tanh", "relu", "gelu", "silu")
        return
    poly = sum(c * Z**k for k, c in enumerate(act.poly_coeffs))
    assert torch.allclose(act(Z), poly, atol=1e-13)


def test_elementwise_keeps_shape_and_is_hashable():
    x = torch.randn(3, 5, 7)
    for name in ACTIVATIONS:
        act = get_activation(name)
        assert isinstance(act, Activation)
        assert act(x).shape == x.shape
    assert get_activation("quadratic", 0.5) == get_activation("quadratic", 0.5)
    assert len({get_activation(n) for n in ACTIVATIONS}) == len(ACTIVATIONS)
