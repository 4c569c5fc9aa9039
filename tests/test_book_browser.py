"""The built book in a real browser: Debian's headless Chromium, driven by Playwright.

    http://127.0.0.1:<port>/  <- http.server over _build/html   (how a site serves it)
    file:///.../_build/html/   <- opened from disk             (what README suggests)
          |
    /usr/bin/chromium --headless --no-sandbox ...   (Playwright never downloads a browser)
          |
    intro.html    : renders, no JavaScript errors, no request leaves this machine
    chapter.html  : the same, plus the entry stepper (workbook.js): its controls,
                    READ/WRITE and next change the picture; the pte pictures are SVGs
    every page    : loads with no error and nothing fetched from off this machine
                    (the layout checks at 1280 and 390 px are in test_book_pages.py)

Without Chromium the tests are skipped with a note, except under CI=true, where that
is a failure.
"""

import pytest

from bookbrowser import browser, open_page, settle, site, toc_pages  # noqa: F401 (fixtures)
from builtbook import CHAPTER, INTRO, built_book

pytestmark = [pytest.mark.book, pytest.mark.browser]


@pytest.fixture(scope="module", params=["http", "file"])
def base(request, site):  # noqa: F811 (site is a fixture)
    """Where the pages are opened from: the local web server, or straight from disk."""
    return site if request.param == "http" else built_book().as_uri()


def test_harness_sees_javascript_errors(browser):  # noqa: F811
    """The recorder itself: an uncaught exception and a console error are both caught."""
    page, problems = open_page(browser)
    page.set_content("<script>console.error('boom'); throw new Error('uncaught boom');</script>")
    page.wait_for_timeout(200)
    page.context.close()
    assert any("console.error: boom" in p for p in problems), problems
    assert any("uncaught boom" in p for p in problems), problems


def test_intro_renders_without_errors(browser, base):  # noqa: F811
    """The introduction renders its title and links, with no JavaScript errors."""
    page, problems = open_page(browser, f"{base}/{INTRO}")
    settle(page)
    title = page.locator("h1").first.inner_text()
    chapter_link = page.locator('a[href$="anatomy-of-a-migration-entry.html"]').count()
    page.context.close()
    assert "Swapless page migration" in title
    assert chapter_link >= 1
    assert problems == []


def test_index_redirects_to_intro(browser, base):  # noqa: F811
    """_build/html/index.html (what README tells people to open) lands on the intro."""
    page, problems = open_page(browser, f"{base}/index.html")
    page.wait_for_url("**/book/intro.html")
    settle(page)
    page.context.close()
    assert problems == []


def test_chapter_stepper_and_picture_render(browser, base):  # noqa: F811
    """The anatomy chapter's entry stepper works without a kernel: its controls appear, it
    starts on the WRITE entry for pfn 0x12345, the READ button shows the READ entry, next
    moves on to another pfn; the chapter's pte pictures are SVGs; no errors."""
    page, problems = open_page(browser, f"{base}/{CHAPTER}")
    settle(page)
    box = page.locator(".wb-stepper").first
    current = box.locator(".wb-frame.wb-current")
    controls_shown = box.locator(".wb-controls").is_visible()
    first_title = current.locator(".wb-frame-title").inner_text()
    first_svg = current.locator("svg").first.text_content()
    current.locator("[data-wb-goto]", has_text="READ").click()
    read_title = box.locator(".wb-frame.wb-current .wb-frame-title").inner_text()
    read_svg = box.locator(".wb-frame.wb-current svg").first.text_content()
    pressed = box.locator(".wb-frame.wb-current [aria-pressed=true]").inner_text()
    box.locator(".wb-next").click()
    next_title = box.locator(".wb-frame.wb-current .wb-frame-title").inner_text()
    static_svgs = page.locator("figure.refmodel-picture svg").count()
    page.context.close()

    assert controls_shown
    assert "WRITE entry for pfn 0x12345" in first_title
    assert "SWP_MIGRATION_WRITE" in first_svg
    assert "READ entry for pfn 0x12345" in read_title and pressed.strip() == "READ"
    assert "SWP_MIGRATION_READ" in read_svg
    assert next_title != read_title
    assert static_svgs >= 2, "the chapter's two pte pictures are missing"
    assert problems == []


@pytest.mark.parametrize("page_path", toc_pages())
def test_every_page_renders_without_errors(browser, site, page_path):  # noqa: F811
    """Each page of the book (chapters and exercises) loads from the local server with no
    JavaScript error, no failed request and nothing fetched from off this machine, and
    shows its title."""
    page, problems = open_page(browser, f"{site}/{page_path}")
    settle(page)
    title = page.locator("main h1").first.inner_text()
    page.context.close()
    assert title.strip(), f"{page_path} has no title"
    assert problems == [], problems
