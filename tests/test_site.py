"""The browser check: open the built site in headless Chromium and look at what a reader would see.

For the introduction and every chapter page it asserts, from the rendered DOM, that all math was typeset by
MathJax (no raw ``$$``, ``\\(`` or TeX macros left in the text), that every image loaded, that no cell output
holds a traceback, that the page asked for nothing outside this machine and that the console shows no error.

The site comes from ``N2T_SITE`` (``make test`` builds it strictly just before); without it, the test builds
one in the ``quick`` profile. Without Chromium the test skips, unless ``N2T_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.browser

# Chromium's own background traffic is switched off; the machine has no network to reach anyway.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """The Chromium binary, if one is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def toc_pages() -> list[str]:
    """Every page of the table of contents, as paths without suffix (``book/intro``, ``chapters/01_…``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [entry["file"] for entry in part["chapters"]]
    return pages


@pytest.fixture(scope="module")
def site() -> Path:
    """The built HTML site: ``N2T_SITE`` or a fresh strict build in the quick profile."""
    if os.environ.get("N2T_SITE"):
        path = Path(os.environ["N2T_SITE"])
        assert (path / "index.html").is_file(), f"N2T_SITE={path} holds no built site (no index.html)"
        return path
    out = ROOT / "_build" / "browser-check"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "N2T_PROFILE": "quick", "N2T_PROGRESS": "text"}
    cmd = [Path(sys.executable).parent / "jupyter-book", "build", str(ROOT), "--path-output", str(out), "-W", "-n"]
    subprocess.run([str(c) for c in cmd], check=True, env=env, cwd=ROOT)
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def server(site: Path):
    """Serve the site over HTTP on loopback, as a reader's browser would load it."""
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by Playwright (no browser download: the system's Chromium)."""
    path = chromium_path()
    if path is None:
        message = "no Chromium found (apt-get install chromium); the browser check needs it"
        if os.environ.get("N2T_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and N2T_REQUIRE_BROWSER=1")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


# Evaluated in the page once MathJax has finished: what a reader sees, summarised for the assertions.
INSPECT_PAGE = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const images = [...document.querySelectorAll('main img')].map(img => ({
    src: img.getAttribute('src'), alt: img.getAttribute('alt') || '',
    loaded: img.complete && img.naturalWidth > 0 }));
  const mathNodes = [...document.querySelectorAll('main .math')];
  const untypeset = mathNodes.filter(node => !node.querySelector('mjx-container')).map(n => n.textContent.slice(0, 80));
  const prose = document.querySelector('main').cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, mjx-container, .cell_input, .highlight').forEach(n => n.remove());
  const outputs = [...document.querySelectorAll('main .cell_output')].map(n => n.textContent);
  return {
    title: document.title,
    images,
    mathCount: mathNodes.length,
    typesetCount: document.querySelectorAll('main mjx-container').length,
    untypeset,
    proseText: prose.textContent,
    tracebackOutputs: document.querySelectorAll('main .output.traceback, main .output.error').length,
    outputsText: outputs.join('\\n'),
    outputImages: document.querySelectorAll('main .cell_output img').length,
    // A token such as <eos> written raw into Markdown becomes an unknown HTML element and vanishes.
    strayTokens: [...document.querySelectorAll('main eos, main unk, main bos, main pad, main mask')].map(n => n.tagName),
    figureNumbers: [...document.querySelectorAll('main figure .caption-number')].map(n => n.textContent.trim()),
  };
}
"""

RAW_MATH_MARKERS = ("$$", "\\(", "\\[", "\\frac", "\\mathbf", "\\sum", "\\operatorname")

# The architecture diagrams (issue 21): page → the figures that must show a diagram (an SVG image with alt text).
DIAGRAMS = {
    "book/intro": ["fig-lineage"],
    "chapters/03_neural_lm": ["fig-nnlm-architecture"],
    "chapters/04_word2vec": ["fig-w2v-architectures"],
    "chapters/05_transfer": ["fig-classifier-architecture"],
    "chapters/06_recurrent_elmo": ["fig-lstm-cell", "fig-bilm", "fig-scalar-mix"],
    "chapters/07_seq2seq_attention": ["fig-seq2seq-architecture"],
    "chapters/09_self_attention": ["fig-multi-head-diagram"],
    "chapters/10_transformer": ["fig-transformer-architecture"],
    "chapters/11_bert_gpt_t5": ["fig-pretraining-objectives"],
}
PHONE = {"width": 390, "height": 844}

# Each figure named in DIAGRAMS, as the reader sees it: its image, whether it loaded, its size on the page.
INSPECT_DIAGRAMS = """
(names) => names.map(name => {
  const figure = document.getElementById(name);
  const img = figure && figure.querySelector('img');
  if (!img) { return {name, found: !!figure, img: false}; }
  const box = img.getBoundingClientRect();
  return {name, found: true, img: true, src: img.getAttribute('src'), alt: img.getAttribute('alt') || '',
          loaded: img.complete && img.naturalWidth > 0, naturalWidth: img.naturalWidth, width: box.width,
          height: box.height, pageWidth: document.documentElement.clientWidth,
          caption: (figure.querySelector('figcaption') || {textContent: ''}).textContent.trim()};
})
"""


@pytest.mark.parametrize("page", toc_pages())
def test_page_renders(browser, server, site: Path, page: str) -> None:
    """One page: math typeset, images loaded, no traceback, no network beyond loopback, no console error."""
    assert (site / f"{page}.html").is_file(), f"{page}.html was not built"
    context = browser.new_context()
    tab = context.new_page()
    outside, console_errors, failed = [], [], []

    def route(request_route):
        host = urlparse(request_route.request.url).hostname
        if request_route.request.url.startswith("data:") or host in ("127.0.0.1", "localhost"):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    tab.route("**/*", route)
    tab.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    tab.on("requestfailed", lambda req: failed.append(req.url))
    tab.goto(f"{server}/{page}.html", wait_until="networkidle")
    seen = tab.evaluate(INSPECT_PAGE)
    screenshots = os.environ.get("N2T_SCREENSHOTS")
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(screenshots) / f"{page.replace('/', '__')}.png"), full_page=True)
    context.close()

    assert not outside, f"{page}: the page asked for resources outside this machine: {outside}"
    assert not failed, f"{page}: these requests failed: {failed}"
    assert not console_errors, f"{page}: console errors: {console_errors}"
    assert not seen["untypeset"], f"{page}: math left untypeset by MathJax: {seen['untypeset']}"
    assert seen["typesetCount"] >= seen["mathCount"], f"{page}: {seen['mathCount']} math nodes, {seen['typesetCount']} typeset"
    for marker in RAW_MATH_MARKERS:
        assert marker not in seen["proseText"], f"{page}: raw TeX {marker!r} is visible in the text"
    broken = [image["src"] for image in seen["images"] if not image["loaded"]]
    assert not broken, f"{page}: images that did not load: {broken}"
    assert seen["tracebackOutputs"] == 0, f"{page}: a cell output shows an error"
    assert "Traceback (most recent call last)" not in seen["outputsText"], f"{page}: a cell output holds a traceback"
    assert not seen["strayTokens"], f"{page}: tokens written as raw HTML vanished from the page: {seen['strayTokens']}"
    if page.startswith("chapters/"):
        assert seen["mathCount"] > 0, f"{page}: a chapter with no typeset math at all is suspicious"
        assert seen["outputImages"] > 0, f"{page}: no cell output shows a figure"
        chapter = int(Path(page).name.split("_")[0])
        expected = [f"Fig. {chapter}.{i}" for i in range(1, len(seen["figureNumbers"]) + 1)]
        assert [n.rstrip(" .") for n in seen["figureNumbers"]] == expected, f"{page}: figures are numbered per chapter"
        bad_alt = [image["src"] for image in seen["images"]
                   if not image["alt"] or image["alt"] == image["src"] or image["alt"].endswith((".png", ".svg"))
                   or image["alt"].startswith("No description has been provided")]
        assert not bad_alt, f"{page}: images without real alt text: {bad_alt}"



def check_diagrams(page: str, seen: list[dict], narrowest: float) -> None:
    """Every expected diagram is there, loaded, an SVG with alt text and a caption, fully on the page and at least
    ``narrowest`` of the page wide (it scales down to the page instead of overflowing it or shrinking to a stamp)."""
    for figure in seen:
        where = f"{page}: figure {figure['name']}"
        assert figure["found"], f"{where} is missing"
        assert figure["img"], f"{where} shows no image"
        assert figure["loaded"] and figure["naturalWidth"] > 0, f"{where}: its image did not load ({figure['src']})"
        assert figure["src"].endswith(".svg"), f"{where}: a diagram is an SVG (text stays text), got {figure['src']}"
        assert len(figure["alt"]) >= 40, f"{where}: the alt text must describe the diagram, got {figure['alt']!r}"
        assert figure["caption"], f"{where} has no caption"
        assert figure["width"] > 0 and figure["height"] > 0, f"{where} has no size on the page"
        assert figure["width"] <= figure["pageWidth"] + 1, f"{where} is wider than the page ({figure['width']} px)"
        assert figure["width"] >= narrowest * figure["pageWidth"] or figure["width"] >= figure["naturalWidth"], (
            f"{where} is only {figure['width']:.0f} of {figure['pageWidth']} px wide"
        )


@pytest.mark.parametrize("page", sorted(DIAGRAMS))
def test_architecture_diagrams_show_at_desktop_and_phone_width(browser, server, site: Path, page: str) -> None:
    """Each page's diagrams load, with alt text and caption, at 1280 px and at a phone's 390 px."""
    for viewport, narrowest in (({"width": 1280, "height": 900}, 0.0), (PHONE, 0.8)):
        context = browser.new_context(viewport=viewport)
        tab = context.new_page()
        tab.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname in ("127.0.0.1", "localhost")
                  or r.request.url.startswith("data:") else r.abort())
        tab.goto(f"{server}/{page}.html", wait_until="networkidle")
        seen = tab.evaluate(INSPECT_DIAGRAMS, DIAGRAMS[page])
        context.close()
        check_diagrams(page, seen, narrowest)



# What on a page is wider than a phone's screen (outside the parts that scroll on their own, like code cells).
INSPECT_PHONE_WIDTH = """
() => {
  const screen = window.innerWidth;
  const scrollsItself = element => {
    for (let p = element.parentElement; p; p = p.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)
          && p.getBoundingClientRect().right <= screen + 1) { return true; }
    }
    return false;
  };
  const wide = [...document.querySelectorAll('.bd-article *')].filter(element => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.right > screen + 1 && !scrollsItself(element);
  });
  return {pageWidth: document.documentElement.scrollWidth, screen,
          wide: wide.slice(0, 3).map(e => `${e.tagName}.${e.className}: ${e.textContent.slice(0, 50)}`)};
}
"""


def test_no_page_is_wider_than_a_phone(browser, server, site: Path) -> None:
    """At 390 px the page does not scroll sideways: long tokens wrap, wide code and tables scroll in their box."""
    context = browser.new_context(viewport=PHONE)
    tab = context.new_page()
    tab.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname in ("127.0.0.1", "localhost")
              or r.request.url.startswith("data:") else r.abort())
    too_wide = {}
    for page in toc_pages():
        tab.goto(f"{server}/{page}.html", wait_until="load")
        seen = tab.evaluate(INSPECT_PHONE_WIDTH)
        if seen["pageWidth"] > seen["screen"] + 1:
            too_wide[page] = seen
    context.close()
    assert not too_wide, f"pages wider than a phone's {PHONE['width']} px: {too_wide}"

# The web font and the wide tables, as a reader at 1280 px sees them.
INSPECT_FONT_AND_TABLES = """
async () => {
  await document.fonts.ready;
  const cjk = [...document.fonts].filter(face => face.family.replace(/["']/g, '') === 'N2T Noto Sans CJK SC');
  const tables = [...document.querySelectorAll('main table')].map(table => ({
    columns: table.querySelectorAll('thead th').length, width: table.getBoundingClientRect().width,
    room: table.parentElement.clientWidth, header: table.querySelector('thead') ? table.querySelector('thead').textContent.trim().slice(0, 60) : ''}));
  return {cjk: cjk.map(face => face.status), drawn: document.fonts.check('16px "N2T Noto Sans CJK SC"', '术语表中文'),
          tables};
}
"""


@pytest.mark.parametrize("page", ["book/glossary", "chapters/12_lineage"])
def test_chinese_uses_the_shipped_web_font_and_wide_tables_fit(browser, server, site: Path, page: str) -> None:
    """The sidebar's "Glossary · 中文" and the glossary need no system CJK font; no table is wider than its column."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname in ("127.0.0.1", "localhost")
              or r.request.url.startswith("data:") else r.abort())
    tab.goto(f"{server}/{page}.html", wait_until="networkidle")
    seen = tab.evaluate(INSPECT_FONT_AND_TABLES)
    context.close()
    assert (site / "_static" / "fonts" / Path(plot_font()).name).is_file(), "the font was not copied into the site"
    assert seen["cjk"] == ["loaded"] and seen["drawn"], f"{page}: the CJK web font did not load: {seen['cjk']}"
    too_wide = [t for t in seen["tables"] if t["width"] > t["room"] + 1]
    assert not too_wide, f"{page}: tables wider than the text column at 1280 px: {too_wide}"


def plot_font() -> str:
    """The shipped CJK font's path under data/ (n2t.plot's)."""
    from n2t import plot

    return plot.CJK_FONT_FILE
