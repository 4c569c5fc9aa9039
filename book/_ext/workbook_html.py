"""Small Sphinx fixes for the workbook's HTML pages (loaded from _config.yml).

Exercises numbered per chapter.  sphinx-exercise numbers {exercise}s with Sphinx's figure
numbers, which run through the whole book when chapters are not numbered (1-16 across
the book, while the text says "Exercise 2 below").  After Sphinx has assigned them, each
page's exercises are numbered again from 1, in page order; {numref} and the titles follow.

Duplicate inline scripts.  Extensions that call app.add_js_file(None, body=...) after
the builder started (sphinx-thebe and sphinx-togglebutton do, under Jupyter Book 1 with
Sphinx 7.4) end up in the page twice: once stored with filename '' and once with None,
which Sphinx does not see as equal.  The second copy of sphinx-thebe's
`const THEBE_JS_URL = ...` is a JavaScript error ("Identifier ... has already been
declared") on every page, which the browser test in tests/ catches.  This keeps the
first of any scripts that are the same apart from None versus ''.
"""


def _key(js):
    """What makes two script entries the same: file name (None ~ '') and attributes."""
    attrs = getattr(js, "attributes", {}) or {}
    return (getattr(js, "filename", js) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))


def dedup_scripts(app, pagename, templatename, context, doctree):
    """html-page-context hook: drop repeated <script> entries, keep the order."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        k = _key(js)
        if k not in seen:
            seen.add(k)
            kept.append(js)
    context["script_files"] = kept


def number_exercises_per_page(app, env):
    """env-get-updated hook (after Sphinx's own numbering): exercise n of a page is n."""
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        numbers = by_type.get("exercise")
        if not numbers:
            continue
        order = sorted(numbers, key=lambda ident: numbers[ident])
        renumbered = {ident: (i + 1,) for i, ident in enumerate(order)}
        if renumbered != numbers:
            by_type["exercise"] = renumbered
            changed.append(docname)
    return changed


def setup(app):
    app.connect("html-page-context", dedup_scripts, priority=900)
    app.connect("env-get-updated", number_exercises_per_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
