r"""Chapter 1 (the CLT as a real-space RG map): its experiment, tables, verdicts and pass marks.

The chapter samples lattices of :math:`N=b^L` spins from each base law, runs the block map
:math:`L` times and measures the k-statistics at every step (:func:`measure_flow`); it then fits the
exponents :math:`y_n` of :math:`\kappa_n(l)\propto b^{ly_n}` (eq. 1.4, exact :math:`y_n=1-n/2`) per law
and combined over laws (:func:`exponent_table`, :func:`combine_exponents`), checks that estimates of
vanishing cumulants are pure noise (:func:`zero_cumulant_z`, :func:`zero_cumulant_check`), compares
one step of skewness and kurtosis with :math:`b^{-1/2}` and :math:`b^{-1}` (:func:`one_step_shapes`)
and the eigenvalue :math:`\lambda_4=b^{-1}` across block sizes (:func:`block_size_eigenvalues`).
The errors of the fits come twice: the naive one of the weighted least squares (levels treated as
independent) and a bootstrap over whole lattices, which keeps the levels' correlation
(:mod:`rgsym.clt.lattice_bootstrap`); the verdict on the reference map (:func:`reference_verdict`)
uses the bootstrap, with a deliberately wrong map as its control (:data:`CONTROL_FIELD_EXPONENT`).
The symbolic checks of the closed forms (eqs. 1.2-1.6) import sympy on use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..config import PROFILES
from ..seeds import lattice_seed, stable_seed
from ..validation import as_choices, as_float, as_int, as_tuple, check_choice
from ..clt.blockmap import (block_map, check_block_size, check_lattice, exact_cumulant_flow, nearest_steps,
                            sample_lattice)
from ..clt.estimators import KSTAT_MAX_ORDER, summary_from_moments, summary_moment_order
from ..clt.kstat_formulas import check_order
from ..clt.lattice_bootstrap import group_sums, lattice_power_sums, moments_from_sums, resampled_kstats, unit_group
from ..clt.laws import LAWS, EmpiricalLaw, empirical_law, get_law
from .ch1_fits import (BOOT_LEVEL, C1REF_STATEMENT, C1REF_TEST, FIT_ORDERS, FIT_SNR_MIN, FIT_Z_MAX,  # noqa: F401
                       Y_FLOOR, ZERO_ABS_MAX, ZERO_RMS_MAX, block_size_eigenvalues, combine_exponents,
                       combined_exponent, eigenvalue_table, exponent_table, fit_check, reference_verdict,
                       worst_z, worst_z_interval, z_extent, zero_cumulant_check, zero_cumulant_z)

DEFAULT_LAWS = ("uniform", "rademacher", "laplace", "exponential", "bimodal")
"""The five base laws Chapter 1 follows by default (all non-Gaussian)."""

DEFAULT_ORDERS = (1, 2, 3, 4, 5, 6)
"""Cumulant orders measured along a flow."""

FLOW_PROFILES = {
    "smoke": {"lattice_size": 64, "n_spins": 2**21, "n_boot": 200},
    "paper": {"lattice_size": 1024, "n_spins": 2**25, "n_boot": 1000},
}
"""Per profile: the target lattice size :math:`N\approx b^L`, the number of spins per flow
(``n_samples = n_spins // N`` independent lattices) and the resamples of the lattice bootstrap."""

MAX_SPINS = 2**27
"""Refuse flows larger than this many spins (about 1 GiB in float64) before allocating anything."""

COST_FIXED_S, COST_PER_SPIN_S = 9.3, 1.74e-7
r"""Chapter 1's cost model, :math:`t \approx a + c \cdot (\text{laws} \times n_{\rm samples} \times N)`
seconds: a straight line through its two profiles executed from an empty cache by
``benchmarks/bench_book.py`` on the 2-core calibration machine of :mod:`rgsym.learn.estimates` (smoke:
1.05e7 spins in 11.1 s; paper: 1.68e8 spins in 38.6 s). It lumps in the bootstrap, whose resamples
(``n_boot``) differ between the two; a planning number, not a measurement."""


def cost_line(settings: "FlowSettings") -> str:
    """The estimate Chapter 1 states before it samples: spins, the modelled seconds, and the spin limit
    (:data:`MAX_SPINS` per flow, checked by :func:`resolve_flow_settings`)."""
    spins = len(settings.laws) * settings.n_samples * settings.lattice_size
    t = COST_FIXED_S + COST_PER_SPIN_S * spins
    return (f"Estimated cost: {spins:.3g} spins over {len(settings.laws)} laws, about {t:.0f} s on the calibration "
            f"machine (a 2-core Xeon); limit {MAX_SPINS:.3g} spins per flow.")


BLOCK_SIZES = (2, 3, 4)
"""The block sizes of the comparison across :math:`b` (Figure 4)."""

BOOT_UNITS = 4096
"""At most this many resampling units per flow: beyond it, fixed groups of consecutive whole lattices
(:func:`~rgsym.clt.lattice_bootstrap.unit_group`) are the units -- again i.i.d., every level of a unit
from the same lattices; it bounds the cost of the counts and of the product by the per-unit sums."""

CONTROL_FIELD_EXPONENT = 0.45
r"""The control of the verdict: the deliberately wrong map :math:`s'=b^{-a}\sum s` with this ``a``
instead of :math:`1/2` (its exponents are :math:`1-an`, not :math:`1-n/2`); the test must fail on it."""

CONTROL_SPINS = 2**21
"""Spins per law of the control flows (at most the run's): fewer spins only widen the control's errors,
which makes its failure harder, never easier."""

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
    n_boot: int = 0  # resamples of the lattice bootstrap (0: none)

    @property
    def n_spins(self) -> int:
        return self.lattice_size * self.n_samples

    def stamp(self) -> str:
        """The parameters that make a figure, for :func:`rgsym.plotting.stamp`."""
        return (f"b={self.b}, L={self.steps}, N={self.lattice_size}, "
                f"n_samples={self.n_samples} lattices, {self.n_boot} lattice-bootstrap resamples, "
                f"profile={self.profile}")

    def with_block_size(self, b) -> "FlowSettings":
        """The same experiment at another ``b``: the lattice closest to this one in size and the
        same number of spins (so every ``b`` gets the same statistics)."""
        b = check_block_size(b)
        steps = nearest_steps(self.lattice_size, b)
        size = b**steps
        n_samples = max(self.n_spins // size, 2 * max(self.orders))
        return replace(self, b=b, steps=steps, lattice_size=size, n_samples=n_samples)

    def control(self) -> "FlowSettings":
        """The control's settings: the same lattices, at most :data:`CONTROL_SPINS` spins per law."""
        n_samples = min(self.n_samples, max(CONTROL_SPINS // self.lattice_size, 2 * max(self.orders)))
        return replace(self, n_samples=n_samples)


def check_orders(orders: Sequence[int], *, sort: bool = True) -> tuple[int, ...]:
    """The cumulant orders as a tuple of ints in ``1..KSTAT_MAX_ORDER``
    (:func:`~rgsym.clt.kstat_formulas.check_order`), at least one; sorted without repeats for
    ``sort``, else as given."""
    orders = tuple(orders)
    if not orders:
        raise ValueError(f"need at least one cumulant order: cumulant orders must lie in 1..{KSTAT_MAX_ORDER}, "
                         "got none")
    try:
        checked = tuple(check_order(n) for n in orders)
    except ValueError as err:
        raise ValueError(f"cumulant orders must lie in 1..{KSTAT_MAX_ORDER}, got {orders}: {err}") from None
    return tuple(sorted(set(checked))) if sort else checked


def resolve_flow_settings(profile: str = "smoke", b=2, steps=None, n_samples=None, lattice_size=None,
                          laws=None, orders: Sequence[int] = DEFAULT_ORDERS, n_boot=None) -> FlowSettings:
    """Validate Chapter 1's knobs and fill the profile's defaults, before any heavy work.

    ``laws``: names from :data:`~rgsym.clt.laws.LAWS` (default :data:`DEFAULT_LAWS`);
    ``b``: integer ``>= 2``; ``lattice_size``: ``b**L`` with ``L >= 1`` (default ``b**steps``);
    ``steps``: ``L`` (default: the lattice closest to the profile's target size);
    ``n_samples``: independent lattices (default: the profile's spin budget over ``N``);
    ``n_boot``: resamples of the lattice bootstrap (default: the profile's; 0 for none, else >= 10).
    """
    check_choice("profile", profile, PROFILES)
    b = check_block_size(b)
    laws = DEFAULT_LAWS if laws is None else as_tuple("laws", laws)
    if not laws:
        raise ValueError(f"laws must name at least one base law; valid choices are: {', '.join(LAWS)}")
    laws = as_choices("laws", laws, LAWS, kind="base law")
    orders = check_orders(orders)
    if steps is not None:
        steps = as_int("steps", steps, lo=1)
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
    n_samples = as_int("n_samples", n_samples)
    if n_samples < minimum:
        raise ValueError(f"n_samples must be >= {minimum} (the last step has only n_samples values), "
                         f"got {n_samples}")
    if size * n_samples > MAX_SPINS:
        raise ValueError(f"lattice_size * n_samples = {size * n_samples} spins exceeds the limit "
                         f"{MAX_SPINS}; use fewer samples or steps")
    n_boot = FLOW_PROFILES[profile]["n_boot"] if n_boot is None else as_int("n_boot", n_boot, lo=0)
    if 0 < n_boot < 10:
        raise ValueError(f"n_boot must be 0 (no bootstrap) or at least 10, got {n_boot}")
    return FlowSettings(profile, b, steps, size, n_samples, laws, orders, n_boot)


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
    exact: np.ndarray  # (steps+1, n_orders) b**(l(1-n/2)) kappa_n (nan where infinite): eq. 1.4
    skewness: np.ndarray  # (steps+1,)
    skewness_se: np.ndarray
    excess_kurtosis: np.ndarray
    excess_kurtosis_se: np.ndarray
    laws: tuple[EmpiricalLaw, ...] = field(repr=False)  # histogram / atoms of the block variable (or none)
    k_boot: np.ndarray = field(default=None, repr=False)  # (n_boot, steps+1, n_orders) lattice resamples
    se_boot: np.ndarray = field(default=None, repr=False)  # (n_boot, steps+1, n_orders)
    field_exponent: float = 0.5  # the map s' = b**(-a) sum s; 1/2 is the CLT's block map

    @property
    def ell(self) -> np.ndarray:
        return np.arange(self.steps + 1)

    @property
    def n_boot(self) -> int:
        return 0 if self.k_boot is None else int(self.k_boot.shape[0])

    def column(self, n: int) -> int:
        """Index of order ``n`` in the last axis of :attr:`k`."""
        check_choice("measured cumulant order", n, self.orders)
        return self.orders.index(n)


def derived_seed(seed: int, law: str, b: int) -> int:
    """An independent stream per (seed, law, b), so adding a law leaves the others' numbers alone."""
    return lattice_seed(seed, LAWS.index(law), b)


def measure_flow(law: str, b, steps: int, n_samples: int, *, seed: int = 0, device="cpu",
                 orders: Sequence[int] = DEFAULT_ORDERS, bins: int = 80, x_range=(-4.0, 4.0),
                 n_boot: int = 0, field_exponent: float = 0.5, histograms: bool = True) -> FlowResult:
    r"""Sample ``n_samples`` lattices of ``b**steps`` spins from ``law``, run the map
    :math:`s'=b^{-a}\sum_\text{block}s` (``a = field_exponent``; :math:`1/2` is the block map, eq. 1.1)
    ``steps`` times (torch, float64, on ``device``) and measure at every step the k-statistics with
    standard errors, the skewness and excess kurtosis, the empirical law of the block variable (with
    ``histograms``) and, for ``n_boot > 0``, the k-statistics and errors of every step on ``n_boot``
    resamples of whole lattices (:func:`~rgsym.clt.lattice_bootstrap.resampled_kstats`; in fixed groups
    of lattices beyond :data:`BOOT_UNITS` units).

    At step :math:`l` the :math:`n_\text{samples}b^{L-l}` block variables are i.i.d., so all of them
    are pooled; the pooled moments are the sums of the per-lattice power sums the bootstrap resamples.
    ``exact`` is always the CLT's eq. 1.4 (what is tested, also for a control map). Cached: the same
    arguments return the same (read-only) result.
    """
    b = check_block_size(b)
    check_choice("base law", law, LAWS)
    steps = as_int("steps", steps)
    n_samples = as_int("n_samples", n_samples)
    orders = check_orders(orders, sort=False)
    n_boot = as_int("n_boot", n_boot, lo=0)
    a = as_float("field exponent a", field_exponent, lo=0.0, open_lo=True)
    seed, bins = as_int("seed", seed, lo=0), as_int("bins", bins, lo=1)
    return _measure_flow(law, b, steps, n_samples, seed, str(device), orders, bins,
                         (float(x_range[0]), float(x_range[1])), n_boot, a, bool(histograms))


@lru_cache(maxsize=64)
def _measure_flow(law, b, steps, n_samples, seed, device, orders, bins, x_range, n_boot, a,
                  histograms) -> FlowResult:
    import torch

    if steps < 1 or n_samples < 2 * max(orders) or n_samples * b**steps > MAX_SPINS:
        raise ValueError(f"bad flow size: steps={steps}, n_samples={n_samples} (use resolve_flow_settings)")
    dist = get_law(law)
    gen = torch.Generator(device=device).manual_seed(derived_seed(seed, law, b))
    s = sample_lattice(dist, n_samples, b**steps, gen, dtype=torch.float64)
    rmax = summary_moment_order(orders)
    group = unit_group(n_samples, BOOT_UNITS)
    rows, empirical, sums, centres = [], [], [], []
    for ell in range(steps + 1):
        if ell:
            s = block_map(s, b) if a == 0.5 else block_map(s, b) * float(b) ** (0.5 - a)
        centre = float(s.mean())
        P = lattice_power_sums(s, rmax, centre)  # (n_samples, rmax + 1)
        mean, m = moments_from_sums(P.sum(0), centre)
        rows.append(summary_from_moments(mean, m, n_samples * b ** (steps - ell), orders))
        if histograms:
            empirical.append(empirical_law(s.reshape(-1), bins=bins, x_range=x_range))
        if n_boot:
            sums.append(group_sums(P, group))
        centres.append(centre)
    del s
    kappa = []
    for n in orders:
        try:
            kappa.append(dist.cumulant(n))
        except ValueError:  # infinite (Student-t beyond nu)
            kappa.append(math.nan)

    def frozen(arr):
        arr = np.asarray(arr, dtype=float)
        arr.setflags(write=False)
        return arr

    def stacked(key):
        return frozen(np.stack([r[key] for r in rows]))

    k_boot = se_boot = None
    if n_boot:
        rng = np.random.default_rng(stable_seed("ch1 lattice bootstrap", seed, law, b, steps, n_samples, a))
        k_boot, se_boot = map(frozen, resampled_kstats(np.stack(sums, axis=1), centres, orders, n_boot, rng))
    exact = frozen(exact_cumulant_flow(kappa, b, steps, orders))
    sizes = np.array([n_samples * b ** (steps - ell) for ell in range(steps + 1)])
    sizes.setflags(write=False)
    return FlowResult(law, b, steps, n_samples, orders, sizes, stacked("k"), stacked("se"), exact,
                      stacked("skewness"), stacked("skewness_se"), stacked("excess_kurtosis"),
                      stacked("excess_kurtosis_se"), tuple(empirical), k_boot, se_boot, a)


def measure_flows(settings: FlowSettings, *, seed: int = 0, device="cpu", field_exponent: float = 0.5,
                  histograms: bool = True) -> dict[str, FlowResult]:
    """:func:`measure_flow` for every law of ``settings`` (with its ``n_boot`` lattice resamples):
    ``{law: FlowResult}``."""
    return {law: measure_flow(law, settings.b, settings.steps, settings.n_samples, seed=seed, device=device,
                              orders=settings.orders, n_boot=settings.n_boot, field_exponent=field_exponent,
                              histograms=histograms) for law in settings.laws}


def measure_control(settings: FlowSettings, *, seed: int = 0, device="cpu") -> dict[str, FlowResult]:
    """The control flows: the deliberately wrong map :data:`CONTROL_FIELD_EXPONENT` on the lattices of
    :meth:`FlowSettings.control`, with the same bootstrap (no histograms)."""
    return measure_flows(settings.control(), seed=seed, device=device, field_exponent=CONTROL_FIELD_EXPONENT,
                         histograms=False)


def one_step_shapes(results: dict[str, FlowResult], laws: Sequence[str], b: int) -> dict:
    r"""Skewness and excess kurtosis after one step against :math:`\gamma_1b^{-1/2}` and
    :math:`\gamma_2b^{-1}`: for the exponential law (else the first skewed law, else the first law)
    and for the Laplace law (else the first law). Keys are the chapter's glue names."""
    skewed = [law for law in laws if get_law(law).cumulant(3) != 0]
    skew_law = "exponential" if "exponential" in skewed else (skewed or list(laws))[0]
    res = results[skew_law]
    out = {"skew_law": skew_law, "skew_law_g1": float(get_law(skew_law).cumulant(3)),
           "skew_exp_1": float(res.skewness[1]), "skew_exp_1_se": float(res.skewness_se[1]),
           "skew_exp_1_pred": float(get_law(skew_law).cumulant(3) * b ** -0.5)}
    kurt_law = "laplace" if "laplace" in results else laws[0]
    res = results[kurt_law]
    out.update({"kurt_law": kurt_law, "kurt_1": float(res.excess_kurtosis[1]),
                "kurt_1_se": float(res.excess_kurtosis_se[1]),
                "kurt_1_pred": float(get_law(kurt_law).cumulant(4) / b)})
    return out


def cumulant_map_check(cmap: dict, order: int) -> bool:
    r"""The symbolic cumulant map ``cmap`` (:func:`~rgsym.clt.closed_forms.cumulant_map`) and the
    eigenvalues from an arbitrary CGF both give :math:`\lambda_n=b^{1-n/2}` for ``n = 1..order``."""
    import sympy as sp

    from ..clt import closed_forms as cf

    return all(
        sp.simplify(cmap[n] - cf.b ** (1 - sp.Rational(n, 2)) * cf.kappa(n)) == 0
        and sp.simplify(cf.eigenvalue(n) - cf.b ** (1 - sp.Rational(n, 2))) == 0
        for n in range(1, order + 1))


def function_space_check(real, lin: dict) -> bool:
    r"""The Gaussian is a fixed point in Fourier space and (``real``, the real-space map of it at
    :math:`b=2`) in real space, and the Hermite perturbations ``lin = {n: eigenvalue}`` have
    eigenvalues :math:`b^{1-n/2}`."""
    import sympy as sp

    from ..clt import closed_forms as cf

    return (cf.fixed_point_residual(cf.gaussian_cf()) == 0
            and sp.simplify(real - cf.gaussian_density()) == 0
            and all(sp.simplify(v - cf.b ** (1 - sp.Rational(n, 2))) == 0 for n, v in lin.items()))
