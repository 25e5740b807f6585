"""Numbered, captioned figures: declarations in the chapter sources, captions outside their chapter,
and the command that regenerates one figure."""
from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import jupytext
import pytest

from rgsym.pipeline.chapters import find_chapters
from rgsym.pipeline.figures import check_figures, declared_figures, figure_png, substitute_glue

from conftest import ROOT, copy_repo


def _cell(name=None, caption="", outputs=()):
    meta = {"mystnb": {"figure": {"name": name, "caption": caption}}} if name else {}
    return {"cell_type": "code", "source": "", "metadata": meta, "outputs": list(outputs)}


def test_labels_are_checked_for_form_and_repeats():
    assert [f["name"] for f in check_figures({"cells": [_cell("fig-a1"), _cell(), _cell("fig-b-2")]})] == ["fig-a1", "fig-b-2"]
    with pytest.raises(ValueError, match="declared twice"):
        check_figures({"cells": [_cell("fig-a"), _cell("fig-a")]})
    with pytest.raises(ValueError, match="must look like"):
        check_figures({"cells": [_cell("Figure 2")]})


def test_captions_read_the_glued_values():
    vals = {"n_seeds": 5, "x": 0.123456, "name": "tanh"}
    text = "over {glue:text}`n_seeds` seeds, {glue:text}`x:.2f`, {glue}`name`, {glue:text}`missing`, $b^{-l}$"
    assert substitute_glue(text, vals) == "over 5 seeds, 0.12, tanh, {glue:text}`missing`, $b^{-l}$"


def test_figure_png_comes_from_the_declaring_cell():
    png = base64.b64encode(b"\x89PNG-fake").decode()
    nb = {"cells": [_cell("fig-a", outputs=[{"output_type": "display_data", "data": {"image/png": png}}]),
                    _cell("fig-b")]}
    assert figure_png(nb, "fig-a") == b"\x89PNG-fake"
    with pytest.raises(ValueError, match="drew no image"):
        figure_png(nb, "fig-b")
    with pytest.raises(ValueError, match="no figure 'fig-c'"):
        figure_png(nb, "fig-c")


def _sources():
    return {ch.stem: jupytext.read(ch.source) for ch in find_chapters(ROOT / "book")}


def test_every_chapter_declares_its_figures_with_unique_labels():
    seen = {}
    for stem, nb in _sources().items():
        figs = check_figures(nb, stem)
        assert figs, f"{stem} declares no figure"
        for f in figs:
            assert f["name"] not in seen, (f["name"], seen.get(f["name"]), stem)
            assert f["caption"].strip(), f"{f['name']} has no caption"
            seen[f["name"]] = stem
        for f in figs:  # one figure per cell: the drawing ends the cell, nothing else is displayed
            src = nb.cells[f["cell"]].source
            assert "display(" not in src, f"{f['name']}: a figure cell may not display anything else"


def test_every_reference_and_verdict_figure_names_a_declared_figure():
    declared = {f["name"] for nb in _sources().values() for f in declared_figures(nb)}
    texts = [p.read_text() for p in (ROOT / "book").glob("*.py")] + [p.read_text() for p in (ROOT / "book").glob("*.md")]
    refs = {m for t in texts for m in re.findall(r"\{numref\}`(?:[^`<]*<)?(fig-[a-z0-9-]+)>?`", t)}
    assert refs and refs <= declared, sorted(refs - declared)
    verdict_figs = {m for p in (ROOT / "rgsym" / "chapters").glob("*.py")
                    for m in re.findall(r'figure="(fig-[a-z0-9-]+)"', p.read_text())}
    assert verdict_figs <= declared, sorted(verdict_figs - declared)


def test_figure_command_refuses_an_unknown_figure_before_any_work(tmp_path):
    root = copy_repo(tmp_path / "repo")
    proc = subprocess.run([sys.executable, "-m", "rgsym.pipeline", "figure", "01", "fig-nope"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "has no figure 'fig-nope'" in proc.stderr and "fig-c1-flow" in proc.stderr
    assert not (root / "runs").exists()


TINY = '''# %% [markdown]
# # 9. A tiny chapter with a figure

# %% tags=["parameters"]
profile = "smoke"
device = "cpu"
seed = 0
slope = 1.0

# %% mystnb={"figure": {"name": "fig-tiny-line", "caption": "A line of slope {glue:text}`slope`."}}
import matplotlib.pyplot as plt
from rgsym.report import glue
glue("slope", slope)
fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1], [0, slope])
plt.show()
'''


@pytest.mark.slow
def test_figure_command_regenerates_one_figure_with_the_pages_parameters(tmp_path):
    root = copy_repo(tmp_path / "repo")
    for p in (root / "book").glob("[0-9]*.py"):
        p.unlink()
    (root / "book" / "99_tiny.py").write_text(TINY)
    cmd = [sys.executable, "-m", "rgsym.pipeline"]
    assert subprocess.run(cmd + ["run", "99", "-p", "slope", "2.5"], cwd=root, capture_output=True, text=True,
                          timeout=300).returncode == 0
    proc = subprocess.run(cmd + ["figure", "99", "fig-tiny-line"], cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    png = root / "runs" / "figures" / "fig-tiny-line.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    made = json.loads((root / "runs" / "figures" / "notebooks" / "99_tiny.ipynb").read_text())
    assert made["metadata"]["rgsym"]["parameters"]["slope"] == 2.5  # the page's parameters, not the defaults
