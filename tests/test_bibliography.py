"""The bibliography appendix: every mail and commit the book links has one entry (author,
date, subject or title), and its id is a verified row of docs/verified-facts.md section H."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ext():
    """book/_ext/workbook_content.py, loaded the way Sphinx loads a local extension."""
    spec = importlib.util.spec_from_file_location("workbook_content",
                                                  ROOT / "book" / "_ext" / "workbook_content.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_linked_mail_and_commit_has_an_entry():
    w = ext()
    data, verified = w.bibliography_data(), w.verified_ids()
    linked = w.linked_ids()
    assert linked, "the book links mail and commits"
    missing = sorted((i, sorted(pages)) for i, pages in linked.items() if w.bib_key(i, data) is None)
    assert not missing, f"links with no bibliography entry (refmodel/data/bibliography.json): {missing}"
    unverified = sorted(i for i in linked if w.bib_key(i, verified) is None)
    assert not unverified, f"links with no row in docs/verified-facts.md section H: {unverified}"


@pytest.mark.parametrize("field", ["title", "checked"])
def test_entries_are_complete(field):
    for key, e in ext().bibliography_data().items():
        assert e.get(field), (key, field)


def test_mail_entries_have_author_and_date():
    for key, e in ext().bibliography_data().items():
        assert e["kind"] in ("mail", "commit"), key
        if e["kind"] == "mail":
            assert e["author"] and re.fullmatch(r"\d{4}-\d\d-\d\d", e["date"]), key
        elif "date" in e:
            assert re.fullmatch(r"\d{4}-\d\d-\d\d", e["date"]), key


def test_every_entry_is_verified():
    w = ext()
    verified = w.verified_ids()
    for key, e in w.bibliography_data().items():
        assert w.bib_key(key, verified) is not None, key


def test_generated_page_has_one_anchor_per_cited_id():
    w = ext()
    lines = w.bibliography_lines()
    anchors = [ln for ln in lines if ln.startswith("(bib-")]
    assert len(anchors) == len(set(anchors))
    cited = {w.bib_key(i, w.bibliography_data()) for i in w.linked_ids()}
    assert len(anchors) == len(cited)


def test_short_hashes_find_their_entry_and_the_check_can_fail():
    w = ext()
    data = w.bibliography_data()
    assert w.bib_key("0697212a411c", data) == "0697212a411c1dae03c27845f2de2f3adb32c331"
    assert w.bib_key("ffa65753c431", data).startswith("ffa65753c431")
    assert w.bib_key("deadbeef1234", data) is None
    assert w.bib_key("20060404065739.24532.95451.sendpatchset@example.com", data) is None
