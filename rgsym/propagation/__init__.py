r"""Cumulant propagation through block-map MLPs and lattice GNNs (Chapters 3 and 5; SCIENCE.md §4).

After K. Fischer et al., *Decomposing neural networks as mappings of correlation functions*,
Phys. Rev. Research 4, 043143 (2022): a network maps the cumulants :math:`\kappa_n` of its input to
the cumulants :math:`\kappa'_n` of its output.

======================================================================================================  ===========================================
concept (equation)                                                                                      module
======================================================================================================  ===========================================
polynomials in the block inputs, the degree cap of ``hermite`` (eq. 3.6, ``eq-c3-hermite``)             :mod:`.polynomials`
the input law: :class:`InputCumulants`                                                                  :mod:`.inputs`
plain networks, antisymmetrisation, forward pass                                                        :mod:`.networks`
:func:`propagate` and the ``exact`` path (eq. 3.4, ``eq-c3-leonov``)                                    :mod:`.methods`
``gaussian`` (eq. 3.5, ``eq-c3-mehler``) and ``hermite`` (eq. 3.6, ``eq-c3-hermite``)                   :mod:`.hermite`
``quadrature`` (eq. 3.7, ``eq-c3-gauss``), Gauss rules, the flow closure (eq. 3.11, ``eq-c3-closure``)  :mod:`.quadrature`
Leonov-Shiryaev: connected set partitions, the product loop                                             :mod:`.partitions`
dense cumulant tensors (eqs. 3.3, 3.4, ``eq-c3-affine``, ``eq-c3-leonov``; closure P3)                  :mod:`.tensors`
flow in cumulant space, Jacobian, fixed points (eq. 3.2, ``eq-c3-flow``)                                :mod:`.flows`
per-member predictions of trained ensembles, Monte Carlo                                                :mod:`.ensembles`
message passing, layer by layer (Chapter 5, eqs. P1-P3)                                                 :mod:`.gnn` (pandas; not imported here)
the analytic account in sympy (eqs. 3.8-3.10, ``eq-c3-tied`` to ``eq-c3-fit``)                          :mod:`.analytic` (sympy; not imported here)
======================================================================================================  ===========================================

Importing this package loads neither sympy nor torch_geometric; import :mod:`rgsym.propagation.gnn`
and :mod:`rgsym.propagation.analytic` explicitly.
"""
from .ensembles import (MC_CHUNK, MemberPrediction, MissingCumulantError, existing_order, gaussian_truncation, growth_degree, learned_eigenvalues, measure_cumulants,
                        measure_flow, predict_cumulants, predict_flow)
from .flows import FixedPoint, cumulant_flow, cumulant_map, exact_flow, flow_fixed_point, flow_jacobian
from .hermite import GH_NODES, gaussian_activation, hermite_coefficients
from .inputs import InputCumulants, iid_inputs, iid_raw_moments, law_inputs, tensor_inputs
from .methods import METHODS, Propagation, output_cumulants, propagate, required_input_order
from .networks import Network, antisymmetrised_layers, as_networks, network_forward
from .partitions import activation_terms, partition_terms
from .polynomials import DTYPE, monomial_basis, n_monomials, poly_expect, poly_mul, project_degree
from .quadrature import (MAX_NODES, discrete_gauss_rule, gauss_rule, product_rule, quadrature_flow,
                         rule_cumulants)
from .tensors import (MAX_PARTITION_ATOMS, affine_cumulants, polynomial_activation_cumulants,
                      truncated_activation_cumulants)

__all__ = [
    "METHODS", "GH_NODES", "MAX_NODES", "MAX_PARTITION_ATOMS", "DTYPE",
    "n_monomials", "monomial_basis", "poly_mul", "poly_expect", "project_degree",
    "InputCumulants", "iid_inputs", "iid_raw_moments", "law_inputs", "tensor_inputs",
    "Network", "as_networks", "antisymmetrised_layers", "network_forward",
    "Propagation", "propagate", "required_input_order", "output_cumulants",
    "hermite_coefficients", "gaussian_activation",
    "gauss_rule", "discrete_gauss_rule", "product_rule", "rule_cumulants", "quadrature_flow",
    "partition_terms", "activation_terms",
    "affine_cumulants", "polynomial_activation_cumulants", "truncated_activation_cumulants",
    "cumulant_map", "cumulant_flow", "exact_flow", "flow_jacobian", "FixedPoint", "flow_fixed_point",
    "MC_CHUNK", "MissingCumulantError", "growth_degree", "existing_order",
    "MemberPrediction", "predict_cumulants", "gaussian_truncation", "measure_cumulants", "predict_flow",
    "measure_flow", "learned_eigenvalues",
]
