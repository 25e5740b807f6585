"""The book pipeline: parameters cells, content keys, reuse decisions and early, clear errors."""
from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import pytest

from rgsym.pipeline.chapters import find_chapters, parse_parameters
from rgsym.pipeline.hashing import input_hash, sources_hash
from rgsym.pipeline.params import parse_value, rerun_command
from rgsym.pipeline.run import META_KEY, run_chapters

from conftest import ROOT, copy_repo, plain_papermill

CHAPTER = '''# %% [markdown]
# # 9. A tiny chapter

# %% tags=["parameters"]
profile = "smoke"
device = "cpu"
seed = 0
b = 2

# %%
from rgsym.config import setup_chapter
S = setup_chapter("99_tiny", profile=profile, device=device, seed=seed, b=b)
if b < 2:
    raise ValueError("b must be >= 2")
print("ok", b)
'''


@pytest.fixture()
def repo(tmp_path):
    root = copy_repo(tmp_path / "repo")
    for p in (root / "book").glob("[0-9]*.py"):
        p.unlink()
    (root / "book" / "99_tiny.py").write_text(CHAPTER)
    return root


def test_every_chapter_has_a_parameters_cell_with_the_common_knobs():
    chapters = find_chapters(ROOT / "book")
    assert chapters, "no chapter sources found in book/"
    for ch in chapters:
        d = ch.defaults
        assert d["profile"] == "smoke" and d["device"] in ("auto", "cpu") and isinstance(d["seed"], int), ch.stem


def test_the_table_of_contents_lists_every_chapter_in_order():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    chapters = [f"notebooks/{ch.stem}" for ch in find_chapters(ROOT / "book")]
    assert [f for f in files if f.startswith("notebooks/")] == chapters
    for f in files:
        if not f.startswith("notebooks/"):
            assert (ROOT / "book" / f"{f}.md").is_file(), f
    assert (ROOT / "book" / "_toc.yml").resolve() == (ROOT / "_toc.yml").resolve()


def test_parse_parameters_rejects_code_and_needs_common_knobs():
    with pytest.raises(ValueError, match="name = literal"):
        parse_parameters('# %% tags=["parameters"]\nprofile = "smoke"\nx = f()\n')
    with pytest.raises(ValueError, match="lacks 'seed'"):
        parse_parameters('# %% tags=["parameters"]\nprofile = "smoke"\ndevice = "cpu"\n')
    with pytest.raises(ValueError, match="no .*parameters"):
        parse_parameters("# %%\nx = 1\n")


@pytest.mark.parametrize("text", ["3", "012", "-4", "0x10", "0.5", "1e20", "1e-3", "inf", "nan", "True", "False",
                                  "true", "yes", "on", "None", "none", "paper", "[uniform, laplace]", "", " 7 "])
def test_parse_value_is_papermills_conversion(text):
    from papermill.cli import _resolve_type

    want, got = _resolve_type(text), parse_value(text)
    assert type(got) is type(want) and (got == want or (got != got and want != want)), (text, got, want)


