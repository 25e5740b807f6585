"""The sympy derivations of Chapter 1 (rgsym.clt.closed_forms)."""
from __future__ import annotations

import pytest
import sympy as sp

from rgsym.clt import closed_forms as S
from rgsym.clt.closed_forms import N, alpha, b, kappa


def _same(a, c) -> bool:
    return sp.simplify(sp.powsimp(a - c, force=True)) == 0


def test_cgf_recursion_gives_the_cumulant_map():
    """From K'(t) = b K(t / sqrt b): kappa_n' = b^(1 - n/2) kappa_n for n = 1..8."""
    out = S.cumulant_map(8)
    assert sorted(out) == list(range(1, 9))
    for n, expr in out.items():
        assert _same(expr, b ** (1 - sp.Rational(n, 2)) * kappa(n))
    assert out[2] == kappa(2)  # the variance is marginal


def test_block_cgf_is_b_times_rescaled_cgf():
    K = S.cgf(4)
    assert _same(S.block_cgf(4), b * K.subs(S.t, S.t / sp.sqrt(b)))
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        S.cgf(0)


def test_eigenvalues_exponents_and_classes():
    table = S.eigen_table(6)
    assert [row["class"] for row in table] == ["relevant", "marginal"] + ["irrelevant"] * 4
    for row in table:
        n = row["n"]
        assert row["y"] == 1 - sp.Rational(n, 2)
        assert _same(row["lambda"], b ** row["y"])


def test_classify():
    assert S.classify(sp.Rational(1, 2)) == "relevant"
    assert S.classify(0) == "marginal"
    assert S.classify(-2) == "irrelevant"
    with pytest.raises(ValueError, match="sign"):
        S.classify(alpha - 1)


def test_stable_law_generalisation():
    """s' = b^(-1/alpha) sum s_i gives kappa_n' = b^(1 - n/alpha) kappa_n; at alpha = 1 the mean
    becomes marginal and the variance irrelevant."""
    for n, expr in S.cumulant_map(5, stable_index=alpha).items():
        assert _same(expr, b ** (1 - n / alpha) * kappa(n))
    assert _same(S.exponent(3, alpha), 1 - 3 / alpha)
    classes = [row["class"] for row in S.eigen_table(3, stable_index=1)]
    assert classes == ["marginal", "irrelevant", "irrelevant"]


def test_standardised_cumulants_decay():
    assert _same(S.standardised_decay(3), 1 / sp.sqrt(b))  # skewness
    assert _same(S.standardised_decay(4), 1 / b)  # excess kurtosis


def test_fixed_points_in_fourier_space():
    assert S.fixed_point_residual(S.gaussian_cf()) == 0
    assert S.fixed_point_residual(S.levy_cf(), alpha) == 0
    assert S.fixed_point_residual(S.levy_cf(1), 1) == 0  # Cauchy under s' = sum / b
    assert S.fixed_point_residual(sp.exp(-S.k**4)) != 0  # not a fixed point of the CLT map


@pytest.mark.parametrize("n", range(1, 7))
def test_hermite_perturbations_are_eigenfunctions(n):
    assert _same(S.linearised_eigenvalue(n), b ** (1 - sp.Rational(n, 2)))


def test_levy_perturbations_are_eigenfunctions():
    assert _same(S.linearised_eigenvalue(3, alpha), b ** (1 - 3 / alpha))


def test_real_space_gaussian_fixed_point_and_eigenfunction():
    assert sp.simplify(S.real_space_block_map(S.gaussian_density(), 2) - S.gaussian_density()) == 0
    assert sp.simplify(S.real_space_eigenvalue(3, 2) - 1 / sp.sqrt(2)) == 0
    with pytest.raises(ValueError, match="nb must be an integer >= 2"):
        S.real_space_block_map(S.gaussian_density(), 1)


def test_kstat_expressions_match_the_textbook_formulas():
    S1, S2, S3, S4 = (S.power_sum(r) for r in range(1, 5))
    known = {
        1: S1 / N,
        2: (N * S2 - S1**2) / (N * (N - 1)),
        3: (2 * S1**3 - 3 * N * S1 * S2 + N**2 * S3) / (N * (N - 1) * (N - 2)),
        4: (-6 * S1**4 + 12 * N * S1**2 * S2 - 3 * N * (N - 1) * S2**2 - 4 * N * (N + 1) * S1 * S3
            + N**2 * (N + 1) * S4) / (N * (N - 1) * (N - 2) * (N - 3)),
    }
    for n, expr in known.items():
        assert sp.simplify(S.kstat_expression(n) - expr) == 0


def test_latex_series_orders_terms_by_power():
    text = S.latex_series(S.block_cgf(4))
    positions = [text.index(f"kappa_{{{n}}}") for n in range(1, 5)]
    assert positions == sorted(positions)
    assert S.latex_series(1 - S.t) == "1 - t"


def test_importing_rgsym_clt_does_not_load_sympy():
    import subprocess
    import sys

    code = "import sys, rgsym.clt; assert 'sympy' not in sys.modules; rgsym.clt.closed_forms; assert 'sympy' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
