"""Tests of rgsym.sweeps and rgsym.cache: tidy tables, content caching, resuming an interrupted sweep,
reloading trained networks, and name validation."""
import numpy as np
import pandas as pd
import pytest
import torch

from rgsym import cache, sweeps
from rgsym.activations import ACTIVATIONS
from rgsym.measures import MeasureConfig, evaluate
from rgsym.models import SYMMETRIES
from rgsym.sweeps import MEMBER_COLUMNS, SweepSpec, chapter2_spec, run_sweep
from rgsym.training import TrainConfig


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


def test_changed_config_is_a_cache_miss_and_source_hash_is_stable(fresh_cache):
    run_sweep(tiny_spec(), progress=False)
    res = run_sweep(tiny_spec(train=TrainConfig(steps=21, batch_size=16, n_train=32)), progress=False)
    assert res.n_cached == 0
    assert cache.source_hash() == cache.source_hash() and len(cache.source_hash()) == 16
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
    with pytest.raises(ValueError, match="profile"):
        chapter2_spec("huge")
    with pytest.raises(ValueError, match="sizes"):
        tiny_spec(sizes=((4, 8),))


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


def test_cell_stats_and_c2_verdict_on_a_synthetic_table():
    """A hand-made sweep table where the middle cell is best: the verdict must say C2 holds, and not
    when the smallest model is best."""
    from rgsym.sweeps import SweepResult, c2_verdict, cell_stats

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
    v = c2_verdict(res, "G2", activations=("relu",)).iloc[0]
    # n_params: tied 1x2 = 5 (fewest), tied 2x8 = 7, free 1x2 = 9, free 2x8 = 105 (most)
    assert v.best == "tied-hidden 2x8" and v.most_constrained == "tied-hidden 1x2" and v.most_complex == "free 2x8"
    assert v.holds and v.ratio_complex == pytest.approx(100.0)
    res.table.loc[(res.table.symmetry == "tied-hidden") & (res.table["size"] == "1x2"), "value"] = 0.001
    assert not c2_verdict(res, "G2", activations=("relu",)).iloc[0].holds
    with pytest.raises(ValueError, match="no measure"):
        cell_stats(res, "G7")


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


def test_chapter2_knobs_and_workers():
    from rgsym.sweeps import resolve_workers

    spec = chapter2_spec("smoke", steps=7, n_seeds=3)
    assert spec.train.steps == 7 and spec.seeds == (0, 1, 2)
    assert spec.train.batch_size == chapter2_spec("smoke").train.batch_size
    assert chapter2_spec("smoke", device="cpu").split_activations
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="steps"):
            chapter2_spec("smoke", steps=bad)
    with pytest.raises(ValueError, match="n_seeds"):
        chapter2_spec("smoke", n_seeds=0)
    assert resolve_workers(3) == 3 and 1 <= resolve_workers(None, "cpu") <= 2
    with pytest.raises(ValueError, match="workers"):
        resolve_workers(0)