def test_yaml_parameters_merge_and_fail_clearly(tmp_path):
    from rgsym.pipeline.params import load_yaml_parameters

    f = tmp_path / "p.yaml"
    f.write_text("laws: [uniform, laplace]\nb: 3\n")
    assert load_yaml_parameters(file=f, text="{b: 4}") == {"laws": ["uniform", "laplace"], "b": 4}
    with pytest.raises(ValueError, match="mapping"):
        load_yaml_parameters(text="[1, 2]")


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_sources_hash_follows_the_chapters_code_and_what_it_imports(repo):
    ch = find_chapters(repo / "book")[0]
    h0 = sources_hash(ch.source, repo)
    assert h0 == sources_hash(ch.source, repo)
    # prose: a docstring of an imported module, a comment, the chapter's markdown -- no change
    _edit(repo / "rgsym" / "config.py", '"""Validate a profile name', '"""Check a profile name')
    _edit(repo / "rgsym" / "config.py", "def seed_everything(", "# a new comment\ndef seed_everything(")
    ch.source.write_text(ch.source.read_text().replace("# # 9. A tiny chapter", "# # 9. A tiny, reworded chapter")
                         + "\n# %% [markdown]\n# more prose\n")
    assert sources_hash(ch.source, repo) == h0
    # code the chapter runs: its own cells, a module it imports, requirements.txt -- each changes it
    _edit(ch.source, 'print("ok", b)', 'print("ok!", b)')
    h1 = sources_hash(ch.source, repo)
    assert h1 != h0
    _edit(repo / "rgsym" / "config.py", "return check_choice(\"profile\"", "return check_choice( \"profile\"")
    assert sources_hash(ch.source, repo) == h1  # layout only
    _edit(repo / "rgsym" / "validation.py", "return int(v)", "return int(v) + 0")  # imported by config
    h2 = sources_hash(ch.source, repo)
    assert h2 != h1
    (repo / "requirements.txt").write_text((repo / "requirements.txt").read_text() + "\nextra-package\n")
    h3 = sources_hash(ch.source, repo)
    assert h3 != h2
    # modules outside the chapter's import closure (the pipeline, the seeds) leave it current
    _edit(repo / "rgsym" / "pipeline" / "run.py", "META_KEY = \"rgsym\"", "META_KEY = \"rgsym\"\nX = 1")
    _edit(repo / "rgsym" / "seeds.py", "& (2**63 - 1)", "& (2**62 - 1)")
    assert sources_hash(ch.source, repo) == h3
    assert input_hash(h3, {"b": 2}) != input_hash(h3, {"b": 3})


def test_a_missing_module_is_an_error(repo):
    ch = find_chapters(repo / "book")[0]
    (repo / "rgsym" / "validation.py").unlink()
    with pytest.raises(FileNotFoundError, match="rgsym.validation"):
        sources_hash(ch.source, repo)


@pytest.mark.parametrize("override, message", [
    ({"profile": "fast"}, "unknown profile 'fast'; valid choices are: 'smoke', 'paper'"),
    ({"device": "tpu"}, "unknown device 'tpu'; valid choices are: 'auto', 'cpu', 'cuda'"),
    ({"nonsense": 1}, "has no parameter 'nonsense'; valid parameters are: profile, device, seed, b"),
])
def test_bad_parameters_fail_before_any_execution(repo, override, message):
    with pytest.raises(ValueError) as err:
        run_chapters(["99"], override, book_dir=repo / "book", log=lambda *_: None)
    assert message in str(err.value)
    assert not (repo / "book" / "notebooks").exists(), "nothing may execute after a bad parameter"


