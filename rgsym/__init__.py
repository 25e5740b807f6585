"""rgsym: the companion package of the book *Symmetry and generalisation in neural
approximations of renormalisation transformations* (after Ashworth, Caso & Lio, arXiv:2510.16591).

How rgsym is organised
======================

Subpackages by concept; imports flow down this table only (a lower layer never imports a higher one,
and nothing inside rgsym imports ``rgsym`` itself). Each subpackage's ``__init__`` re-exports its public
names and has its own "what lives where" table, equation by equation.

=====================  ===========================================================  ===========
subpackage / module    what it holds                                                chapters
=====================  ===========================================================  ===========
``validation``         one meaning for an integer, a float, a choice, a list         all
``seeds``              the one seed derivation (``stable_seed``)                     all
``codehash``           content keys that follow the code (import closures)           all
``devices``            the device a run uses and its provenance name                 all
``config``             profiles, chapter set-up (re-exports the devices)             all
``report``, ``plotting``  glue into the prose, the one figure style                  all
``verdicts``           a claim's verdict: named thresholds, margin, interval, sensitivity   all
``clt``                base laws, cumulants, k-statistics, the block map and its     1
                       exact flow (eq. 1.4), the sympy closed forms
``nets``               activations, MLP and GNN ensembles with weight symmetries,   2, 4
                       the one plain forward pass, exact constructions, graphs
``learn``              training, measures G1-G3, the cache, the one sweep engine     2, 4
``propagation``        cumulant propagation through MLPs and GNNs, quadrature,      3, 5
                       the cumulant product loop, cumulant-space flows, analytics
``symmetry``           symmetry-breaking measures, the training logger, the runs    6
``chapters``           one module per chapter: its settings, grids, tables,         1-6
                       verdicts and their named thresholds
``pipeline``           executing chapters with papermill, provenance, the book      --
=====================  ===========================================================  ===========

Where an equation of the book lives: eq. 1.x -> ``clt`` (1.4, the exact flow: ``clt.blockmap``);
K1-K7 (k-statistics) -> ``clt.kstat_formulas``; the networks of Chapter 2 -> ``nets.mlp``; G1-G3 ->
``learn.measures``; Chapter 3's propagation -> ``propagation.methods`` / ``propagation.tensors`` /
``propagation.flows``; G1-G2 (the GNN layer) -> ``nets.gnn``; Chapter 5 -> ``propagation.gnn``;
6.x -> ``symmetry.parameters`` / ``symmetry.functions``; each chapter's verdict -> ``chapters.chN_*``.

The names below are the short public API; each is documented where it is defined. Nothing is imported
until first use, so ``import rgsym`` loads neither torch nor pandas, sympy or torch-geometric.
"""
from __future__ import annotations

import importlib

# public name -> module that defines it (relative to rgsym), imported on first use. rgsym.codehash reads
# this table: code that does ``import rgsym`` depends on every module named here.
_LAZY = {
    "PROFILES": "config",
    "DEVICES": "devices",
    "resolve_device": "devices",
    "seed_everything": "config",
    "setup_chapter": "config",
    "check_choice": "validation",
    "LAWS": "clt",
    "TRAIN_LAWS": "clt",
    "get_law": "clt",
    "unseen_laws": "clt",
    "moments_to_cumulants": "clt",
    "cumulants_to_moments": "clt",
    "kstat": "clt",
    "kstat_se": "clt",
    "kstats": "clt",
    "skewness": "clt",
    "excess_kurtosis": "clt",
    "block_map": "clt",
    "rg_flow": "clt",
    "check_lattice": "clt",
    "sample_lattice": "clt",
    "exact_cumulant_flow": "clt",
    "fit_exponent": "clt",
    "ACTIVATIONS": "nets",
    "get_activation": "nets",
    "SYMMETRIES": "nets",
    "MLPConfig": "nets",
    "EnsembleMLP": "nets",
    "exact_layers": "nets",
    "from_layers": "nets",
    "lattice_graph": "nets",
    "graph_hierarchy": "nets",
    "GNNConfig": "nets.gnn_config",
    "EnsembleGNN": "nets.gnn",
    "TrainConfig": "learn",
    "train_ensemble": "learn",
    "log_schedule": "learn",
    "MeasureConfig": "learn",
    "evaluate": "learn",
    "function_slices": "learn",
    "SweepSpec": "learn",
    "run_sweep": "learn",
    "cache_dir": "learn",
    "GNNSweepSpec": "learn.gnn_sweep",
    "run_gnn_sweep": "learn.gnn_sweep",
    "chapter2_spec": "chapters.ch2_mlps",
    "cell_stats": "chapters.ch2_mlps",
    "c2_verdict": "chapters.ch2_constraint",
    "verdict_c2": "chapters.ch2_constraint",
    "constraint_map_spec": "chapters.ch2_constraint",
    "linear_by_construction": "nets.expressivity",
    "chapter4_specs": "chapters.ch4_gnns",
    "METHODS": "propagation",
    "propagate": "propagation",
    "iid_inputs": "propagation",
    "law_inputs": "propagation",
    "tensor_inputs": "propagation",
    "required_input_order": "propagation",
    "affine_cumulants": "propagation",
    "polynomial_activation_cumulants": "propagation",
    "gauss_rule": "propagation",
    "cumulant_map": "propagation",
    "cumulant_flow": "propagation",
    "exact_flow": "propagation",
    "flow_fixed_point": "propagation",
    "predict_node_cumulants": "propagation.gnn",
    "measure_node_cumulants": "propagation.gnn",
    "SymmetryLogger": "symmetry",
    "symmetry_measures": "symmetry",
    "BreakingSpec": "symmetry",
    "run_breaking": "symmetry",
    "chapter6_spec": "chapters.ch6_symmetry",
    "c5_verdict": "chapters.ch6_symmetry",
}
# the modules of the first releases, by their old names (``rgsym.sweeps`` ...), for users' code
_MODULE_ALIASES = {
    "config": "config", "distributions": "clt.laws", "cumulants": "clt", "rg": "clt.blockmap",
    "symbolic": "clt.closed_forms", "activations": "nets.activations", "models": "nets.mlp",
    "training": "learn.training", "measures": "learn.measures", "sweeps": "learn.mlp_sweep",
    "cache": "learn.cache", "propagation": "propagation", "analytic": "propagation.analytic",
    "graphs": "nets.graphs", "gnn": "nets.gnn", "gnn_propagation": "propagation.gnn", "symmetry": "symmetry",
    "pipeline": "pipeline", "clt": "clt", "nets": "nets", "learn": "learn", "chapters": "chapters",
}


def __getattr__(name: str):
    """Import a public name (or a subpackage, or a module by its historical name) on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _MODULE_ALIASES:
        return importlib.import_module(f".{_MODULE_ALIASES[name]}", __name__)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("rgsym")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'rgsym' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_MODULE_ALIASES) | {"__version__"})


__all__ = list(_LAZY)
