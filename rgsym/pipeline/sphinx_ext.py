"""Sphinx extension of the rgsym book (listed in ``_config.yml``).

For every chapter page (an executed notebook in ``book/notebooks/``) it

- shows a provenance box under the title: profile, device, commit, input hash, torch version,
  wall time, parameters, and the command that reruns the chapter;
- recomputes the chapter's sources hash at build time and shows a warning box when the chapter's
  source, the rgsym sources or the requirements changed since the notebook was executed;
- fails the build when a chapter failed to execute (error outputs, a papermill exception, or a
  newer failed run in ``notebooks/_failed/``) or was not executed by the pipeline at all;
- turns every Sphinx warning into an error (``rgsym_strict``, on by default), so the literal
  ``jupyter-book build book/`` ships nothing broken silently.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .chapters import repo_root
from .hashing import prose_hash, sources_hash
from .params import rerun_command
from .run import META_KEY, load_notebook

logger = logging.getLogger(__name__)


def _notebook_docs(app):
    return [d for d in app.env.found_docs if str(app.env.doc2path(d)).endswith(".ipynb")]


def _always_reread(app, env, added, changed, removed):
    # provenance depends on files outside the notebook (the chapter and rgsym sources), and the
    # appendix tables on every notebook and benchmark result: always read them again
    dynamic = set(_notebook_docs(app)) | set(getattr(env, "rgsym_dynamic_docs", set()))
    return [d for d in dynamic if d in env.found_docs and d not in added and d not in changed]


def _check_failed(nb: dict, path: Path) -> None:
    if nb.get("metadata", {}).get("papermill", {}).get("exception"):
        raise ExtensionError(f"{path}: papermill recorded an exception: the chapter failed to execute")
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "error":
                raise ExtensionError(
                    f"{path}: a cell raised {out.get('ename')}: {out.get('evalue')} -- the chapter failed to execute"
                )
    failed = path.parent / "_failed" / path.name
    if failed.exists() and failed.stat().st_mtime >= path.stat().st_mtime:
        raise ExtensionError(f"the latest execution of {path.stem} failed (see {failed}); fix it and rerun the pipeline")


def _fmt_params(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def banner_html(meta: dict, current_hash: str | None, rerun: str | None = None,
                current_prose: str | None = None) -> str:
    """The provenance box (and, when stale, the warning box) as HTML.

    Stale means the code the results depend on changed (``current_hash`` differs from the recorded
    sources hash: rerun), or only the narrative changed (``current_prose`` differs from the recorded
    prose hash: the page shows older prose, and the pipeline refreshes it without executing)."""
    e = html.escape
    commit = meta.get("commit", "unknown")
    dirty = " (with uncommitted changes)" if meta.get("dirty") else ""
    params = meta.get("parameters", {})
    rerun = rerun or rerun_command(meta)
    parts = []
    if current_hash is not None and current_hash != meta.get("sources_hash"):
        parts.append(
            '<div class="admonition warning rgsym-stale">'
            '<p class="admonition-title">Sources changed since this page was executed</p>'
            f"<p>The chapter source, the rgsym package or the requirements differ from those that produced the "
            f"results below (recorded sources <code>{e(meta.get('sources_hash', '')[:12])}</code>, now "
            f"<code>{e(current_hash[:12])}</code>). Rerun <code>{e(rerun)}</code> to refresh them.</p></div>"
        )
    elif current_prose is not None and meta.get("prose_hash") and current_prose != meta["prose_hash"]:
        parts.append(
            '<div class="admonition warning rgsym-stale">'
            '<p class="admonition-title">Sources changed since this page was executed</p>'
            "<p>Only the narrative of the chapter source changed: the results below are current, but the "
            "text around them is older than the source. <code>python -m rgsym.pipeline run</code> "
            "brings it up to date (without executing, unless code cells were regrouped).</p></div>"
        )
    cached = ""
    if meta.get("cached_results"):
        cached = (f" ({meta['cached_results']} results loaded from the cache, which took "
                  f"{meta.get('cached_compute_s', 0):.0f} s of compute when they were made; "
                  f"{meta.get('computed_results', 0)} computed in this run)")
    elif meta.get("computed_results"):
        cached = f" ({meta['computed_results']} results computed in this run, none from the cache)"
    parts.append(
        '<div class="admonition note rgsym-provenance">'
        '<p class="admonition-title">How this page was made</p>'
        f"<p>Executed with the <strong>{e(str(meta.get('profile')))}</strong> profile on "
        f"<strong>{e(str(meta.get('device')))}</strong>, {e(str(meta.get('executed_at')))}, in "
        f"{meta.get('wall_time_s', 0):.0f} s{e(cached)}; commit <code>{e(commit[:10])}</code>{e(dirty)}; inputs "
        f"<code>sha256:{e(meta.get('input_hash', '')[:16])}</code>; torch {e(str(meta.get('torch')))}, "
        f"Python {e(str(meta.get('python')))}.</p>"
        f"<p>Parameters: <code>{e(_fmt_params(params))}</code>. Rerun: <code>{e(rerun)}</code>.</p></div>"
    )
    return "\n".join(parts)


def _inject(app, doctree):
    docname = app.env.docname
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".ipynb":
        return
    nb = load_notebook(path)
    _check_failed(nb, path)
    meta = nb.get("metadata", {}).get(META_KEY)
    if meta is None:
        logger.warning(f"{path} was not executed by the rgsym pipeline (no provenance); run python -m rgsym.pipeline run",
                       location=docname)
        return
    root = repo_root(app.srcdir)
    src = root / meta.get("source", "")
    current = sources_hash(src, root) if src.is_file() else "source-missing"
    prose = prose_hash(src) if src.is_file() else None
    raw = nodes.raw("", banner_html(meta, current, rerun_command(meta, root), prose), format="html")
    _regenerate_boxes(doctree, meta.get("chapter", path.stem))
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None and section.children and isinstance(section.children[0], nodes.title):
        section.insert(1, raw)
    else:
        doctree.insert(0, raw)


def _table(headers, rows):
    table = nodes.table()
    tgroup = nodes.tgroup(cols=len(headers))
    table += tgroup
    for _ in headers:
        tgroup += nodes.colspec(colwidth=1)
    thead = nodes.thead()
    tgroup += thead
    hrow = nodes.row()
    for h in headers:
        hrow += nodes.entry("", nodes.paragraph(text=str(h)))
    thead += hrow
    tbody = nodes.tbody()
    tgroup += tbody
    for r in rows:
        row = nodes.row()
        for cell in r:
            entry = nodes.entry()
            if isinstance(cell, nodes.Node):
                entry += cell
            else:
                entry += nodes.paragraph(text="" if cell is None else str(cell))
            row += entry
        tbody += row
    return table


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return v


def _mark_dynamic(env):
    if not hasattr(env, "rgsym_dynamic_docs"):
        env.rgsym_dynamic_docs = set()
    env.rgsym_dynamic_docs.add(env.docname)


class ProvenanceDirective(SphinxDirective):
    """``{rgsym-provenance}``: every chapter's provenance and every figure with its command."""

    def run(self):
        from .tables import provenance_rows

        _mark_dynamic(self.env)
        root = repo_root(self.env.srcdir)
        rows = provenance_rows(root)
        for r in rows:
            self.env.note_dependency(str(root / "book" / "notebooks" / f"{r['chapter']}.ipynb"))
        chap = _table(["chapter", "profile", "device", "commit", "inputs", "current", "wall time (s)", "executed"],
                      [[r["chapter"], r["profile"], r["device"], r["commit"], r["inputs"], r["current"],
                        _fmt(r["wall_s"]), r["executed"]] for r in rows])
        figs = []
        for r in rows:
            for f in r["figures"]:
                num = nodes.paragraph()
                num += _numref(f["name"], self.env.docname)
                figs.append([num, r["chapter"], self._caption(f["caption"]),
                             nodes.literal(text=figure_command(r["stem"], f["name"]))])
        return [chap, _table(["figure", "chapter", "caption", "command that regenerates it"], figs)]

    def _caption(self, text: str):
        from docutils.statemachine import StringList

        box = nodes.container()
        self.state.nested_parse(StringList(text.splitlines() or [""], source="caption"), self.content_offset, box)
        return box


