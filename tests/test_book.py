"""End to end: every chapter executes in the smoke profile, the book builds from the executed
notebooks, the HTML holds figures, math and provenance, and a real browser renders it offline."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rgsym.pipeline.chapters import find_chapters
from rgsym.pipeline.claims import CLAIMS, claim_rows, findings_sentences
from rgsym.pipeline.run import META_KEY, run_chapters

import goldenvalues
from conftest import ROOT, copy_repo

pytestmark = pytest.mark.slow
CHAPTERS = [c.stem for c in find_chapters(ROOT / "book")]
JB = str(Path(sys.executable).parent / "jupyter-book")


def build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([JB, "build", "book/"], cwd=root, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory):
    """A copy of the repository whose chapters were all executed in the smoke profile, then built."""
    root = copy_repo(tmp_path_factory.mktemp("book") / "repo")
    t0 = time.perf_counter()
    summary = run_chapters(None, {"profile": "smoke", "device": "cpu"}, book_dir=root / "book", log=print)
    timings = {s["chapter"]: s.get("seconds") for s in summary}
    proc = build(root)
    return {"root": root, "timings": timings, "build": proc, "exec_seconds": time.perf_counter() - t0}


@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_executes_in_smoke_profile(smoke_book, stem):
    nb = json.loads((smoke_book["root"] / "book" / "notebooks" / f"{stem}.ipynb").read_text())
    meta = nb["metadata"][META_KEY]
    assert meta["profile"] == "smoke" and meta["device"].startswith("cpu")
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    pngs = [o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert pngs, f"{stem} draws no figure"


def test_book_builds_without_warnings(smoke_book):
    proc = smoke_book["build"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "WARNING" not in proc.stdout + proc.stderr
    assert (smoke_book["root"] / "_build" / "html" / "index.html").exists()


@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_page_has_figures_math_provenance_and_launch_buttons(smoke_book, stem):
    html_dir = smoke_book["root"] / "_build" / "html"
    page = (html_dir / "notebooks" / f"{stem}.html").read_text()
    imgs = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
    assert imgs, "no figure referenced"
    for src in imgs:
        assert (html_dir / "notebooks" / src).resolve().is_file(), src
    assert 'class="math' in page
    assert re.search(r'src="[./]*_static/mathjax/tex-chtml\.js', page), "MathJax must be the bundled copy"
    assert "https://cdn" not in page and "mathjax@" not in page
    assert "rgsym-provenance" in page and "smoke" in page and "rgsym-stale" not in page
    # code is there behind a toggle, never open on the page
    n_inputs = page.count('class="cell_input')
    assert n_inputs and page.count('<details class="admonition hide above-input"') == n_inputs
    colab = re.search(r'https://colab\.research\.google\.com/github/[^"]+/blob/main/(book/notebooks/[^"]+\.ipynb)', page)
    binder = re.search(r'https://mybinder\.org/v2/gh/[^"]+', page)
    assert colab and binder
    assert (ROOT / colab.group(1)).is_file(), f"Colab would open {colab.group(1)}, which is not in the repository"


def test_claims_page_and_closing_chapter_are_computed_from_the_notebooks(smoke_book):
    html_dir = smoke_book["root"] / "_build" / "html"
    claims = (html_dir / "claims.html").read_text()
    assert "rgsym-claims" in claims
    for c in CLAIMS:
        assert f"{c.key}: {html.escape(c.short)}" in claims, c.key
    rows = claim_rows(smoke_book["root"])
    for r in rows:
        assert r["status"] != "not executed", r
        if r["margin"]:
            assert html.escape(r["interval"]) in claims
    text = html.unescape(re.sub(r"<[^>]+>", "", (html_dir / "findings.html").read_text()))
    text = re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\u2018", "'"))  # Sphinx's smart quotes
    for s in findings_sentences(rows):
        assert s in text, s
    # citations resolve to the bibliography (an unknown key is a warning, and warnings fail the build)
    intro = (html_dir / "intro.html").read_text()
    assert "bibliography.html#id" in intro and "Ashworth" in (html_dir / "bibliography.html").read_text()


RAW_LATEX = re.compile(r"\\(left|right|frac|kappa|alpha|lambda|mathrm|sum|sqrt|textstyle|big|phi|mu)\b|\$")


class _TextOutsideMath(HTMLParser):
    """Collects the text a reader sees as text: everything but scripts, code, and MathJax's math spans."""

    SKIP = {"script", "style", "pre", "code", "textarea"}
    VOID = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "embed", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack, self.hits = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            cls = (dict(attrs).get("class") or "").split()
            self.stack.append((tag, tag in self.SKIP or "math" in cls or "highlight" in " ".join(cls)))

    def handle_endtag(self, tag):
        while tag not in self.VOID and self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if not any(skip for _, skip in self.stack):
            self.hits += [data[max(0, m.start() - 50):m.end() + 50] for m in RAW_LATEX.finditer(data)]


