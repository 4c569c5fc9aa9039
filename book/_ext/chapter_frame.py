"""What frames every chapter of the workbook: its exercises at the end, its terms linked to
the glossary, and the figures a Markdown page draws from the model (loaded from _config.yml).

"Exercises for this chapter"
    A section appended to every chapter (every page under book/ but the appendices): links
    to the chapter's in-page exercises ({exercise}, numbered per page as workbook_html.py
    numbers them), to its "predict, then check" cells (refmodel.practice.predict), and to
    the notebook exercises whose entry in refmodel/data/exercises.json names the chapter
    (`"chapter": "book/<docname>"`), each with its "Do this exercise in your browser" link
    into the lite site.  A chapter with none of the three is a build warning (the book is
    built with -W, so an error): the introduction promises that every chapter ends with
    exercises.

Glossary links
    The first use in each page of every term of the glossary (book/appendix-glossary.md,
    a {glossary} directive) becomes a link to its entry, exactly what a {term} role makes.
    A term the page already links with {term} is left alone.  Only running text is
    searched: never titles, code, outputs, links or the glossary itself; a code literal is
    linked when it *is* the term (`anon_vma`, `migration_entry_wait()`).  Plurals
    (ptes, vmas, migration entries) count as uses.

``workbook-timeline``
    The timeline of the series (refmodel/render/timeline.py, refmodel/data/timeline.json)
    as a figure in a Markdown page, drawn at build time by the same renderer the notebooks
    use.  Options: ``:part:`` (series, later; default: everything) and ``:title:``.
"""

import json
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY_DOC = "book/appendix-glossary"
LITE_APP = "lite/notebooks/index.html"
SECTION_ID = "exercises-for-this-chapter"
logger = logging.getLogger(__name__)


def is_chapter(docname: str) -> bool:
    """Chapters are the pages under book/ except the appendices (the intro counts)."""
    return docname.startswith("book/") and not docname.startswith("book/appendix-")


# -- notebook exercises, from the exercises' data -------------------------------------------

def notebook_exercises(path: Path = ROOT / "refmodel" / "data" / "exercises.json") -> dict:
    """docname -> [(exercise id, title, notebook path)], from each entry's "chapter"."""
    data = json.loads(path.read_text(encoding="utf-8"))["exercises"]
    out = {}
    for ident, e in sorted(data.items()):
        chapter = e.get("chapter")
        if chapter:
            out.setdefault(chapter, []).append((ident, e["title"], e["notebook"]))
    return out


def lite_href(docname: str, notebook: str) -> str:
    """The relative link from docname's page to notebook in the lite site."""
    return "../" * docname.count("/") + f"{LITE_APP}?path={notebook}"


# -- the section ------------------------------------------------------------------------------

PREDICT_FORM = re.compile(r'<form class="predict"([^>]*)aria-label="Predict, then check: ([^"]*)"')


def _exercise_title(node) -> str:
    """The subtitle an {exercise} was given, or '' (sphinx-exercise's node layout)."""
    for sub in node.findall(lambda n: type(n).__name__ == "exercise_subtitle"):
        return sub.astext().strip().strip("()").strip()
    return ""


def _predict_cells(doctree) -> list:
    """(anchor id, title) of every predict form in the page's outputs; each form gets the id."""
    out = []
    for raw in list(doctree.findall(nodes.raw)):
        if "html" not in raw.get("format", "") or 'class="predict"' not in raw.astext():
            continue
        text = raw.astext()

        def name(m):
            ident = f"predict-{len(out) + 1}"
            out.append((ident, m.group(2)))
            return f'<form id="{ident}" class="predict"{m.group(1)}aria-label="Predict, then check: {m.group(2)}"'

        new = PREDICT_FORM.sub(name, text)
        if new != text:
            raw[0] = nodes.Text(new)
    return out


def _para(*children) -> nodes.paragraph:
    return nodes.paragraph("", "", *children)


