"""Tests of the sweep engine (rgsym.learn.sweep) through MLP sweeps (rgsym.learn.mlp_sweep) and of
rgsym.learn.cache: tidy tables, content caching, resuming an interrupted sweep, reloading trained
networks, and name validation."""
import pandas as pd
import pytest

from rgsym.codehash import code_hash
from rgsym.learn import cache
from rgsym.learn import mlp_sweep as sweeps
from rgsym.learn.measures import MeasureConfig, evaluate
from rgsym.learn.mlp_sweep import SweepSpec, run_sweep
from rgsym.learn.sweep import MEMBER_COLUMNS
from rgsym.learn.training import TrainConfig
from rgsym.nets.activations import ACTIVATIONS
from rgsym.nets.mlp import SYMMETRIES


pytestmark = pytest.mark.usefixtures("one_thread")


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
    assert list(res.members.columns) == list(MEMBER_COLUMNS) + ["groups", "linear_class"] and len(res.members) == n
    # the 1x3 odd ReLU net is linear by construction (eq. 2.1), the free one is not; identity always is
    lin = res.members.set_index(["activation", "symmetry"]).linear_class.groupby(level=[0, 1]).first()
    assert lin[("relu", "odd")] and not lin[("relu", "free")] and lin[("identity", "free")]
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


# -- workers die with their parent; an interrupt takes effect within one chunk ------------------------
SWEEP_SCRIPT = """
import sys, time
from rgsym.learn.measures import MeasureConfig
from rgsym.learn.mlp_sweep import SweepSpec, run_sweep
from rgsym.learn.training import TrainConfig
if __name__ == "__main__":
    spec = SweepSpec(symmetries=("free",), activations=("tanh",), sizes=((2, 16),), tasks=("gaussian",),
                     seeds=tuple(range(10)), train=TrainConfig(steps=int(sys.argv[1]), batch_size=64, n_train=128),
                     measures=MeasureConfig(n_eval=64, L=2, n_flow=16), chunk_size=1)
    run_sweep(spec, progress=False, workers=2)
    print("finished", flush=True)
"""


