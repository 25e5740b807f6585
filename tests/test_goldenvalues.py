"""The golden-value comparison itself: exact on the machine that wrote the file, float noise elsewhere."""
from __future__ import annotations

import json
import subprocess

import goldenvalues as G
from conftest import ROOT

K = "application/papermill.record/text/plain"


def v(text):
    return {K: text}


def test_same_machine_is_bit_for_bit():
    gold = {G.MACHINE_KEY: "m1", "a": v("0.1"), "b": v("'x'")}
    assert G.compare(gold, {"a": v("0.1"), "b": v("'x'")}, "m1") == ([], [])
    assert G.compare(gold, {"a": v("0.10000000000000002"), "b": v("'x'")}, "m1")[0] == ["a"]


def test_other_machine_allows_float_noise_only():
    vals = {f"n{i}": v(str(1.0 + i)) for i in range(40)}
    gold = {G.MACHINE_KEY: "m1", **vals}
    noisy = {k: v(str(float(x[K]) * (1 + 1e-7))) for k, x in vals.items()}
    assert G.compare(gold, noisy, "m2") == ([], [])
    one = dict(noisy, n3=v("7.5"))  # one chaotic statistic out of 40 (2.5 %): named, not failed
    assert G.compare(gold, one, "m2") == ([], ["n3"])
    many = dict(one, n4=v("9.9"), n5=v("9.9"))  # 3 of 40: a real change
    assert G.compare(gold, many, "m2")[0] == ["n3", "n4", "n5"]
    assert G.compare(gold, {**noisy, "new": v("1")}, "m2")[0] == ["new"]  # names must match


def test_texts_must_match_apart_from_their_numbers():
    assert G.close(v("'g: 19 (small)'"), v("'g: 19.000001 (small)'"))
    assert not G.close(v("'g: 19 (small)'"), v("'g: 19 (large)'"))
    assert not G.close(v("'supported'"), v("'not supported'"))
    assert G.close(v("{'margin': nan}"), v("{'margin': nan}"))
    assert G.close(v("3.9e-15"), v("3.8e-15"))  # both at the rounding floor: ABS_TOL


def test_committed_files_name_their_machine():
    for p in (ROOT / "tests" / "golden").glob("*.json"):
        assert G.MACHINE_KEY in json.loads(p.read_text()), p.name


def test_other_machine_golden_files_of_unchanged_chapters_agree():
    """The golden files written in an earlier session on another processor (AMD EPYC), against this
    machine's files for the chapters whose numbers were not meant to change since: they agree within the
    allowed drift. (Chapters 2 and 4 were redesigned after that commit, so they are not compared.)"""
    old_commit = "4b96c9c"
    for stem in ("06_symmetry_breaking",):
        old = subprocess.run(["git", "-C", str(ROOT), "show", f"{old_commit}:tests/golden/{stem}.json"],
                             capture_output=True, text=True)
        if old.returncode:
            return  # a shallow clone without that commit
        golden = json.loads(old.stdout)
        here = json.loads((ROOT / "tests" / "golden" / f"{stem}.json").read_text())
        here.pop(G.MACHINE_KEY, None)
        fails, drifted = G.compare(golden, here, "another machine")
        assert not fails, (stem, fails)


def test_machine_names_processor_kernels_and_torch():
    import gc

    m = G.machine()
    gc.collect()  # an unclosed /proc/cpuinfo would surface here as a ResourceWarning (an error)
    assert m.count(" | ") == 3 and "torch" in m
