"""Chapter 1's experiment: settings, the measured flows, exponent tables and verdicts (rgsym.chapters.ch1_clt)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rgsym.chapters import ch1_clt as ch1
from rgsym.chapters import ch1_fits
from rgsym.clt.laws import LAWS
from rgsym.seeds import lattice_seed


def test_resolve_flow_settings_defaults():
    cfg = ch1.resolve_flow_settings("smoke")
    assert (cfg.b, cfg.steps, cfg.lattice_size) == (2, 6, 64)
    assert cfg.laws == ch1.DEFAULT_LAWS and cfg.n_samples == ch1.FLOW_PROFILES["smoke"]["n_spins"] // 64
    assert cfg.n_boot == ch1.FLOW_PROFILES["smoke"]["n_boot"] and ch1.resolve_flow_settings("paper").n_boot == 1000
    assert ch1.resolve_flow_settings("smoke", n_boot=0).n_boot == 0
    control = cfg.control()
    assert control.n_spins <= max(ch1.CONTROL_SPINS, cfg.n_spins) and control.lattice_size == cfg.lattice_size
    assert ch1.resolve_flow_settings("smoke", b=3).lattice_size == 81
    assert ch1.resolve_flow_settings("paper", b=2).lattice_size == 1024
    cfg = ch1.resolve_flow_settings("smoke", b=3, lattice_size=27, n_samples=100, laws="laplace")
    assert (cfg.steps, cfg.n_samples, cfg.laws) == (3, 100, ("laplace",))
    other = cfg.with_block_size(2)
    assert other.lattice_size == 32 and other.n_spins == pytest.approx(cfg.n_spins, rel=0.2)
    assert "b=3, L=3, N=27" in cfg.stamp()
    # a big lattice still gets the minimum number of samples by default
    assert ch1.resolve_flow_settings("smoke", lattice_size=2**20).n_samples == 12


@pytest.mark.parametrize("kwargs, match", [
    ({"profile": "fast"}, "unknown profile 'fast'; valid choices are: 'smoke', 'paper'"),
    ({"laws": ["uniform", "cauchy"]}, "unknown base law 'cauchy'; valid choices are: 'gaussian', 'uniform'"),
    ({"laws": []}, "at least one"),
    ({"b": 1}, "block size b must be an integer >= 2"),
    ({"lattice_size": 100}, "N=100 is not a power of b=2"),
    ({"lattice_size": 1}, "at least b=2"),
    ({"steps": 3, "lattice_size": 16}, "disagree"),
    ({"steps": 0}, "steps must be an integer >= 1"),
    ({"n_samples": 5}, "n_samples must be >= 12"),
    ({"lattice_size": 2**20, "n_samples": 2**10}, "exceeds the limit"),
    ({"steps": 40}, "too large"),
    ({"orders": []}, "orders must lie in 1..8"),
    ({"orders": [2, 9]}, "orders must lie in 1..8"),
    ({"n_boot": 5}, "n_boot must be 0 .no bootstrap. or at least 10"),
    ({"n_boot": -1}, "n_boot must be an integer >= 0"),
])
def test_resolve_flow_settings_rejects_bad_knobs(kwargs, match):
    kwargs = {"profile": "smoke", **kwargs}
    with pytest.raises(ValueError, match=match.replace("(", "\\(").replace("*", "\\*")):
        ch1.resolve_flow_settings(**kwargs)


def test_measure_flow_reproducible_and_correct():
    kw = dict(law="exponential", b=2, steps=4, n_samples=4096, seed=5, orders=(1, 2, 3, 4))
    first = ch1.measure_flow(**kw)
    assert ch1.measure_flow(**kw) is first  # cached
    ch1._measure_flow.cache_clear()
    again = ch1.measure_flow(**kw)
    np.testing.assert_array_equal(first.k, again.k)  # same seed, same numbers
    assert not np.array_equal(first.k, ch1.measure_flow(**{**kw, "seed": 6}).k)
    assert first.k.shape == first.se.shape == first.exact.shape == (5, 4)
    assert list(first.sizes) == [4096 * 16, 4096 * 8, 4096 * 4, 4096 * 2, 4096]
    assert np.all(np.abs(first.k - first.exact) < 5 * first.se)
    assert np.all(np.abs(first.skewness - 2 * 2.0 ** (-first.ell / 2)) < 5 * first.skewness_se)
    assert not first.k.flags.writeable
    assert len(first.laws) == 5 and not first.laws[0].discrete
    assert first.n_boot == 0 and first.k_boot is None
    with pytest.raises(ValueError, match="valid choices"):
        first.column(7)


def test_measure_flow_pools_per_lattice_sums_and_bootstraps_every_level():
    """The pooled numbers equal cumulant_summary on the flattened levels; the resamples scatter around
    them with the per-level errors; the control map scales k_n(l) by b^(l n (1/2 - a)) exactly."""
    import torch

    from rgsym.clt.estimators import cumulant_summary

    kw = dict(law="laplace", b=2, steps=3, n_samples=2048, seed=3, orders=(1, 2, 3, 4))
    res = ch1.measure_flow(**kw, n_boot=300)
    dist = ch1.get_law("laplace")
    gen = torch.Generator().manual_seed(ch1.derived_seed(3, "laplace", 2))
    s = ch1.sample_lattice(dist, 2048, 8, gen, dtype=torch.float64)
    for ell in range(4):
        ref = cumulant_summary(s.reshape(-1), (1, 2, 3, 4))
        np.testing.assert_allclose(res.k[ell], ref["k"].numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res.se[ell], ref["se"].numpy(), rtol=1e-9)
        s = ch1.block_map(s, 2) if ell < 3 else s
    assert res.k_boot.shape == res.se_boot.shape == (300, 4, 4) and res.n_boot == 300
    spread = res.k_boot.std(0, ddof=1)
    np.testing.assert_allclose(spread[:, 1:], res.se[:, 1:], rtol=0.25)
    assert np.all(np.abs(res.k_boot.mean(0) - res.k) < 0.3 * res.se)
    ctrl = ch1.measure_flow(**kw, field_exponent=0.45, histograms=False)
    scale = 2.0 ** (np.arange(4)[:, None] * np.array([1, 2, 3, 4])[None, :] * 0.05)
    np.testing.assert_allclose(ctrl.k, res.k * scale, rtol=1e-9, atol=1e-12)
    assert ctrl.laws == () and ctrl.field_exponent == 0.45
    np.testing.assert_array_equal(ctrl.exact, res.exact)  # always the CLT's eq. 1.4


def test_measure_flow_rejects_bad_input_before_work():
    with pytest.raises(ValueError, match="valid choices are"):
        ch1.measure_flow("cauchy", 2, 3, 100)
    with pytest.raises(ValueError, match="block size"):
        ch1.measure_flow("uniform", 1, 3, 100)
    with pytest.raises(ValueError, match="bad flow size"):
        ch1.measure_flow("uniform", 2, 3, 4)


def test_exponent_table_and_zero_cumulants_on_a_small_flow():
    cfg = ch1.resolve_flow_settings("smoke", b=2, steps=5, n_samples=8192, laws=("laplace", "exponential"))
    res = ch1.measure_flows(cfg, seed=1)
    table = ch1.exponent_table(res)
    # laplace: n = 4, 6; exponential: n = 3..6
    expected = [("laplace", 4), ("laplace", 6)] + [("exponential", n) for n in (3, 4, 5, 6)]
    assert sorted(zip(table.law, table.n)) == sorted(expected)
    assert np.all(np.abs(table.z) < 5) and np.all(np.abs(table.z_boot) < 5)
    assert np.all(table.y_exact == 1 - table.n / 2)
    assert np.all(np.isfinite(table.y_se_boot) & (table.y_se_boot > 0))
    assert all(len(r) == cfg.n_boot for r in table.y_rep)
    comb = ch1.combine_exponents(table)
    assert list(comb.n) == [3, 4, 5, 6] and np.all(comb.y_se_boot > 0)
    # one law per order: the combined bootstrap error is that law's
    one = comb[comb.laws == 1].iloc[0]
    assert one.y_se_boot == pytest.approx(float(table[table.n == one.n].y_se_boot.iloc[0]))
    z = ch1.zero_cumulant_z(res)  # laplace mean, k3, k5 and exponential mean, at every step
    assert z.size == 6 * 3 + 6
    assert np.mean(z**2) < 3


def test_derived_seed_is_the_lattice_seed_of_the_law_index():
    assert ch1.derived_seed(3, "laplace", 2) == lattice_seed(3, LAWS.index("laplace"), 2)
    assert len({ch1.derived_seed(0, law, b) for law in LAWS for b in (2, 3)}) == 2 * len(LAWS)


def test_verdicts_and_their_pass_marks():
    import pandas as pd

    z = np.array([0.5, -1.0, 1.2, -0.3])
    check = ch1.zero_cumulant_check(z)
    assert check["count"] == 4 and check["rms"] == pytest.approx(math.sqrt(np.mean(z**2)))
    assert check["max"] == 1.2 and check["ok"]
    assert not ch1.zero_cumulant_check(np.array([0.1, ch1.ZERO_ABS_MAX + 0.1]))["ok"]
    assert not ch1.zero_cumulant_check(np.full(10, 1.6))["ok"]  # rms above ZERO_RMS_MAX
    table = pd.DataFrame({"z": [0.5, -2.9]})
    assert ch1.fit_check(table) == {"n_fits": 2, "max_z": 2.9, "n_nonfinite": 0, "ok": True}
    assert not ch1.fit_check(pd.DataFrame({"z": [3.1]}))["ok"]
    empty = ch1.fit_check(pd.DataFrame({"z": []}))
    assert empty["n_fits"] == 0 and math.isnan(empty["max_z"])


def test_one_step_shapes_and_eigenvalues_across_block_sizes():
    cfg = ch1.resolve_flow_settings("smoke", b=2, steps=4, n_samples=4096, laws=("laplace", "exponential"))
    res = ch1.measure_flows(cfg, seed=2)
    shapes = ch1.one_step_shapes(res, cfg.laws, cfg.b)
    assert shapes["skew_law"] == "exponential" and shapes["kurt_law"] == "laplace"
    assert shapes["skew_law_g1"] == 2.0 and shapes["skew_exp_1_pred"] == pytest.approx(2 / math.sqrt(2))
    assert abs(shapes["skew_exp_1"] - shapes["skew_exp_1_pred"]) < 5 * shapes["skew_exp_1_se"]
    assert shapes["kurt_1_pred"] == pytest.approx(3 / 2)
    assert abs(shapes["kurt_1"] - shapes["kurt_1_pred"]) < 5 * shapes["kurt_1_se"]
    by_b = {bb: ch1.measure_flows(cfg.with_block_size(bb), seed=2) for bb in (2, 3)}
    lam = ch1.block_size_eigenvalues(by_b, 4)
    for bb, (value, se, se_boot) in lam.items():
        assert abs(value - 1 / bb) < 5 * se and abs(value - 1 / bb) < 5 * se_boot
    table = ch1.eigenvalue_table(lam)
    assert list(table.columns) == ["b", "fitted lambda_4", "naive error", "bootstrap error", "exact 1/b"]
    assert list(table.b) == [2, 3]


def test_symbolic_checks_of_the_closed_forms():
    from rgsym.clt import closed_forms as cf

    assert ch1.cumulant_map_check(cf.cumulant_map(4), 4)
    lin = {n: cf.linearised_eigenvalue(n) for n in (1, 2, 3)}
    assert ch1.function_space_check(cf.gaussian_density(), lin)
    assert not ch1.function_space_check(cf.gaussian_density() * 2, lin)


def _verdict_flows():
    cfg = ch1.resolve_flow_settings("smoke", b=2, steps=5, n_samples=4096, laws=("uniform", "exponential"),
                                    n_boot=150)
    return ch1.measure_flows(cfg, seed=4), ch1.measure_control(cfg, seed=4)


def test_reference_verdict_passes_on_the_block_map_and_the_control_fails():
    results, control = _verdict_flows()
    v = ch1.reference_verdict(results, control)
    assert v.claim == "C1ref" and v.holds and v.word == "supported"
    table, ctrl = ch1.exponent_table(results), ch1.exponent_table(control)
    assert ch1.worst_z(table) < ch1.FIT_Z_MAX <= ch1.worst_z(ctrl)
    assert v.margin == pytest.approx(min(ch1.FIT_Z_MAX - ch1.worst_z(table), ch1.worst_z(ctrl) - ch1.FIT_Z_MAX))
    lo, hi = v.interval
    assert 0 <= lo <= hi and lo <= ch1.worst_z(table) + 1.0
    assert set(v.sensitivity) == {"FIT_Z_MAX x0.5", "FIT_Z_MAX x2", "FIT_SNR_MIN x0.5", "FIT_SNR_MIN x2"}
    rec = v.record()
    assert rec["thresholds"] == {"FIT_Z_MAX": ch1.FIT_Z_MAX, "FIT_SNR_MIN": ch1.FIT_SNR_MIN}
    assert "CONTROL_FIELD_EXPONENT" in rec["test"] and rec["word"] == "supported"


def test_reference_verdict_fails_when_the_control_passes_or_the_threshold_is_tiny(monkeypatch):
    results, control = _verdict_flows()
    # the same (correct) flows as their own control: the control passes, so the verdict must not hold
    same = ch1.reference_verdict(results, results)
    assert not same.holds and same.margin < 0
    # a wrong map tested as if it were the reference fails
    assert not ch1.reference_verdict(control, control).holds
    # the sensitivity follows the threshold: at a tiny FIT_Z_MAX the real fits fail too
    monkeypatch.setattr(ch1_fits, "FIT_Z_MAX", 0.01)
    tiny = ch1.reference_verdict(results, control)
    assert not tiny.holds and tiny.sensitivity["FIT_Z_MAX x0.5"] is False
    monkeypatch.setattr(ch1_fits, "FIT_Z_MAX", 1e6)  # and at a huge one the control no longer fails
    assert not ch1.reference_verdict(results, control).holds


def test_measure_flow_refuses_bad_orders_seeds_and_bins():
    with pytest.raises(ValueError, match="at least one cumulant order"):
        ch1.measure_flow("uniform", 2, 3, 100, orders=())
    with pytest.raises(ValueError, match="orders must lie in 1..8"):
        ch1.measure_flow("uniform", 2, 3, 100, orders=(1, 9))
    with pytest.raises(ValueError, match="seed must be an integer"):
        ch1.measure_flow("uniform", 2, 3, 100, seed=1.5)
    with pytest.raises(ValueError, match="seed must be an integer"):
        ch1.measure_flow("uniform", 2, 3, 100, seed=-1)
    with pytest.raises(ValueError, match="bins must be an integer"):
        ch1.measure_flow("uniform", 2, 3, 100, bins=80.0)


def test_fit_checks_count_unfittable_fits():
    import pandas as pd

    table = pd.DataFrame({"z": [0.5, math.nan], "z_boot": [1.0, math.nan]})
    assert ch1.z_extent(table) == (1.0, 1) and ch1.worst_z(table) == 1.0
    assert ch1.fit_check(table) == {"n_fits": 2, "max_z": 0.5, "n_nonfinite": 1, "ok": False}
    assert not ch1.fit_check(table, "z_boot")["ok"]


def _unfittable(results, law, n):
    """``results`` with the order-``n`` cumulant of ``law`` within noise beyond level 0 (no fit)."""
    from dataclasses import replace

    res = results[law]
    k = np.array(res.k)
    k[1:, res.column(n)] = 0.1 * res.se[1:, res.column(n)]
    return {**results, law: replace(res, k=k)}


def test_reference_verdict_fails_when_a_fit_cannot_be_made():
    results, control = _verdict_flows()
    assert ch1.reference_verdict(results, control).holds
    broken = _unfittable(results, "exponential", 4)
    table = ch1.exponent_table(broken)
    assert ch1.z_extent(table)[1] == 1 and ch1.worst_z(table) < ch1.FIT_Z_MAX  # the others still pass
    v = ch1.reference_verdict(broken, control)
    assert not v.holds and "NOT SUPPORTED: 1 fit(s) of the map" in v.notes


def test_reference_verdict_builds_each_table_once(monkeypatch):
    results, control = _verdict_flows()
    calls = []
    real = ch1_fits.exponent_table

    def counted(res, *args, **kw):
        calls.append(kw.get("snr_min"))
        return real(res, *args, **kw)

    monkeypatch.setattr(ch1_fits, "exponent_table", counted)
    v = ch1.reference_verdict(results, control)
    assert len(calls) == 6  # (map, control) at FIT_SNR_MIN x 0.5, 1, 2
    calls.clear()
    fits, ctrl = real(results), real(control)
    again = ch1.reference_verdict(results, control, fits=fits, control_fits=ctrl)
    assert len(calls) == 4 and again.record() == v.record()


def test_cost_line_states_the_modelled_seconds_of_both_profiles():
    """The cost model reproduces the two from-scratch runs it was fitted to (11.1 s smoke, 38.6 s paper)
    within 10 %, and the line names the spins and the limit."""
    import re

    for profile, seconds in (("smoke", 11.1), ("paper", 38.6)):
        cfg = ch1.resolve_flow_settings(profile)
        line = ch1.cost_line(cfg)
        spins = len(cfg.laws) * cfg.n_samples * cfg.lattice_size
        assert f"{spins:.3g} spins" in line and f"limit {ch1.MAX_SPINS:.3g}" in line
        t = float(re.search(r"about (\d+) s", line).group(1))
        assert abs(t - seconds) <= 0.1 * seconds