def build_section(app, doctree, docname: str):
    """The "Exercises for this chapter" section of docname, or None if it has none."""
    items = []
    enumerable = [n for n in doctree.findall(lambda n: type(n).__name__ == "exercise_enumerable_node")]
    for i, ex in enumerate(enumerable, 1):
        if not ex.get("ids"):
            continue
        title = _exercise_title(ex)
        ref = nodes.reference("", f"Exercise {i}", internal=True, refid=ex["ids"][0])
        items.append(_para(ref, nodes.Text(f": {title}" if title else ""),
                           nodes.Text(" (in this chapter; the solution folds out)")))
    for ident, title in _predict_cells(doctree):
        ref = nodes.reference("", "Predict, then check", internal=True, refid=ident)
        items.append(_para(ref, nodes.Text(f": {title} (a question the model answers "
                                           "once you have committed to a guess)")))
    for ident, title, notebook in app.env.workbook_notebook_exercises.get(docname, []):
        target = "/" + notebook.rsplit(".", 1)[0]
        xref = addnodes.pending_xref("", nodes.inline("", title), refdomain="std",
                                     reftype="doc", reftarget=target, refexplicit=True,
                                     refdoc=docname, refwarn=True)
        lite = nodes.reference("", "do it in your browser", refuri=lite_href(docname, notebook),
                               classes=["lite-link-inline"])
        items.append(_para(nodes.strong("", f"Notebook exercise {ident[2:] if ident.startswith('ex') else ident}: "),
                           xref, nodes.Text(" (write the kernel function yourself; "), lite,
                           nodes.Text(", or run it locally with "),
                           nodes.literal("", "make lab"), nodes.Text(")")))
    if not items:
        return None
    section = nodes.section("", ids=[SECTION_ID], names=["exercises for this chapter"],
                            classes=["workbook-chapter-exercises"])
    section += nodes.title("", "Exercises for this chapter")
    blist = nodes.bullet_list("", bullet="*")
    for p in items:
        blist += nodes.list_item("", p)
    section += blist
    return section


def append_exercises(app, doctree):
    """doctree-read: append the section to a chapter (before the toc is collected)."""
    docname = app.env.docname
    if not is_chapter(docname) or docname == "book/intro":
        return
    top = next(iter(doctree.findall(nodes.section)), None)
    if top is None:
        return
    section = build_section(app, doctree, docname)
    if section is None:
        logger.warning(f"{docname}: a chapter without exercises (no {{exercise}}, no predict() "
                       "cell, and no entry of refmodel/data/exercises.json names it)",
                       location=docname, type="workbook", subtype="exercises")
        return
    top += section


# -- glossary links ---------------------------------------------------------------------------

# Glossary terms too common as ordinary words to link in running text ("pass the page",
# "a file mapping"): they are linked only where a code literal is the term itself.
LITERAL_ONLY = {"pass", "mapping"}
SKIP = (nodes.title, nodes.literal_block, nodes.reference, nodes.raw, nodes.rubric,
        nodes.caption, addnodes.pending_xref, nodes.definition_list, nodes.field_name,
        nodes.target, nodes.comment, nodes.subtitle, nodes.image, nodes.math, nodes.math_block)


def glossary_terms(path: Path = ROOT / "book" / "appendix-glossary.md") -> list:
    """The terms of the glossary page: the unindented lines of its {glossary} block."""
    text = path.read_text(encoding="utf-8")
    block = text.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    return [line.strip() for line in block.splitlines()
            if line.strip() and not line[0].isspace() and not line.startswith(":")]


def _plural(word: str) -> str:
    """A regex for word and its plural (entry/entries, pte/ptes, pass/passes)."""
    w = re.escape(word)
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"(?:{w}|{re.escape(word[:-1])}ies)"
    return f"{w}(?:e?s)?"


def term_patterns(terms: list) -> list:
    """(term, regex for running text or None, regex for a code literal), longest first."""
    out = []
    for t in sorted(terms, key=len, reverse=True):
        words = t.split(" ")
        body = r"\s+".join(re.escape(w) for w in words[:-1]) + (r"\s+" if len(words) > 1 else "") \
            + _plural(words[-1])
        flags = 0 if t.isupper() or any(c.isupper() for c in t[1:]) else re.IGNORECASE
        text_re = None if t in LITERAL_ONLY else re.compile(rf"(?<![\w>/-]){body}(?![\w-])", flags)
        literal_re = re.compile(rf"{_plural(t)}(?:\(\))?")
        out.append((t, text_re, literal_re))
    return out


def _skipped(node) -> bool:
    """Is node inside something that is not running text (a title, code, a link, an
    output, the generated exercises section)?"""
    for a in _ancestors(node):
        if isinstance(a, SKIP) or type(a).__name__ in ("exercise_title", "solution_title"):
            return True
        classes = a.get("classes", []) if isinstance(a, nodes.Element) else []
        if "cell_output" in classes or "workbook-chapter-exercises" in classes:
            return True
    return False


