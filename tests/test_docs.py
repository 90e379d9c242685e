"""The documentation site: built with warnings as errors, every internal link resolving, no
script from the network, and equations typeset by MathJax in a real headless browser.

The site is built once per session, ``python -m sphinx -W -b html docs <tmp>``, which needs
the ``docs`` extra (``pip install ".[docs]"``); the browser is Debian's ``chromium``. Outside
CI the tests skip when either is missing; in CI (``CI=true``) a missing one is a failure.
"""

import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DOCS_MODULES = ("sphinx", "numpydoc", "myst_nb", "pydata_sphinx_theme", "sphinx-mathjax-offline")
BUILD_TIMEOUT = 600
BROWSER_TIMEOUT = 120


def _missing(what):
    if IN_CI:
        pytest.fail(f"{what} (CI=true: the docs tests must run)")
    pytest.skip(what)


def _docs_extra_missing():
    import importlib.util

    return [m for m in DOCS_MODULES if importlib.util.find_spec(m) is None]


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The built site: ``(html_dir, seconds, output)``."""
    missing = _docs_extra_missing()
    if missing:
        _missing(f"the docs extra is not installed ({', '.join(missing)}): "
                 "pip install '.[docs]'")
    out = tmp_path_factory.mktemp("site") / "html"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out.parent / "doctrees"), str(DOCS), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, (
        f"sphinx-build -W failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return out, seconds, proc.stderr


def _pages(html_dir):
    return sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.parts)


class _Links(html.parser.HTMLParser):
    """Collects ids, link targets and script/stylesheet sources of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.scripts, self.styles = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in ("img", "iframe", "source") and a.get("src"):
            self.links.append(a["src"])
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        if tag == "link" and a.get("href"):
            (self.styles if "stylesheet" in (a.get("rel") or "") else self.links).append(
                a["href"])


def _parse(path, cache={}):  # noqa: B006 - a per-session cache of parsed pages
    if path not in cache:
        p = _Links()
        p.feed(path.read_text(encoding="utf-8"))
        cache[path] = p
    return cache[path]


def test_site_has_every_page(site):
    """Getting started, the notebooks (one page each), the API of every module, the equation
    index, the errata, the conventions, the golden traces, the benchmarks, the seed notes."""
    html_dir, seconds, _ = site
    for page in ("index", "getting_started", "conventions", "golden", "benchmarks", "seeds",
                 "generated/chapter", "generated/equations", "generated/errata",
                 "generated/api/index", "generated/api/operators", "generated/tests/index"):
        assert (html_dir / f"{page}.html").is_file(), f"{page}.html was not built"
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert len(notebooks) >= 9
    built = sorted(p.stem for p in (html_dir / "generated" / "notebooks").glob("*.html"))
    assert built == notebooks
    assert seconds < BUILD_TIMEOUT


