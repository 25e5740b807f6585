r"""Distances from parameter and function symmetries, measured on whole ensembles (Chapter 6).

After L. Ziyin et al. (arXiv:2502.05300): a parameter symmetry :math:`G` fixes a linear subspace
:math:`\Theta_G`, the group average :math:`P_G` projects onto it, and :math:`\Delta_G(\theta) =
\lVert\theta - P_G\theta\rVert` is the distance from it. Training *breaks* a symmetry when
:math:`\Delta_G` grows away from zero and *restores* it when it returns.

===============================================  ==========================  ==============
concept                                          equations                   module
===============================================  ==========================  ==============
distances of the weights from the symmetric      (6.1)-(6.4), (6.3'),        ``parameters``
subspaces (perm-in, tied-hidden, odd, Q)         (6.8)
and their scale-free forms r = Delta/||theta||
the same for GNNs (shared)                       (6.9)                       ``gnn_parameters``
symmetry of the learned function (even part,     (6.5)-(6.7), (6.5'),        ``functions``
permutation asymmetry, nonlinear part, and       (6.6')
their relative forms
all measures of an ensemble; the training-time                               ``logger``
callback :class:`SymmetryLogger`
the runs: :class:`BreakingSpec`,                                             ``breaking``
:func:`run_breaking`, :class:`BreakingResult`
===============================================  ==========================  ==============

Chapter 6's analysis of the runs (breaking, restoration, the verdict on claim C5 and its thresholds)
is in :mod:`rgsym.chapters.ch6_symmetry`.
"""
from .breaking import FAMILIES, INIT_NAMES, SYM_PREFIX, BreakingResult, BreakingSpec, init_kind, run_breaking
from .functions import FUNCTION_MEASURES, even_part, function_distances, nonlinear_part, perm_asymmetry
from .logger import ERROR_MEASURES, SymmetryLogger, model_facts, symmetry_measures
from .gnn_parameters import gnn_shared_distance, gnn_theta_norm
from .parameters import (PARAM_MEASURES, REL_TOL, check_layers, count_distinct_units, hidden_perm_distance, hidden_units, mlp_apply, odd_distance,
                         pairwise_unit_distances, parameter_distances, perm_in_distance, project_hidden_perm,
                         quadratic_form_size, relative, taylor_quadratic_form, theta_norm, tied_hidden_distance)

__all__ = [
    "PARAM_MEASURES", "FUNCTION_MEASURES", "ERROR_MEASURES",
    "check_layers", "mlp_apply", "hidden_units", "perm_in_distance", "pairwise_unit_distances",
    "count_distinct_units", "tied_hidden_distance", "odd_distance", "taylor_quadratic_form",
    "quadratic_form_size", "even_part", "perm_asymmetry", "nonlinear_part", "parameter_distances",
    "function_distances", "gnn_shared_distance", "model_facts", "symmetry_measures", "SymmetryLogger",
    "INIT_NAMES", "FAMILIES", "BreakingSpec", "BreakingResult", "run_breaking",
    "REL_TOL", "theta_norm", "relative", "project_hidden_perm", "hidden_perm_distance", "gnn_theta_norm",
    "SYM_PREFIX", "init_kind",
]
