r"""Standardised base laws :math:`p_0` of the lattice spins (Chapter 1, §"Base laws").

Every law has mean 0 and variance 1, so that the block map
:math:`s'_j = b^{-1/2}\sum_{i\in j} s_i` sits on the Gaussian fixed point with unit variance.
Each law knows its exact cumulants :math:`\kappa_n` in closed form and samples from an explicit
generator: a :class:`numpy.random.Generator` gives a numpy array, a :class:`torch.Generator`
gives a tensor on the generator's device.

==============  =====================================  ===========================================
name            law                                    exact cumulants
==============  =====================================  ===========================================
gaussian        :math:`N(0,1)`                         :math:`\kappa_2=1`, others 0
uniform         :math:`U(-\sqrt3,\sqrt3)`              :math:`\kappa_{2m}=B_{2m}(2\sqrt3)^{2m}/2m`
rademacher      :math:`\pm1` spins                     :math:`\kappa_{2m}=2^{2m}(2^{2m}-1)B_{2m}/2m`
laplace         scale :math:`1/\sqrt2`                 :math:`\kappa_{2m}=2(2m-1)!/2^m`
exponential     :math:`\mathrm{Exp}(1)-1`              :math:`\kappa_n=(n-1)!`, :math:`n\ge2`
gamma           shape :math:`k`, scale :math:`k^{-1/2}`, centred   :math:`\kappa_n=(n-1)!\,k^{1-n/2}`
student_t       :math:`t_\nu\sqrt{(\nu-2)/\nu}`          from the moments; finite only for :math:`n<\nu`
bimodal         :math:`\tfrac12N(\pm\mu,\sigma^2)`, :math:`\mu^2+\sigma^2=1`   :math:`\kappa_{2m}=\mu^{2m}\kappa^{\rm Rad}_{2m}` (:math:`m\ge2`)
==============  =====================================  ===========================================

Odd cumulants vanish for every symmetric law; ``kappa_1 = 0`` and ``kappa_2 = 1`` for all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..validation import as_int, check_choice


@lru_cache(maxsize=None)
def bernoulli(n: int) -> Fraction:
    """Bernoulli number :math:`B_n` (with :math:`B_1=-1/2`) as an exact fraction."""
    if n < 0:
        raise ValueError("n must be >= 0")
    B = [Fraction(1)]
    for m in range(1, n + 1):
        B.append(-sum(math.comb(m + 1, k) * B[k] for k in range(m)) / (m + 1))
    return B[n]


def _shape(size) -> tuple:
    return (size,) if isinstance(size, (int, np.integer)) else tuple(size)


class BaseLaw:
    """A standardised law. Subclasses define ``cumulant`` and the two samplers."""

    name: str = ""
    symmetric: bool = True
    label: str = ""
    max_order: float = math.inf  # cumulants of order >= max_order are infinite

    # -- cumulants -----------------------------------------------------------------------
    def cumulant(self, n: int) -> float:
        r"""Exact cumulant :math:`\kappa_n` (``n >= 1``)."""
        n = as_int("cumulant order", n, lo=1)
        if n >= self.max_order:
            raise ValueError(
                f"cumulant kappa_{n} of {self.name} is infinite: only orders n < {self.max_order:g} exist"
            )
        if n == 1:
            return 0.0
        if n == 2:
            return 1.0
        return float(self._cumulant(n))

    def cumulants(self, orders: Sequence[int] | int) -> np.ndarray:
        """Exact cumulants for ``orders`` (an int ``N`` means ``1..N``)."""
        if isinstance(orders, (int, np.integer)):
            orders = range(1, int(orders) + 1)
        return np.array([self.cumulant(n) for n in orders], dtype=float)

    def _cumulant(self, n: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- sampling ------------------------------------------------------------------------
    def sample(self, size, generator, *, dtype=None):
        """Draw i.i.d. samples of shape ``size``.

        ``generator`` is a :class:`numpy.random.Generator` (returns ``float64`` numpy) or a
        :class:`torch.Generator` (returns a tensor on the generator's device, ``float32`` unless
        ``dtype`` says otherwise).
        """
        shape = _shape(size)
        if isinstance(generator, np.random.Generator):
            out = self._sample_numpy(generator, shape)
            return out.astype(dtype or np.float64, copy=False)
        try:
            import torch
        except ImportError as exc:  # pragma: no cover
            raise TypeError("generator must be a numpy Generator or a torch.Generator") from exc
        if isinstance(generator, torch.Generator):
            dtype = dtype or torch.float32
            kw = dict(generator=generator, device=generator.device, dtype=dtype)
            return self._sample_torch(torch, shape, kw)
        raise TypeError(
            f"generator must be a numpy.random.Generator or a torch.Generator, got {type(generator).__name__}"
        )

    def _sample_numpy(self, rng, shape):  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample_torch(self, torch, shape, kw):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<law {self.name}>"


class Gaussian(BaseLaw):
    name, label = "gaussian", "Gaussian"

    def _cumulant(self, n):
        return 0.0

    def _sample_numpy(self, rng, shape):
        return rng.standard_normal(shape)

    def _sample_torch(self, torch, shape, kw):
        return torch.randn(shape, **kw)


class Uniform(BaseLaw):
    name, label = "uniform", "uniform"
    a = math.sqrt(3.0)

    def _cumulant(self, n):
        if n % 2:
            return 0.0
        return float(bernoulli(n) * Fraction(12) ** (n // 2) / n)

    def _sample_numpy(self, rng, shape):
        return rng.uniform(-self.a, self.a, shape)

    def _sample_torch(self, torch, shape, kw):
        return (torch.rand(shape, **kw) * 2 - 1) * self.a


class Rademacher(BaseLaw):
    name, label = "rademacher", r"Rademacher $\pm1$"

    def _cumulant(self, n):
        if n % 2:
            return 0.0
        return float(Fraction(2**n * (2**n - 1)) * bernoulli(n) / n)

    def _sample_numpy(self, rng, shape):
        return rng.integers(0, 2, shape) * 2.0 - 1.0

    def _sample_torch(self, torch, shape, kw):
        dtype = kw["dtype"]
        return torch.randint(0, 2, shape, generator=kw["generator"], device=kw["device"]).to(dtype) * 2 - 1


class Laplace(BaseLaw):
    name, label = "laplace", "Laplace"
    scale = 1 / math.sqrt(2.0)

    def _cumulant(self, n):
        if n % 2:
            return 0.0
        return float(Fraction(2 * math.factorial(n - 1), 2 ** (n // 2)))  # 2 (n-1)! scale^n, exactly

    def _sample_numpy(self, rng, shape):
        return rng.laplace(0.0, self.scale, shape)

    def _sample_torch(self, torch, shape, kw):
        # difference of two unit exponentials; -log1p(-u) with u in [0, 1) is always finite
        e = -torch.log1p(-torch.rand((2, *shape), **kw))
        return self.scale * (e[0] - e[1])


class Exponential(BaseLaw):
    name, label, symmetric = "exponential", "centred exponential", False

    def _cumulant(self, n):
        return float(math.factorial(n - 1))

    def _sample_numpy(self, rng, shape):
        return rng.standard_exponential(shape) - 1.0

    def _sample_torch(self, torch, shape, kw):
        return -torch.log1p(-torch.rand(shape, **kw)) - 1.0


@dataclass(repr=False)
class Gamma(BaseLaw):
    """Centred gamma of integer shape ``k`` (sampled as a sum of ``k`` exponentials)."""

    k: int = 4
    name, label, symmetric = "gamma", "centred gamma", False

    def __post_init__(self):
        self.k = as_int("gamma shape k (a positive integer)", self.k, lo=1)
        self.label = f"centred gamma ($k={self.k}$)"

    def _cumulant(self, n):
        return math.factorial(n - 1) * self.k ** (1 - n / 2)

    def _sample_numpy(self, rng, shape):
        return (rng.gamma(self.k, 1.0, shape) - self.k) / math.sqrt(self.k)

    def _sample_torch(self, torch, shape, kw):
        e = -torch.log1p(-torch.rand((self.k, *shape), **kw))
        return (e.sum(0) - self.k) / math.sqrt(self.k)


@dataclass(repr=False)
class StudentT(BaseLaw):
    r"""Student-t with integer ``nu > 4`` degrees of freedom, scaled to unit variance.

    Cumulant :math:`\kappa_n` is finite only for :math:`n<\nu`; asking for more is an error.
    """

    nu: int = 10
    name, label = "student_t", "Student-t"

    def __post_init__(self):
        self.nu = as_int("Student-t nu (an integer nu > 4: finite kurtosis)", self.nu, lo=5)
        self.max_order = self.nu
        self.label = rf"Student-$t$ ($\nu={self.nu}$)"

    def raw_moment(self, n: int) -> Fraction:
        """Exact moment :math:`E[s^n]` of the standardised law, for ``n < nu``."""
        if n % 2:
            return Fraction(0)
        m = n // 2
        val = Fraction(1)
        for i in range(1, m + 1):
            val *= Fraction(2 * i - 1, self.nu - 2 * i)
        return val * Fraction(self.nu - 2) ** m  # (nu (nu-2)/nu)^m = (nu-2)^m

    def _cumulant(self, n):
        from .conversions import moments_to_cumulants

        return float(moments_to_cumulants([self.raw_moment(k) for k in range(1, n + 1)])[-1])

    def _sample_numpy(self, rng, shape):
        return rng.standard_t(self.nu, shape) * math.sqrt((self.nu - 2) / self.nu)

    def _sample_torch(self, torch, shape, kw):
        z = torch.randn(shape, **kw)
        chi2 = (torch.randn((self.nu, *shape), **kw) ** 2).sum(0)
        return z / torch.sqrt(chi2 / self.nu) * math.sqrt((self.nu - 2) / self.nu)


@dataclass(repr=False)
class Bimodal(BaseLaw):
    r"""Symmetric two-Gaussian mixture :math:`\tfrac12 N(-\mu,\sigma^2)+\tfrac12 N(\mu,\sigma^2)`.

    With :math:`\sigma^2 = 1-\mu^2` its CGF is :math:`\sigma^2t^2/2+\log\cosh\mu t`, so
    :math:`\kappa_{2m} = \mu^{2m}\kappa_{2m}^{\rm Rademacher}` for :math:`m\ge 2`.
    """

    mu: float = 0.9
    name, label = "bimodal", "bimodal mixture"

    def __post_init__(self):
        if not 0 < self.mu < 1:
            raise ValueError(f"bimodal mixture needs 0 < mu < 1, got {self.mu!r}")
        self.sigma = math.sqrt(1 - self.mu**2)
        self.label = rf"bimodal ($\mu={self.mu:g}$)"

    def _cumulant(self, n):
        return self.mu**n * Rademacher()._cumulant(n)

    def _sample_numpy(self, rng, shape):
        return (rng.integers(0, 2, shape) * 2.0 - 1.0) * self.mu + self.sigma * rng.standard_normal(shape)

    def _sample_torch(self, torch, shape, kw):
        sign = torch.randint(0, 2, shape, generator=kw["generator"], device=kw["device"]).to(kw["dtype"]) * 2 - 1
        return sign * self.mu + self.sigma * torch.randn(shape, **kw)


_FACTORIES = {
    "gaussian": Gaussian,
    "uniform": Uniform,
    "rademacher": Rademacher,
    "laplace": Laplace,
    "exponential": Exponential,
    "gamma": Gamma,
    "student_t": StudentT,
    "bimodal": Bimodal,
}
LAWS = tuple(_FACTORIES)
"""Names of all base laws, in the book's order."""

