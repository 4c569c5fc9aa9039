"""Small Sphinx fixes for the workbook's HTML pages (loaded from _config.yml).

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


def setup(app):
    app.connect("html-page-context", dedup_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