def raw_latex(page: str) -> list[str]:
    """Raw LaTeX a reader would see on a built page: a ``$`` or a TeX command outside math."""
    p = _TextOutsideMath()
    p.feed(page)
    return p.hits


def test_no_raw_latex_outside_math_on_any_page(smoke_book):
    html_dir = smoke_book["root"] / "_build" / "html"
    assert raw_latex("<p>a $x$ and \\left(</p><span class='math'>\\(\\kappa\\)</span>")  # the check can fail
    bad = {p.name: h[:3] for p in [*html_dir.glob("*.html"), *(html_dir / "notebooks").glob("*.html")]
           if (h := raw_latex(p.read_text()))}
    assert not bad, f"raw LaTeX outside math: {bad}"


def test_stale_sources_are_flagged_on_the_page(smoke_book, tmp_path):
    root = tmp_path / "stale"
    shutil.copytree(smoke_book["root"], root, symlinks=True)
    stem = CHAPTERS[0]
    src = root / "book" / f"{stem}.py"
    src.write_text(src.read_text() + "\n# %% [markdown]\n# An edited paragraph.\n")
    proc = build(root)
    assert proc.returncode == 0, proc.stdout[-2000:]
    page = (root / "_build" / "html" / "notebooks" / f"{stem}.html").read_text()
    assert "rgsym-stale" in page and "Sources changed since this page was executed" in page