class BenchmarksDirective(SphinxDirective):
    """``{rgsym-benchmarks}``: the results of every script in ``benchmarks/`` as tables."""

    def run(self):
        from .tables import benchmark_results, headlines

        _mark_dynamic(self.env)
        root = repo_root(self.env.srcdir)
        out = []
        results = benchmark_results(root)
        if not results:
            out.append(nodes.paragraph(text="No benchmark results yet: run make bench."))
        heads = [h for name, data in results for h in headlines(name, data)]
        if heads:
            sec = nodes.section(ids=["bench-summary"])
            sec += nodes.title(text="At a glance")
            sec += _table(["benchmark", "what", "measured", "target", "met"],
                          [[h["benchmark"], h["measure"], h["measured"], h["target"], h["met"]] for h in heads])
            out.append(sec)
        for name, data in results:
            self.env.note_dependency(str(root / "benchmarks" / "results" / f"{name}.json"))
            sec = nodes.section(ids=[f"bench-{name}"])
            sec += nodes.title(text=f"{name}: {data.get('title') or data.get('what') or ''}".rstrip(": "))
            if data.get("description"):
                sec += nodes.paragraph(text=str(data["description"]))
            scalars = [(k, v) for k, v in data.items()
                       if k not in ("title", "description", "what") and not isinstance(v, (list, dict))]
            for key, val in data.items():
                if isinstance(val, list) and val and all(isinstance(x, dict) for x in val):
                    headers = list(dict.fromkeys(k for x in val for k in x))
                    sec += nodes.rubric(text=key.replace("_", " "))
                    sec += _table(headers, [[_fmt(x.get(h)) for h in headers] for x in val])
                elif isinstance(val, dict):
                    sec += nodes.rubric(text=key.replace("_", " "))
                    sec += _table(["", "value"], [[k, _fmt(v)] for k, v in val.items()])
            if scalars:
                sec += _table(["", "value"], [[k, _fmt(v)] for k, v in scalars])
            sec += nodes.paragraph(text=f"Script: benchmarks/{name}.py; results: benchmarks/results/{name}.json.")
            out.append(sec)
        return out