def test_every_internal_link_resolves(site):
    """Every relative href and src of every page names a file of the site, and its #fragment
    an id on that page."""
    html_dir = site[0]
    broken = []
    pages = _pages(html_dir)
    assert len(pages) > 20
    for page in pages:
        for link in _parse(page).links:
            url = urllib.parse.urlsplit(link)
            if url.scheme or link.startswith("//"):
                continue  # external (the book's publisher, a licence): not checked offline
            target = page if not url.path else (page.parent / urllib.parse.unquote(
                url.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(html_dir)}: {link}")
                continue
            frag = urllib.parse.unquote(url.fragment)
            if frag and target.suffix == ".html" and frag not in _parse(target).ids:
                broken.append(f"{page.relative_to(html_dir)}: {link} (no id {frag!r})")
    assert broken == [], "broken internal links:\n" + "\n".join(broken[:40])


def test_no_script_or_style_from_the_network(site):
    """MathJax, the theme's scripts and fonts are served from the site itself."""
    html_dir = site[0]
    remote = []
    for page in _pages(html_dir):
        p = _parse(page)
        for src in p.scripts + p.styles:
            if re.match(r"^(https?:)?//", src):
                remote.append(f"{page.relative_to(html_dir)}: {src}")
    assert remote == []
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file()
    mathjax = [s for s in _parse(html_dir / "generated/api/operators.html").scripts
               if "mathjax" in s]
    assert mathjax == ["../../_static/mathjax/tex-chtml.js"]


def test_equation_index_links_functions_and_tests(site):
    """Each function the index names links to its API entry, each test to its source."""
    from sayedcnn.fidelity import equations

    html_dir = site[0]
    page = html_dir / "generated" / "equations.html"
    links = _parse(page).links
    frags = [(u, urllib.parse.urlsplit(u).fragment) for u in links]
    api = {f for u, f in frags if f and u.startswith("api/")}
    tests = {f for u, f in frags if f and u.startswith("tests/")}
    cited = {t.split("::")[1] for e in equations.INDEX.values() for t in e.tests}
    assert {f.rsplit(".", 1)[-1] for f in tests} == cited
    expected = set()
    for f in {f for e in equations.INDEX.values() for f in e.functions}:
        obj = equations.resolve(f)
        obj = obj.fget if isinstance(obj, property) else obj
        expected.add(f"{obj.__module__}.{obj.__qualname__}")
    assert expected - api == set(), "indexed functions with no link to their API entry"
    assert "sayedcnn.operators.V_ddc" in api
    for num in ("47-1216", "47-1257", "47-1276"):
        assert f"eq-{num}" in _parse(page).ids


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    _missing("no chromium on PATH (apt-get install chromium)")


def _dump_dom(page):
    """The DOM of ``page`` after its scripts ran, by headless chromium."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=20000",
             "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=BROWSER_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _visible_text(dom):
    """The DOM less scripts, styles, code blocks and MathJax's own markup."""
    for tag in ("script", "style", "pre", "code", "mjx-container", "mjx-assistive-mml"):
        dom = re.sub(rf"<{tag}\b.*?</{tag}>", " ", dom, flags=re.S | re.I)
    return dom


def _raw_math_left(dom):
    """Math delimiters MathJax left in place, and the errors it reported."""
    text = _visible_text(dom)
    return re.findall(r"\\\(|\\\[|\$\$", text) + re.findall(r"<mjx-merror[^>]*>", dom)


def test_browser_typesets_the_api_page_of_V_ddc(site):
    """The API page of V_ddc (47.1257) in headless chromium: every math span is replaced by
    MathJax's output, inside V_ddc's own entry too, and no raw \\( is left."""
    page = site[0] / "generated" / "api" / "operators.html"
    source = page.read_text(encoding="utf-8")
    n_math = len(re.findall(r'class="math notranslate nohighlight"', source))
    assert n_math > 10
    dom = _dump_dom(page)
    assert dom.count("<mjx-container") >= n_math, "MathJax did not typeset every equation"
    assert _raw_math_left(dom) == []
    start = dom.index('id="sayedcnn.operators.V_ddc"')
    entry = dom[start:dom.find('<dl class="py', start + 1)]
    assert "47.1257" in entry
    assert entry.count("<mjx-container") >= 3


def test_browser_typesets_a_notebook_page(site):
    """Notebook 6 (backpropagation) in headless chromium: its displayed equations and its
    inline math are typeset, no raw \\( or $$ is left, and its figures are there."""
    page = site[0] / "generated" / "notebooks" / "06_backpropagation.html"
    source = page.read_text(encoding="utf-8")
    n_display = len(re.findall(r'class="math notranslate nohighlight"', source))
    assert n_display > 5
    dom = _dump_dom(page)
    assert dom.count("<mjx-container") >= n_display
    assert dom.count('display="true"') >= 5, "no displayed equation was typeset"
    assert _raw_math_left(dom) == []
    assert "<img" in dom


def test_browser_typesets_every_notebook_page_and_the_errata(site):
    """Every notebook page and the errata register: as many typeset equations as math
    spans, none left raw, no MathJax error."""
    bad = []
    pages = sorted((site[0] / "generated" / "notebooks").glob("*.html"))
    for page in pages + [site[0] / "generated" / "errata.html"]:
        source = page.read_text(encoding="utf-8")
        n_math = len(re.findall(r'class="math notranslate nohighlight"', source))
        dom = _dump_dom(page)
        if dom.count("<mjx-container") < n_math or _raw_math_left(dom):
            bad.append(f"{page.name}: {dom.count('<mjx-container')} of {n_math} typeset, "
                       f"left: {_raw_math_left(dom)[:5]}")
    assert bad == []
