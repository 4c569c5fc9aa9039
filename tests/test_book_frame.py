"""What frames every chapter of the built book (book/_ext/chapter_frame.py and the chapters'
opening and closing cells), read from _build/html:

    intro        opens with a figure (the series' timeline), then "How to use this workbook"
    chapter      "What you will learn" before its first section; a summary ("What to take
                 away" or "Summary"); its last section is "Exercises for this chapter", with
                 links that resolve: its {exercise}s, its predict cells, and every notebook
                 exercise whose "chapter" in exercises.json names it (with the lite link)
    glossary     every chapter links at least one glossary term, each term once per page,
                 and every link lands on an entry of the glossary
    patch pages  a "predict, then check" cell in each; a sequence diagram of a faulting
                 task in patch 3, patch 4 and from-rfc

The first tests need no build: they check the transform's own pieces (glossary terms,
plurals, the exercises' data) so that a broken rule fails even before the book is built.
"""

import json
import re
import sys
from pathlib import Path

import pytest

from builtbook import HTML, ROOT, built_book

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import chapter_frame  # noqa: E402  (book/_ext is not a package)

CHAPTERS = [f"book/{p.stem}" for p in sorted((ROOT / "book").glob("*.ipynb"))]
PATCH_CHAPTERS = [c for c in CHAPTERS if re.search(r"/(patch-\d|before-the-series|from-rfc)", c)]
SEQUENCE_CHAPTERS = ["book/patch-3-making-entries", "book/patch-4-removing-entries",
                     "book/from-rfc-to-2-6-18"]
SUMMARY_TITLES = ("What to take away", "Summary")


# -- the transform's pieces, without a build --------------------------------------------------

def test_glossary_terms_are_read_from_the_glossary_directive():
    terms = chapter_frame.glossary_terms()
    assert "migration entry" in terms and "anon_vma" in terms and "pte" in terms
    assert all(not t.startswith((" ", ":")) for t in terms)
    text = (ROOT / "book" / "appendix-glossary.md").read_text()
    assert "```{glossary}" in text, "the glossary must stay a {glossary} directive"


def test_term_patterns_match_uses_and_plurals_but_not_parts_of_words():
    pats = {t: (tx, lit) for t, tx, lit in chapter_frame.term_patterns(
        ["migration entry", "pte", "vma", "anon_vma", "TLB", "pass", "migration_entry_wait"])}
    entry, pte, vma = pats["migration entry"][0], pats["pte"][0], pats["vma"][0]
    assert entry.search("two migration entries appear") and entry.search("a Migration entry")
    assert pte.search("the ptes of a page") and not pte.search("a ptep pointer")
    assert vma.search("each vma") and not vma.search("the anon_vma list")
    assert pats["TLB"][0].search("the TLB") and not pats["TLB"][0].search("a tlb")
    assert pats["pass"][0] is None, "a common word is linked only as a code literal"
    assert pats["migration_entry_wait"][1].fullmatch("migration_entry_wait()")
    assert not pats["anon_vma"][1].fullmatch("anon_vma_lock")


def test_notebook_exercises_name_chapters_that_exist():
    by_chapter = chapter_frame.notebook_exercises()
    data = json.loads((ROOT / "refmodel" / "data" / "exercises.json").read_text())["exercises"]
    assert by_chapter, "no exercise in exercises.json names its chapter"
    for chapter, items in by_chapter.items():
        assert (ROOT / f"{chapter}.ipynb").is_file() or (ROOT / f"{chapter}.md").is_file(), chapter
        for ident, _, notebook in items:
            assert data[ident]["notebook"] == notebook and (ROOT / notebook).is_file()


# -- the built pages --------------------------------------------------------------------------

def soup(docname: str):
    from bs4 import BeautifulSoup
    path = built_book() / f"{docname}.html"
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def article(docname: str):
    return soup(docname).select_one("main article") or soup(docname).select_one("main")


def h2_titles(art) -> list:
    return [h.get_text(" ", strip=True).rstrip("#").strip() for h in art.find_all("h2")]



@pytest.mark.book
def test_intro_opens_with_a_figure_then_how_to_use():
    art = article("book/intro")
    first_h2 = art.find("h2")
    assert first_h2.get_text(strip=True).rstrip("#") == "How to use this workbook"
    figure = art.select_one("figure.refmodel-picture svg")
    assert figure is not None, "the intro has no figure"
    # the figure comes before "How to use this workbook"
    order = [el for el in art.descendants if el is figure or el is first_h2]
    assert order[0] is figure
    assert "timeline" in figure.get("class", []) or "2.6.18" in figure.get_text()


