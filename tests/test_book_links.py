"""Every line anchor the book puts on a v2.6.18 elixir link names a definition the source map
(refmodel/data/kernel_sources.json, each line checked against the 2.6.18 tree) knows.

A link such as .../v2.6.18/source/mm/migrate.c#L862 must point at the line where a function
the map lists is defined, so that a reader lands on the code the text talks about."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"elixir\.bootlin\.com/linux/v2\.6\.18/source/([\w./-]+)#L(\d+)")


def anchors():
    """(page, path, line) of every anchored 2.6.18 link in the book's pages."""
    for page in sorted((ROOT / "book").glob("*.ipynb")) + sorted((ROOT / "book").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for path, line in LINK.findall(text):
            yield page.name, path, int(line)


def known():
    data = json.loads((ROOT / "refmodel" / "data" / "kernel_sources.json").read_text())
    return {(v["path"], v["line"]) for v in data["v2.6.18"].values()
            if isinstance(v, dict) and "path" in v}


def test_book_has_anchored_links():
    assert list(anchors()), "the book should link definitions by line"


def test_every_anchor_is_a_known_definition():
    ok = known()
    bad = [(page, path, line) for page, path, line in anchors() if (path, line) not in ok]
    assert not bad, f"anchors that name no definition in the source map: {bad}"


def test_the_check_can_fail():
    assert ("mm/migrate.c", 843) not in known()      # a line number that was once guessed
