"""Shared fixtures and helpers for the tests that open the built book in a real browser:
Debian's headless Chromium driven by Playwright (which never downloads a browser).

    site        http://127.0.0.1:<port>/ serving _build/html (module scope)
    browser     one headless Chromium for the module
    open_page   a page that records JavaScript errors, failed requests and any request
                that would leave this machine (those are aborted)

Import the fixtures into a test module (`from bookbrowser import browser, site`).
Without Chromium the tests are skipped with a note, except under CI=true, where that is
a failure.
"""

import os
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from builtbook import ROOT, built_book, skip_or_fail
from localsite import CHROMIUM, FLAGS, serve

HOW_TO_ENABLE = ("install Debian's Chromium to run the browser checks: `sudo apt-get install chromium` "
                 "(or point CHROMIUM=/path/to/chromium at another build)")


@contextmanager
def chromium(flags=FLAGS):
    """A headless Chromium (the system one) under Playwright; skipped (failed under CI)
    without one."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        skip_or_fail(f"no Chromium at {CHROMIUM}: {HOW_TO_ENABLE}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the Python package playwright is missing: run `make setup`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def site():
    """Serve _build/html on 127.0.0.1 at a free port; yields the base URL."""
    with serve(built_book()) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (the system one) under Playwright."""
    with chromium() as b:
        yield b


def record_problems(page, problems: list):
    """Make page append to problems every console error, uncaught exception, failed or
    4xx/5xx response, and every request that leaves this machine (aborted)."""
    def on_console(msg):
        if msg.type == "error":
            problems.append(f"console.error: {msg.text} [{msg.location.get('url', '')}]")

    def on_route(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob", "about", "file") or url.hostname == "127.0.0.1":
            route.continue_()
        else:
            problems.append(f"request off this machine: {route.request.url}")
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"uncaught exception: {exc}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.route("**/*", on_route)


def open_page(browser, url=None, width: int = 1280, height: int = 1600):
    """A fresh page (in its own context) that records every problem (record_problems)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems = []
    record_problems(page, problems)
    if url:
        page.goto(url, wait_until="load")
    return page, problems


def settle(page):
    """Let late scripts (MathJax, the steppers) finish before judging the page."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


def toc_pages() -> list:
    """Every page the table of contents builds, as paths under _build/html."""
    import yaml
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f + ".html" for f in files]
