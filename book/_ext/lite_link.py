"""A "Run in your browser" link on every notebook page of the book (loaded from _config.yml).

`make book` also builds an in-browser copy of every chapter and exercise notebook into
_build/html/lite/ (JupyterLite with a Pyodide kernel: scripts/build-lite.py), at the same
paths as in the repository.  This puts a link under the title of each page built from a
.ipynb that opens its copy there, in the Jupyter Notebook interface:

    book/anatomy-of-a-migration-entry.ipynb  ->  book/anatomy-of-a-migration-entry.html
        <h1>Anatomy of a migration entry</h1>
        <p class="lite-link"><a href="../lite/notebooks/index.html?path=book/anatomy-...ipynb">

Pages from Markdown (the introduction) get no link.  The href is relative, so the link
works wherever _build/html is served; the lite site needs HTTP (not file://).
"""

from html import escape
from pathlib import PurePath
from urllib.parse import quote

LITE_APP = "lite/notebooks/index.html"     # opens one notebook, as the page shows it
CSS = "lite-link.css"


def lite_href(pathto, source: str) -> str:
    """The link from the current page to source (a notebook path relative to the book's
    root) in the lite site."""
    return f"{pathto(LITE_APP, 1)}?path={quote(source, safe='/')}"


def link_html(href: str, exercise: bool) -> str:
    what = "Do this exercise" if exercise else "Run this chapter"
    return (f'<p class="lite-link"><a class="reference external lite-link-button" href="{escape(href)}">'
            f'&#9654; {what} in your browser</a> '
            '<span class="lite-link-note">Python runs in the page (JupyterLite): nothing to '
            'install, and your changes stay in this browser.</span></p>\n')


def insert_after_title(body: str, html: str) -> str:
    """body with html after its first </h1> (or at the top if it has no title)."""
    end = body.find("</h1>")
    if end < 0:
        return html + body
    end += len("</h1>")
    return body[:end] + "\n" + html + body[end:]


def add_lite_link(app, pagename, templatename, context, doctree):
    """html-page-context hook: add the link to pages whose source is a notebook."""
    if doctree is None or "body" not in context or pagename not in app.env.all_docs:
        return
    source = PurePath(app.env.doc2path(pagename, False)).as_posix()
    if not source.endswith(".ipynb"):
        return
    href = lite_href(context["pathto"], source)
    context["body"] = insert_after_title(context["body"], link_html(href, source.startswith("exercises/")))


def setup(app):
    app.add_css_file(CSS)
    app.connect("html-page-context", add_lite_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
