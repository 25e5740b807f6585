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

# a colour for every base law, used in every chapter
LAW_COLOURS = {
    "gaussian": "#000000",
    "uniform": "#1f77b4",
    "rademacher": "#d62728",
    "laplace": "#2ca02c",
    "exponential": "#ff7f0e",
    "gamma": "#8c564b",
    "student_t": "#9467bd",
    "bimodal": "#e377c2",
}


def use_style() -> None:
    """Apply the book's matplotlib style (called by :func:`rgsym.setup_chapter`)."""
    matplotlib.rcParams.update(STYLE)


def stamp(fig, text: str) -> None:
    """Write the parameters that made a figure in small grey type at its bottom-left corner."""
    fig.text(0.005, 0.002, text, fontsize=7, color="0.45", ha="left", va="bottom")
