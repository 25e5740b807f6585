r"""Training, measuring and sweeping ensembles of learned RG steps (Chapters 2 and 4).

=====================================================  ==================  =========
concept                                                module              chapter
=====================================================  ==================  =========
batched Adam training on the MSE to :math:`T_b`,        ``training``        2, 4, 6
finite training sets, hashed minibatches
generalisation measures G1-G3                           ``measures``        2, 4
content-addressed cache of results                      ``cache``           2, 4, 6
the sweep engine: chunks, payloads, tables,             ``sweep``           2, 4
``SweepResult``
MLP sweeps (``SweepSpec``, ``run_sweep``)               ``mlp_sweep``       2
GNN sweeps (``GNNSweepSpec``, ``run_gnn_sweep``)        ``gnn_sweep``       4
a sweep's training time, estimated before it runs       ``estimates``       2-6
=====================================================  ==================  =========

:mod:`rgsym.learn.gnn_sweep` (and with it torch-geometric) is imported on first use of its names.
"""
from __future__ import annotations

import importlib

from .cache import Store, cache_dir, content_key
from .measures import MEASURE_COLUMNS, SCALES, SUMMARY, MeasureConfig, evaluate, function_slices
from .mlp_sweep import SweepSpec, run_sweep
from .sweep import MEMBER_COLUMNS, Member, SweepResult, execute_chunks, member_ids, member_tables, train_and_measure
from .training import TrainConfig, TrainResult, cpu_threads, log_schedule, train_ensemble, training_set

_LAZY = {"GNNSweepSpec": "gnn_sweep", "run_gnn_sweep": "gnn_sweep", "estimate_sweep": "estimates",
         "estimate_breaking": "estimates", "announce": "estimates"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Store", "cache_dir", "content_key", "MEASURE_COLUMNS", "SCALES", "SUMMARY", "MeasureConfig", "evaluate",
           "function_slices", "Member", "SweepSpec", "run_sweep", "MEMBER_COLUMNS", "SweepResult", "execute_chunks",
           "member_ids", "member_tables", "train_and_measure", "TrainConfig", "TrainResult", "cpu_threads",
           "log_schedule", "train_ensemble", "training_set", *_LAZY]
