"""One figure style for the whole book, and helpers that stamp figures with their parameters."""
from __future__ import annotations

import matplotlib

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "figure.figsize": (7.5, 4.2),
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.6,
    "lines.markersize": 4,
    "image.cmap": "viridis",
}

# Okabe & Ito's palette, distinguishable with the common colour-vision deficiencies; it is also the
# default colour cycle of every axis (C0, C1, ...), so no figure falls back on red against green
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#999999")

# a colour for every base law, used in every chapter
LAW_COLOURS = {
    "gaussian": "#000000",
    "uniform": "#0072B2",
    "rademacher": "#D55E00",
    "laplace": "#009E73",
    "exponential": "#E69F00",
    "gamma": "#56B4E9",
    "student_t": "#CC79A7",
    "bimodal": "#999999",
}


def use_style() -> None:
    """Apply the book's matplotlib style (called by :func:`rgsym.setup_chapter`): :data:`STYLE` and the
    :data:`OKABE_ITO` colour cycle."""
    from cycler import cycler

    matplotlib.rcParams.update(STYLE)
    matplotlib.rcParams["axes.prop_cycle"] = cycler(color=list(OKABE_ITO))


def stamp(fig, text: str, reserve: bool = True, bottom: float = 0.0) -> None:
    """Write the parameters that made a figure in small grey type under its axes.

    The text is wrapped to the figure's width; with ``reserve`` (the default) and a constrained
    layout, the axes are shrunk so that the stamp never overlaps tick labels; ``bottom`` (a figure
    fraction) reserves at least that much, e.g. for a legend placed under the axes.
    """
    import textwrap

    width_in = float(fig.get_figwidth())
    height_in = float(fig.get_figheight())
    chars = max(40, int(width_in * 72 / (7 * 0.55)))  # 7 pt type, ~0.55 em per character
    wrapped = "\n".join(textwrap.wrap(str(text), chars)) or ""
    lines = wrapped.count("\n") + 1
    room = max(float(bottom), min(0.4, (lines * 7 * 1.25 + 4) / 72 / height_in))
    engine = fig.get_layout_engine() if hasattr(fig, "get_layout_engine") else None
    if reserve and engine is not None and hasattr(engine, "set") and "rect" in engine.get():
        engine.set(rect=(0, room, 1, 1 - room))
    fig.text(0.005, 0.004, wrapped, fontsize=7, color="0.45", ha="left", va="bottom")


def finish(fig, text: str, bottom: float = 0.0) -> None:
    """Stamp ``fig`` with the parameters that made it (see :func:`stamp`) and show it."""
    import matplotlib.pyplot as plt

    stamp(fig, text, bottom=bottom)
    plt.show()
