r"""Distances from parameter and function symmetries, measured on whole ensembles (Chapter 6).

After L. Ziyin et al. (arXiv:2502.05300): a parameter symmetry :math:`G` fixes a linear subspace
:math:`\Theta_G`, the group average :math:`P_G` projects onto it, and :math:`\Delta_G(\theta) =
\lVert\theta - P_G\theta\rVert` is the distance from it. Training *breaks* a symmetry when
:math:`\Delta_G` grows away from zero and *restores* it when it returns.

===============================================  ==========================  ==============
concept                                          equations                   module
===============================================  ==========================  ==============
distances of the weights from the symmetric      (6.1)-(6.4), (6.8), (6.9)   ``parameters``
subspaces (perm-in, tied-hidden, odd, Q, shared)
symmetry of the learned function (even part,     (6.5)-(6.7)                 ``functions``
permutation asymmetry, nonlinear part)
all measures of an ensemble; the training-time                               ``logger``
callback :class:`SymmetryLogger`
the runs: :class:`BreakingSpec`,                                             ``breaking``
:func:`run_breaking`, :class:`BreakingResult`
===============================================  ==========================  ==============

Chapter 6's analysis of the runs (breaking, restoration, the verdict on claim C5 and its thresholds)
is in :mod:`rgsym.chapters.ch6_symmetry`.
"""
from .breaking import FAMILIES, INIT_NAMES, BreakingResult, BreakingSpec, run_breaking
from .functions import FUNCTION_MEASURES, even_part, function_distances, nonlinear_part, perm_asymmetry
from .logger import ERROR_MEASURES, SymmetryLogger, model_facts, symmetry_measures
from .parameters import (PARAM_MEASURES, check_layers, count_distinct_units, gnn_shared_distance, hidden_units,
                         mlp_apply, odd_distance, pairwise_unit_distances, parameter_distances, perm_in_distance,
                         quadratic_form_size, taylor_quadratic_form, tied_hidden_distance)

__all__ = [
    "PARAM_MEASURES", "FUNCTION_MEASURES", "ERROR_MEASURES",
    "check_layers", "mlp_apply", "hidden_units", "perm_in_distance", "pairwise_unit_distances",
    "count_distinct_units", "tied_hidden_distance", "odd_distance", "taylor_quadratic_form",
    "quadratic_form_size", "even_part", "perm_asymmetry", "nonlinear_part", "parameter_distances",
    "function_distances", "gnn_shared_distance", "model_facts", "symmetry_measures", "SymmetryLogger",
    "INIT_NAMES", "FAMILIES", "BreakingSpec", "BreakingResult", "run_breaking",
]
