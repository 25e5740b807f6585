"""Tests of the sweep engine (rgsym.learn.sweep) through MLP sweeps (rgsym.learn.mlp_sweep) and of
rgsym.learn.cache: tidy tables, content caching, resuming an interrupted sweep, reloading trained
networks, and name validation."""
import pandas as pd
import pytest
import torch

from rgsym.codehash import code_hash
from rgsym.learn import cache
from rgsym.learn import mlp_sweep as sweeps
from rgsym.learn.measures import MeasureConfig, evaluate
from rgsym.learn.mlp_sweep import SweepSpec, run_sweep
from rgsym.learn.sweep import MEMBER_COLUMNS
from rgsym.learn.training import TrainConfig
from rgsym.nets.activations import ACTIVATIONS
from rgsym.nets.mlp import SYMMETRIES


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RGSYM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


class Interrupted(Exception):
    pass


def tiny_spec(**kw):
    base = dict(symmetries=("free", "odd"), activations=("identity", "relu"), sizes=((1, 3),),
                tasks=("gaussian",), seeds=(0, 1), train=TrainConfig(steps=20, batch_size=16, n_train=32),
                measures=MeasureConfig(n_eval=128, L=6, n_flow=16), chunk_size=3)
    base.update(kw)
    return SweepSpec(**base)


def test_tidy_tables_and_cache_hit(fresh_cache):
    spec = tiny_spec()
    res = run_sweep(spec, progress=False)
    n = 2 * 2 * 2
    assert res.n_trained == len(spec.chunks()) and res.n_cached == 0
    assert list(res.members.columns) == list(MEMBER_COLUMNS) and len(res.members) == n
    assert res.members.member_id.tolist() == list(range(n))
    t = res.table
    for col in ("member_id", "symmetry", "activation", "seed", "task", "measure", "value", "source_hash", "device"):
        assert col in t.columns
    per_member = t.groupby("member_id").size()
    assert per_member.nunique() == 1 and per_member.iloc[0] > 50  # G1 + G2 (12) + G3 (L*(1+8)+3)
    assert set(res.summary().columns) >= {"G1", "G2", "G3", "G3_fp"}
    # antisymmetrised members (odd + relu) train in their own chunk
    assert all(len({spec.members()[i].config.antisymmetrised for i in ids}) == 1 for ids in spec.chunks())
    again = run_sweep(spec, progress=False)
    assert again.n_trained == 0 and again.n_cached == len(spec.chunks())
    pd.testing.assert_frame_equal(again.table, t)


def test_interrupted_sweep_resumes_from_finished_chunks(fresh_cache, monkeypatch):
    spec = tiny_spec()
    calls, armed = [], [True]
    real = sweeps._train_chunk

    def flaky(*args, **kw):
        calls.append(args[2])
        if armed[0] and len(calls) == 2:
            raise Interrupted("simulated interruption (e.g. a killed kernel)")
        return real(*args, **kw)

    monkeypatch.setattr(sweeps, "_train_chunk", flaky)
    with pytest.raises(Interrupted):
        run_sweep(spec, progress=False)
    assert len(cache.Store(sweeps.NAMESPACE).keys()) == 1
    calls.clear()
    armed[0] = False
    res = run_sweep(spec, progress=False)
    assert res.n_cached == 1 and res.n_trained == len(spec.chunks()) - 1
    assert len(calls) == len(spec.chunks()) - 1
    monkeypatch.setattr(sweeps, "_train_chunk", real)
    # the resumed result equals an uninterrupted run in a new cache
    monkeypatch.setenv("RGSYM_CACHE_DIR", str(fresh_cache.parent / "other"))
    clean = run_sweep(spec, progress=False)
    cols = ["member_id", "measure", "value"]
    pd.testing.assert_frame_equal(res.table[cols], clean.table[cols])


def test_trained_networks_reload_and_reproduce_measures(fresh_cache):
    spec = tiny_spec()
    res = run_sweep(spec, progress=False)
    ids = [5, 1]
    model = res.model(ids)
    assert model.n_members == 2
    assert [c.activation for c in model.configs] == [spec.members()[i].config.activation for i in ids]
    df = evaluate(model, [spec.members()[i].task for i in ids], spec.measures)
    for pos, mid in enumerate(ids):
        mine = df[(df.member == pos) & (df.measure == "G3")].value.item()
        stored = res.table[(res.table.member_id == mid) & (res.table.measure == "G3")].value.item()
        assert mine == pytest.approx(stored, rel=1e-5)
    hist = res.train_history(ids)
    assert set(hist.member_id) == set(ids) and hist.step.max() == spec.train.steps
    with pytest.raises(KeyError):
        res.model([999])


def test_changed_config_is_a_cache_miss_and_code_hash_is_stable(fresh_cache):
    first = run_sweep(tiny_spec(), progress=False)
    res = run_sweep(tiny_spec(train=TrainConfig(steps=21, batch_size=16, n_train=32)), progress=False)
    assert res.n_cached == 0
    src = code_hash("rgsym.learn.mlp_sweep")
    assert src == code_hash("rgsym.learn.mlp_sweep") and len(src) == 16
    assert set(first.members.source_hash) == {src}  # the key follows the code that runs the sweep
    assert cache.content_key({"a": 1, "b": 2}) == cache.content_key({"b": 2, "a": 1})


def test_diverged_members_are_flagged_and_filtered(fresh_cache):
    spec = tiny_spec(activations=("quadratic",), symmetries=("free",), sizes=((3, 8),), alpha=4.0,
                     train=TrainConfig(steps=150, lr=0.2, batch_size=16, n_train=32), seeds=(0, 1, 2))
    res = run_sweep(spec, progress=False)
    assert res.n_diverged >= 1
    valid = res.valid()
    assert not valid.diverged.any() and set(valid.member_id) == set(res.members[~res.members.diverged].member_id)


def test_unknown_names_rejected_with_valid_list():
    for field, bad, valid in (("symmetries", ("mirror",), SYMMETRIES), ("activations", ("softsign",), ACTIVATIONS),
                              ("tasks", ("cauchy",), ("gaussian", "uniform", "laplace"))):
        with pytest.raises(ValueError) as err:
            tiny_spec(**{field: bad})
        assert all(repr(v) in str(err.value) for v in valid)
    with pytest.raises(ValueError, match="sizes"):
        tiny_spec(sizes=((4, 8),))


@pytest.mark.slow  # spawns two processes that import torch (about 10 s)
def test_parallel_workers_give_the_same_table(fresh_cache, monkeypatch):
    spec = tiny_spec(symmetries=("free",), seeds=(0,))
    par = run_sweep(spec, progress=False, workers=2)
    assert par.n_trained == len(spec.chunks()) == 2
    monkeypatch.setenv("RGSYM_CACHE_DIR", str(fresh_cache.parent / "seq"))
    seq = run_sweep(spec, progress=False)
    cols = ["member_id", "measure", "value"]
    pd.testing.assert_frame_equal(par.table[cols], seq.table[cols])
    with pytest.raises(ValueError, match="workers"):
        run_sweep(spec, workers=0)
