"""Shared helpers for the tests that read the built book in _build/html.

`make test` builds the book before it runs these tests (pytest -m book).  Run on
their own without a build they are skipped with a note, except under CI (CI=true),
where a missing build or a missing browser is a failure, never a skip.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHAPTER = "book/anatomy-of-a-migration-entry.html"
INTRO = "book/intro.html"


def in_ci() -> bool:
    """True when the CI variable is set to anything but an empty string, 0 or false."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str):
    """Skip on a learner's machine, fail under CI: CI must never pass by skipping."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def built_book() -> Path:
    """The _build/html folder, or skip/fail when the book has not been built."""
    if not (HTML / INTRO).is_file() or not (HTML / CHAPTER).is_file():
        skip_or_fail(f"the book is not built in {HTML.relative_to(ROOT)}: run `make book` "
                     "(`make test` builds it before these tests)")
    return HTML


def built_pages() -> list[str]:
    """Every HTML page of the build, relative to _build/html (none when not built)."""
    if not HTML.is_dir():
        return []
    return sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
                  if "_static" not in p.relative_to(HTML).parts)