TRAIN_LAWS = ("gaussian", "uniform")
"""The laws the learning tasks train on (the paper's choice); all others are held out."""


def get_law(name: str | BaseLaw, **kwargs) -> BaseLaw:
    """Return the base law called ``name`` (one of :data:`LAWS`); keyword arguments set its shape
    parameter (``k`` for gamma, ``nu`` for Student-t, ``mu`` for bimodal)."""
    if isinstance(name, BaseLaw):
        return name
    check_choice("base law", name, LAWS)
    return _FACTORIES[name](**kwargs)


def unseen_laws(train: str) -> tuple[str, ...]:
    """All laws other than ``train``: the out-of-distribution test set of measure G2."""
    check_choice("base law", train, LAWS)
    return tuple(n for n in LAWS if n != train)


# --------------------------------------------------------------------------------------------
# the empirical law of a sample (what Chapter 1 draws against the Gaussian)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class EmpiricalLaw:
    """The law of a sample on a window: a histogram density, or -- for a lattice law such as summed
    Rademacher spins -- its atoms with density ``probability / lattice spacing`` (which tends to the
    limiting density by the local CLT, where a histogram would alias the lattice)."""

    x: np.ndarray  # bin centres, or atom positions
    density: np.ndarray
    discrete: bool
    n: int  # sample size
    spacing: float  # bin width, or lattice spacing


def empirical_law(values, *, bins: int = 80, x_range=(-4.0, 4.0), max_atoms: int = 512) -> EmpiricalLaw:
    """Histogram density of ``values`` (numpy or torch, any shape) on ``x_range``, or its atoms when
    it takes at most ``max_atoms`` distinct values (rounded to 1e-9, which absorbs the float rounding
    of repeated block sums)."""
    try:
        import torch

        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("empirical_law needs at least one value")
    lo, hi = float(x_range[0]), float(x_range[1])
    if not lo < hi:
        raise ValueError(f"x_range must be increasing, got {x_range!r}")
    probe = np.unique(np.round(v[:4096], 9))
    if probe.size <= max_atoms:
        atoms, counts = np.unique(np.round(v, 9), return_counts=True)
        if atoms.size <= max_atoms:
            spacing = float(np.min(np.diff(atoms))) if atoms.size > 1 else 1.0
            keep = (atoms >= lo) & (atoms <= hi)
            return EmpiricalLaw(atoms[keep], counts[keep] / v.size / spacing, True, v.size, spacing)
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    width = (hi - lo) / bins
    return EmpiricalLaw(0.5 * (edges[1:] + edges[:-1]), counts / v.size / width, False, v.size, width)