def test_failed_chapter_or_warning_fails_the_build(smoke_book, tmp_path):
    root = tmp_path / "broken"
    shutil.copytree(smoke_book["root"], root, symlinks=True, ignore=shutil.ignore_patterns("_build"))
    nb_path = root / "book" / "notebooks" / f"{CHAPTERS[0]}.ipynb"
    nb = json.loads(nb_path.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"].append({"output_type": "error", "ename": "RuntimeError", "evalue": "boom", "traceback": []})
    nb_path.write_text(json.dumps(nb))
    proc = build(root)
    assert proc.returncode != 0 and "failed to execute" in proc.stdout + proc.stderr

    root2 = tmp_path / "warn"
    shutil.copytree(smoke_book["root"], root2, symlinks=True, ignore=shutil.ignore_patterns("_build"))
    intro = root2 / "book" / "intro.md"
    intro.write_text(intro.read_text() + "\nSee {ref}`a-label-that-does-not-exist`.\n")
    proc = build(root2)
    assert proc.returncode != 0


def _chromium_driver():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("RGSYM_REQUIRE_BROWSER"):
            pytest.fail("RGSYM_REQUIRE_BROWSER is set but chromium/chromedriver are not installed")
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--allow-file-access-from-files"):
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={Path(os.environ.get('TMPDIR', '/tmp')) / f'rgsym-chromium-{os.getpid()}'}")
    return webdriver.Chrome(service=Service(driver), options=opts)


PAGES = [f"notebooks/{c}" for c in CHAPTERS] + ["intro", "claims", "findings", "performance", "reproducibility",
                                                 "bibliography"]


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_real_browser_renders_figures_and_math_offline(smoke_book, name):
    page = smoke_book["root"] / "_build" / "html" / f"{name}.html"
    chapter = name.startswith("notebooks/")
    drv = _chromium_driver()
    try:
        drv.get(page.as_uri())
        deadline = time.time() + 60
        state = {}
        while time.time() < deadline:
            state = drv.execute_script("""
                const imgs = Array.from(document.images).filter(i => i.src.endsWith('.png'));
                return {
                  ready: document.readyState === 'complete' && !!document.querySelector('main h1'),
                  n_img: imgs.length,
                  loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
                  mjx: document.querySelectorAll('mjx-container').length,
                  n_math: document.querySelectorAll('.math').length,
                  raw_math: Array.from(document.querySelectorAll('.math')).filter(
                      e => !e.querySelector('mjx-container')).length,
                  mathjax: typeof window.MathJax === 'object' && !!window.MathJax.version,
                  mjx_errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
                  claims: document.querySelectorAll('table.rgsym-claims tbody tr').length,
                  open_code: Array.from(document.querySelectorAll('div.cell_input')).filter(
                      e => !(e.closest('details') && !e.closest('details').open)).length,
                };""")
            done_imgs = state["loaded"] == state["n_img"] and (state["n_img"] or not chapter)
            if state["ready"] and done_imgs and (state["mjx"] or not state["n_math"]) and not state["raw_math"]:
                break
            time.sleep(0.5)
        assert state["ready"], f"the page did not finish loading: {state}"
        assert state["mathjax"] or not state["n_math"], "MathJax did not load from the bundled copy"
        assert state["loaded"] == state["n_img"] and (state["n_img"] > 0 or not chapter), state
        assert state["raw_math"] == 0 and state["mjx_errors"] == 0, f"MathJax did not typeset every equation: {state}"
        assert state["open_code"] == 0, f"code inputs shown open on the page: {state}"
        if name == "claims":
            assert state["claims"] == len(CLAIMS), f"the claims table is missing rows: {state}"
    finally:
        drv.quit()


# -- golden values: a refactoring changes no number -------------------------------------------------
GOLDEN = ROOT / "tests" / "golden"
VOLATILE = ("seconds", "elapsed")  # glued timings differ run to run; every other glued value is deterministic


def glued_values(nb: dict) -> dict:
    """Every value a notebook glued, by name: its text representations (figures left out)."""
    out = {}
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name and not any(v in name for v in VOLATILE):
                out[name] = {k: v for k, v in sorted(o.get("data", {}).items()) if not k.startswith("image/")}
    return out


@pytest.mark.parametrize("stem", CHAPTERS)
def test_glued_values_equal_the_golden_file(smoke_book, stem):
    """Every glued value of the smoke profile equals ``tests/golden/<stem>.json``: bit for bit on the
    machine that wrote it, within float noise on other hardware (see ``tests/goldenvalues.py``).

    After a change that is *meant* to change numbers, regenerate the files with
    ``RGSYM_UPDATE_GOLDEN=1 python -m pytest tests/test_book.py -k golden`` and say why in the commit."""
    nb = json.loads((smoke_book["root"] / "book" / "notebooks" / f"{stem}.ipynb").read_text())
    values = glued_values(nb)
    path = GOLDEN / f"{stem}.json"
    here = goldenvalues.machine()
    if os.environ.get("RGSYM_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps({goldenvalues.MACHINE_KEY: here, **values}, indent=1, sort_keys=True,
                                   ensure_ascii=False) + "\n")
    golden = json.loads(path.read_text())
    fails, drifted = goldenvalues.compare(golden, values, here)
    assert not fails, f"glued values differ from the golden file (made on {golden.get(goldenvalues.MACHINE_KEY)!r}, " \
        f"here {here!r}): " + "; ".join(f"{k}: {golden.get(k)} -> {values.get(k)}" for k in fails[:10])
    if drifted:
        print(f"{stem}: on this machine {len(drifted)} values moved beyond float noise: {', '.join(drifted)}")
