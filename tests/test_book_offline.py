"""The built book must work offline: no page may load a script or a stylesheet from
another host (a CDN).  Everything comes from _static, which `make book` fills from npm.

    page.html --<script src=...>-------> ../_static/...          ok
              --<link rel=stylesheet>--> https://cdn.example/..  FAIL
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from builtbook import CHAPTER, built_book, built_pages

pytestmark = pytest.mark.book

_URL_IN_CSS = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'")\s;]+)|url\(\s*['"]?([^'")\s]+)""", re.I)


def _external(url: str) -> bool:
    """True for an absolute http(s) URL or a protocol-relative //host/... one."""
    u = url.strip().lower()
    return u.startswith(("http://", "https://", "//"))


class _Loads(HTMLParser):
    """Collects what a page loads: script src, stylesheet href and url()s in inline CSS."""

    def __init__(self):
        super().__init__()
        self.scripts, self.styles, self.css_urls, self._in_style = [], [], [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "link":
            rel = (a.get("rel") or "").lower().split()
            if "stylesheet" in rel or (a.get("as") in ("script", "style")) or "modulepreload" in rel:
                self.styles.append(a.get("href") or "")
        elif tag == "style":
            self._in_style = True
        if a.get("style"):
            self.css_urls += _css_urls(a["style"])

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.css_urls += _css_urls(data)


def _css_urls(css: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _URL_IN_CSS.finditer(css)]


def external_loads(html: str) -> list[str]:
    """Every external URL a page would load as a script, stylesheet or CSS resource."""
    p = _Loads()
    p.feed(html)
    return [u for u in p.scripts + p.styles + p.css_urls if _external(u)]


def local_loads(html: str) -> list[str]:
    """Every same-site script and stylesheet a page loads (without query strings)."""
    p = _Loads()
    p.feed(html)
    return [urlsplit(u).path for u in p.scripts + p.styles if u and not _external(u)
            and not u.startswith("data:")]


def test_checker_catches_cdn_loads():
    """The checker itself: each way of pulling from a CDN is caught, local files are not."""
    page = """<html><head>
      <script src="https://cdn.jsdelivr.net/npm/x.js"></script>
      <script src="../_static/ok.js"></script>
      <link rel="stylesheet" href="//fonts.example.com/a.css">
      <link rel="stylesheet" href="../_static/ok.css">
      <style>@import url("https://fonts.example.com/b.css"); .x{background:url(../_static/i.png)}</style>
      </head><body><div style="background: url('http://img.example/c.png')"></div></body></html>"""
    assert external_loads(page) == ["https://cdn.jsdelivr.net/npm/x.js", "//fonts.example.com/a.css",
                                    "https://fonts.example.com/b.css", "http://img.example/c.png"]
    assert local_loads(page) == ["../_static/ok.js", "../_static/ok.css"]


def test_book_has_pages():
    """The build has the intro, the chapter and the index redirect."""
    html = built_book()
    pages = built_pages()
    for page in ("index.html", "book/intro.html", CHAPTER):
        assert page in pages, f"{page} missing from {html}: {pages}"


@pytest.mark.parametrize("page", built_pages() or ["(book not built)"])
def test_page_loads_nothing_external(page):
    """No <script src>, <link rel=stylesheet> or CSS url() on this page points off-site,
    and every local script and stylesheet it names exists in the build."""
    html_dir = built_book()
    text = (html_dir / page).read_text(encoding="utf-8")
    assert external_loads(text) == [], f"{page} loads from outside the book"
    missing = []
    for url in local_loads(text):
        target = Path(urljoin(f"/{page}", url).lstrip("/"))
        if not (html_dir / target).is_file():
            missing.append(url)
    assert missing == [], f"{page} names local files that are not in the build"


def test_static_css_imports_nothing_external():
    """Theme and extension CSS files in _static pull no fonts or sheets from other hosts."""
    html_dir = built_book()
    bad = {}
    for css in (html_dir / "_static").rglob("*.css"):
        urls = [u for u in _css_urls(css.read_text(encoding="utf-8", errors="replace")) if _external(u)]
        if urls:
            bad[str(css.relative_to(html_dir))] = urls
    assert bad == {}


def test_chapter_steppers_use_local_js_and_no_dead_widgets():
    """The anatomy chapter's control is a stepper driven by _static/workbook.js, and no page
    embeds an ipywidgets view: in the static book a widget's Python callback is dead, so
    such a control must not be shown (the steppers are its static form).  MathJax and the
    vendored widget manager still come from _static/vendor, with their licences."""
    html_dir = built_book()
    text = (html_dir / CHAPTER).read_text(encoding="utf-8")
    assert "../_static/workbook.js" in local_loads(text)
    assert 'class="wb-stepper"' in text
    dead = [page for page in built_pages()
            if "application/vnd.jupyter.widget-view+json" in
            (html_dir / page).read_text(encoding="utf-8")]
    assert dead == [], f"pages with widgets that cannot work without a kernel: {dead}"
    assert (html_dir / "_static/vendor/html-manager/LICENSE").is_file()
    assert (html_dir / "_static/vendor/requirejs/LICENSE").is_file()
    assert (html_dir / "_static/vendor/mathjax/LICENSE").is_file()
