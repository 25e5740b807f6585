"""Launch copies: what a reader gets who opens an executed chapter on Colab or Binder and presses Run all.

Two cells of the executed notebook are rewritten after execution (the chapter source is untouched, so
no content key changes):

* the install cell's ``RGSYM_SOURCE = "rgsym"`` names the exact commit that produced the page, at the
  repository address kept in ``_config.yml`` (``repository.url``) and nowhere else;
* for a paper-profile page, the injected parameters cell chooses the profile at run time -- the paper
  profile where CUDA is available, the smoke profile (minutes) on a CPU -- and says which will run and
  how long the paper run took, before anything starts. The outputs shown stay those of the paper run.
"""
from __future__ import annotations

import re
from pathlib import Path

INSTALL_LINE = re.compile(r'^RGSYM_SOURCE = "[^"\n]*"', re.M)


def repository_url(root: Path) -> str | None:
    """``repository.url`` of ``_config.yml`` (``None`` when it is not set)."""
    import yaml

    try:
        cfg = yaml.safe_load((Path(root) / "_config.yml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    url = (cfg.get("repository") or {}).get("url")
    return str(url).rstrip("/") if url else None


def install_source(root: Path, commit: str) -> str:
    """The pip requirement that installs rgsym at ``commit`` from the book's repository."""
    url = repository_url(root)
    if not url or not re.fullmatch(r"[0-9a-f]{7,40}", commit or ""):
        return "rgsym"
    return f"rgsym @ git+{url}@{commit}"


def unpinned(text: str) -> str:
    """A launch copy's install cell as the chapter source writes it (``RGSYM_SOURCE = "rgsym"``), so that
    the code of an executed notebook can be compared with its source."""
    return INSTALL_LINE.sub('RGSYM_SOURCE = "rgsym"', text, count=1)


def _text(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def auto_profile_source(cell_source: str, meta: dict) -> str:
    """The injected parameters cell of a paper-profile page, rewritten to pick the profile at run time."""
    lines = [ln for ln in cell_source.splitlines() if not ln.startswith("profile =") and not ln.startswith("# Parameters")]
    wall = meta.get("wall_time_s")
    took = f"{wall / 60:.0f} min on {meta.get('device', 'its machine')}" if wall else "its recorded time"
    head = [
        "# Parameters: the outputs of this page are a paper-profile run. Run all reruns the paper profile",
        "# where there is a GPU and the quick smoke profile on a CPU (set profile by hand to choose).",
        'profile = "paper" if __import__("torch").cuda.is_available() else "smoke"',
        f'print(f"Run all executes the {{profile!r}} profile here: the paper run of this page took {took}; "',
        '      "the smoke profile takes a few minutes on a CPU.")',
    ]
    return "\n".join(head + lines)


def make_launch_copy(cells: list, meta: dict, root: Path) -> None:
    """Rewrite, in place, the install cell and (for a paper-profile page) the injected parameters cell."""
    source = install_source(root, str(meta.get("commit", "")))
    for c in cells:
        if c.get("cell_type") != "code":
            continue
        text = _text(c)
        if INSTALL_LINE.search(text):
            c["source"] = INSTALL_LINE.sub(f"RGSYM_SOURCE = {source!r}".replace("'", '"'), text, count=1)
        elif (meta.get("profile") == "paper" and "injected-parameters" in c.get("metadata", {}).get("tags", [])
              and 'cuda.is_available() else "smoke"' not in text):
            c["source"] = auto_profile_source(text, meta)
