"""Generated content for the workbook's appendices, and links from the text to them.

Loaded from _config.yml (sphinx: local_extensions).  Three directives fill the appendix
pages from the model and the project's data at build time, so that no page is written by
hand and none goes stale:

``refmodel-api``
    the API reference: every module of the refmodel package (found by walking the package,
    so that modules added or renamed later appear by themselves), its docstring, and the
    signature and docstring of every public function, class and method it defines.
``source-map``
    every public function of the model's kernel layer, the kernel function it models and
    where that is defined (refmodel/render/sourcemap.py; v2.6.18 line anchors are verified).
``workbook-bibliography``
    every mail and commit the book links: author, date, subject and a link, one entry each
    (ids from the links in the pages, checked against docs/verified-facts.md section H;
    fields from refmodel/data/bibliography.json).

And one transform: next to every link to a lore.kernel.org mail or a git.kernel.org commit
in a page, a small link to that entry of the bibliography ("[bib]"), so that no chapter
needs editing to be "linked from the text".
"""

import ast
import inspect
import json
import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
BIB_DOC = "book/appendix-bibliography"
LORE = re.compile(r"lore\.kernel\.org/([a-z-]+)/([^/\s)\"'>\]]+)/")
COMMIT = re.compile(r"git\.kernel\.org/[^\s)\"']*commit/\?id=([0-9a-f]{7,40})")
H_ROW = re.compile(r"^\| `([^`]+)` \| (linux-mm|lkml|commit) \| (.*)\|\s*$", re.M)


# -- shared ---------------------------------------------------------------------------------

def _parse(directive, lines: list) -> list:
    """Parse generated MyST lines inside directive (MyST pages parse MyST); headings in
    them become sections of the page, so that they appear in its table of contents."""
    node = nodes.Element()
    directive.state.nested_parse(StringList(lines, source="(generated)"),
                                 directive.content_offset, node, match_titles=True)
    return node.children


_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
LIST_ITEM = re.compile(r"^\s*([-*\u2022]|\d+[.)]|[a-z][.)])\s|^\s{2,}")


def _esc(text: str) -> str:
    """text with every ASCII punctuation character escaped: shown as is, never markup."""
    return _PUNCT.sub(r"\\\1", text)


def _prose(text: str) -> list:
    """A docstring as MyST lines that show it as written: every ASCII punctuation
    character escaped (so nothing in it is markup), line breaks kept, and indented blocks
    (examples) as literal blocks."""
    out, para = [], []

    def flush():
        # Lines of a paragraph flow together, except before what looks like a list item or
        # an indented continuation, where the docstring's line break is kept.
        if para:
            for line, nxt in zip(para, para[1:]):
                out.append(line[0] + ("\\" if LIST_ITEM.match(nxt[1]) else ""))
            out.extend([para[-1][0], ""])
            para.clear()

    blocks = re.split(r"\n\s*\n", text.strip("\n"))
    for block in blocks:
        lines = block.splitlines()
        if all(line.startswith("    ") or not line.strip() for line in lines) or \
                lines[0].lstrip().startswith(">>>"):
            flush()
            code = "\n".join(line[4:] if line.startswith("    ") else line for line in lines)
            out += _fence(code, "python" if _is_python(code) else "text") + [""]
            continue
        for line in lines:
            para.append((_linked(line.strip()), line))
        flush()
    return out


def _is_python(code: str) -> bool:
    """Is an indented docstring block an example in Python (a doctest or code that parses),
    rather than a table or a map of kernel lines to steps?"""
    if code.lstrip().startswith(">>>"):
        return True
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


URL = re.compile(r"https?://[^\s<>()]+[^\s<>().,;:]")


def _linked(text: str) -> str:
    """_esc(text), except that URLs become links whose text may wrap after / and ."""
    def plain(seg: str) -> str:
        return _esc(seg).replace("\\/", "\\/<wbr>")     # a/b/c may wrap after each /

    out, pos = [], 0
    for m in URL.finditer(text):
        out.append(plain(text[pos:m.start()]))
        shown = re.sub(r"([/.#])", r"\1<wbr>", m.group(0).split("://", 1)[1])
        out.append(f"[{shown}]({m.group(0)})")
        pos = m.end()
    out.append(plain(text[pos:]))
    return "".join(out)


def _fence(text: str, lang: str = "text") -> list:
    """A literal block that no docstring can close: a tilde fence longer than any run of
    tildes inside (directives around it use backtick fences, so the two never clash)."""
    tildes = "~" * max(3, max((len(m) for m in re.findall(r"~+", text)), default=0) + 1)
    return [f"{tildes}{lang}", *text.rstrip().splitlines(), tildes]


