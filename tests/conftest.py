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


@pytest.fixture(scope="module")
def one_thread():
    """One torch CPU thread for a test module (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    tiny batched matmuls, where intra-op threads only wait for each other on a busy machine."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def gen(seed=0):
    """A seeded CPU torch generator."""
    import torch

    return torch.Generator().manual_seed(seed)


def blocks(B=4096, b=2, seed=1):
    """``B`` Gaussian blocks of ``b`` spins, ``(B, b)`` float64, from :func:`gen` ``(seed)``."""
    import torch

    return torch.randn(B, b, generator=gen(seed), dtype=torch.float64)


def copy_repo(dest: Path, with_notebooks: bool = False) -> Path:
    """A minimal copy of the repository (config, toc, requirements, rgsym, book sources) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml", "requirements.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "rgsym", dest / "rgsym", ignore=shutil.ignore_patterns("__pycache__"))
    ignore = ["_build", "__pycache__", ".ipynb_checkpoints"] + ([] if with_notebooks else ["notebooks"])
    shutil.copytree(ROOT / "book", dest / "book", symlinks=True, ignore=shutil.ignore_patterns(*ignore))
    return dest


def plain_papermill(source: Path, out: Path, cwd: Path, name: str, value: str) -> str:
    """The shell line a user runs to execute a jupytext chapter under plain papermill with one ``-p``
    (papermill cannot read ``.py``: jupytext converts it on a pipe)."""
    import sys

    bin_dir = Path(sys.executable).parent
    return (f"{bin_dir / 'jupytext'} --to ipynb -o - {source} | {bin_dir / 'papermill'} - {out} "
            f"--cwd {cwd} -k python3 --language python -p {name} {value} --log-level ERROR")
