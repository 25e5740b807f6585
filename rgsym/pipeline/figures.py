"""Numbered, captioned figures: what each chapter declares, and the command that regenerates one.

A chapter declares a figure in the metadata of the code cell that draws it (one figure per cell), in
the jupytext header of the cell::

    # %% mystnb={"figure": {"name": "fig-c1-laws", "caption": "What is drawn, how many seeds, ..."}}

myst-nb then renders the cell's image as a numbered figure with that caption (MyST, so ``$math$``,
``{glue:text}`` and ``{numref}`` work in it), and the text refers to it with ``{numref}`fig-c1-laws```.
The metadata is a comment to Python, so a caption edit invalidates nothing: the pipeline refreshes it
without executing (:func:`rgsym.pipeline.run.refresh_prose`).

``python -m rgsym.pipeline figure CHAPTER NAME`` (:func:`regenerate`) executes the chapter with the
parameters that made its page (cached results are reused) into a scratch folder and writes that
figure's PNG.
"""
from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

FIGURE_NAME = re.compile(r"fig-[a-z0-9][a-z0-9-]*")
"""Figure labels: ``fig-`` and lower-case words joined by hyphens, unique in the book."""

_GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")


def figure_meta(cell: dict) -> dict | None:
    """The ``{"name", "caption"}`` figure options of a notebook cell, or ``None``."""
    fig = (cell.get("metadata", {}).get("mystnb") or {}).get("figure")
    return fig if isinstance(fig, dict) and fig.get("name") else None


def declared_figures(nb: dict) -> list[dict]:
    """``[{"name", "caption", "cell"}]`` for every code cell of ``nb`` (a notebook dict or nbformat node)
    that declares a figure, in order."""
    out = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code" and figure_meta(cell):
            f = figure_meta(cell)
            out.append({"name": str(f["name"]), "caption": str(f.get("caption", "")), "cell": i})
    return out


def check_figures(nb: dict, where: str = "notebook") -> list[dict]:
    """:func:`declared_figures`, after checking each label's form and that no label repeats."""
    figs = declared_figures(nb)
    seen = set()
    for f in figs:
        if not FIGURE_NAME.fullmatch(f["name"]):
            raise ValueError(f"{where}: figure name {f['name']!r} must look like 'fig-c1-laws' (fig- and "
                             "lower-case words joined by hyphens)")
        if f["name"] in seen:
            raise ValueError(f"{where}: figure name {f['name']!r} is declared twice")
        seen.add(f["name"])
    return figs


def substitute_glue(text: str, values: dict) -> str:
    """``text`` with every ``{glue:text}`name:spec``` (or ``{glue}`name```) replaced by the glued value,
    formatted by ``spec`` (so a caption reads the same outside its chapter); unknown names are kept."""
    def sub(m):
        name, spec = m.group(1), m.group(2)
        if name not in values:
            return m.group(0)
        v = values[name]
        try:
            return format(v, spec) if spec else (f"{v:.4g}" if isinstance(v, float) and math.isfinite(v) else str(v))
        except (TypeError, ValueError):
            return str(v)
    return _GLUE_ROLE.sub(sub, text)


def figure_png(nb: dict, name: str) -> bytes:
    """The PNG bytes of the figure ``name`` in an executed notebook."""
    for f in declared_figures(nb):
        if f["name"] == name:
            for out in nb["cells"][f["cell"]].get("outputs", []) or []:
                png = out.get("data", {}).get("image/png")
                if png:
                    return base64.b64decode("".join(png) if isinstance(png, list) else png)
            raise ValueError(f"figure {name!r} was declared but its cell drew no image")
    raise ValueError(f"no figure {name!r} in this notebook")


def source_figures(chapter) -> list[dict]:
    """The figures a chapter source declares (read with jupytext, checked by :func:`check_figures`)."""
    import jupytext

    return check_figures(jupytext.read(chapter.source), str(chapter.source))


def regenerate(chapter: str, name: str, overrides: dict | None = None, *, out: Path | None = None,
               log=print) -> Path:
    """Execute ``chapter`` (a stem or number) with the parameters of its page (and ``overrides``) into a
    scratch folder, and write the PNG of its figure ``name`` to ``out`` (default ``runs/figures/``).
    Unknown chapters or names fail before any work, naming the valid ones. Returns the PNG's path."""
    from .chapters import find_chapters, repo_root
    from .run import read_meta, run_chapters

    root = repo_root(Path.cwd())
    (ch,) = find_chapters(root / "book", [chapter])
    names = [f["name"] for f in source_figures(ch)]
    if name not in names:
        raise ValueError(f"{ch.stem} has no figure {name!r}; its figures are: {', '.join(names) or 'none'}")
    meta = read_meta(ch.notebook_path(root / "book" / "notebooks")) or {}
    params = {k: v for k, v in (meta.get("parameters") or {}).items() if k in ch.defaults}
    params.update(overrides or {})
    out = Path(out) if out is not None else root / "runs" / "figures"
    scratch = out / "notebooks"
    run_chapters([ch.stem], params, out_dir=scratch, log=log)
    nb = json.loads(ch.notebook_path(scratch).read_text())
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    path.write_bytes(figure_png(nb, name))
    log(f"wrote {path} ({ch.stem}, parameters {params})")
    return path
