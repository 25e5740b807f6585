"""Tests of rgsym.symmetry.functions: the function-space measures (6.5)-(6.7) against closed forms by
Monte Carlo, and zero for the exact map."""
import math

import torch

from conftest import blocks
from rgsym.symmetry import functions as S
from rgsym.symmetry import functions as F

DT = torch.float64


# ------------------------------------------------------------------ function space, closed forms
def test_function_measures_closed_forms_by_monte_carlo():
    s = blocks(B=200_000, b=2, seed=5)
    E = 3

    def f_const(x):  # f = 0.3: even part |2 * 0.3|
        return torch.full(x.shape[:2], 0.3, dtype=DT)

    torch.testing.assert_close(S.even_part(f_const, s, E), torch.full((E,), 0.6, dtype=DT))

    def f_first(x):  # f = s_1: E|s_1 - s_2| = 2/sqrt(pi) for Gaussian spins
        return x[..., 0]

    got = S.perm_asymmetry(f_first, s, E)
    assert abs(float(got[0]) - 2 / math.sqrt(math.pi)) < 0.01

    def f_square(x):  # f = q S^2: best affine fit in S leaves q (S^2 - b), RMS q sqrt(2) b
        return 0.25 * x.sum(-1).square()

    got = S.nonlinear_part(f_square, s, E)
    assert abs(float(got[0]) - 0.25 * math.sqrt(2) * 2) < 0.01

    def f_exact(x):  # the exact map is odd, permutation invariant and linear in the sum
        return x.sum(-1) / math.sqrt(2)

    out = S.function_distances(f_exact, s, E)
    for key in ("even", "perm_fn", "nonlin"):
        assert float(out[key].abs().max()) < 1e-12, key


def test_relative_even_part_is_scale_free_and_bounded():
    from rgsym.symmetry import parameters as P

    g = torch.Generator().manual_seed(0)
    s = torch.randn(256, 3, generator=g, dtype=torch.float64)
    # homogeneous nets (no biases): identity and ReLU, f(c theta) = c^2 f(theta)
    W1 = torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    W2 = torch.randn(2, 1, 4, generator=g, dtype=torch.float64)
    zero = lambda n: torch.zeros(2, n, dtype=torch.float64)  # noqa: E731
    for act in (lambda z: z, torch.relu):
        def f(x, c=1.0):
            return P.mlp_apply([(c * W1, zero(4)), (c * W2, zero(1))], act, x)
        base = F.function_distances(f, s, 2)
        for c in (1e-3, 9.0):
            scaled = F.function_distances(lambda x: f(x, c), s, 2)
            torch.testing.assert_close(scaled["even_rel"], base["even_rel"], rtol=1e-10, atol=0)
            torch.testing.assert_close(scaled["perm_rel"], base["perm_rel"], rtol=1e-10, atol=0)
            torch.testing.assert_close(scaled["even"], c ** 2 * base["even"], rtol=1e-10, atol=0)
    odd = F.function_distances(lambda x: x.sum(-1), s, 2)
    even = F.function_distances(lambda x: x[..., 0] ** 2, s, 2)
    assert torch.equal(odd["even_rel"], torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(even["even_rel"], torch.ones(2, dtype=torch.float64))
    assert torch.isnan(F.function_distances(lambda x: 0 * x.sum(-1), s, 2)["even_rel"]).all()