def figure_command(stem: str, name: str) -> str:
    """The one command that regenerates figure ``name`` of chapter ``stem``."""
    return f"python -m rgsym.pipeline figure {stem} {name}"


def _numref(label: str, refdoc: str):
    from sphinx import addnodes

    ref = addnodes.pending_xref("", refdoc=refdoc, refdomain="std", reftype="numref", reftarget=label,
                                refexplicit=False, refwarn=True)
    ref += nodes.inline(text=label, classes=["xref", "std", "std-numref"])
    return ref


def _regenerate_boxes(doctree, stem: str) -> None:
    """After every labelled figure of a chapter page, a collapsed box with the command that regenerates it."""
    for fig in list(doctree.findall(nodes.figure)):
        name = next((n for n in fig["names"] if n.startswith("fig-")), None)
        if name is None:
            continue
        box = nodes.admonition(classes=["dropdown", "rgsym-regenerate"])
        box += nodes.title(text="Regenerate this figure")
        box += nodes.literal_block(text=figure_command(stem, name), language="bash")
        fig.parent.insert(fig.parent.index(fig) + 1, box)


def _doc_link(target: str, text: str):
    from sphinx import addnodes

    ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget=target, refexplicit=True)
    ref += nodes.inline(text=text)
    return ref


def _claim_rows(directive):
    from .claims import claim_rows

    _mark_dynamic(directive.env)
    root = repo_root(directive.env.srcdir)
    rows = claim_rows(root)
    for stem in {r["chapter"] for r in rows}:
        directive.env.note_dependency(str(root / "book" / "notebooks" / f"{stem}.ipynb"))
    return rows


def _chapter_cell(r, docname: str):
    p = nodes.paragraph()
    p += _doc_link(f"/notebooks/{r['chapter']}", r["title"])
    p += nodes.Text(" (")
    if r.get("figure_label"):
        p += _numref(r["figure"], docname)
        p += nodes.Text("; ")
    elif r["figure"]:
        p += nodes.Text(r["figure"] + "; ")
    extra = [f"{r['profile']} profile" if r["profile"] else "not executed"]
    if r["profile"] and not r["current"]:
        extra.append("STALE: sources changed since it ran")
    p += nodes.Text("; ".join(extra) + ")")
    return p


class ClaimsDirective(SphinxDirective):
    """``{rgsym-claims}``: one row per claim with its computed verdict, read from the executed notebooks
    (:func:`rgsym.pipeline.claims.claim_rows`), then each claim's pre-registered test in full."""

    def run(self):
        rows = _claim_rows(self)
        out = [_table(["claim", "verdict", "margin", "90 % interval", "each threshold halved and doubled",
                       "chapter"],
                      [[f"{r['claim']}: {r['short']}", r["status"], r["margin"], r["interval"] if r["margin"] else "",
                        r["sensitivity"], _chapter_cell(r, self.env.docname)] for r in rows])]
        out[0]["classes"].append("rgsym-claims")
        for r in rows:
            sec = nodes.section(ids=[f"claim-{r['claim'].lower()}"])
            sec += nodes.title(text=f"{r['claim']}: {r['short']}")
            sec += nodes.paragraph(text=r["statement"])
            items = nodes.bullet_list()
            for head, text in (("Verdict", r["status"]), ("Pre-registered test", r["test"]),
                               ("Measure", r["measure"]), ("Notes", r["notes"])):
                if text:
                    li = nodes.list_item()
                    para = nodes.paragraph()
                    para += nodes.strong(text=head + ": ")
                    para += nodes.Text(text)
                    li += para
                    items += li
            for part, word, margin in r["parts"]:
                li = nodes.list_item()
                li += nodes.paragraph(text=f"Part {part}: {word} (margin {margin})")
                items += li
            sec += items
            out.append(sec)
        return out


class FindingsDirective(SphinxDirective):
    """``{rgsym-findings}``: the closing chapter's list of results, one sentence per claim, built from
    the same rows as the claims page (:func:`rgsym.pipeline.claims.findings_sentences`)."""

    def run(self):
        from .claims import findings_sentences

        items = nodes.bullet_list()
        for s in findings_sentences(_claim_rows(self)):
            li = nodes.list_item()
            li += nodes.paragraph(text=s)
            items += li
        return [items]


def _strict(app, config):
    if config.rgsym_strict:
        app.warningiserror = True


def setup(app):
    app.add_config_value("rgsym_strict", True, "env")
    app.connect("config-inited", _strict)
    app.connect("env-get-outdated", _always_reread)
    app.connect("doctree-read", _inject)
    app.add_directive("rgsym-provenance", ProvenanceDirective)
    app.add_directive("rgsym-benchmarks", BenchmarksDirective)
    app.add_directive("rgsym-claims", ClaimsDirective)
    app.add_directive("rgsym-findings", FindingsDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
