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


# -- mail and commits -----------------------------------------------------------------------
LORE = re.compile(r"lore\.kernel\.org/([a-z-]+)/([^/\s)\"'>\]]+)/")
COMMIT = re.compile(r"git\.kernel\.org/[^\s)\"']*commit/\?id=([0-9a-f]{7,40})")
ROW = re.compile(r"^\| `([^`]+)` \| (linux-mm|lkml|commit) \|", re.M)


def verified_sources() -> dict:
    """id -> list, from the table in docs/verified-facts.md section H."""
    text = (ROOT / "docs" / "verified-facts.md").read_text(encoding="utf-8")
    return dict(ROW.findall(text.split("## H.", 1)[1]))


def pages():
    for page in sorted((ROOT / "book").glob("*.ipynb")) + sorted((ROOT / "book").glob("*.md")):
        yield page.name, page.read_text(encoding="utf-8")


def test_every_linked_mail_is_verified_and_served_by_its_list():
    known = verified_sources()
    bad = []
    for name, text in pages():
        for lst, msgid in LORE.findall(text):
            if msgid not in known:
                bad.append((name, msgid, "not in docs/verified-facts.md section H"))
            elif lst != "all" and known[msgid] != lst:
                bad.append((name, msgid, f"linked under /{lst}/, but it went to {known[msgid]}"))
    assert not bad, bad


def test_every_linked_commit_is_verified():
    commits = [k for k, v in verified_sources().items() if v == "commit"]
    bad = [(name, h) for name, text in pages() for h in COMMIT.findall(text)
           if not any(c.startswith(h) for c in commits)]
    assert not bad, bad


def test_the_mail_check_can_fail():
    known = verified_sources()
    assert "Pine.LNX.4.64.0605261923430.24818@blonde.wat.veritas.com" in known
    assert known["Pine.LNX.4.64.0605261923430.24818@blonde.wat.veritas.com"] == "lkml"
    assert "20060404065739.24532.95451.sendpatchset@example.com" not in known
