"""The claims page and the closing chapter: every verdict read back from the executed notebooks.

Each chapter glues its verdicts as :meth:`rgsym.verdicts.Verdict.record` dictionaries under names
``verdict_<claim>`` (and ``verdict_<claim>_<part>`` for the parts of one). When the book is built,
:func:`claim_rows` reads them from ``book/notebooks/*.ipynb`` -- nothing on the claims page is typed --
and says for each row whether its chapter is current with its sources, which profile made it, and
where a claim has no pre-registered verdict yet. Rendered by the ``{rgsym-claims}`` and
``{rgsym-findings}`` directives of :mod:`rgsym.pipeline.sphinx_ext`.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path

from .hashing import is_current
from .run import META_KEY, load_notebook

RECORD_MIME = "application/papermill.record/text/plain"
"""The mimetype under which myst-nb's ``glue`` stores a value's ``repr`` in the notebook."""


@dataclass(frozen=True)
class Claim:
    """One claim of the paper as the book tests it: ``key`` (``"C1"``), ``short`` (its name in a row),
    ``statement`` (paraphrased from the abstract), ``chapter`` (the stem of the chapter that tests it),
    ``record`` (the glue name of its :class:`~rgsym.verdicts.Verdict` record, ``None`` when the chapter
    has none yet) and ``descriptive`` (``(glue name, label)`` pairs of the chapter's descriptive outcome,
    shown where no record exists)."""

    key: str
    short: str
    statement: str
    chapter: str
    record: str | None
    descriptive: tuple = ()


CLAIMS = (
    Claim("C1-ref", "The measured flow of the exact map is right",
          "Not a claim of the paper but the reference every learned flow is compared with: the book's "
          "measured block-map flow reproduces the exact eigenvalues b^(1-n/2). It certifies the tool, "
          "not C1.",
          "01_clt_rg", "verdict_C1ref"),
    Claim("C1", "Networks learn an RG step",
          "MLPs and GNNs can be trained to perform a real-space RG step, with the CLT block map as the test "
          "case, while their weight symmetries and activations are varied (the verdict tests the MLPs).",
          "02_mlps", "verdict_C1"),
    Claim("C2", "Constraint and expressivity compete",
          "Models that are too constrained and models that are too complex both generalise poorly; the best "
          "lie in between.",
          "02_mlps", "verdict_C2"),
    Claim("C3", "Constrained MLPs fail, analytically",
          "For certain constrained MLPs the failure follows analytically from the CLT as a cumulant recursion "
          "propagated through the network.",
          "03_cumulant_propagation", "verdict_C3"),
    Claim("MLP-GNN", "MLPs capture the flow better than GNNs",
          "A hypothesis from a machine digest of the paper, not from its abstract: MLPs reproduce the RG flow "
          "better than GNNs.",
          "04_gnns", "verdict_MLPGNN"),
    Claim("C4", "Cumulant propagation extends to GNNs",
          "Cumulant propagation carries over from MLPs to GNNs, checked layer by layer, and shows which "
          "orders each layer creates and removes.",
          "05_gnn_propagation", "verdict_C4"),
    Claim("C5", "Symmetry breaks, then is restored",
          "Learning the RG map proceeds by parameter-symmetry breaking followed by restoration (from the "
          "paper's summary; weaker than C1-C4).",
          "06_symmetry_breaking", "verdict_C5"),
)


_FLOAT_NAMES = {"nan": math.nan, "inf": math.inf}


class _FloatNames(ast.NodeTransformer):
    """``nan``/``inf`` (how ``repr`` writes those floats) become constants; any other name is refused."""

    def visit_Name(self, node):
        if node.id not in _FLOAT_NAMES:
            raise ValueError(f"glued value is not plain data: name {node.id!r}")
        return ast.copy_location(ast.Constant(_FLOAT_NAMES[node.id]), node)


def parse_record(text: str):
    """The value of one glued ``repr``: Python literals (:func:`ast.literal_eval`), with ``nan`` and ``inf``
    allowed (a margin can be NaN). Anything else (a call, an attribute) raises ``ValueError``: the page
    never evaluates code."""
    return ast.literal_eval(_FloatNames().visit(ast.parse(text, mode="eval")))


def glued(nb: dict) -> dict:
    """``name -> value`` of every glued value of an executed notebook (values that do not parse are
    skipped: the claims page only reads plain data)."""
    out = {}
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) or []:
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            text = o.get("data", {}).get(RECORD_MIME)
            if name is None or text is None:
                continue
            try:
                out[name] = parse_record(text if isinstance(text, str) else "".join(text))
            except (ValueError, SyntaxError):
                continue
    return out


def _chapter_state(root: Path, stem: str) -> dict:
    path = root / "book" / "notebooks" / f"{stem}.ipynb"
    if not path.is_file():
        return {"executed": False, "glue": {}, "profile": None, "current": False, "title": stem, "figures": []}
    nb = load_notebook(path)
    meta = nb.get("metadata", {}).get(META_KEY) or {}
    current = is_current(meta, root)
    title = next((ln.lstrip("# ").strip() for c in nb.get("cells", []) if c.get("cell_type") == "markdown"
                  for ln in "".join(c.get("source", "")).splitlines() if ln.startswith("# ")), stem)
    from .figures import declared_figures

    return {"executed": bool(meta), "glue": glued(nb), "profile": meta.get("profile"), "current": current,
            "title": title, "device": meta.get("device"), "figures": [f["name"] for f in declared_figures(nb)]}


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else f"{v:.3g}"
    return str(v)


def claim_rows(root: Path, claims=CLAIMS) -> list[dict]:
    """One row per claim: ``claim``, ``short``, ``statement``, ``chapter``, ``title``, ``status``
    (``"supported"``, ``"not supported"``, ``"no pre-registered verdict"`` or ``"not executed"``),
    ``test``, ``measure``, ``margin``, ``interval``, ``sensitivity`` (text), ``flips`` (the thresholds
    whose halving or doubling flips it), ``figure`` (and ``figure_label``: whether it is the label of a
    figure the chapter declares, so that the page can number it), ``notes``, ``profile``, ``current`` and ``parts``
    (``verdict_<claim>_<part>`` records: ``[(part, word, margin)]``)."""
    root = Path(root)
    states, rows = {}, []
    for c in claims:
        st = states.setdefault(c.chapter, _chapter_state(root, c.chapter))
        row = {"claim": c.key, "short": c.short, "statement": c.statement, "chapter": c.chapter,
               "title": st["title"], "profile": st["profile"], "current": st["current"], "parts": [],
               "test": "", "measure": "", "margin": "", "interval": "", "sensitivity": "", "flips": [],
               "figure": "", "figure_label": False, "notes": ""}
        rec = st["glue"].get(c.record) if c.record else None
        if not st["executed"]:
            row["status"] = "not executed"
        elif isinstance(rec, dict) and "holds" in rec:
            iv = rec.get("interval")
            sens = rec.get("sensitivity") or {}
            row.update(status="supported" if rec["holds"] else "not supported", test=rec.get("test", ""),
                       measure=rec.get("measure", ""), margin=_fmt(rec.get("margin")),
                       interval=f"[{_fmt(iv[0])}, {_fmt(iv[1])}]" if iv else "none: " + rec.get("notes", ""),
                       sensitivity=rec.get("sensitivity_text", ""),
                       flips=[k for k, v in sens.items() if bool(v) != bool(rec["holds"])],
                       figure=rec.get("figure", ""), notes=rec.get("notes", ""),
                       figure_label=rec.get("figure", "") in st["figures"])
            prefix = f"{c.record}_"
            row["parts"] = [(name[len(prefix):], "supported" if r["holds"] else "not supported", _fmt(r.get("margin")))
                            for name, r in sorted(st["glue"].items())
                            if name.startswith(prefix) and isinstance(r, dict) and "holds" in r]
        else:
            row["status"] = "no pre-registered verdict"
            desc = [f"{label}: {_fmt(st['glue'][n])}" for n, label in c.descriptive if n in st["glue"]]
            row["notes"] = ("the chapter's descriptive outcome: " + "; ".join(desc)) if desc else ""
        rows.append(row)
    return rows


def findings_sentences(rows: list[dict]) -> list[str]:
    """One sentence per claim for the closing chapter, built from :func:`claim_rows` (never typed)."""
    out = []
    for r in rows:
        where = f"{r['title']} ({r['profile'] or 'no'} profile{'' if r['current'] else ', STALE: sources changed since'})"
        if r["status"] in ("supported", "not supported"):
            robust = ("and no halving or doubling of a threshold changes that" if not r["flips"]
                      else "but the verdict flips with " + ", ".join(r["flips"]))
            s = (f"{r['claim']} ({r['short']}): {r['status']} by the book's pre-registered test in {where}, "
                 f"margin {r['margin']}, interval {r['interval']} (its chapter states of what), {robust}.")
            if r["parts"]:
                s += " Parts: " + "; ".join(f"{p} {w} (margin {m})" for p, w, m in r["parts"]) + "."
        elif r["status"] == "no pre-registered verdict":
            s = (f"{r['claim']} ({r['short']}): no pre-registered verdict yet in {where}; "
                 + (r["notes"] + " (a descriptive summary without controls or uncertainty, so not evidence "
                    "either way)." if r["notes"] else "nothing to report."))
        else:
            s = f"{r['claim']} ({r['short']}): its chapter has not been executed."
        out.append(s)
    return out
