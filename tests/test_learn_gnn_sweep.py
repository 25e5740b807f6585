"""GNN sweeps (rgsym.learn.gnn_sweep): training, caching, rebuilding members, chunking, parallel workers."""
from __future__ import annotations

import pytest

from rgsym.learn.gnn_sweep import MERGE_COST, GNNSweepSpec, run_gnn_sweep
from rgsym.learn.sweep import member_ids
from rgsym.learn.measures import MeasureConfig
from rgsym.learn.training import TrainConfig


pytestmark = pytest.mark.usefixtures("one_thread")


def test_gnn_sweep_trains_caches_and_rebuilds_members(tmp_path, monkeypatch):
    monkeypatch.setenv("RGSYM_CACHE_DIR", str(tmp_path))
    spec = GNNSweepSpec(symmetries=("shared", "broken+odd"), activations=("quadratic",), sizes=((1, 2),),
                        tasks=("gaussian",), seeds=(0,),
                        train=TrainConfig(steps=30, batch_size=16, n_train=32, log_points=3),
                        measures=MeasureConfig(n_eval=64, L=3, n_flow=16))
    assert spec.train_config("block+nn").sites == 4 and spec.train_config("block+nn").batch_size == 8
    assert spec.train_config("block").sites == 2 and spec.train_config("block").n_train == 32
    res = run_gnn_sweep(spec, progress=False)
    assert res.n_trained == len(spec.chunks()) == 2 and len(res.members) == 4  # light groups stay whole
    assert set(res.summary().columns) >= {"G1", "G2", "G3", "G3_fp", "edges", "symmetry"}
    again = run_gnn_sweep(spec, progress=False)
    assert again.n_trained == 0 and again.n_cached == 2
    pd = __import__("pandas")
    pd.testing.assert_frame_equal(again.table.drop(columns=["created"]), res.table.drop(columns=["created"]))
    ids = member_ids(spec, symmetry="broken+odd", edges="block+nn")
    assert ids == [3]
    model = res.model(ids)
    assert model.context == 4 and model.configs[0].symmetry == "broken+odd"
    part = run_gnn_sweep(spec, progress=False, only=ids)
    assert part.n_cached == 1 and ids[0] in list(part.members.member_id)  # the whole chunk holding it
    with pytest.raises(ValueError, match="multiples of context_blocks=2"):
        GNNSweepSpec(train=TrainConfig(batch_size=15))
    with pytest.raises(ValueError, match="unknown edge variant"):
        GNNSweepSpec(edges=("ring",))


@pytest.mark.slow  # spawns two worker processes that import torch and torch-geometric (~10 s)
def test_parallel_workers_give_the_same_numbers(tmp_path, monkeypatch):
    spec = GNNSweepSpec(symmetries=("shared",), activations=("tanh",), sizes=((1, 2),), tasks=("uniform",), seeds=(3,),
                        train=TrainConfig(steps=20, batch_size=16, n_train=32, log_points=2),
                        measures=MeasureConfig(n_eval=32, L=2, n_flow=8))
    monkeypatch.setenv("RGSYM_CACHE_DIR", str(tmp_path / "a"))
    seq = run_gnn_sweep(spec, progress=False)
    monkeypatch.setenv("RGSYM_CACHE_DIR", str(tmp_path / "b"))
    par = run_gnn_sweep(spec, progress=False, workers=2)
    assert par.n_trained == 2
    cols = ["member_id", "measure", "value"]
    assert seq.table[cols].sort_values(cols[:2]).reset_index(drop=True).equals(
        par.table[cols].sort_values(cols[:2]).reset_index(drop=True))


def test_chunks_split_heavy_groups_only():
    light = GNNSweepSpec(activations=("quadratic", "tanh"), sizes=((1, 2),), seeds=(0,), tasks=("gaussian",),
                         train=TrainConfig(batch_size=16, n_train=32))
    assert [len(c) for c in light.chunks()] == [8, 8]  # one ensemble per edge set
    heavy = light.replace(sizes=((2, 16),), train=TrainConfig(batch_size=256, n_train=256))
    assert 8 * 256 * 2 * 16 * 16 > MERGE_COST
    members = heavy.members()
    for chunk in heavy.chunks():
        kinds = {(members[i].config.edges, members[i].config.antisymmetrised) for i in chunk}
        assert len(kinds) == 1
    assert sorted(i for c in heavy.chunks() for i in c) == list(range(len(members)))
