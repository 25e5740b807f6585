r"""Closed forms of Chapter 1 (sympy): the block map acting on cumulants and on densities.

This is the only module of :mod:`rgsym.clt` that imports sympy; ``import rgsym.clt`` does not load it.

* **Cumulant generating function.** With :math:`K(t)=\log E\,e^{ts}=\sum_n\kappa_nt^n/n!`, the block
  variable :math:`s'=b^{-1/\alpha}\sum_{i=1}^b s_i` of i.i.d. spins has
  :math:`K'(t)=b\,K(b^{-1/\alpha}t)` (eq. 1.2; :math:`\alpha=2` is the CLT map), hence, comparing
  powers of :math:`t`, :math:`\kappa_n'=b^{1-n/\alpha}\kappa_n` (eq. 1.3).
* **Eigenvalues** :math:`\lambda_n=b^{y_n}` with exponents :math:`y_n=1-n/\alpha`: relevant for
  :math:`y_n>0`, marginal for :math:`y_n=0`, irrelevant for :math:`y_n<0`.
* **Function space.** On densities the map is :math:`T[f](x)=b^{1/\alpha}f^{*b}(b^{1/\alpha}x)`; in
  Fourier space :math:`\hat f'(k)=\hat f(b^{-1/\alpha}k)^b` (eq. 1.5). The Gaussian
  :math:`\hat\phi=e^{-k^2/2}` is a fixed point for :math:`\alpha=2` (the Levy laws
  :math:`e^{-c|k|^\alpha}` for general :math:`\alpha`), and the perturbations
  :math:`\hat h_n=(ik)^n\hat\phi`, i.e. the derivatives :math:`\phi^{(n)}` (Hermite functions), are
  eigenfunctions of the linearised map with eigenvalues :math:`b^{1-n/\alpha}` (eq. 1.6).

The functions return sympy objects for the chapter to display and the tests to check.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ..validation import as_int

t = sp.Symbol("t")
k = sp.Symbol("k", positive=True)
x = sp.Symbol("x", real=True)
b = sp.Symbol("b", positive=True)
alpha = sp.Symbol("alpha", positive=True)
eps = sp.Symbol("epsilon")
N = sp.Symbol("N", positive=True, integer=True)

def kappa(n: int) -> sp.Symbol:
    r"""The symbol :math:`\kappa_n`."""
    return sp.Symbol(f"kappa_{n}")


def latex_series(expr: sp.Expr, var: sp.Symbol = t) -> str:
    """LaTeX of a polynomial in ``var`` with its terms in ascending powers (sympy's own order mixes
    them when the coefficients carry different powers of ``b``)."""
    poly = sp.Poly(sp.expand(expr), var)
    terms = [sp.latex(poly.coeff_monomial(var**n) * var**n) for n in range(0, poly.degree() + 1)
             if poly.coeff_monomial(var**n) != 0]
    return " + ".join(terms).replace("+ - ", "- ") if terms else "0"


def cgf(order: int) -> sp.Expr:
    r"""The cumulant generating function truncated at ``order``: :math:`K(t)=\sum_{n\le\text{order}}\kappa_nt^n/n!`."""
    order = as_int("order", order, lo=1)
    return sum(kappa(n) * t**n / sp.factorial(n) for n in range(1, order + 1))


def block_cgf(order: int, stable_index=2) -> sp.Expr:
    r"""Eq. 1.2: the CGF of the block variable, :math:`b\,K(b^{-1/\alpha}t)` (``stable_index`` is
    :math:`\alpha`; 2 for the CLT map), truncated at ``order``."""
    return sp.expand(b * cgf(order).subs(t, t * b ** (-sp.Integer(1) / stable_index)))


@lru_cache(maxsize=None)
def cumulant_map(order: int, stable_index=2) -> dict[int, sp.Expr]:
    r"""Eq. 1.3 derived: ``{n: kappa_n'}`` for ``n = 1..order``, read off as :math:`n!` times the
    coefficient of :math:`t^n` in :func:`block_cgf`; each equals :math:`b^{1-n/\alpha}\kappa_n`."""
    series = sp.Poly(block_cgf(order, stable_index), t)
    out = {}
    for n in range(1, order + 1):
        coeff = series.coeff_monomial(t**n) * sp.factorial(n)
        out[n] = sp.powsimp(sp.simplify(coeff), force=True)
    return out


def eigenvalue(n, stable_index=2) -> sp.Expr:
    r"""Derive :math:`\lambda_n=\kappa_n'/\kappa_n` for a concrete order ``n`` from an arbitrary
    CGF :math:`K`: :math:`\partial_t^n\,[bK(b^{-1/\alpha}t)]_{t=0}/K^{(n)}(0)`."""
    n = as_int("order", n, lo=1)
    K = sp.Function("K")
    lhs = sp.diff(b * K(t * b ** (-sp.Integer(1) / stable_index)), t, n).subs(t, 0).doit()
    rhs = sp.diff(K(t), t, n).subs(t, 0).doit()
    return sp.powsimp(sp.simplify(lhs / rhs), force=True)


def exponent(n, stable_index=2) -> sp.Expr:
    r"""The RG exponent :math:`y_n=\log_b\lambda_n=1-n/\alpha` (derived from :func:`eigenvalue`)."""
    lam = eigenvalue(n, stable_index)
    return sp.simplify(sp.expand_log(sp.log(lam), force=True) / sp.log(b))


def classify(y) -> str:
    """``'relevant'`` (``y > 0``), ``'marginal'`` (``y = 0``) or ``'irrelevant'`` (``y < 0``)."""
    y = sp.sympify(y)
    if y.is_zero:
        return "marginal"
    if y.is_positive:
        return "relevant"
    if y.is_negative:
        return "irrelevant"
    raise ValueError(f"cannot decide the sign of the exponent {y}")


def eigen_table(order: int, stable_index=2) -> list[dict]:
    r"""One row per order ``n = 1..order``: the eigenvalue :math:`\lambda_n`, the exponent :math:`y_n`
    and the class; for the CLT (:math:`\alpha=2`): the mean relevant, the variance marginal, every
    higher cumulant irrelevant."""
    order = as_int("order", order, lo=1)
    rows = []
    for n in range(1, order + 1):
        y = exponent(n, stable_index)
        rows.append({"n": n, "lambda": eigenvalue(n, stable_index), "y": y, "class": classify(y)})
    return rows


def standardised_decay(n: int) -> sp.Expr:
    r"""Per-step factor of the standardised cumulant :math:`\kappa_n/\kappa_2^{n/2}`:
    :math:`\lambda_n/\lambda_2^{n/2}=b^{1-n/2}` (skewness :math:`b^{-1/2}`, excess kurtosis :math:`b^{-1}`)."""
    return sp.powsimp(sp.simplify(eigenvalue(n) / eigenvalue(2) ** sp.Rational(n, 2)), force=True)


# --------------------------------------------------------------------------------------------
# the function-space view
# --------------------------------------------------------------------------------------------
def fourier_block_map(fhat: sp.Expr, stable_index=2) -> sp.Expr:
    r"""Eq. 1.5: the block map on a characteristic function, :math:`\hat f(b^{-1/\alpha}k)^b`."""
    return fhat.subs(k, k * b ** (-sp.Integer(1) / stable_index)) ** b


def gaussian_cf() -> sp.Expr:
    r"""The characteristic function of the standard Gaussian, :math:`e^{-k^2/2}`."""
    return sp.exp(-k**2 / 2)


def levy_cf(stable_index=alpha, c=sp.Symbol("c", positive=True)) -> sp.Expr:
    r"""A symmetric Levy law's characteristic function :math:`e^{-c|k|^\alpha}` (here :math:`k>0`)."""
    return sp.exp(-c * k**stable_index)


def fixed_point_residual(fhat: sp.Expr, stable_index=2) -> sp.Expr:
    r""":math:`\log T[\hat f]-\log\hat f`, simplified: zero exactly when ``fhat`` is a fixed point."""
    lhs = sp.expand_log(sp.log(fourier_block_map(fhat, stable_index)), force=True)
    rhs = sp.expand_log(sp.log(fhat), force=True)
    return sp.simplify(sp.powsimp(sp.expand(lhs - rhs), force=True))


def linearised_eigenvalue(n: int, stable_index=2) -> sp.Expr:
    r"""Eq. 1.6: apply the map to :math:`\hat\phi\,(1+\epsilon(ik)^n)` (the Gaussian plus its
    :math:`n`-th derivative), take :math:`\partial_\epsilon` at 0 and divide by :math:`(ik)^n\hat\phi`.
    The result is the eigenvalue of :math:`\phi^{(n)}`, which should be :math:`b^{1-n/\alpha}`
    (with :math:`\hat\phi` the Gaussian, :math:`\alpha=2`, or the Levy law otherwise)."""
    n = as_int("order", n, lo=1)
    phi = gaussian_cf() if stable_index == 2 else levy_cf(stable_index)
    h = (sp.I * k) ** n * phi
    pert = fourier_block_map(phi + eps * h, stable_index)
    lin = sp.diff(pert, eps).subs(eps, 0)
    return sp.powsimp(sp.simplify(sp.powsimp(sp.expand_power_base(lin / h, force=True), force=True)), force=True)


def convolve(f: sp.Expr, g: sp.Expr) -> sp.Expr:
    r""":math:`(f*g)(x)=\int f(y)\,g(x-y)\,dy` for densities in the symbol ``x``."""
    y = sp.Symbol("y", real=True)
    return sp.simplify(sp.integrate(f.subs(x, y) * g.subs(x, x - y), (y, -sp.oo, sp.oo)))


def real_space_block_map(f: sp.Expr, nb: int = 2) -> sp.Expr:
    r"""The block map on a density in real space for a concrete integer ``nb``:
    :math:`T[f](x)=\sqrt{b}\,f^{*b}(\sqrt{b}\,x)` by repeated convolution integrals."""
    conv = f
    for _ in range(as_int("nb", nb, lo=2) - 1):
        conv = convolve(conv, f)
    return sp.simplify(sp.sqrt(nb) * conv.subs(x, sp.sqrt(nb) * x))


def gaussian_density() -> sp.Expr:
    r""":math:`\phi(x)=e^{-x^2/2}/\sqrt{2\pi}`."""
    return sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)


