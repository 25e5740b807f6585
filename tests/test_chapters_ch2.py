"""Chapter 2's logic (rgsym.chapters.ch2_mlps): the profiles' grids, the knobs, what each architecture
represents exactly, and the computed test of claim C2 on tables worked out by hand."""
import os

import numpy as np
import pandas as pd
import pytest
import torch

from rgsym.chapters.ch2_mlps import (cell_stats, chapter2_spec, headline_numbers, parameter_grid, parameter_range, representation_table, resolve_workers, tied_bias_check, tied_check_agrees)
from rgsym.learn.measures import MeasureConfig
from rgsym.learn.mlp_sweep import SweepSpec
from rgsym.learn.sweep import SweepResult
from rgsym.learn.training import TrainConfig


def tiny_spec(**kw):
    base = dict(symmetries=("free", "odd"), activations=("identity", "relu"), sizes=((1, 3),),
                tasks=("gaussian",), seeds=(0, 1), train=TrainConfig(steps=20, batch_size=16, n_train=32),
                measures=MeasureConfig(n_eval=128, L=6, n_flow=16), chunk_size=3)
    base.update(kw)
    return SweepSpec(**base)


def test_chapter2_profiles_meet_the_issue():
    paper, smoke = chapter2_spec("paper"), chapter2_spec("smoke")
    assert len(paper.symmetries) >= 5 and len(paper.activations) >= 5 and len(paper.sizes) >= 3
    assert set(paper.tasks) == {"gaussian", "uniform"} and len(paper.seeds) >= 10
    assert paper.train.steps >= 5000 and paper.measures.L >= 6 and smoke.measures.L >= 6
    for name in ("free", "perm-in", "tied-hidden", "odd", "perm-in+odd"):
        assert name in paper.symmetries
    assert smoke.cost() < paper.cost() / 50
    assert len(paper.members()) == len(set(map(lambda m: str(m.key()), paper.members())))
    assert np.isfinite(paper.cost())


def test_cell_stats_on_a_synthetic_table():
    """Medians and quartiles over seeds of a hand-made sweep table, the diverged member counted apart."""
    spec = tiny_spec(symmetries=("free", "tied-hidden"), activations=("relu",), sizes=((1, 2), (2, 8)), seeds=(0, 1, 2))
    members = spec.members()
    rows, mrows = [], []
    for i, m in enumerate(members):
        c = m.config
        mrows.append({"member_id": i, "symmetry": c.symmetry, "size": c.size_label, "n_params": c.n_params,
                      "activation": c.activation, "task": m.task, "seed": m.seed, "diverged": i == 2})
        value = {("tied-hidden", "1x2"): 1.0, ("tied-hidden", "2x8"): 0.01, ("free", "1x2"): 0.1,
                 ("free", "2x8"): 1.0}[(c.symmetry, c.size_label)] * (1 + 0.1 * m.seed)
        rows.append({**mrows[-1], "measure": "G2", "value": value})
    res = SweepResult(spec, pd.DataFrame(mrows), pd.DataFrame(rows), {})
    st = cell_stats(res, "G2", by=("symmetry", "size"))
    assert st["n"].sum() == len(members) - 1 and st["n_excluded"].sum() == 1
    cell = st[(st.symmetry == "free") & (st["size"] == "1x2")].iloc[0]
    assert cell["median"] == pytest.approx(0.105) and cell["q25"] == pytest.approx(0.1025) and cell["n_excluded"] == 1
    with pytest.raises(ValueError, match="no measure"):
        cell_stats(res, "G7")


def test_chapter2_knobs_and_workers():
    spec = chapter2_spec("smoke", steps=7, n_seeds=3)
    assert spec.train.steps == 7 and spec.seeds == (0, 1, 2)
    assert spec.train.batch_size == chapter2_spec("smoke").train.batch_size
    assert chapter2_spec("smoke").split_activations
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="steps"):
            chapter2_spec("smoke", steps=bad)
    with pytest.raises(ValueError, match="n_seeds"):
        chapter2_spec("smoke", n_seeds=0)
    assert resolve_workers(3) == 3 and resolve_workers(None, "cpu") == max(1, os.cpu_count() or 1)
    assert resolve_workers(None, "cuda") == resolve_workers(3, "cuda") == resolve_workers(None, "meta") == 1
    with pytest.raises(ValueError, match="workers"):
        resolve_workers(0)


def test_unknown_profile_is_rejected():
    with pytest.raises(ValueError, match="profile"):
        chapter2_spec("huge")


def test_what_each_architecture_represents():
    spec = chapter2_spec("smoke")
    gen = torch.Generator().manual_seed(0)
    rep = representation_table(spec, gen)
    assert rep.loc["tanh"].eq("no exact construction").all()
    assert rep.loc["relu", "tied-hidden"] == "no exact construction"
    for act in ("identity", "relu", "quadratic"):
        for sym in ("free", "perm-in", "odd", "perm-in+odd"):
            assert float(rep.loc[act, sym].split("= ")[1]) < 1e-12
    tied = tied_bias_check(spec, gen)
    assert tied_check_agrees(tied)
    assert tied["relative error (Monte Carlo)"].is_monotonic_decreasing
    assert parameter_range(spec) == (int(parameter_grid(spec).min().min()), int(parameter_grid(spec).max().max()))


def _summary():
    rows = []
    for i, (sym, size, act, task, g1, g2, train) in enumerate([
            ("free", "1x2", "relu", "gaussian", 1e-3, 1e-2, 1e-3), ("free", "3x16", "relu", "gaussian", 1e-5, 1.0, 1e-6),
            ("tied-hidden", "1x2", "relu", "gaussian", 0.5, 0.4, 0.5), ("odd", "1x2", "relu", "gaussian", 1e-12, 1e-12, 0),
            ("free", "1x2", "identity", "gaussian", 0, 0, 0), ("free", "1x2", "tanh", "gaussian", 0.2, 0.3, 0.1)]):
        rows.append({"member_id": i, "symmetry": sym, "size": size, "activation": act, "task": task, "G1": g1,
                     "G2": g2, "final_train_loss": train, "diverged": False})
    return pd.DataFrame(rows)


def test_the_numbers_the_prose_quotes():
    spec = tiny_spec(symmetries=("free", "tied-hidden", "odd"), activations=("identity", "relu", "tanh"),
                     sizes=((1, 2), (3, 16)))
    s = _summary()
    h = headline_numbers(s, spec)
    assert h == {"c1_frac": pytest.approx(3 / 5), "c1_best": 1e-12}


def test_chapter2_spec_takes_no_device():
    """Chapters 3 and 4 load Chapter 2's networks by their chunk keys: a GPU run must find the same ones,
    so neither the spec (hence its chunks and their keys) nor its constructor may depend on the device."""
    import dataclasses
    import inspect

    assert "device" not in inspect.signature(chapter2_spec).parameters
    assert "device" not in {f.name for f in dataclasses.fields(SweepSpec)}
    with pytest.raises(TypeError):
        chapter2_spec("smoke", device="cuda")
