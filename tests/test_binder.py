"""The Binder environment, read the way repo2docker reads binder/: it parses, names a CPU torch and a
Python version, installs rgsym, and covers every import of the package and the book."""
from __future__ import annotations

import ast
import importlib.metadata as md
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import ROOT

BINDER = ROOT / "binder"


def _requirements() -> tuple[list[Requirement], list[str]]:
    reqs, options = [], []
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            options.append(line)
        else:
            reqs.append(Requirement(line))  # raises on anything pip would not parse
    return reqs, options


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_binder_names_a_cpu_torch_and_a_python_version():
    reqs, options = _requirements()
    torch = [r for r in reqs if _norm(r.name) == "torch"]
    assert len(torch) == 1 and any("+cpu" in str(s) for s in torch[0].specifier), torch
    assert any(o.startswith("--extra-index-url") and o.rstrip("/").endswith("/whl/cpu") for o in options)
    assert re.fullmatch(r"python-3\.11", (BINDER / "runtime.txt").read_text().strip())
    post = (BINDER / "postBuild").read_text()
    assert "pip install" in post and "--no-deps" in post and (BINDER / "postBuild").stat().st_mode & 0o111


def _third_party_imports() -> set[str]:
    files = [*(ROOT / "rgsym").rglob("*.py"), *(ROOT / "book").glob("[0-9]*.py")]
    mods = set()
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                mods.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module.split(".")[0])
    return {m for m in mods if m not in sys.stdlib_module_names and m != "rgsym"}


def _closure(dists: set[str]) -> set[str]:
    seen, todo = set(), list(dists)
    while todo:
        d = todo.pop()
        if d in seen:
            continue
        seen.add(d)
        try:
            for r in md.requires(d) or []:
                req = Requirement(r)
                if req.marker is None or req.marker.evaluate({"extra": ""}):
                    todo.append(_norm(req.name))
        except md.PackageNotFoundError:
            pass
    return seen


def test_binder_covers_every_import_of_the_package_and_the_book():
    reqs, _ = _requirements()
    covered = _closure({_norm(r.name) for r in reqs})
    dist_of = md.packages_distributions()
    missing = []
    for mod in sorted(_third_party_imports()):
        dists = {_norm(d) for d in dist_of.get(mod, [])}
        if not dists:
            missing.append(f"{mod} (no installed distribution provides it)")
        elif not dists & covered:
            missing.append(f"{mod} (from {sorted(dists)})")
    assert not missing, "binder/requirements.txt does not install: " + ", ".join(missing)


@pytest.mark.slow
def test_a_chapter_runs_in_the_binder_memory_budget(tmp_path):
    """Chapter 1 in the smoke profile under a 2 GB address-space limit (mybinder.org gives 2 GB)."""
    import shutil

    prlimit = shutil.which("prlimit")
    if not prlimit:
        pytest.skip("prlimit (util-linux) not installed")
    bin_dir = Path(sys.executable).parent
    cmd = (f"{bin_dir / 'jupytext'} --to ipynb -o - {ROOT / 'book' / '01_clt_rg.py'} | {prlimit} --as=2147483648 "
           f"{bin_dir / 'papermill'} - {tmp_path / 'out.ipynb'} --cwd {ROOT / 'book'} -k python3 "
           f"-p profile smoke -p device cpu --log-level ERROR")
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=900,
                          env={**__import__("os").environ, "RGSYM_QUIET": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