# -- API reference --------------------------------------------------------------------------

def _signature(obj) -> str:
    """A signature without annotations (their types are the model's, not documented)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def api_modules() -> list:
    """Every importable module of refmodel except private ones and __main__, sorted."""
    import importlib
    import pkgutil

    import refmodel
    names = ["refmodel"] + [m.name for m in pkgutil.walk_packages(refmodel.__path__, "refmodel.")
                            if not m.name.rsplit(".", 1)[-1].startswith("_")]
    return [importlib.import_module(n) for n in sorted(names)]


def _members(module) -> list:
    """Public functions and classes defined in module (re-exports are documented where
    they are defined)."""
    out = []
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_"):
            continue
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and \
                getattr(obj, "__module__", None) == module.__name__:
            out.append((name, obj))
    return out


def api_lines() -> list:
    """The API reference as MyST lines."""
    lines = []
    for module in api_modules():
        lines += [f"## {_breakable(module.__name__)}", "", f"```{{py:module}} {module.__name__}", "```",
                  ""]
        doc = inspect.getdoc(module)
        if doc:
            lines += _prose(doc)
        for name, obj in _members(module):
            kind = "py:class" if inspect.isclass(obj) else "py:function"
            sig = _signature(obj) if not inspect.isclass(obj) or "__init__" in vars(obj) \
                else ""
            lines += [f"`````{{{kind}}} {name}{sig}", f":module: {module.__name__}",
                      ":no-contents-entry:", ""]
            doc = inspect.getdoc(obj)
            if doc and (not inspect.isclass(obj) or obj.__doc__):
                lines += _prose(doc)
            if inspect.isclass(obj):
                for mname, meth in sorted(vars(obj).items()):
                    if mname.startswith("_") or not inspect.isfunction(meth):
                        continue
                    lines += [f"````{{py:method}} {mname}{_signature(meth)}",
                              ":no-contents-entry:", ""]
                    mdoc = inspect.getdoc(meth)
                    if mdoc and meth.__doc__:
                        lines += _prose(mdoc)
                    lines += ["````", ""]
            lines += ["`````", ""]
    return lines


class RefmodelApi(SphinxDirective):
    """The whole refmodel API, generated from the code at build time."""
    has_content = False

    def run(self):
        return _parse(self, api_lines())


# -- source map -----------------------------------------------------------------------------

def source_map_lines() -> list:
    """One section per kernel-layer module, one line per public name: it reflows on a
    narrow screen, unlike a four-column table."""
    from refmodel.render.sourcemap import source_map
    lines, module = [], None
    for r in source_map():
        if r.module != module:
            module = r.module
            lines += ["", f"## {_breakable(module)}", ""]
        name = f"`{r.name}`" if r.kernel == r.name else f"`{r.name}` (kernel: `{r.kernel}`)"
        if r.status == "2.6.18":
            where = (f"[{r.path}:{r.line}]({r.link_2_6_18()}) in 2.6.18; "
                     f"[in 2.6.17]({r.link_2_6_17()}) (search)")
            if r.note:
                where += f"; {_esc(r.note)}"
        elif r.status == "2.6.17 only":
            where = (f"2.6.17 only: [{r.path}]({ELIXIR17}/source/{r.path}), "
                     f"[`{r.ident}`]({r.link_2_6_17()}) (search); "
                     f"{_esc(r.note)}")
        elif r.status == "2.6.17":
            where = f"the 2.6.17 version: [`{r.ident}`]({r.link_2_6_17()}) (search)"
        else:
            where = f"*model only*: {_esc(r.note)}"
        lines.append(f"* {name}: {where}")
    return lines


ELIXIR17 = "https://elixir.bootlin.com/linux/v2.6.17"


class SourceMap(SphinxDirective):
    """The table of the source map, generated from the model and its data."""
    has_content = False

    def run(self):
        return _parse(self, source_map_lines())


# -- bibliography ---------------------------------------------------------------------------

def verified_ids() -> dict:
    """id -> (list, note) from docs/verified-facts.md section H."""
    text = (ROOT / "docs" / "verified-facts.md").read_text(encoding="utf-8")
    return {i: (lst, note.strip()) for i, lst, note in H_ROW.findall(text.split("## H.", 1)[1])}


def bibliography_data() -> dict:
    path = ROOT / "refmodel" / "data" / "bibliography.json"
    return json.loads(path.read_text(encoding="utf-8"))["entries"]


def linked_ids(root: Path = ROOT) -> dict:
    """id -> set of pages that link it (lore Message-IDs and commit hashes)."""
    out = {}
    for page in sorted((root / "book").glob("*.ipynb")) + sorted((root / "book").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for _, msgid in LORE.findall(text):
            out.setdefault(msgid, set()).add(page.stem)
        for h in COMMIT.findall(text):
            out.setdefault(h, set()).add(page.stem)
    return out


def bib_key(ident: str, known: dict) -> str | None:
    """The bibliography id a link's id stands for (a short hash matches its full hash)."""
    if ident in known:
        return ident
    if re.fullmatch(r"[0-9a-f]{7,40}", ident):
        return next((k for k in known if k.startswith(ident) or ident.startswith(k)), None)
    return None


