"""Verdict records: threshold sensitivity computed, bootstrap intervals that cover the known answer."""
import math

import numpy as np
import pytest

from rgsym.verdicts import bootstrap, decide


def test_decide_scales_each_threshold_and_reports_flips():
    # the deciding quantity is 3.0; the test passes when it is at most `tol` (margin: tol - value)
    v = decide("CX", "a claim", "value <= TOL", "value", lambda tol, n: (3.0 <= tol and n >= 2, tol - 3.0),
               {"tol": 4.0, "n": 2})
    assert v.holds and v.margin == pytest.approx(1.0)
    assert v.sensitivity == {"tol x0.5": False, "tol x2": True, "n x0.5": False, "n x2": True}
    assert not v.robust and "tol x0.5" in v.sensitivity_text() and v.word == "supported"
    rec = v.record()
    assert rec["claim"] == "CX" and rec["robust"] is False
    with pytest.raises(ValueError, match="named threshold"):
        decide("CX", "", "", "", lambda: (True, 0.0), {})


def test_bootstrap_interval_covers_the_mean_of_known_normal_units():
    rng = np.random.default_rng(1)
    units = list(rng.normal(2.0, 1.0, 400))
    lo, hi = bootstrap(units, lambda u: float(np.mean(u)), n_boot=500, seed=3)
    se = 1.0 / math.sqrt(400)
    assert lo < 2.0 < hi and hi - lo == pytest.approx(2 * 1.645 * se, rel=0.25)
    # the same seed gives the same interval
    assert bootstrap(units, lambda u: float(np.mean(u)), n_boot=500, seed=3) == (lo, hi)
    assert all(math.isnan(x) for x in bootstrap([1.0], lambda u: float("nan"), n_boot=20))
