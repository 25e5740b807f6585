"""rgsym: the companion package of the book *Symmetry and generalisation in neural
approximations of renormalisation transformations* (after Ashworth, Caso & Lio, arXiv:2510.16591).

The short public API below is re-exported from the modules that hold the details; each name is
documented where it is defined, with the chapter and equation it implements:

========================  ==========================================================  =========
module                    what it holds                                               chapter
========================  ==========================================================  =========
``config``                profiles, devices, seeds, chapter set-up                    all
``distributions``         the base laws with their exact cumulants                    1
``cumulants``             k-statistics, moment/cumulant conversion                    1
``rg``                    the block map, RG flows, exponent fits                      1
``symbolic``              closed forms of the CLT map (sympy)                         1
``activations``           activation functions by name                                2
``models``                batched MLP ensembles under weight symmetries                2
``training``              batched training of ensembles                               2
``measures``              generalisation and flow measures                            2
``sweeps``                resumable, cached sweeps over the grid                      2
``propagation``           cumulant propagation through networks                       3
``analytic``              exact (symbolic) statements about constrained networks      3
``graphs``                lattice graphs and their coarse-graining hierarchy          4
``gnn``                   GNN ensembles and their sweeps (torch-geometric)            4
``gnn_propagation``       cumulant propagation through GNNs                           5
``symmetry``              symmetry-breaking measures and training logs                6
========================  ==========================================================  =========

Modules that pull in heavy dependencies (sympy, torch-geometric) are imported on first use, so
``import rgsym`` stays quick.
"""
from __future__ import annotations

import importlib

from .config import PROFILES, DEVICES, check_choice, resolve_device, seed_everything, setup_chapter
from .distributions import LAWS, TRAIN_LAWS, get_law, unseen_laws
from .cumulants import (moments_to_cumulants, cumulants_to_moments, kstat, kstat_se, kstats, skewness,
                        excess_kurtosis)
from .rg import block_map, rg_flow, check_lattice, sample_lattice, exact_cumulant_flow, fit_exponent
from .activations import ACTIVATIONS, get_activation
from .models import SYMMETRIES, MLPConfig, EnsembleMLP, exact_layers, from_layers
from .training import TrainConfig, train_ensemble, log_schedule
from .measures import MeasureConfig, evaluate, function_slices
from .sweeps import SweepSpec, run_sweep, chapter2_spec, cell_stats, c2_verdict
from .cache import cache_dir
from .propagation import (METHODS, propagate, iid_inputs, law_inputs, tensor_inputs, required_input_order,
                          affine_cumulants, polynomial_activation_cumulants, gauss_rule, cumulant_map,
                          cumulant_flow, exact_flow, flow_fixed_point)

__version__ = "0.1.0"

_LAZY_MODULES = ("symbolic", "analytic", "graphs", "gnn", "gnn_propagation", "symmetry", "pipeline")
_LAZY_NAMES = {
    "GNNConfig": "gnn", "EnsembleGNN": "gnn", "GNNSweepSpec": "gnn", "run_gnn_sweep": "gnn",
    "chapter4_specs": "gnn", "lattice_graph": "graphs", "graph_hierarchy": "graphs",
    "predict_node_cumulants": "gnn_propagation", "measure_node_cumulants": "gnn_propagation",
    "SymmetryLogger": "symmetry", "symmetry_measures": "symmetry", "BreakingSpec": "symmetry",
    "run_breaking": "symmetry", "chapter6_spec": "symmetry", "c5_verdict": "symmetry",
}


def __getattr__(name: str):
    """Import the heavy modules (and the names they export) on first use."""
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'rgsym' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))


__all__ = [
    "PROFILES", "DEVICES", "check_choice", "resolve_device", "seed_everything", "setup_chapter",
    "LAWS", "TRAIN_LAWS", "get_law", "unseen_laws",
    "moments_to_cumulants", "cumulants_to_moments", "kstat", "kstat_se", "kstats", "skewness",
    "excess_kurtosis",
    "block_map", "rg_flow", "check_lattice", "sample_lattice", "exact_cumulant_flow", "fit_exponent",
    "ACTIVATIONS", "get_activation", "SYMMETRIES", "MLPConfig", "EnsembleMLP", "exact_layers", "from_layers",
    "TrainConfig", "train_ensemble", "log_schedule", "MeasureConfig", "evaluate", "function_slices",
    "SweepSpec", "run_sweep", "chapter2_spec", "cell_stats", "c2_verdict", "cache_dir",
    "METHODS", "propagate", "iid_inputs", "law_inputs", "tensor_inputs", "required_input_order",
    "affine_cumulants", "polynomial_activation_cumulants", "gauss_rule", "cumulant_map", "cumulant_flow",
    "exact_flow", "flow_fixed_point",
    *_LAZY_NAMES,
]
