"""Shared fixtures. Heavy results go to a per-session temporary cache, never the user's."""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch_geometric")


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test session trains into its own cache directory (also seen by papermill kernels)."""
    old = os.environ.get("RGSYM_CACHE_DIR")
    os.environ["RGSYM_CACHE_DIR"] = str(tmp_path_factory.mktemp("rgsym-cache"))
    os.environ.setdefault("RGSYM_QUIET", "1")
    yield
    if old is None:
        os.environ.pop("RGSYM_CACHE_DIR", None)
    else:
        os.environ["RGSYM_CACHE_DIR"] = old


def copy_repo(dest: Path, with_notebooks: bool = False) -> Path:
    """A minimal copy of the repository (config, toc, requirements, rgsym, book sources) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml", "requirements.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "rgsym", dest / "rgsym", ignore=shutil.ignore_patterns("__pycache__"))
    ignore = ["_build", "__pycache__", ".ipynb_checkpoints"] + ([] if with_notebooks else ["notebooks"])
    shutil.copytree(ROOT / "book", dest / "book", symlinks=True, ignore=shutil.ignore_patterns(*ignore))
    return dest