def _children(pid: int) -> list[int]:
    import pathlib

    out = []
    for p in pathlib.Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(p.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as fh:
            return fh.read().replace("\0", " ")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(tmp_path, steps):
    import subprocess
    import sys

    script = tmp_path / "sweep.py"
    script.write_text(SWEEP_SCRIPT)
    env = {**__import__("os").environ, "RGSYM_CACHE_DIR": str(tmp_path / "cache"), "RGSYM_QUIET": "1"}
    return subprocess.Popen([sys.executable, str(script), str(steps)], env=env, stdout=subprocess.PIPE, text=True)


def _wait(pred, timeout):
    import time

    t0 = time.time()
    while time.time() - t0 < timeout:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    return None


@pytest.mark.slow
@pytest.mark.skipif(not __import__("pathlib").Path("/proc").exists(), reason="needs /proc (Linux)")
def test_no_worker_outlives_a_killed_parent(tmp_path):
    import signal
    import time

    proc = _start(tmp_path, 400)
    try:
        # mid-sweep: the first chunk is done, so every worker is up and training
        assert _wait(lambda: list((tmp_path / "cache" / "mlp-sweeps").glob("*.pt")), 300), "no chunk finished"
        workers = [c for c in _children(proc.pid) if "spawn_main" in _cmdline(c)]
        assert workers, "the sweep runs no worker"
        proc.kill()  # SIGKILL: no cleanup code of the parent runs
        proc.wait()
        time.sleep(10)
        assert not [w for w in workers if _alive(w)], "orphaned workers are still running"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.stdout.close()


@pytest.mark.slow
@pytest.mark.skipif(not __import__("pathlib").Path("/proc").exists(), reason="needs /proc (Linux)")
def test_an_interrupt_cancels_pending_chunks_and_keeps_finished_ones(tmp_path):
    import signal
    import time

    proc = _start(tmp_path, 300)
    chunks = tmp_path / "cache" / "mlp-sweeps"
    try:
        t_first = _wait(lambda: list(chunks.glob("*.pt")) and time.time(), 300)
        assert t_first, "no chunk finished"
        t_second = _wait(lambda: len(list(chunks.glob("*.pt"))) >= 2 and time.time(), 300)
        chunk_time = max(t_second - t_first, 1.0)
        workers = [c for c in _children(proc.pid) if _alive(c) and "spawn_main" in _cmdline(c)]
        t0 = time.time()
        proc.send_signal(signal.SIGINT)  # what Jupyter's interrupt sends to the kernel
        proc.wait(timeout=60)
        stopped = time.time() - t0
        finished = len(list(chunks.glob("*.pt")))
        assert stopped < chunk_time + 5, (stopped, chunk_time)
        assert 2 <= finished < 10 and "finished" not in proc.stdout.read()
        assert _wait(lambda: not [w for w in workers if _alive(w)], 10), "workers still running after the interrupt"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()


def test_any_executor_gives_the_rows_of_a_local_run(fresh_cache, tmp_path, monkeypatch):
    import concurrent.futures as cf

    spec = tiny_spec()
    local = run_sweep(spec, progress=False)
    monkeypatch.setenv("RGSYM_CACHE_DIR", str(tmp_path / "other-cache"))
    with cf.ThreadPoolExecutor(2) as ex:
        remote = run_sweep(spec, progress=False, executor=ex)
    assert remote.n_trained == len(spec.chunks())
    pd.testing.assert_frame_equal(local.table.drop(columns=["created"]), remote.table.drop(columns=["created"]))


@pytest.mark.slow
def test_a_dask_cluster_gives_bit_identical_rows(fresh_cache, tmp_path, monkeypatch):
    """The README's cluster path: rgsym's own chunk worker submitted through dask.distributed."""
    distributed = pytest.importorskip("distributed")
    spec = tiny_spec()
    local = run_sweep(spec, progress=False)
    monkeypatch.setenv("RGSYM_CACHE_DIR", str(tmp_path / "dask-cache"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        remote = run_sweep(spec, progress=False, executor=client.get_executor())
    assert remote.n_trained == len(spec.chunks())
    pd.testing.assert_frame_equal(local.table.drop(columns=["created"]), remote.table.drop(columns=["created"]))


def test_graded_sweep_grid():
    spec = tiny_spec(sizes=((1, 4), (2, 2)), symmetries=("free", "odd"), activations=("relu", "tanh"), groups="graded")
    cfgs = spec.configs()
    assert {(c.width, c.hidden_groups) for c in cfgs} == {(4, 1), (4, 2), (4, 4), (2, 1), (2, 2)}
    assert len(spec.members()) == len(cfgs) * len(spec.tasks) * len(spec.seeds)
    lean = spec.replace(linear_classes=False).configs()
    from rgsym.nets.expressivity import linear_by_construction

    assert [c for c in cfgs if not linear_by_construction(c)[0]] == lean and len(lean) < len(cfgs)
    # every chunk mixes the groups of one (size, activation, antisymmetrisation): few, large ensembles
    for ids in spec.chunks():
        c = [spec.members()[i].config for i in ids]
        assert len({(x.depth, x.width, x.activation, x.antisymmetrised) for x in c}) == 1
    with pytest.raises(ValueError, match="powers of two"):
        tiny_spec(sizes=((1, 3),), groups="graded")
    with pytest.raises(ValueError, match="tied-hidden"):
        tiny_spec(sizes=((1, 4),), symmetries=("free", "tied-hidden"), groups="graded")
    with pytest.raises(ValueError, match="groups"):
        tiny_spec(groups="some")


def test_seeds_and_sizes_are_never_truncated():
    for bad in ((1.5,), (-1,), (True,)):
        with pytest.raises(ValueError, match="seed must be an integer >= 0"):
            tiny_spec(seeds=bad)
    with pytest.raises(ValueError, match="depth and width must be an integer"):
        tiny_spec(sizes=((1, 2.7),))


def test_a_sweep_of_a_billion_steps_is_refused_before_any_work(fresh_cache, monkeypatch):
    import time as _time

    from rgsym.chapters.ch2_mlps import chapter2_spec

    monkeypatch.delenv("RGSYM_ALLOW_LONG", raising=False)
    t0 = _time.perf_counter()
    with pytest.raises(ValueError, match="member-steps: at least .* h .* RGSYM_ALLOW_LONG=1"):
        run_sweep(chapter2_spec("paper", steps=10**9), progress=False)
    assert _time.perf_counter() - t0 < 10
    assert not list(fresh_cache.rglob("*.pt"))  # nothing trained, nothing cached
