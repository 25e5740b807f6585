"""Verdicts on the paper's claims: one record per claim, computed, never typed.

A verdict counts only if its test is fixed before the numbers, its thresholds are named, it carries an
uncertainty, and its sensitivity to each threshold is known. :class:`Verdict` holds all of that, and
:func:`decide` builds one from a *test function* ``test(**thresholds) -> (holds, margin)`` by
evaluating it at the named thresholds and again with each threshold halved and doubled. The
chapters glue a verdict's fields; the claims page of the book reads them back from the executed
notebooks (:meth:`Verdict.record`).

:func:`bootstrap` resamples *seeds* (or whole lattices, or any independent unit), never the correlated
rows inside one unit, and returns a percentile interval.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping, Sequence

from .validation import as_float, as_int

SCALINGS = (0.5, 2.0)
"""Each threshold is re-evaluated at these multiples of its value."""


@dataclass(frozen=True)
class Verdict:
    """The computed verdict on one claim.

    ``claim`` (e.g. ``"C4"``), ``statement`` (the claim in a sentence), ``test`` (the pre-registered test,
    in words, with the thresholds' names), ``measure`` (what is compared), ``thresholds`` (name -> value),
    ``holds``, ``margin`` (how far the deciding quantity is from its threshold, signed: positive when it
    passes; in the unit the test states), ``interval`` (the uncertainty of the deciding quantity, e.g. a
    90 % bootstrap interval, or ``None`` with the reason in ``notes``), ``sensitivity`` (``"NAME x0.5"`` ->
    holds) and ``figure`` (the label of the figure that shows it).
    """

    claim: str
    statement: str
    test: str
    measure: str
    thresholds: dict
    holds: bool
    margin: float
    interval: tuple | None = None
    sensitivity: dict = field(default_factory=dict)
    figure: str = ""
    notes: str = ""

    @property
    def word(self) -> str:
        return "supported" if self.holds else "not supported"

    @property
    def robust(self) -> bool:
        """True when no halving or doubling of a threshold flips the verdict."""
        return all(v == self.holds for v in self.sensitivity.values())

    def sensitivity_text(self) -> str:
        """E.g. ``"unchanged under every threshold halved or doubled"`` or the flips, named."""
        flips = [k for k, v in self.sensitivity.items() if v != self.holds]
        if not flips:
            return "unchanged with every threshold halved or doubled"
        return "flips with " + ", ".join(flips)

    def record(self) -> dict:
        """Plain data for glue and for the claims page."""
        d = asdict(self)
        d["word"] = self.word
        d["robust"] = self.robust
        d["sensitivity_text"] = self.sensitivity_text()
        d["interval"] = list(self.interval) if self.interval is not None else None
        return d


def decide(claim: str, statement: str, test_text: str, measure: str, test: Callable[..., tuple],
           thresholds: Mapping[str, float], *, interval: tuple | None = None, figure: str = "",
           notes: str = "", scalings: Sequence[float] = SCALINGS) -> Verdict:
    """Run ``test(**thresholds) -> (holds, margin)`` at the named thresholds and with each one scaled by
    every factor in ``scalings`` (the others fixed); return the :class:`Verdict`.

    An integer threshold is scaled and rounded (at least 1) so that counts stay counts.
    """
    thresholds = dict(thresholds)
    if not thresholds:
        raise ValueError("a verdict needs at least one named threshold")
    holds, margin = test(**thresholds)
    sens = {}
    for name, value in thresholds.items():
        for f in scalings:
            scaled = max(1, round(value * f)) if isinstance(value, int) and not isinstance(value, bool) else value * f
            sens[f"{name} x{f:g}"] = bool(test(**{**thresholds, name: scaled})[0])
    return Verdict(claim, statement, test_text, measure, thresholds, bool(holds), float(margin),
                   tuple(interval) if interval is not None else None, sens, figure, notes)


def bootstrap(units: Sequence, statistic: Callable[[list], float], *, n_boot: int = 2000, level: float = 0.9,
              seed: int = 0) -> tuple[float, float]:
    """Percentile interval of ``statistic`` over resamples (with replacement) of the independent ``units``
    (seeds, lattices, networks): ``statistic`` gets a list of units and returns a number. NaN results of a
    resample are dropped; the interval is ``(nan, nan)`` when none is finite."""
    import numpy as np

    n_boot = as_int("n_boot", n_boot, lo=10)
    level = as_float("level", level, lo=0.0, hi=1.0, open_lo=True)
    units = list(units)
    if not units:
        raise ValueError("bootstrap needs at least one unit")
    rng = np.random.default_rng(as_int("seed", seed, lo=0))
    stats = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(units), len(units))
        v = statistic([units[i] for i in pick])
        if v is not None and math.isfinite(v):
            stats.append(float(v))
    if not stats:
        return (math.nan, math.nan)
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return (float(lo), float(hi))
