"""The committed executed chapters (what the book renders, and what Binder/Colab open) carry no error,
warning, traceback, progress bar or absolute path of the machine that made them, in their outputs or
their metadata."""
from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "book" / "notebooks").glob("*.ipynb"))
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:root|home|work|tmp|Users|var/folders|opt)/[\w.\-/]+")
PROGRESS = re.compile(r"\d+%\|[#█▏▎▍▌▋▊▉ ]*\||\d+(?:\.\d+)?(?:it/s|s/it)\b")
WARNING = re.compile(r"\b\w*Warning\b|Traceback \(most recent call last\)")


def problems(nb: dict, repo_root: str = str(ROOT)) -> list[str]:
    """Every hygiene defect of one executed notebook, as readable strings."""
    out = []
    meta = json.dumps(nb.get("metadata", {}))
    for m in MACHINE_PATH.findall(meta) + ([repo_root] if repo_root in meta else []):
        out.append(f"metadata: machine path {m}")
    for i, cell in enumerate(nb.get("cells", [])):
        for o in cell.get("outputs", []):
            kind = o.get("output_type")
            if kind == "error":
                out.append(f"cell {i}: error output {o.get('ename')}")
                continue
            text = "".join(o.get("text", "")) if kind == "stream" else "".join(
                "".join(v) if isinstance(v, list) else str(v)
                for k, v in o.get("data", {}).items() if k.startswith("text/"))
            if kind == "stream" and o.get("name") == "stderr" and text.strip():
                out.append(f"cell {i}: stderr: {text.strip()[:80]!r}")
            for pat, what in ((WARNING, "warning"), (PROGRESS, "progress bar"), (MACHINE_PATH, "machine path")):
                m = pat.search(text)
                if m:
                    out.append(f"cell {i}: {what}: {m.group(0)[:80]!r}")
            if repo_root in text:
                out.append(f"cell {i}: the repository's absolute path")
    return out + unglued(nb)


GLUE_REF = re.compile(r"\{glue(?::[a-z]+)?\}`([^`:]+)")


def unglued(nb: dict) -> list[str]:
    """``{glue}`` references in the narrative or in a figure caption whose key the notebook never glued
    (the book build fails on them)."""
    glued, refs = set(), set()
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                glued.add(name)
        texts = ["".join(cell.get("source", ""))] if cell.get("cell_type") == "markdown" else []
        caption = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("caption")
        texts += [caption] if caption else []
        for t in texts:
            refs.update(GLUE_REF.findall(t))
    return [f"glue key {k!r} referenced but never glued" for k in sorted(refs - glued)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_is_clean(path):
    assert not problems(json.loads(path.read_text()))


def test_the_scan_finds_each_planted_defect():
    clean = {"metadata": {}, "cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "fit: 0.98 in 3 steps\n"}]}]}
    assert problems(clean) == []
    planted = {
        "warning": {"output_type": "stream", "name": "stdout", "text": "UserWarning: careful\n"},
        "stderr": {"output_type": "stream", "name": "stderr", "text": "something\n"},
        "progress bar": {"output_type": "stream", "name": "stdout", "text": " 40%|####      | 4/10 [00:01<00:02, 3.1it/s]"},
        "machine path": {"output_type": "display_data", "data": {"text/plain": "saved to /root/.cache/rgsym"}},
        "error output": {"output_type": "error", "ename": "ValueError", "evalue": "x", "traceback": []},
    }
    for what, output in planted.items():
        nb = {"metadata": {}, "cells": [{"cell_type": "code", "outputs": [output]}]}
        assert any(what in p for p in problems(nb)), what
    assert problems({"metadata": {"papermill": {"output_path": "/home/u/out.ipynb"}}, "cells": []})
    # a figure caption that pastes a key the notebook never glued (the book build would fail)
    unglued_nb = {"metadata": {}, "cells": [
        {"cell_type": "code", "source": "", "metadata": {"mystnb": {"figure": {"caption": "trained on {glue:text}`task`"}}},
         "outputs": [{"output_type": "display_data", "metadata": {"scrapbook": {"name": "other"}}, "data": {}}]}]}
    assert problems(unglued_nb) == ["glue key 'task' referenced but never glued"]
