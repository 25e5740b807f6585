r"""The central limit theorem as a real-space RG map (Chapter 1): laws, cumulants, the block map.

=====================================================  ==========================  ===============
concept                                                equation                    module
=====================================================  ==========================  ===============
standardised base laws, exact :math:`\kappa_n`,        §"Base laws"                ``laws``
empirical law of a sample
moments <-> cumulants, :math:`\kappa_n` over           K1                          ``conversions``
partitions, :math:`(N)_\ell`
k-statistics in power sums, exact                      K2-K3, K4, K6-K7            ``kstat_formulas``
:math:`\mathrm{Var}\,k_n`
central sample moments (numpy / torch, float64)        --                          ``sample_moments``
k-statistics and standard errors, skewness, kurtosis   K1-K7                       ``estimators``
block map, flows, lattices, exact flow, exponent fit   1.1, 1.3, 1.4               ``blockmap``
bootstrap over whole lattices (every level, one        1.4 (its errors)            ``lattice_bootstrap``
resample), exponent fits per resample
closed forms with sympy (CGF, eigenvalues, Hermite     1.2-1.6                     ``closed_forms``
eigenfunctions, k-statistic formulas)
=====================================================  ==========================  ===============

:func:`exact_cumulant_flow` (eq. 1.4) is *the* exact flow every other chapter compares against.
``closed_forms`` needs sympy and is not imported here: use ``from rgsym.clt import closed_forms``
(or ``rgsym.clt.closed_forms``, loaded on first access).
"""
from __future__ import annotations

import importlib

from .laws import LAWS, TRAIN_LAWS, BaseLaw, EmpiricalLaw, bernoulli, empirical_law, get_law, unseen_laws
from .conversions import cumulants_to_moments, moments_to_cumulants
from .estimators import (KSTAT_MAX_ORDER, SE_METHODS, cumulant_summary, excess_kurtosis, kstat, kstat_se, kstats,
                         kstats_from_moments, skewness, standardised_cumulant, summary_from_moments)
from .blockmap import (EigenFit, block_map, check_block_size, check_lattice, exact_cumulant_flow, fit_exponent,
                       fit_points, nearest_steps, rg_flow, sample_lattice)
from .lattice_bootstrap import (bootstrap_se, exponent_replicates, group_sums, lattice_power_sums,
                                moments_from_sums, resample_counts, resampled_kstats, unit_group)


def __getattr__(name: str):
    """Load ``closed_forms`` (sympy) on first access."""
    if name == "closed_forms":
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LAWS", "TRAIN_LAWS", "BaseLaw", "EmpiricalLaw", "bernoulli", "empirical_law", "get_law", "unseen_laws",
    "cumulants_to_moments", "moments_to_cumulants",
    "KSTAT_MAX_ORDER", "SE_METHODS", "cumulant_summary", "excess_kurtosis", "kstat", "kstat_se", "kstats",
    "skewness", "standardised_cumulant", "kstats_from_moments", "summary_from_moments",
    "EigenFit", "block_map", "check_block_size", "check_lattice", "exact_cumulant_flow", "fit_exponent",
    "fit_points", "nearest_steps", "rg_flow", "sample_lattice",
    "bootstrap_se", "exponent_replicates", "group_sums", "lattice_power_sums", "moments_from_sums",
    "resample_counts", "resampled_kstats", "unit_group",
]
