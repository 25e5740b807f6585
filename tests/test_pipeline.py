"""The book pipeline: parameters cells, content keys, reuse decisions and early, clear errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rgsym.pipeline.chapters import find_chapters, parse_parameters
from rgsym.pipeline.hashing import input_hash, sources_hash
from rgsym.pipeline.run import META_KEY, parse_value, rerun_command, run_chapters

from conftest import ROOT, copy_repo

CHAPTER = '''# %% [markdown]
# # 9. A tiny chapter

# %% tags=["parameters"]
profile = "smoke"
device = "cpu"
seed = 0
b = 2

# %%
import rgsym
S = rgsym.setup_chapter("99_tiny", profile=profile, device=device, seed=seed, b=b)
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


def test_parse_value_like_papermill():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("None") is None and parse_value("paper") == "paper"
    assert parse_value("[uniform, laplace]") == ["uniform", "laplace"]


def test_sources_hash_tracks_chapter_package_and_requirements(repo):
    ch = find_chapters(repo / "book")[0]
    h0 = sources_hash(ch.source, repo)
    assert h0 == sources_hash(ch.source, repo)
    (repo / "rgsym" / "distributions.py").write_text((repo / "rgsym" / "distributions.py").read_text() + "\n# edit\n")
    h1 = sources_hash(ch.source, repo)
    assert h1 != h0
    (repo / "requirements.txt").write_text((repo / "requirements.txt").read_text() + "\n")
    h2 = sources_hash(ch.source, repo)
    assert h2 != h1
    ch.source.write_text(ch.source.read_text() + "\n# more prose\n")
    assert sources_hash(ch.source, repo) != h2
    # the pipeline sub-package only runs and renders: editing it keeps results current
    p = repo / "rgsym" / "pipeline" / "run.py"
    h3 = sources_hash(ch.source, repo)
    p.write_text(p.read_text() + "\n# cosmetic\n")
    assert sources_hash(ch.source, repo) == h3
    assert input_hash(h3, {"b": 2}) != input_hash(h3, {"b": 3})


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
    # a source change makes it stale
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
    assert parse_value('["uniform", "laplace"]') == ["uniform", "laplace"] and "-p laws '[\"uniform\", \"laplace\"]'" in cmd