def _ancestors(node):
    a = node.parent
    while a is not None:
        yield a
        a = a.parent


def _xref(term: str, child) -> addnodes.pending_xref:
    return addnodes.pending_xref("", child, refdomain="std", reftype="term", reftarget=term,
                                 refexplicit=True, refwarn=True, classes=["workbook-term"])


def link_terms(app, doctree):
    """doctree-read: link the first use of each glossary term in a page."""
    docname = app.env.docname
    if not docname.startswith("book/") or docname == GLOSSARY_DOC:
        return
    patterns = app.env.workbook_term_patterns
    done = {x["reftarget"].lower() for x in doctree.findall(addnodes.pending_xref)
            if x.get("reftype") == "term"}
    for node in list(doctree.findall(lambda n: isinstance(n, (nodes.Text, nodes.literal)))):
        if len(done) == len(patterns):
            break
        if isinstance(node, nodes.Text) and isinstance(node.parent, nodes.literal):
            continue
        if node.parent is None or _skipped(node):
            continue
        if isinstance(node, nodes.literal):
            text = node.astext()
            for term, _, literal_re in patterns:
                if term.lower() not in done and literal_re.fullmatch(text):
                    node.replace_self(_xref(term, node.deepcopy()))
                    done.add(term.lower())
                    break
            continue
        _link_text(node, patterns, done)


def _link_text(node, patterns, done):
    """Split one Text node around the first uses it holds; link them."""
    text = str(node)
    found = []
    for term, text_re, _ in patterns:
        if term.lower() in done or text_re is None:
            continue
        m = text_re.search(text)
        if m and not any(m.start() < e and s < m.end() for s, e, _ in found):
            found.append((m.start(), m.end(), term))
            done.add(term.lower())
    if not found:
        return
    found.sort()
    parent, pieces, pos = node.parent, [], 0
    for s, e, term in found:
        if s > pos:
            pieces.append(nodes.Text(text[pos:s]))
        pieces.append(_xref(term, nodes.inline("", text[s:e])))
        pos = e
    if pos < len(text):
        pieces.append(nodes.Text(text[pos:]))
    index = parent.index(node)
    parent.remove(node)
    for i, p in enumerate(pieces):
        parent.insert(index + i, p)


# -- the timeline figure ----------------------------------------------------------------------

class Timeline(SphinxDirective):
    """The series' timeline, drawn from refmodel/data/timeline.json at build time."""
    has_content = False
    option_spec = {"part": directives.unchanged, "title": directives.unchanged}

    def run(self):
        from refmodel.render.timeline import timeline
        self.env.note_dependency(str(ROOT / "refmodel" / "data" / "timeline.json"))
        t = timeline(part=self.options.get("part") or None, title=self.options.get("title"))
        return [nodes.raw("", t._repr_html_(), format="html")]


# -- set-up -----------------------------------------------------------------------------------

DATA_FILES = (ROOT / "refmodel" / "data" / "exercises.json", ROOT / "book" / "appendix-glossary.md")


def _data_stamp() -> str:
    import hashlib
    return hashlib.sha256(b"".join(f.read_bytes() for f in DATA_FILES)).hexdigest()


def load_data(app):
    app.env.workbook_notebook_exercises = notebook_exercises()
    app.env.workbook_term_patterns = term_patterns(glossary_terms())


def reread_when_data_changed(app, env, added, changed, removed):
    """Every page depends on the exercises' data and the glossary's terms: when either
    changed since the last build, read all pages again (an incremental build would
    otherwise keep stale sections and links)."""
    stamp = _data_stamp()
    if getattr(env, "workbook_frame_stamp", None) == stamp:
        return []
    env.workbook_frame_stamp = stamp
    return [d for d in env.found_docs if d.startswith("book/")]


def setup(app):
    app.add_directive("workbook-timeline", Timeline)
    app.connect("builder-inited", load_data)
    app.connect("env-get-outdated", reread_when_data_changed)
    # Before the toc collector (priority 500), so that the new section is in the page's toc.
    app.connect("doctree-read", append_exercises, priority=400)
    app.connect("doctree-read", link_terms, priority=450)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
