r"""Chapter 1 (the CLT as a real-space RG map): its experiment, tables, verdicts and pass marks.

The chapter samples lattices of :math:`N=b^L` spins from each base law, runs the block map
:math:`L` times and measures the k-statistics at every step (:func:`measure_flow`); it then fits the
exponents :math:`y_n` of :math:`\kappa_n(l)\propto b^{ly_n}` (eq. 1.4, exact :math:`y_n=1-n/2`) per law
and combined over laws (:func:`exponent_table`, :func:`combine_exponents`), checks that estimates of
vanishing cumulants are pure noise (:func:`zero_cumulant_z`, :func:`zero_cumulant_check`), compares
one step of skewness and kurtosis with :math:`b^{-1/2}` and :math:`b^{-1}` (:func:`one_step_shapes`)
and the eigenvalue :math:`\lambda_4=b^{-1}` across block sizes (:func:`block_size_eigenvalues`).
The symbolic checks of the closed forms (eqs. 1.2-1.6) import sympy on use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..config import PROFILES
from ..seeds import lattice_seed
from ..validation import as_choices, as_int, as_tuple, check_choice
from ..clt.blockmap import (block_map, check_block_size, check_lattice, exact_cumulant_flow, fit_exponent,
                            nearest_steps, sample_lattice)
from ..clt.estimators import KSTAT_MAX_ORDER, cumulant_summary
from ..clt.laws import LAWS, EmpiricalLaw, empirical_law, get_law

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

FIT_ORDERS = (3, 4, 5, 6)
"""The orders whose exponents are fitted and tabulated."""

BLOCK_SIZES = (2, 3, 4)
"""The block sizes of the comparison across :math:`b` (Figure 4)."""

FIT_Z_MAX = 3
"""Pass mark of the exponent fits: every :math:`|y_\text{fit}-y_\text{exact}|/\text{se}` below this."""

ZERO_RMS_MAX = 1.5
"""Pass mark of the vanishing cumulants: the root-mean-square of :math:`k/\text{se}` below this ..."""

ZERO_ABS_MAX = 4
"""... and no single :math:`|k/\text{se}|` beyond this (the largest of a few hundred standard normal
draws rarely is)."""


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

    ``laws``: names from :data:`~rgsym.clt.laws.LAWS` (default :data:`DEFAULT_LAWS`);
    ``b``: integer ``>= 2``; ``lattice_size``: ``b**L`` with ``L >= 1`` (default ``b**steps``);
    ``steps``: ``L`` (default: the lattice closest to the profile's target size);
    ``n_samples``: independent lattices (default: the profile's spin budget over ``N``).
    """
    check_choice("profile", profile, PROFILES)
    b = check_block_size(b)
    laws = DEFAULT_LAWS if laws is None else as_tuple("laws", laws)
    if not laws:
        raise ValueError(f"laws must name at least one base law; valid choices are: {', '.join(LAWS)}")
    laws = as_choices("laws", laws, LAWS, kind="base law")
    orders = tuple(sorted({as_int("cumulant order", n) for n in orders}))
    if not orders or orders[0] < 1 or orders[-1] > KSTAT_MAX_ORDER:
        raise ValueError(f"cumulant orders must lie in 1..{KSTAT_MAX_ORDER}, got {orders}")
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
    return lattice_seed(seed, LAWS.index(law), b)


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
    steps = as_int("steps", steps)
    n_samples = as_int("n_samples", n_samples)
    orders = tuple(as_int("cumulant order", n) for n in orders)
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


def exponent_table(results: dict[str, FlowResult], orders: Sequence[int] = FIT_ORDERS, *, snr_min: float = 3.0):
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


# --------------------------------------------------------------------------------------------
# the chapter's verdicts
# --------------------------------------------------------------------------------------------
def fit_check(table) -> dict:
    """The exponent fits against the exact :math:`y_n`: ``n_fits``, ``max_z`` (the largest
    :math:`|z|`, nan without fits) and ``ok`` (every :math:`|z|` below :data:`FIT_Z_MAX`)."""
    if not len(table):
        return {"n_fits": 0, "max_z": float("nan"), "ok": False}
    max_z = np.max(np.abs(table.z))
    return {"n_fits": int(len(table)), "max_z": float(max_z), "ok": bool(max_z < FIT_Z_MAX)}


def zero_cumulant_check(z: np.ndarray) -> dict:
    """The estimates of vanishing cumulants in units of their error (:func:`zero_cumulant_z`):
    ``count``, ``rms``, ``max`` (largest magnitude) and ``ok`` (pure noise: rms below
    :data:`ZERO_RMS_MAX` and no estimate beyond :data:`ZERO_ABS_MAX`)."""
    rms = np.sqrt(np.mean(z**2))
    largest = np.max(np.abs(z))
    return {"count": int(z.size), "rms": float(rms), "max": float(largest),
            "ok": bool(rms < ZERO_RMS_MAX and largest < ZERO_ABS_MAX)}


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


def block_size_eigenvalues(by_b: dict[int, dict[str, FlowResult]], n: int = 4) -> dict[int, tuple[float, float]]:
    r"""``{b: (lambda_n, se)}``: the eigenvalue :math:`\lambda_n=b^{y_n}` from the combined exponent
    (:func:`combined_exponent`) of each block size's flows, with its propagated error."""
    out = {}
    for bb, results in by_b.items():
        y, se = combined_exponent(results, n)
        out[bb] = (float(bb**y), float(bb**y * np.log(bb) * se))
    return out


def eigenvalue_table(lam: dict[int, tuple[float, float]]):
    """:func:`block_size_eigenvalues` as a DataFrame against the exact :math:`1/b` (for n = 4)."""
    import pandas as pd

    return pd.DataFrame({"b": list(lam), "fitted lambda_4": [v[0] for v in lam.values()],
                         "error": [v[1] for v in lam.values()], "exact 1/b": [1 / bb for bb in lam]})


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