def real_space_eigenvalue(n: int, nb: int = 2) -> sp.Expr:
    r"""The linearised real-space map at the Gaussian applied to :math:`h=\phi^{(n)}`,
    :math:`\partial_\epsilon T[\phi+\epsilon h]|_{\epsilon=0}=b^{3/2}(\phi^{*(b-1)}*h)(\sqrt b\,x)`,
    divided by :math:`h`: a constant, :math:`b^{1-n/2}`, when :math:`h` is an eigenfunction
    (concrete ``nb``; each order costs about a second of symbolic integration)."""
    n = as_int("order", n, lo=1)
    nb = as_int("nb", nb, lo=2)
    phi = gaussian_density()
    h = sp.diff(phi, x, n)
    rest = phi
    for _ in range(nb - 2):
        rest = convolve(rest, phi)
    lin = sp.Integer(nb) ** sp.Rational(3, 2) * convolve(rest, h).subs(x, sp.sqrt(nb) * x)
    return sp.simplify(lin / h)


# --------------------------------------------------------------------------------------------
# the k-statistics as formulas
# --------------------------------------------------------------------------------------------
def power_sum(r: int) -> sp.Symbol:
    """The symbol :math:`S_r=\\sum_ix_i^r`."""
    return sp.Symbol(f"S_{r}")


def kstat_expression(n: int) -> sp.Expr:
    r"""The k-statistic :math:`k_n` as a rational function of :math:`N` and the power sums
    :math:`S_1..S_n`, built from the combinatorial derivation in :mod:`rgsym.clt.kstat_formulas`."""
    from .kstat_formulas import kstat_power_sum_terms

    expr = sp.Integer(0)
    for mono, inner in kstat_power_sum_terms(as_int("order", n, lo=1)).items():
        coef = sum(sp.Integer(c) / sp.ff(N, ell) for ell, c in inner.items())
        expr += coef * sp.Mul(*[power_sum(r) for r in mono])
    return sp.factor(sp.together(expr))
