r"""The central limit theorem as a real-space RG map (Chapter 1).

A lattice :math:`s=(s_1..s_N)` with :math:`N=b^L` sites holds i.i.d. spins from a standardised base law.
One RG step is the block map (eq. 1.1)

.. math:: s'_j = b^{-1/2}\sum_{i\in\text{block }j} s_i ,\qquad j = 1..N/b,

with blocks of ``b`` consecutive sites on the last axis. It maps cumulants as
:math:`\kappa_n' = b^{1-n/2}\kappa_n` (eq. 1.3), so after :math:`l` steps
:math:`\kappa_n(l)=b^{l(1-n/2)}\kappa_n` (eq. 1.4); :math:`L` steps leave one variable.

This module holds the map and its flow (numpy or torch), lattice validation, sampling, the exact
cumulant flow, exponent fits, and the cached measurement behind the chapter's figures.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Sequence

import numpy as np

from .config import PROFILES, check_choice
from .cumulants import KSTAT_MAX_ORDER, cumulant_summary
from .distributions import LAWS, EmpiricalLaw, empirical_law, get_law

DEFAULT_LAWS = ("uniform", "rademacher", "laplace", "exponential", "bimodal")
"""The five base laws Chapter 1 follows by default (all non-Gaussian)."""

DEFAULT_ORDERS = (1, 2, 3, 4, 5, 6)
"""Cumulant orders measured along a flow."""

FLOW_PROFILES = {
    "smoke": {"lattice_size": 64, "n_spins": 2**21},
    "paper": {"lattice_size": 1024, "n_spins": 2**25},
}
"""Per profile: the target lattice size :math:`N\\approx b^L` and the number of spins per flow
(``n_samples = n_spins // N`` independent lattices)."""

MAX_SPINS = 2**27
"""Refuse flows larger than this many spins (about 1 GiB in float64) before allocating anything."""


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _as_int(value, what: str) -> int:
    """``value`` as an int if it is an integral real number (not bool), else a ValueError."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        try:
            ok = float(value) == int(value)
        except (OverflowError, ValueError):
            ok = False
    if not ok:
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return int(value)


def check_block_size(b) -> int:
    """Validate the block size: an integer ``b >= 2`` (``b = 1`` would be the identity map)."""
    try:
        b = _as_int(b, "block size b")
    except ValueError:
        raise ValueError(f"block size b must be an integer >= 2, got {b!r}") from None
    if b < 2:
        raise ValueError(f"block size b must be an integer >= 2 (b = 1 is the identity map), got {b}")
    return b


def check_lattice(N, b) -> int:
    """Return ``L`` with ``N = b**L``; a clear ValueError when ``b`` is not an integer ``>= 2`` or
    ``N`` is not a power of ``b`` (the message names the nearest valid sizes)."""
    b = check_block_size(b)
    N = _as_int(N, "lattice size N")
    if N < 1:
        raise ValueError(f"lattice size N must be >= 1, got {N}")
    L, M = 0, N
    while M % b == 0:
        M //= b
        L += 1
    if M != 1:
        lo = 0
        while b ** (lo + 1) <= N:
            lo += 1
        raise ValueError(
            f"lattice size N={N} is not a power of b={b}: the block map needs N = b**L, "
            f"e.g. {b**lo} (= {b}**{lo}) or {b**(lo + 1)} (= {b}**{lo + 1})"
        )
    return L


def nearest_steps(size: int, b: int) -> int:
    """The number of steps ``L >= 1`` whose lattice ``b**L`` is closest to ``size`` (in log scale)."""
    b = check_block_size(b)
    return max(1, round(math.log(size) / math.log(b)))


# --------------------------------------------------------------------------------------------
# the map and its flow
# --------------------------------------------------------------------------------------------
def block_map(s, b):
    r"""One RG step (eq. 1.1) on the last axis: :math:`s'_j=b^{-1/2}\sum_{i=(j-1)b+1}^{jb}s_i`.

    ``s``: numpy array or torch tensor of shape ``(..., N)`` with ``N`` divisible by ``b``.
    Returns the same kind, shape ``(..., N // b)``.
    """
    b = check_block_size(b)
    if s.ndim == 0:
        raise ValueError("block_map needs at least one axis (the lattice, the last one)")
    N = s.shape[-1]
    if N % b:
        raise ValueError(f"block_map: the last axis has {N} sites, not a multiple of b={b}")
    blocks = s.reshape(tuple(s.shape[:-1]) + (N // b, b))
    return blocks.sum(-1) * (1.0 / math.sqrt(b))


def rg_flow(s, b, steps: int | None = None) -> list:
    """The configurations after ``l = 0..steps`` block steps: ``[s, T_b s, T_b^2 s, ...]``.

    ``s``: shape ``(..., N)``. With ``steps=None`` the flow runs to a single site, which needs
    ``N = b**L`` (checked); otherwise ``N`` must be divisible by ``b**steps``.
    """
    b = check_block_size(b)
    N = s.shape[-1]
    if steps is None:
        steps = check_lattice(N, b)
    else:
        steps = _as_int(steps, "steps")
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        if N % b**steps:
            raise ValueError(f"{steps} steps of b={b} need N divisible by b**steps = {b**steps}, got N={N}")
    out = [s]
    for _ in range(steps):
        out.append(block_map(out[-1], b))
    return out


def sample_lattice(law, batch: int, N: int, generator, dtype=None):
    """``batch`` independent lattices of ``N`` i.i.d. spins from ``law`` (a name in :data:`LAWS` or a
    law object): shape ``(batch, N)``; numpy for a numpy Generator, torch (on the generator's device)
    for a torch.Generator."""
    law = get_law(law)
    batch = _as_int(batch, "batch")
    N = _as_int(N, "lattice size N")
    if batch < 1 or N < 1:
        raise ValueError(f"batch and N must be >= 1, got batch={batch}, N={N}")
    return law.sample((batch, N), generator, dtype=dtype)


def exact_cumulant_flow(kappa: Sequence[float], b, steps: int, orders: Sequence[int] | None = None) -> np.ndarray:
    r"""Eq. 1.4: :math:`\kappa_n(l)=b^{l(1-n/2)}\kappa_n` for ``l = 0..steps``.

    ``kappa``: the cumulants at ``l = 0`` for ``orders`` (default ``1..len(kappa)``).
    Returns shape ``(steps + 1, len(kappa))``.
    """
    b = check_block_size(b)
    kappa = np.asarray(kappa, dtype=float)
    orders = np.arange(1, kappa.size + 1) if orders is None else np.asarray(orders, dtype=float)
    if orders.shape != kappa.shape:
        raise ValueError(f"kappa has {kappa.size} entries but orders has {orders.size}")
    steps = _as_int(steps, "steps")
    ell = np.arange(steps + 1)[:, None]
    return kappa[None, :] * float(b) ** (ell * (1 - orders[None, :] / 2))


# --------------------------------------------------------------------------------------------
# fitting the eigenvalues
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EigenFit:
    r"""Fit of :math:`\log|\kappa_n(l)| = a + l\,y\log b` (so :math:`\lambda=b^y`)."""

    y: float
    y_se: float
    lam: float
    lam_se: float
    intercept: float
    n_points: int
    chi2: float
    dof: int


def fit_exponent(steps, values, ses, b, *, snr_min: float = 3.0) -> EigenFit:
    r"""Weighted least-squares fit of :math:`\log|k(l)|` against :math:`l` for the RG exponent
    :math:`y` in :math:`\kappa(l)\propto b^{ly}`.

    Only points measured with :math:`|k|\ge` ``snr_min`` standard errors enter (the log of a value
    consistent with zero carries no information); each has the error :math:`\mathrm{se}/|k|` of its
    log. The uncertainty of :math:`y` is scaled by the Birge ratio :math:`\sqrt{\chi^2/\mathrm{dof}}`
    when that exceeds 1. Fewer than two usable points give ``nan``.
    """
    b = check_block_size(b)
    ell = np.asarray(steps, dtype=float)
    v = np.asarray(values, dtype=float)
    se = np.asarray(ses, dtype=float)
    if not (ell.shape == v.shape == se.shape) or ell.ndim != 1:
        raise ValueError("steps, values and ses must be 1-d and of equal length")
    ok = np.isfinite(v) & np.isfinite(se) & (np.abs(v) >= snr_min * se) & (v != 0)
    n = int(ok.sum())
    if n < 2:
        return EigenFit(math.nan, math.nan, math.nan, math.nan, math.nan, n, math.nan, 0)
    x = ell[ok] * math.log(b)
    yv = np.log(np.abs(v[ok]))
    sig = np.maximum(se[ok] / np.abs(v[ok]), 1e-12)
    w = 1.0 / sig**2
    X = np.stack([np.ones_like(x), x], axis=1)
    A = X.T @ (w[:, None] * X)
    cov = np.linalg.inv(A)
    coef = cov @ (X.T @ (w * yv))
    resid = yv - X @ coef
    chi2 = float(np.sum(w * resid**2))
    dof = n - 2
    if dof > 0 and chi2 / dof > 1:
        cov = cov * (chi2 / dof)
    y, y_se = float(coef[1]), float(math.sqrt(cov[1, 1]))
    lam = float(b) ** y
    return EigenFit(y, y_se, lam, lam * math.log(b) * y_se, float(coef[0]), n, chi2, dof)


# --------------------------------------------------------------------------------------------
# the chapter's experiment: settings, measurement (cached) and summaries
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlowSettings:
    """Validated settings of a cumulant-flow experiment (see :func:`resolve_flow_settings`)."""

    profile: str
    b: int
    steps: int
    lattice_size: int
    n_samples: int
    laws: tuple[str, ...]
    orders: tuple[int, ...] = DEFAULT_ORDERS

    @property
    def n_spins(self) -> int:
        return self.lattice_size * self.n_samples

    def stamp(self) -> str:
        """The parameters that make a figure, for :func:`rgsym.plotting.stamp`."""
        return (f"b={self.b}, L={self.steps}, N={self.lattice_size}, "
                f"n_samples={self.n_samples} lattices, profile={self.profile}")

    def with_block_size(self, b) -> "FlowSettings":
        """The same experiment at another ``b``: the lattice closest to this one in size and the
        same number of spins (so every ``b`` gets the same statistics)."""
        b = check_block_size(b)
        steps = nearest_steps(self.lattice_size, b)
        size = b**steps
        n_samples = max(self.n_spins // size, 2 * max(self.orders))
        return replace(self, b=b, steps=steps, lattice_size=size, n_samples=n_samples)


def resolve_flow_settings(profile: str = "smoke", b=2, steps=None, n_samples=None, lattice_size=None,
                          laws=None, orders: Sequence[int] = DEFAULT_ORDERS) -> FlowSettings:
    """Validate Chapter 1's knobs and fill the profile's defaults, before any heavy work.

    ``laws``: names from :data:`~rgsym.distributions.LAWS` (default :data:`DEFAULT_LAWS`);
    ``b``: integer ``>= 2``; ``lattice_size``: ``b**L`` with ``L >= 1`` (default ``b**steps``);
    ``steps``: ``L`` (default: the lattice closest to the profile's target size);
    ``n_samples``: independent lattices (default: the profile's spin budget over ``N``).
    """
    check_choice("profile", profile, PROFILES)
    b = check_block_size(b)
    if laws is None:
        laws = DEFAULT_LAWS
    elif isinstance(laws, str):
        laws = (laws,)
    laws = tuple(laws)
    if not laws:
        raise ValueError(f"laws must name at least one base law; valid choices are: {', '.join(LAWS)}")
    for name in laws:
        check_choice("base law", name, LAWS)
    if len(set(laws)) != len(laws):
        raise ValueError(f"laws lists a law twice: {laws}")
    orders = tuple(sorted({_as_int(n, "cumulant order") for n in orders}))
    if not orders or orders[0] < 1 or orders[-1] > KSTAT_MAX_ORDER:
        raise ValueError(f"cumulant orders must lie in 1..{KSTAT_MAX_ORDER}, got {orders}")
    if steps is not None:
        steps = _as_int(steps, "steps")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
    if lattice_size is not None:
        L = check_lattice(lattice_size, b)
        if L < 1:
            raise ValueError(f"lattice size must be at least b={b} (one block), got {lattice_size}")
        if steps is not None and steps != L:
            raise ValueError(f"steps={steps} and lattice_size={lattice_size} disagree: b**steps = {b**steps}")
        steps = L
    elif steps is None:
        steps = nearest_steps(FLOW_PROFILES[profile]["lattice_size"], b)
    size = b**steps
    minimum = 2 * orders[-1]  # the last step keeps only n_samples values
    if size * minimum > MAX_SPINS:
        raise ValueError(f"the lattice b**steps = {size} is too large: even {minimum} lattices exceed "
                         f"the limit of {MAX_SPINS} spins")
    if n_samples is None:
        n_samples = max(FLOW_PROFILES[profile]["n_spins"] // size, minimum)
    n_samples = _as_int(n_samples, "n_samples")
    if n_samples < minimum:
        raise ValueError(f"n_samples must be >= {minimum} (the last step has only n_samples values), "
                         f"got {n_samples}")
    if size * n_samples > MAX_SPINS:
        raise ValueError(f"lattice_size * n_samples = {size * n_samples} spins exceeds the limit "
                         f"{MAX_SPINS}; use fewer samples or steps")
    return FlowSettings(profile, b, steps, size, n_samples, laws, orders)


@dataclass(frozen=True)
class FlowResult:
    """Measured cumulant flow of one base law (arrays are read-only numpy; row ``l`` = step ``l``)."""

    law: str
    b: int
    steps: int
    n_samples: int
    orders: tuple[int, ...]
    sizes: np.ndarray  # (steps+1,) values pooled at step l: n_samples * b**(steps-l)
    k: np.ndarray  # (steps+1, n_orders) k-statistics
    se: np.ndarray  # (steps+1, n_orders) their standard errors
    exact: np.ndarray  # (steps+1, n_orders) b**(l(1-n/2)) kappa_n (nan where infinite)
    skewness: np.ndarray  # (steps+1,)
    skewness_se: np.ndarray
    excess_kurtosis: np.ndarray
    excess_kurtosis_se: np.ndarray
    laws: tuple[EmpiricalLaw, ...] = field(repr=False)  # histogram / atoms of the block variable

    @property
    def ell(self) -> np.ndarray:
        return np.arange(self.steps + 1)

    def column(self, n: int) -> int:
        """Index of order ``n`` in the last axis of :attr:`k`."""
        check_choice("measured cumulant order", n, self.orders)
        return self.orders.index(n)


def derived_seed(seed: int, law: str, b: int) -> int:
    """An independent stream per (seed, law, b), so adding a law leaves the others' numbers alone."""
    state = np.random.SeedSequence([int(seed), LAWS.index(law), int(b)]).generate_state(1)
    return int(state[0])


def measure_flow(law: str, b, steps: int, n_samples: int, *, seed: int = 0, device="cpu",
                 orders: Sequence[int] = DEFAULT_ORDERS, bins: int = 80, x_range=(-4.0, 4.0)) -> FlowResult:
    r"""Sample ``n_samples`` lattices of ``b**steps`` spins from ``law``, run the block map ``steps``
    times (torch, float64, on ``device``) and measure at every step the k-statistics with standard
    errors, the skewness and excess kurtosis, and the empirical law of the block variable.

    At step :math:`l` the :math:`n_\text{samples}b^{L-l}` block variables are i.i.d., so all of them
    are pooled. Cached: the same arguments return the same (read-only) result.
    """
    b = check_block_size(b)
    check_choice("base law", law, LAWS)
    steps = _as_int(steps, "steps")
    n_samples = _as_int(n_samples, "n_samples")
    orders = tuple(int(n) for n in orders)
    return _measure_flow(law, b, steps, n_samples, int(seed), str(device), orders, int(bins),
                         (float(x_range[0]), float(x_range[1])))


@lru_cache(maxsize=64)
def _measure_flow(law, b, steps, n_samples, seed, device, orders, bins, x_range) -> FlowResult:
    import torch

    if steps < 1 or n_samples < 2 * max(orders) or n_samples * b**steps > MAX_SPINS:
        raise ValueError(f"bad flow size: steps={steps}, n_samples={n_samples} (use resolve_flow_settings)")
    dist = get_law(law)
    gen = torch.Generator(device=device).manual_seed(derived_seed(seed, law, b))
    s = sample_lattice(dist, n_samples, b**steps, gen, dtype=torch.float64)
    rows = []
    for ell in range(steps + 1):
        if ell:
            s = block_map(s, b)
        flat = s.reshape(-1)
        summary = cumulant_summary(flat, orders)
        rows.append({key: val.cpu().numpy() for key, val in summary.items()})
        rows[-1]["law"] = empirical_law(flat, bins=bins, x_range=x_range)
    del s
    kappa = []
    for n in orders:
        try:
            kappa.append(dist.cumulant(n))
        except ValueError:  # infinite (Student-t beyond nu)
            kappa.append(math.nan)

    def stacked(key):
        arr = np.stack([r[key] for r in rows])
        arr.setflags(write=False)
        return arr

    exact = exact_cumulant_flow(kappa, b, steps, orders)
    exact.setflags(write=False)
    sizes = np.array([n_samples * b ** (steps - ell) for ell in range(steps + 1)])
    sizes.setflags(write=False)
    return FlowResult(law, b, steps, n_samples, orders, sizes, stacked("k"), stacked("se"), exact,
                      stacked("skewness"), stacked("skewness_se"), stacked("excess_kurtosis"),
                      stacked("excess_kurtosis_se"), tuple(r["law"] for r in rows))


def measure_flows(settings: FlowSettings, *, seed: int = 0, device="cpu") -> dict[str, FlowResult]:
    """:func:`measure_flow` for every law of ``settings``: ``{law: FlowResult}``."""
    return {law: measure_flow(law, settings.b, settings.steps, settings.n_samples, seed=seed,
                              device=device, orders=settings.orders) for law in settings.laws}


def exponent_table(results: dict[str, FlowResult], orders: Sequence[int] = (3, 4, 5, 6), *, snr_min: float = 3.0):
    r"""Fitted RG exponents :math:`y_n` against :math:`1-n/2`, one row per (law, n) whose exact
    :math:`\kappa_n` is non-zero: a pandas DataFrame with columns ``law, n, y_fit, y_se, y_exact,
    z, lam_fit, lam_exact, points``, where ``z = (y_fit - y_exact) / y_se``."""
    import pandas as pd

    rows = []
    for law, res in results.items():
        for n in orders:
            j = res.column(n)
            kappa = res.exact[0, j]
            if not np.isfinite(kappa) or kappa == 0:
                continue
            fit = fit_exponent(res.ell, res.k[:, j], res.se[:, j], res.b, snr_min=snr_min)
            y_exact = 1 - n / 2
            rows.append({"law": law, "b": res.b, "n": n, "y_fit": fit.y, "y_se": fit.y_se, "y_exact": y_exact,
                         "z": (fit.y - y_exact) / fit.y_se, "lam_fit": fit.lam, "lam_exact": res.b**y_exact,
                         "points": fit.n_points})
    return pd.DataFrame(rows, columns=["law", "b", "n", "y_fit", "y_se", "y_exact", "z", "lam_fit", "lam_exact",
                                       "points"])


def zero_cumulant_z(results: dict[str, FlowResult]) -> np.ndarray:
    """``k / se`` for every (law, step, order) whose exact cumulant vanishes (the mean, odd orders of
    symmetric laws, all orders >= 3 of the Gaussian): these should look like standard normal draws."""
    out = []
    for res in results.values():
        zero = res.exact == 0
        out.append((res.k / res.se)[zero])
    return np.concatenate(out) if out else np.zeros(0)


def combine_exponents(table):
    r"""Per order ``n``, the inverse-variance weighted mean of the fitted exponents over laws:
    a DataFrame with ``n, y_fit, y_se, y_exact, z, laws`` (``z`` in units of the combined error)."""
    import pandas as pd

    rows = []
    for n, grp in table.dropna(subset=["y_fit", "y_se"]).groupby("n"):
        w = 1.0 / grp.y_se.to_numpy() ** 2
        y = float(np.sum(w * grp.y_fit.to_numpy()) / np.sum(w))
        se = float(1.0 / math.sqrt(np.sum(w)))
        y_exact = 1 - n / 2
        rows.append({"n": int(n), "y_fit": y, "y_se": se, "y_exact": y_exact, "z": (y - y_exact) / se,
                     "laws": len(grp)})
    return pd.DataFrame(rows, columns=["n", "y_fit", "y_se", "y_exact", "z", "laws"])


def combined_exponent(results: dict[str, FlowResult], n: int, *, snr_min: float = 3.0) -> tuple[float, float]:
    """``(y, se)``: the exponent of order ``n`` fitted per law and combined over the laws whose
    :math:`\\kappa_n` is non-zero (:func:`exponent_table`, :func:`combine_exponents`); ``(nan, nan)``
    when none is."""
    comb = combine_exponents(exponent_table(results, orders=(n,), snr_min=snr_min))
    if comb.empty:
        return math.nan, math.nan
    return float(comb.y_fit.iloc[0]), float(comb.y_se.iloc[0])
