"""Chapter discovery: the sources ``book/NN_name.py`` and their papermill parameters cells."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

CHAPTER_RE = re.compile(r"^(\d\d|[A-Z]\d)_[a-z0-9_]+\.py$")


def repo_root(start: Path | str | None = None) -> Path:
    """The repository root: the nearest folder upwards holding ``_config.yml`` and ``rgsym/``."""
    here = Path(start or Path(__file__)).resolve()
    for p in [here, *here.parents]:
        if (p / "_config.yml").is_file() and (p / "rgsym").is_dir():
            return p
    raise FileNotFoundError(f"no rgsym repository (with _config.yml and rgsym/) above {here}")


@dataclass(frozen=True)
class Chapter:
    """One chapter: its jupytext source ``book/<stem>.py`` and executed notebook ``book/notebooks/<stem>.ipynb``."""

    source: Path

    @property
    def stem(self) -> str:
        return self.source.stem

    @property
    def book_dir(self) -> Path:
        return self.source.parent

    def notebook_path(self, out_dir: Path | None = None) -> Path:
        return Path(out_dir or self.book_dir / "notebooks") / f"{self.stem}.ipynb"

    @cached_property
    def defaults(self) -> dict:
        """The parameters cell's assignments, evaluated as literals (name -> default value)."""
        return parse_parameters(self.source.read_text())


def parse_parameters(text: str) -> dict:
    """Read the ``# %% tags=["parameters"]`` cell of a percent script into a dict of literals."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("# %%") and 'tags=["parameters"]' in ln), None)
    if start is None:
        raise ValueError('chapter has no "# %% tags=[\\"parameters\\"]" cell')
    body = []
    for ln in lines[start + 1:]:
        if ln.startswith("# %%"):
            break
        body.append(ln)
    tree = ast.parse("\n".join(body))
    params = {}
    for node in tree.body:
        try:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                raise ValueError
            params[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            raise ValueError(f"parameters cell may only hold `name = literal` lines, got: {ast.unparse(node)}") from None
    for key in ("profile", "device", "seed"):
        if key not in params:
            raise ValueError(f"parameters cell lacks {key!r}")
    return params


def find_chapters(book_dir: Path | str | None = None, select: list[str] | None = None) -> list[Chapter]:
    """All chapter sources in ``book_dir`` in order; ``select`` picks by stem or number prefix (``"01"``)."""
    book_dir = Path(book_dir) if book_dir else repo_root() / "book"
    chapters = [Chapter(p) for p in sorted(book_dir.glob("*.py")) if CHAPTER_RE.match(p.name)]
    if not select:
        return chapters
    picked = []
    for key in select:
        key = Path(key).stem
        hits = [c for c in chapters if c.stem == key or c.stem.split("_")[0] == key]
        if not hits:
            valid = ", ".join(c.stem for c in chapters)
            raise ValueError(f"unknown chapter {key!r}; valid choices are: {valid}")
        picked += [h for h in hits if h not in picked]
    return picked
