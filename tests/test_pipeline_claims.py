"""The claims page: verdict records read back from executed notebooks, never typed."""
from __future__ import annotations

import json
import math

import pytest

from rgsym.pipeline.claims import CLAIMS, Claim, claim_rows, findings_sentences, glued, parse_record
from rgsym.pipeline.hashing import sources_hash
from rgsym.pipeline.run import META_KEY
from rgsym.verdicts import decide

from conftest import ROOT


def _glue_output(name, value):
    return {"output_type": "display_data", "metadata": {"scrapbook": {"name": name, "mime_prefix":
            "application/papermill.record/"}}, "data": {"application/papermill.record/text/plain": repr(value)}}


def _notebook(root, stem, outputs, *, source_hash=None, profile="paper"):
    src = root / "book" / f"{stem}.py"
    src.parent.mkdir(parents=True, exist_ok=True)
    if not src.exists():
        src.write_text("# %% [markdown]\n# # 7. A chapter\n\n# %%\nx = 1\n")
    (root / "requirements.txt").write_text("numpy\n")
    (root / "rgsym").mkdir(exist_ok=True)
    meta = {"source": f"book/{stem}.py", "profile": profile, "device": "cpu",
            "sources_hash": source_hash or sources_hash(src, root)}
    nb = {"cells": [{"cell_type": "markdown", "source": "# 7. A chapter", "metadata": {}},
                    {"cell_type": "code", "source": "", "metadata": {}, "outputs": outputs}],
          "metadata": {META_KEY: meta}, "nbformat": 4, "nbformat_minor": 5}
    out = root / "book" / "notebooks" / f"{stem}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(nb))


def _verdict(margin=0.4):
    def test(T):
        return T < 2.0, margin * T
    return decide("CX", "a claim", "holds when T < 2", "a measure", test, {"T": 1.0}, interval=(0.1, 0.7),
                  figure="Figure 3")


def test_parse_record_reads_plain_data_with_nan_and_refuses_code():
    rec = _verdict().record() | {"margin": math.nan}
    back = parse_record(repr(rec))
    assert math.isnan(back["margin"]) and back["sensitivity"] == rec["sensitivity"]
    for bad in ("__import__('os').system('true')", "open('x')", "x.y", "(lambda: 1)()"):
        with pytest.raises(ValueError):
            parse_record(bad)


def test_claim_rows_read_the_records_the_chapter_glued(tmp_path):
    v = _verdict()
    part = decide("CX", "p", "t", "m", lambda T: (False, -1.0), {"T": 1.0})
    _notebook(tmp_path, "07_x", [_glue_output("verdict_CX", v.record()), _glue_output("verdict_CX_tanh", part.record()),
                                 _glue_output("other", 3.5)])
    _notebook(tmp_path, "08_y", [_glue_output("desc", "agrees")])
    claims = (Claim("CX", "short", "the statement", "07_x", "verdict_CX"),
              Claim("CY", "other", "s", "08_y", None, (("desc", "the outcome"),)),
              Claim("CZ", "missing", "s", "09_z", "verdict_CZ"))
    rows = claim_rows(tmp_path, claims)
    x, y, z = rows
    assert x["status"] == "supported" and x["margin"] == "0.4" and x["interval"] == "[0.1, 0.7]"
    assert x["flips"] == ["T x2"] and x["figure"] == "Figure 3" and x["current"] and x["title"] == "7. A chapter"
    assert x["parts"] == [("tanh", "not supported", "-1")]
    assert y["status"] == "no pre-registered verdict" and "the outcome: agrees" in y["notes"]
    assert z["status"] == "not executed"
    s = findings_sentences(rows)
    assert "supported" in s[0] and "flips with T x2" in s[0] and "not evidence" in s[1] and "not been executed" in s[2]
    # a verdict that does not hold reads "not supported", a stale chapter says so
    bad = decide("CX", "a", "t", "m", lambda T: (False, -0.2), {"T": 1.0})
    _notebook(tmp_path, "07_x", [_glue_output("verdict_CX", bad.record())], source_hash="0" * 64)
    r = claim_rows(tmp_path, claims[:1])[0]
    assert r["status"] == "not supported" and not r["current"] and "STALE" in findings_sentences([r])[0]


def test_every_claim_points_at_a_chapter_that_glues_its_record():
    for c in CLAIMS:
        src = (ROOT / "book" / f"{c.chapter}.py").read_text()
        if c.record:
            assert f'glue("{c.record}"' in src, (c.key, c.record)
        for name, _ in c.descriptive:
            assert f'glue("{name}"' in src, (c.key, name)


def test_glued_skips_values_that_are_not_plain_data():
    nb = {"cells": [{"cell_type": "code", "outputs": [_glue_output("a", 1.5),
          {"output_type": "display_data", "metadata": {"scrapbook": {"name": "fig"}},
           "data": {"application/papermill.record/text/plain": "<Figure size 640x480 with 1 Axes>"}}]}]}
    assert glued(nb) == {"a": 1.5}