def test_cli_reports_bad_profile_with_choices(repo):
    proc = subprocess.run([sys.executable, "-m", "rgsym.pipeline", "run", "99", "-p", "profile", "fast"],
                          cwd=repo, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "valid choices are: 'smoke', 'paper'" in proc.stderr


def test_unknown_chapter_lists_valid_ones(repo):
    with pytest.raises(ValueError, match="valid choices are: 99_tiny"):
        run_chapters(["42"], {}, book_dir=repo / "book", log=lambda *_: None)


@pytest.mark.slow
def test_execute_reuse_and_rerun_on_change(repo):
    book = repo / "book"
    logs = []
    s1 = run_chapters(None, {}, book_dir=book, log=logs.append)
    assert s1[0]["executed"]
    nb_path = book / "notebooks" / "99_tiny.ipynb"
    meta = json.loads(nb_path.read_text())["metadata"][META_KEY]
    for key in ("input_hash", "sources_hash", "parameters", "profile", "device", "commit", "torch", "wall_time_s"):
        assert key in meta, key
    assert meta["parameters"] == {"profile": "smoke", "device": "cpu", "seed": 0, "b": 2}
    assert meta["device"].startswith("cpu")
    # code is hidden behind a toggle for reading, the parameters cell collapsed whole
    code = [c for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code"]
    assert "hide-cell" in code[0]["metadata"]["tags"] and all("hide-input" in c["metadata"]["tags"] for c in code[1:])
    # nothing changed: reused
    assert not run_chapters(None, {}, book_dir=book, log=logs.append)[0]["executed"]
    # other parameters: executed again, injected into the notebook
    s3 = run_chapters(["99"], {"b": 3}, book_dir=book, log=logs.append)
    assert s3[0]["executed"] and s3[0]["reason"] == "parameters changed"
    nb = json.loads(nb_path.read_text())
    assert nb["metadata"][META_KEY]["parameters"]["b"] == 3
    assert any("b = 3" in "".join(c["source"]) for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    # without explicit parameters, a notebook with current sources is kept whatever it ran with
    assert not run_chapters(None, {}, book_dir=book, log=logs.append)[0]["executed"]
    # a prose edit executes nothing: the notebook's narrative is refreshed, its outputs kept
    outputs = [c["outputs"] for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code"]
    (book / "99_tiny.py").write_text(CHAPTER.replace("A tiny chapter", "A tiny, reworded chapter"))
    s4 = run_chapters(None, {}, book_dir=book, log=logs.append)
    assert not s4[0]["executed"] and s4[0].get("prose")
    nb = json.loads(nb_path.read_text())
    assert "A tiny, reworded chapter" in "".join(nb["cells"][0]["source"])
    assert [c["outputs"] for c in nb["cells"] if c["cell_type"] == "code"] == outputs
    assert not run_chapters(None, {}, book_dir=book, log=logs.append)[0].get("prose")
    # a caption in a code cell's header is narrative too: refreshed into the notebook without executing
    cap = CHAPTER.replace("A tiny chapter", "A tiny, reworded chapter").replace(
        "# %%\nfrom rgsym.config", '# %% mystnb={"figure": {"name": "fig-tiny", "caption": "A caption."}}\nfrom rgsym.config')
    (book / "99_tiny.py").write_text(cap)
    s6 = run_chapters(None, {}, book_dir=book, log=logs.append)
    assert not s6[0]["executed"] and s6[0].get("prose")
    code = [c for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code"]
    fig = [c for c in code if "mystnb" in c["metadata"]]
    assert len(fig) == 1 and fig[0]["metadata"]["mystnb"]["figure"]["name"] == "fig-tiny"
    assert fig[0]["outputs"] == outputs[-1]
    # the same code cut into other cells cannot carry its outputs over: it executes
    (book / "99_tiny.py").write_text(cap.replace("if b < 2:", "# %%\nif b < 2:"))
    s7 = run_chapters(None, {}, book_dir=book, log=logs.append)
    assert s7[0]["executed"] and s7[0]["reason"].startswith("code cells regrouped")
    # a code change makes it stale
    (book / "99_tiny.py").write_text(CHAPTER + "\n# %%\nprint('new cell')\n")
    s5 = run_chapters(None, {}, book_dir=book, log=logs.append)
    assert s5[0]["executed"] and s5[0]["reason"] == "sources changed"


@pytest.mark.slow
def test_failed_chapter_is_reported_and_kept_apart(repo):
    from rgsym.pipeline.run import ChapterFailed

    book = repo / "book"
    with pytest.raises(ChapterFailed, match="ValueError: b must be >= 2"):
        run_chapters(["99"], {"b": 1}, book_dir=book, log=lambda *_: None)
    assert (book / "notebooks" / "_failed" / "99_tiny.ipynb").exists()
    assert not (book / "notebooks" / "99_tiny.ipynb").exists()


def test_benchmark_headlines_check_targets():
    from rgsym.pipeline.tables import benchmark_results, headlines

    h = headlines("bench_propagation", {"network": "n", "order": 4, "propagation_ms": 60.0, "target_ms": 50.0,
                                        "target_met": False, "rows": []})
    assert h[0]["measured"] == "60.0 ms" and h[0]["met"] == "NO"
    h = headlines("bench_logging", {"target_extra_fraction": 0.2,
                                    "rows": [{"ensemble": "e", "extra_fraction": 0.25}]})
    assert h[0]["met"] == "NO" and h[0]["measured"] == "+25.0%"
    assert headlines("bench_unknown", {"x": 1}) == []
    for name, data in benchmark_results(ROOT):
        assert headlines(name, data), f"no headline extracted from benchmarks/results/{name}.json"


def test_colab_cell_installs_only_when_missing():
    for ch in find_chapters(ROOT / "book"):
        first_code = ch.source.read_text().split("# %%")[2]
        assert 'find_spec("rgsym") is None' in first_code and "pip" in first_code, ch.stem


def test_rerun_command_reproduces_non_default_parameters(repo):
    meta = {"chapter": "99_tiny", "source": "book/99_tiny.py",
            "parameters": {"profile": "smoke", "device": "cpu", "seed": 0, "b": 3}}
    cmd = rerun_command(meta, repo)
    assert cmd == "python -m rgsym.pipeline run 99_tiny -p profile smoke -p b 3"
    # without the source every parameter is spelled out, values as the CLI parses them
    meta["parameters"]["laws"] = ["uniform", "laplace"]
    cmd = rerun_command(meta)
    assert "-p device cpu" in cmd and "-p seed 0" in cmd
    assert "-y '{\"laws\": [\"uniform\", \"laplace\"]}'" in cmd


@pytest.mark.slow
def test_an_override_never_replaces_committed_paper_results(repo):
    book = repo / "book"
    other = CHAPTER.replace("b = 2\n", "").replace(", b=b)", ")").replace("if b < 2:", "if False:").replace(
        'print("ok", b)', 'print("other")').replace("99_tiny", "98_other")
    (book / "98_other.py").write_text(other)
    run_chapters(None, {"profile": "paper"}, book_dir=book, log=lambda *_: None, replace=True)
    before = {p.name: p.read_bytes() for p in (book / "notebooks").glob("*.ipynb")}
    assert set(before) == {"98_other.ipynb", "99_tiny.ipynb"}
    logs = []
    summary = run_chapters(None, {"b": 3}, book_dir=book, log=logs.append)
    # the override reaches only the chapter that declares it ...
    by = {s["chapter"]: s for s in summary}
    assert not by["98_other"]["executed"] and by["99_tiny"]["executed"]
    # ... and that run goes to runs/, leaving every committed notebook byte-identical
    assert by["99_tiny"]["protected"] and (repo / "runs" / "99_tiny.ipynb").exists()
    assert {p.name: p.read_bytes() for p in (book / "notebooks").glob("*.ipynb")} == before
    assert any("--replace" in line for line in logs)
    # asked for explicitly, it replaces
    run_chapters(["99"], {"b": 3}, book_dir=book, log=lambda *_: None, replace=True)
    assert (book / "notebooks" / "99_tiny.ipynb").read_bytes() != before["99_tiny.ipynb"]


def test_cli_params_lists_defaults_types_and_choices(repo):
    proc = subprocess.run([sys.executable, "-m", "rgsym.pipeline", "params", "99"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "profile" in proc.stdout and "'smoke', 'paper'" not in proc.stdout and "smoke, paper" in proc.stdout
    assert "b " in proc.stdout and "[int]" in proc.stdout


def test_cli_refuses_a_file_as_out_and_a_missing_yaml(repo, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    for args, msg in ((["--out", str(f)], "is a file"), (["-f", str(tmp_path / "nope.yaml")], "no such file")):
        proc = subprocess.run([sys.executable, "-m", "rgsym.pipeline", "run", "99", *args], cwd=repo,
                              capture_output=True, text=True)
        assert proc.returncode == 2 and msg in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_dead_kernel_ends_in_one_line_and_a_failed_copy_with_no_temp_left(repo, tmp_path, monkeypatch):
    import tempfile as tf

    from rgsym.pipeline.run import ChapterFailed

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tf.tempdir = None  # re-read TMPDIR
    book = repo / "book"
    (book / "99_tiny.py").write_text(CHAPTER + "\n# %%\nimport os\nos._exit(3)\n")
    try:
        with pytest.raises(ChapterFailed) as info:
            run_chapters(["99"], {}, book_dir=book, log=lambda *_: None)
    finally:
        tf.tempdir = None
    msg = str(info.value)
    assert "could not be executed" in msg and "DeadKernelError" in msg and "Traceback" not in msg
    assert (book / "notebooks" / "_failed" / "99_tiny.ipynb").exists()
    assert not list((book / "notebooks").glob(".*running*")) and not list((book / "notebooks").glob(".*.lock"))
    assert not list(tmp_path.glob("rgsym-prov-*"))


@pytest.mark.slow
def test_two_runs_never_write_one_notebook_and_records_hold_no_machine_path(repo):
    import fcntl

    from rgsym.pipeline.run import ChapterFailed

    book = repo / "book"
    (book / "notebooks").mkdir(parents=True, exist_ok=True)
    lock = book / "notebooks" / ".99_tiny.lock"
    with open(lock, "w") as fh:  # another run holds the page
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(ChapterFailed, match="another run is writing"):
            run_chapters(["99"], {}, book_dir=book, log=lambda *_: None)
    run_chapters(["99"], {}, book_dir=book, log=lambda *_: None)
    text = (book / "notebooks" / "99_tiny.ipynb").read_text()
    assert str(repo) not in text and "output_path" not in text
    meta = json.loads(text)["metadata"][META_KEY]
    assert {"cached_results", "computed_results", "cached_compute_s"} <= set(meta)


def test_launch_copy_pins_the_commit_and_picks_the_profile_at_run_time(repo):
    from rgsym.pipeline.launch import make_launch_copy, repository_url

    url = repository_url(repo)
    assert url and url.startswith("https://")
    install = {"cell_type": "code", "metadata": {}, "source": 'import sys\nRGSYM_SOURCE = "rgsym"\nprint(1)\n'}
    injected = {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]},
                "source": '# Parameters\nprofile = "paper"\nn_seeds = 3\n'}
    meta = {"commit": "0123456789abcdef0123456789abcdef01234567", "profile": "paper", "wall_time_s": 600.0,
            "device": "cpu (2 logical cores)"}
    cells = [install, injected]
    make_launch_copy(cells, meta, repo)
    assert f'RGSYM_SOURCE = "rgsym @ git+{url}@{meta["commit"]}"' in install["source"]
    ns = {}
    exec(injected["source"], ns)  # on this machine (no CUDA): the smoke profile, and it says so
    import torch

    assert ns["profile"] == ("paper" if torch.cuda.is_available() else "smoke") and ns["n_seeds"] == 3
    again = injected["source"]
    make_launch_copy(cells, meta, repo)
    assert injected["source"] == again  # idempotent


def test_the_repository_address_lives_in_config_alone():
    for ch in find_chapters(ROOT / "book"):
        assert "git+https://" not in ch.source.read_text(), ch.stem


def test_every_chapter_declares_all_its_parameters_to_setup_chapter():
    """setup_chapter refuses injected names it was not given, so each chapter must give it all of its own."""
    import ast

    for ch in find_chapters(ROOT / "book"):
        calls = [n for n in ast.walk(ast.parse(ch.source.read_text()))
                 if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", "")) == "setup_chapter"]
        assert len(calls) == 1, ch.stem
        given = {k.arg for k in calls[0].keywords}
        assert set(ch.defaults) <= given, f"{ch.stem}: setup_chapter is not given {sorted(set(ch.defaults) - given)}"


@pytest.mark.slow
def test_plain_papermill_refuses_an_undeclared_parameter(repo, tmp_path):
    cmd = plain_papermill(repo / "book" / "99_tiny.py", tmp_path / "o.ipynb", repo / "book", "stpes", "10")
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "has no parameter 'stpes'" in proc.stderr and "valid parameters are: b, device, profile, seed" in proc.stderr
    ok = subprocess.run(cmd.replace("-p stpes 10", "-p b 3"), shell=True, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr[-2000:]


def test_banner_flags_code_and_prose_edits_apart():
    from rgsym.pipeline.sphinx_ext import banner_html

    meta = {"sources_hash": "a" * 64, "prose_hash": "p" * 64, "profile": "paper", "device": "cpu",
            "parameters": {"profile": "paper"}, "source": "book/x.py"}
    current = banner_html(meta, "a" * 64, "rerun", "p" * 64)
    assert "rgsym-stale" not in current and "rgsym-provenance" in current
    code = banner_html(meta, "b" * 64, "rerun", "p" * 64)
    assert "rgsym-stale" in code and "Rerun <code>rerun</code>" in code
    prose = banner_html(meta, "a" * 64, "rerun", "q" * 64)
    assert "rgsym-stale" in prose and "Only the narrative" in prose


def test_prose_refresh_sees_through_the_pinned_install_cell(tmp_path):
    """An executed page's install cell names a commit (the launch copy); a prose edit must still refresh
    the page without executing (it once compared the pinned cell with the source and gave up)."""
    import jupytext
    import nbformat

    from rgsym.pipeline.hashing import prose_hash
    from rgsym.pipeline.run import refresh_prose

    root = copy_repo(tmp_path / "repo")
    book = root / "book"
    for p in book.glob("[0-9]*.py"):
        p.unlink()
    src = book / "99_tiny.py"
    install = ('# %%\nimport importlib.util\nRGSYM_SOURCE = "rgsym"\nif importlib.util.find_spec("rgsym") is None:\n'
               '    print(RGSYM_SOURCE)\n\n')
    src.write_text(CHAPTER.replace('# %% tags=["parameters"]', install + '# %% tags=["parameters"]'))
    nb = jupytext.read(src)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = []
            c.execution_count = None
    nb.cells[1].source = nb.cells[1].source.replace('RGSYM_SOURCE = "rgsym"', 'RGSYM_SOURCE = "rgsym @ git+https://'
                                                    'github.com/rgsym/rgsym@' + "a" * 40 + '"')
    nb.metadata[META_KEY] = {"prose_hash": prose_hash(src), "commit": "a" * 40, "profile": "smoke",
                             "source": "book/99_tiny.py"}
    (book / "notebooks").mkdir()
    path = book / "notebooks" / "99_tiny.ipynb"
    nbformat.write(nb, str(path))
    (ch,) = find_chapters(book, ["99"])
    assert refresh_prose(ch, path) == "current"
    src.write_text(src.read_text().replace("A tiny chapter", "A tiny, reworded chapter"))
    (ch,) = find_chapters(book, ["99"])
    assert refresh_prose(ch, path) == "refreshed"
    out = nbformat.read(str(path), as_version=4)
    assert "A tiny, reworded chapter" in out.cells[0].source
    assert "@" + "a" * 40 in out.cells[1].source or 'RGSYM_SOURCE = "rgsym' in out.cells[1].source


@pytest.mark.slow
def test_sigterm_leaves_no_temporary_notebook_or_lock(repo):
    """A SIGTERM (pkill, a scheduler, a CI timeout) unwinds like Ctrl-C: no .running notebook, no lock."""
    import signal
    import time

    (repo / "book" / "99_tiny.py").write_text(CHAPTER.replace('print("ok", b)', 'import time\ntime.sleep(60)'))
    proc = subprocess.Popen([sys.executable, "-m", "rgsym.pipeline", "run", "99"], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    nbdir = repo / "book" / "notebooks"
    deadline = time.time() + 120
    while time.time() < deadline and not list(nbdir.glob(".99_tiny.running-*")):
        time.sleep(0.5)
    assert list(nbdir.glob(".99_tiny.running-*")), "the chapter never started"
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)  # also closes the pipes
    assert proc.returncode != 0
    left = [p.name for p in nbdir.glob(".*")]
    assert not left, left


def test_status_into_a_closed_pipe_is_quiet(repo):
    proc = subprocess.run(f"{sys.executable} -m rgsym.pipeline status | head -c 1", shell=True, cwd=repo,
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr[-1000:]


def test_load_notebook_parses_each_version_once(tmp_path):
    from rgsym.pipeline.run import load_notebook

    p = tmp_path / "x.ipynb"
    p.write_text(json.dumps({"metadata": {META_KEY: {"v": 1}}, "cells": []}))
    a = load_notebook(p)
    assert load_notebook(p) is a  # the same version: not parsed again
    p.write_text(json.dumps({"metadata": {META_KEY: {"v": 22}}, "cells": []}))
    assert load_notebook(p)["metadata"][META_KEY]["v"] == 22  # a new version is read