def frame_problems(docname: str) -> list:
    """What is missing from the frame of a built page (empty when all is there)."""
    art, out = article(docname), []
    first_h2 = art.find("h2")
    before = []
    for el in art.find("h1").find_all_next():
        if el is first_h2:
            break
        before.append(el)
    if not any("What you will learn" in el.get_text() for el in before if el.name in ("p", "strong")):
        out.append("no 'What you will learn' before its first section")
    titles = h2_titles(art)
    if not any(t in SUMMARY_TITLES for t in titles):
        out.append(f"no summary section in {titles}")
    if not titles or titles[-1] != "Exercises for this chapter":
        out.append(f"ends with {titles[-1] if titles else None!r}, not its exercises")
    return out


@pytest.mark.book
@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_opens_with_goals_and_closes_with_summary_and_exercises(docname):
    assert frame_problems(docname) == [], docname


@pytest.mark.book
def test_the_frame_check_can_fail():
    """An appendix has none of the frame: the check must say so, three times."""
    assert len(frame_problems("book/appendix-source-map")) == 3


@pytest.mark.book
@pytest.mark.parametrize("docname", CHAPTERS)
def test_exercises_section_links_resolve(docname):
    page = soup(docname)
    section = page.select_one("section#exercises-for-this-chapter")
    links = section.select("li a[href]")
    assert links, f"{docname}: the exercises section lists nothing"
    ids = {el["id"] for el in page.select("[id]")}
    for a in links:
        href = a["href"]
        if href.startswith("#"):
            assert href[1:] in ids, f"{docname}: {href} is not in the page"
        else:
            target = (HTML / docname).parent / href.split("?")[0].split("#")[0]
            assert target.resolve().is_file(), f"{docname}: {href} leads nowhere"
    # every notebook exercise that names this chapter is there, with its lite link
    for ident, _, notebook in chapter_frame.notebook_exercises().get(docname, []):
        stem = Path(notebook).stem
        assert any(a["href"].endswith(f"{stem}.html") for a in links), f"{docname}: {ident} missing"
        assert any(f"path={notebook}" in a["href"] for a in links), f"{docname}: no lite link for {ident}"
    # and every {exercise} and predict cell of the page
    n_ex = len(page.select("div.exercise"))
    n_predict = len(page.select("form.predict"))
    assert len([a for a in links if a.get_text().startswith("Exercise ")]) == n_ex
    assert len([a for a in links if a.get_text() == "Predict, then check"]) == n_predict


@pytest.mark.book
@pytest.mark.parametrize("docname", CHAPTERS + ["book/intro"])
def test_glossary_terms_are_linked_once_per_page(docname):
    glossary = soup("book/appendix-glossary")
    entries = {el["id"] for el in glossary.select("dt[id]")}
    art = article(docname)
    terms = [a["href"].split("#", 1)[1] for a in art.select('a[href*="appendix-glossary.html#"]')]
    assert terms, f"{docname}: no glossary term is linked"
    assert len(terms) == len(set(terms)), f"{docname}: a term is linked more than once"
    assert set(terms) <= entries, f"{docname}: links to missing entries {set(terms) - entries}"
    for a in art.select('a[href*="appendix-glossary.html#"]'):
        assert not a.find_parent(["h1", "h2", "h3", "pre", "figure"]), \
            f"{docname}: a term linked inside a title, code or a figure"


@pytest.mark.book
@pytest.mark.parametrize("docname", PATCH_CHAPTERS)
def test_patch_chapters_have_a_predict_cell(docname):
    forms = soup(docname).select("form.predict")
    assert forms, f"{docname}: no 'predict, then check' cell"
    for f in forms:
        answer = f.select_one(".predict-answer")
        assert answer is not None and answer.has_attr("hidden"), "the answer shows before a guess"
        assert f.get("data-answer"), "predict.js has nothing to compare the guess with"


@pytest.mark.book
@pytest.mark.parametrize("docname", SEQUENCE_CHAPTERS)
def test_sequence_diagram_of_a_faulting_task(docname):
    descs = [d.get_text() for d in soup(docname).select("figure.refmodel-picture svg desc")]
    assert any(d.startswith("A sequence diagram with 2 lanes") for d in descs), \
        f"{docname}: no sequence diagram"