def bib_anchor(ident: str) -> str:
    return nodes.make_id(f"bib-{ident}")


def bibliography_lines() -> list:
    verified, data = verified_ids(), bibliography_data()
    cited = set()
    for ident in linked_ids():
        key = bib_key(ident, data)
        if key is not None:
            cited.add(key)
    mails = sorted((k for k in cited if data[k]["kind"] == "mail"),
                   key=lambda k: (data[k]["date"], data[k]["title"], k))
    commits = sorted((k for k in cited if data[k]["kind"] == "commit"),
                     key=lambda k: (data[k].get("date", "9999"), data[k]["title"]))
    lines = ["## Mail", ""]
    for k in mails:
        e = data[k]
        lst = verified.get(k, ("all", ""))[0]
        lines += [f"({bib_anchor(k)})=", f"**{e['author']}**, {e['date']}: "
                  f"*{_md_escape(e['title'])}*. Message-ID &lt;{_breakable(k)}&gt;, "
                  f"[lore.kernel.org/{lst}](https://lore.kernel.org/{lst}/{k}/).", ""]
    lines += ["## Commits", ""]
    for k in commits:
        e = data[k]
        who = f"**{e['author']}**" + (f", {e['date']}" if e.get("date") else "") + ": " \
            if e.get("author") else ""
        lines += [f"({bib_anchor(k)})=", f"{who}*{_md_escape(e['title'])}*. Commit `{k}`, "
                  f"[git.kernel.org](https://git.kernel.org/pub/scm/linux/kernel/git/"
                  f"torvalds/linux.git/commit/?id={k}).", ""]
    return lines


def _breakable(ident: str) -> str:
    """An id that may wrap on a narrow screen: <wbr> after its dots and @ (the text copies
    unchanged), every other character escaped for MyST."""
    return re.sub(r"([.@])", r"\1<wbr>", _esc(ident).replace("\\.", ".").replace("\\@", "@"))


def _md_escape(s: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", s)


class Bibliography(SphinxDirective):
    """Every mail and commit the book links, one entry each."""
    has_content = False

    def run(self):
        return _parse(self, bibliography_lines())


def add_bib_links(app, doctree, docname):
    """After each lore/commit link in a page, a small link to its bibliography entry."""
    if docname == BIB_DOC or app.builder.format != "html":
        return
    data = app.env.workbook_bib if hasattr(app.env, "workbook_bib") else bibliography_data()
    target = app.builder.get_relative_uri(docname, BIB_DOC)
    for ref in list(doctree.findall(nodes.reference)):
        uri = ref.get("refuri", "")
        m = LORE.search(uri) or COMMIT.search(uri)
        if not m:
            continue
        key = bib_key(m.groups()[-1], data)
        if key is None:
            continue
        link = nodes.reference("", "bib", refuri=f"{target}#{bib_anchor(key)}",
                               classes=["workbook-bib-link"],
                               reftitle="this source in the bibliography")
        sup = nodes.superscript("", "", link, classes=["workbook-bib"])
        parent = ref.parent
        parent.insert(parent.index(ref) + 1, sup)


def load_bib(app):
    app.env.workbook_bib = bibliography_data()


GENERATED = ("book/appendix-api", "book/appendix-source-map", BIB_DOC)


def always_regenerate(app, env, added, changed, removed):
    """The generated pages depend on the code and data, not on their own source: read
    them again on every build, so that an incremental build never shows a stale table."""
    return [d for d in GENERATED if d in env.found_docs]


def setup(app):
    app.add_directive("refmodel-api", RefmodelApi)
    app.add_directive("source-map", SourceMap)
    app.add_directive("workbook-bibliography", Bibliography)
    app.connect("builder-inited", load_bib)
    app.connect("env-get-outdated", always_regenerate)
    app.connect("doctree-resolved", add_bib_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
