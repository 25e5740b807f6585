r"""The networks that learn the RG step: block-map MLPs (Chapter 2) and lattice GNNs (Chapter 4).

=====================================================  ==================  =========
concept                                                module              chapter
=====================================================  ==================  =========
activations :math:`\phi` with their odd/polynomial      ``activations``     2
facts
MLP ensembles with built-in weight symmetries           ``mlp``             2
(``MLPConfig``, ``EnsembleMLP``, ``SYMMETRIES``)
the plain forward pass :math:`g(s)` of stacked layers   ``forward``         2, 3, 6
exact weights for :math:`T_b` (``exact_layers``)        ``exact``           2
weight constraints as projections, graded tying         ``tying``           2, 6
classes linear by construction (eqs. 2.1-2.2)           ``expressivity``    2
helpers shared by MLP and GNN ensembles, the learned    ``ensemble``        2, 4
flow :math:`f^{\circ l}`
lattice graphs, block pooling (torch-geometric)         ``graphs``          4
the architecture of one GNN (``GNNConfig``)             ``gnn_config``      4, 5
the message-passing layer, eq. G1                       ``typed_aggregation`` 4, 5
GNN ensembles, eqs. G1-G2 (``EnsembleGNN``)             ``gnn``             4, 5
=====================================================  ==================  =========

``import rgsym.nets`` loads neither torch-geometric nor pandas: :mod:`rgsym.nets.gnn` (which subclasses
:class:`torch_geometric.nn.MessagePassing`) is imported on first use of one of its names.
"""
from __future__ import annotations

import importlib

from .activations import ACTIVATIONS, DEFAULT_ALPHA, Activation, get_activation
from .ensemble import flow, rg_step
from .exact import exact_layers, from_layers, tied_bias_layers
from .forward import plain_forward
from .graphs import EDGE_VARIANTS, graph_hierarchy, lattice_graph
from .mlp import MAX_DEPTH, SYMMETRIES, EnsembleMLP, MLPConfig, symmetry_flags

_LAZY = {"linear_by_construction": "expressivity", "nonlinear_fraction": "expressivity",
         "activation_algebra": "expressivity", "GNNConfig": "gnn_config", "EnsembleGNN": "gnn", "TypedSumAggregation": "typed_aggregation",
         "GNN_SYMMETRIES": "gnn_config", "MAX_GNN_DEPTH": "gnn_config"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ACTIVATIONS", "DEFAULT_ALPHA", "Activation", "get_activation", "flow", "rg_step", "exact_layers",
           "from_layers", "tied_bias_layers", "plain_forward", "EDGE_VARIANTS", "graph_hierarchy", "lattice_graph",
           "MAX_DEPTH", "SYMMETRIES", "EnsembleMLP", "MLPConfig", "symmetry_flags", *_LAZY]
