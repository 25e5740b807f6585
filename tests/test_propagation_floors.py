"""The tied-hidden error floor (eqs. 3.15-3.17) against networks built from explicit weights."""
import math

import numpy as np
import torch

from rgsym.clt import get_law
from rgsym.nets.activations import get_activation
from rgsym.propagation.floors import (exact_g1, g1_floor, kappa3_floor, norm_floor, tied_parameters, v_min,
                                     weight_norm)


def _tied(w, c, v, H, d=0.0):
    """A tied-hidden one-layer net of width H: every unit (w, c), every output weight v."""
    W1 = torch.tensor(w, dtype=torch.float64).expand(H, -1).unsqueeze(0).clone()
    c1 = torch.full((1, H), float(c), dtype=torch.float64)
    W2 = torch.full((1, 1, H), float(v), dtype=torch.float64)
    return [(W1, c1), (W2, torch.tensor([[d]], dtype=torch.float64))]


def _g1(layers, act, law, b=2, m=6):
    return float(exact_g1(layers, act, law, b, m)[0])


def test_floor_bounds_and_is_attained():
    alpha = 0.5
    act = get_activation("quadratic", alpha=alpha)
    H, c, V = 4, 1.5, 2.0
    p0 = tied_parameters(_tied([1.0, 1.0], c, V / H, H), alpha)
    r = float(p0["r"][0])
    assert math.isclose(r, alpha / (V * (1 + 2 * alpha * c) ** 2))
    for law in ("gaussian", "uniform"):
        vm = v_min(get_law(law).cumulant(4), 2)
        fl = float(g1_floor(r, vm))
        best = np.inf
        for scale in np.linspace(0.1, 0.2, 400):  # every |w| along the sum direction, d chosen to centre
            lay = _tied([scale, scale], c, V / H, H)
            p = tied_parameters(lay, alpha)
            d = -float(p["V"][0]) * (c + alpha * (2 * scale ** 2 + c ** 2))
            g = _g1(_tied([scale, scale], c, V / H, H, d), act, law)
            assert g >= fl * (1 - 1e-9)
            best = min(best, g)
        # the sum direction has sum w^4 = |w|^4 / b: attains v_min for the uniform law (k4 < 0 needs sum = 1)
        if law == "gaussian":
            assert best <= fl * 1.01


def test_norm_floor_is_below_every_net_of_that_norm():
    alpha = 0.5
    rng = np.random.default_rng(0)
    for _ in range(30):
        H = int(rng.integers(1, 6))
        lay = _tied(rng.normal(size=2), rng.normal(), rng.normal() / H, H)
        p = tied_parameters(lay, alpha)
        assert float(g1_floor(p["r"][0])) >= float(norm_floor(p["norm"][0], H, alpha)) * (1 - 1e-12)


def test_kappa3_floor_against_propagation():
    from rgsym.propagation import law_inputs, propagate

    alpha = 0.5
    act = get_activation("quadratic", alpha=alpha)
    lay = _tied([0.6, 0.5], 0.8, 0.4, 3)
    p = tied_parameters(lay, alpha)
    k3 = float(propagate(lay, law_inputs("gaussian", 2, 6), 3, activation=act).kappa[0, 2])
    L, Q = float(p["L"][0]), float(p["Q"][0])
    assert math.isclose(k3, 6 * L ** 2 * Q + 8 * Q ** 3, rel_tol=1e-10)
    assert abs(k3) >= float(kappa3_floor(p["r"][0], _g1(lay, act, "gaussian")))


def test_manifold_restatement_and_floor_identities():
    from rgsym.propagation import manifold as M

    man = M.manifold_conditions(2)
    assert man["key_is_sum_of_squares"] and man["impossible"]
    fid = M.floor_identities(2)
    assert fid["variance_ok"] and fid["kappa3_ok"]


def test_norm_bound_is_respected_by_the_best_split_of_a_given_norm():
    from rgsym.propagation.floors import r_lower_bound

    alpha, H, N = 0.5, 4, 5.0
    best = np.inf
    for c in np.linspace(0.0, N / math.sqrt(H), 2001)[:-1]:  # all the norm in the bias and the output weights
        v = math.sqrt((N ** 2 - H * c ** 2) / H)
        lay = _tied([1e-9, 0.0], c, v, H)
        best = min(best, abs(float(tied_parameters(lay, alpha)["r"][0])))
    lo = float(r_lower_bound(N, H, alpha))
    assert lo <= best <= 5 * lo


def test_weight_norm_and_exact_g1_are_the_shared_definitions():
    lay = _tied([0.7, 0.7], 0.2, 0.3, 3, d=0.1)
    want = math.sqrt(2 * 3 * 0.49 + 3 * 0.04 + 3 * 0.09 + 0.01)
    assert math.isclose(float(weight_norm(lay)[0]), want, rel_tol=1e-14)
    assert torch.equal(tied_parameters(lay, 0.5)["norm"], weight_norm(lay))
    ident = [(torch.full((1, 1, 2), 2 ** -0.5, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64))]
    assert abs(exact_g1(ident, get_activation("identity"), "uniform", 2)[0]) < 1e-14  # f = T: no error
