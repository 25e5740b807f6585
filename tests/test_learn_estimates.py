"""The training-cost estimate each chapter states before it trains (rgsym.learn.estimates)."""
import pytest

from rgsym.chapters import ch6_symmetry as ch6
from rgsym.chapters.ch2_mlps import chapter2_spec
from rgsym.learn import estimates as est
from rgsym.learn import mlp_sweep
from rgsym.learn.measures import MeasureConfig
from rgsym.learn.mlp_sweep import SweepSpec, run_sweep
from rgsym.learn.sweep import MAX_HOURS
from rgsym.learn.training import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RGSYM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def tiny_spec(**kw):
    base = dict(symmetries=("free", "odd"), activations=("identity", "relu"), sizes=((1, 3),),
                tasks=("gaussian",), seeds=(0, 1), train=TrainConfig(steps=20, batch_size=16, n_train=32),
                measures=MeasureConfig(n_eval=128, L=6, n_flow=16), chunk_size=3)
    base.update(kw)
    return SweepSpec(**base)


def test_estimate_is_the_step_model_summed_over_chunks(fresh_cache):
    spec = tiny_spec()
    rate = est.STEP_COSTS["mlp"]
    members = spec.members()
    want = sum(spec.train.steps * (rate.overhead + rate.per_unit * spec.train.batch_size
                                   * mlp_sweep._chunk_cost(spec, [members[i] for i in ids]))
               for ids in spec.chunks())
    e = est.estimate_sweep(spec, "tiny")
    assert e.seconds == pytest.approx(want, rel=1e-12)
    assert (e.chunks, e.cached, e.remaining_seconds) == (len(spec.chunks()), 0, e.seconds)
    assert est.estimate_sweep(spec, "tiny", workers=2).seconds == pytest.approx(want / 2, rel=1e-12)


def test_estimate_counts_cached_chunks_after_a_run(fresh_cache):
    spec = tiny_spec()
    run_sweep(spec, progress=False)
    e = est.estimate_sweep(spec, "tiny")
    assert e.cached == e.chunks and e.remaining_seconds == 0.0
    assert "about 0 s left to train" in e.line()


def test_estimate_scales_with_steps():
    a = est.estimate_sweep(chapter2_spec("smoke"), "a", check_cache=False).seconds
    b = est.estimate_sweep(chapter2_spec("smoke", steps=4 * chapter2_spec("smoke").train.steps), "b",
                           check_cache=False).seconds
    assert b == pytest.approx(4 * a, rel=1e-12)


def test_paper_survey_estimate_is_near_its_calibration():
    """The paper grid of Chapter 2 was the MLP calibration set: about 637 s of chunk training in total,
    so on 2 processes about 5.3 min; the fitted model must give that within the fit's total error."""
    e = est.estimate_sweep(chapter2_spec("paper"), "survey", workers=1, check_cache=False)
    assert 0.8 * 637 < e.seconds < 1.2 * 637


def test_announce_prints_every_line_and_refuses_above_the_limit(capsys, monkeypatch):
    monkeypatch.delenv("RGSYM_ALLOW_LONG", raising=False)
    ok = est.estimate_breaking(ch6.chapter6_spec("smoke"), "the MLP runs")
    assert est.announce(ok) is None  # nothing for a notebook cell to display
    out = capsys.readouterr().out
    assert out == ok.line() + "\n" and "Estimated training cost of the MLP runs" in out and "Limit: 24 h" in out
    huge = est.estimate_members(10, 1e4, 10**9, 256, "huge")
    assert huge.remaining_seconds > MAX_HOURS * 3600
    with pytest.raises(RuntimeError, match="RGSYM_ALLOW_LONG=1"):
        est.announce(ok, huge)
    assert "Estimated training cost of huge" in capsys.readouterr().out  # stated even when refused
    monkeypatch.setenv("RGSYM_ALLOW_LONG", "1")
    est.announce(huge)
    assert "Estimated training cost of huge" in capsys.readouterr().out


def test_breaking_estimate_costs_members_as_the_sweeps_do():
    from rgsym.learn import gnn_sweep
    from rgsym.learn.gnn_sweep import GNNSweepSpec

    spec = ch6.gnn_chapter6_spec("smoke")
    e = est.estimate_breaking(spec, "x")
    configs = [spec.config(m[0], m[1]) for m in spec.members()]
    sweep = GNNSweepSpec(b=spec.b)
    units = sum(gnn_sweep._gnn_chunk_cost(sweep, [type("M", (), {"config": c})]) for c in configs)
    assert e.seconds == pytest.approx(est.STEP_COSTS["gnn"].seconds(units * spec.train.batch_size, spec.train.steps))


def test_breaking_estimate_covers_both_families():
    for spec in (ch6.chapter6_spec("smoke"), ch6.gnn_chapter6_spec("smoke")):
        e = est.estimate_breaking(spec, "x")
        assert e.family == spec.family and e.seconds > 0 and e.cached is None
        assert "cache not checked" in e.line()


def test_unknown_spec_is_refused():
    with pytest.raises(TypeError, match="SweepSpec or a GNNSweepSpec"):
        est.estimate_sweep(object(), "x")
