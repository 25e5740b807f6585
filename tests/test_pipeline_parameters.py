"""Every parameter of every chapter, given one bad value, through plain papermill and through the pipeline:
an error within seconds of start, before any heavy cell, naming the parameter (or the bad choice and the
valid ones). A table, so that a new parameter without a case fails the completeness test."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rgsym.pipeline.chapters import find_chapters

from conftest import ROOT, plain_papermill

# (chapter, parameter, bad value as `-p` text, text the error must contain)
CASES = [
    ("01_clt_rg", "profile", "fast", "unknown profile 'fast'; valid choices are: 'smoke', 'paper'"),
    ("01_clt_rg", "device", "tpu", "unknown device 'tpu'; valid choices are: 'auto', 'cpu', 'cuda'"),
    ("01_clt_rg", "seed", "-1", "seed must be an integer in [0, "),
    ("01_clt_rg", "b", "1", "block size b must be an integer >= 2"),
    ("01_clt_rg", "steps", "0", "steps must be an integer >= 1"),
    ("01_clt_rg", "n_samples", "1.5", "n_samples must be an integer"),
    ("01_clt_rg", "laws", "cauchy", "unknown base law 'cauchy'"),
    ("01_clt_rg", "lattice_size", "100", "lattice size N=100 is not a power of b=2"),
    ("02_mlps", "profile", "fast", "unknown profile 'fast'"),
    ("02_mlps", "device", "tpu", "unknown device 'tpu'"),
    ("02_mlps", "seed", "1.5", "seed must be an integer in [0, "),
    ("02_mlps", "steps", "0", "steps must be an integer >= 1"),
    ("02_mlps", "n_seeds", "0", "n_seeds must be an integer >= 1"),
    ("02_mlps", "workers", "0", "workers must be an integer >= 1"),
    ("02_mlps", "rep_activation", "swish", "unknown rep_activation 'swish'"),
    ("02_mlps", "map_task", "cauchy", "unknown map_task 'cauchy'"),
    ("03_cumulant_propagation", "profile", "fast", "unknown profile 'fast'"),
    ("03_cumulant_propagation", "device", "tpu", "unknown device 'tpu'"),
    ("03_cumulant_propagation", "seed", "-1", "seed must be an integer in [0, "),
    ("03_cumulant_propagation", "n_mc", "10", "n_mc must be an integer >= 1000"),
    ("03_cumulant_propagation", "nodes", "1", "nodes must be an integer in [2, "),
    ("03_cumulant_propagation", "laws", "cauchy", "unknown base law 'cauchy'"),
    ("03_cumulant_propagation", "flow_law", "cauchy", "unknown flow_law 'cauchy'"),
    ("03_cumulant_propagation", "alpha", "nan", "alpha must be finite"),
    ("04_gnns", "profile", "fast", "unknown profile 'fast'"),
    ("04_gnns", "device", "tpu", "unknown device 'tpu'"),
    ("04_gnns", "seed", "-1", "seed must be an integer in [0, "),
    ("04_gnns", "seeds", "0", "seeds must be an integer in [1, "),
    ("04_gnns", "activations", "swish", "unknown activation 'swish'"),
    ("04_gnns", "cpu_threads", "0", "threads (cpu_threads) must be an integer >= 1"),
    ("04_gnns", "workers", "0", "workers must be an integer >= 1"),
    ("05_gnn_propagation", "profile", "fast", "unknown profile 'fast'"),
    ("05_gnn_propagation", "device", "tpu", "unknown device 'tpu'"),
    ("05_gnn_propagation", "seed", "-1", "seed must be an integer in [0, "),
    ("05_gnn_propagation", "n_mc", "10", "n_mc must be an integer >= 1024"),
    ("05_gnn_propagation", "laws", "cauchy", "unknown base law 'cauchy'"),
    ("05_gnn_propagation", "cpu_threads", "0", "threads (cpu_threads) must be an integer >= 1"),
    ("06_symmetry_breaking", "profile", "fast", "unknown profile 'fast'"),
    ("06_symmetry_breaking", "device", "tpu", "unknown device 'tpu'"),
    ("06_symmetry_breaking", "seed", "-1", "seed must be an integer in [0, "),
    ("06_symmetry_breaking", "steps", "0", "steps must be an integer >= 1"),
    ("06_symmetry_breaking", "n_seeds", "0", "n_seeds must be an integer >= 1"),
    ("06_symmetry_breaking", "width", "0", "width must be an integer >= 1"),
    ("06_symmetry_breaking", "task", "cauchy", "unknown task law 'cauchy'"),
]
SETUP_CELLS = 4
"""Every error must come from one of a chapter's first code cells (its install, imports, parameters and
set-up cells): no training, sampling or loading cell may have started."""
LIMIT_S = 90
"""A case must fail within this many seconds of start (kernel start and imports included, on a loaded
2-core machine running two cases at a time)."""


def test_every_parameter_of_every_chapter_has_a_case():
    have = {(c, p) for c, p, _, _ in CASES}
    want = {(ch.stem, p) for ch in find_chapters(ROOT / "book") for p in ch.defaults}
    assert want <= have, f"parameters without a bad-value case: {sorted(want - have)}"


def _papermill(case, tmp: Path) -> dict:
    stem, name, value, _ = case
    out = tmp / f"{stem}-{name}.ipynb"
    cmd = plain_papermill(ROOT / "book" / f"{stem}.py", out, ROOT / "book", name, value)
    t = time.perf_counter()
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=600)
    ran = -1
    if out.exists():
        code = [c for c in json.loads(out.read_text())["cells"] if c["cell_type"] == "code"]
        ran = max((i for i, c in enumerate(code) if c.get("execution_count")), default=-1)
    return {"rc": p.returncode, "s": time.perf_counter() - t, "text": p.stderr + p.stdout, "last_cell": ran}


def _pipeline(case, tmp: Path) -> dict:
    stem, name, value, _ = case
    cmd = [sys.executable, "-m", "rgsym.pipeline", "run", stem, "-p", name, value, "--out", str(tmp / f"{stem}-{name}"),
           "--no-progress"]
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    return {"rc": p.returncode, "s": time.perf_counter() - t, "text": p.stderr + p.stdout, "last_cell": None}


@pytest.mark.slow
@pytest.mark.parametrize("route", ["papermill", "pipeline"])
def test_a_bad_value_of_any_parameter_fails_early_and_names_it(route, tmp_path):
    run = _papermill if route == "papermill" else _pipeline
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda c: run(c, tmp_path), CASES))
    bad = []
    for (stem, name, value, want), r in zip(CASES, results):
        why = []
        if r["rc"] == 0:
            why.append("ran to completion")
        if want not in r["text"]:
            why.append(f"message lacks {want!r}")
        if r["s"] > LIMIT_S:
            why.append(f"took {r['s']:.0f} s")
        if r["last_cell"] is not None and r["last_cell"] >= SETUP_CELLS:
            why.append(f"failed in code cell {r['last_cell']}, after the set-up")
        if why:
            tail = [ln for ln in r["text"].splitlines() if "Error" in ln][-1:] or r["text"].splitlines()[-1:]
            bad.append(f"{stem} -p {name} {value}: {', '.join(why)}; {tail}")
    assert not bad, "\n".join(bad)
