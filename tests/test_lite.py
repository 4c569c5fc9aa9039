"""The book's notebooks run in the browser: the JupyterLite site that `make book` builds
into _build/html/lite (scripts/build-lite.py), with Python in Pyodide and nothing from a CDN.

    http.server on 127.0.0.1 over _build/html  (.wasm as application/wasm, .mjs as JavaScript)
          |
    /usr/bin/chromium --headless, a new profile per test; every request that is not to
    127.0.0.1 -- from the page, the kernel's web worker or the service worker -- is aborted
    and recorded; the resolver maps every other host to nothing as a second fence
          |
    lite/notebooks/index.html?path=book/anatomy-of-a-migration-entry.ipynb
        Run > Run All Cells: the printed entry fields and the pte picture (SVG, "migration
        entry"), then the live widget: READ and a new pfn re-run the Python callback,
        which redraws the picture with the new type and offset
    lite/notebooks/index.html?path=exercises/ex1-migration-entries.ipynb
        Run All: the check scores the stubs 0 with BAD lines; a new cell with working
        functions and check("ex1", globals()) scores full marks; a practice question
        (refmodel.practice.predict) answers its Check button from the kernel
    and no JavaScript error, no failed request, nothing off the machine.
    every chapter and exercise of _toc.yml (marked slow as well; about 20-50 s each on this
    2-core machine): one browser profile, one tab at a time, Run All; every code cell
    runs, none writes to stderr or fails (unless tagged raises-exception), no JS error.

Cheaper checks need no browser: every chapter and exercise page links to its notebook in the
lite site, the site's lock file names only files it serves (with their sha256), and the
kernel's start-up hook (lite/kernel/workbook_lite) behaves.  As in the other built-book tests,
a missing build or browser skips locally and fails under CI=true.
"""

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

import pytest

from bookbrowser import chromium
from builtbook import HTML, ROOT, built_book, skip_or_fail
from localsite import EX1_WORKING, OFFLINE_FLAGS, serve

LITE = HTML / "lite"
CHAPTER = "book/anatomy-of-a-migration-entry.ipynb"
EXERCISE = "exercises/ex1-migration-entries.ipynb"
KERNEL_TIMEOUT = 90_000         # ms: a cold start is 10-15 s on this 2-core machine; under the 120 s per-test timeout, so a hang reports what it saw
SOLUTION = EX1_WORKING + "check('ex1', globals())"


def built_lite() -> Path:
    """_build/html/lite, or skip/fail when it has not been built."""
    built_book()
    if not (LITE / "notebooks" / "index.html").is_file():
        skip_or_fail("the lite site is not built in _build/html/lite: run `make book` (or `make lite`)")
    return LITE


def toc_notebooks() -> list:
    """Every chapter and exercise notebook of _toc.yml, relative to the repo root."""
    import yaml
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f + ".ipynb" for f in files if (ROOT / (f + ".ipynb")).is_file()]


# -- without a browser ---------------------------------------------------------------------

@pytest.mark.book
@pytest.mark.lite
@pytest.mark.parametrize("notebook", toc_notebooks())
def test_page_links_to_its_notebook_in_the_lite_site(notebook):
    """The page built from each notebook has the "Run in your browser" link, and the link
    leads to that notebook, outputs cleared and set to the Pyodide kernel, in the lite site."""
    html = built_book()
    lite = built_lite()
    page = html / notebook.replace(".ipynb", ".html")
    text = page.read_text(encoding="utf-8")
    links = re.findall(r'<p class="lite-link"><a [^>]*href="([^"]+)"', text)
    assert len(links) == 1, f"{page.relative_to(html)}: expected one lite link, found {links}"
    url = urlsplit(links[0].replace("&amp;", "&"))
    target = (page.parent / url.path).resolve()
    assert target == (lite / "notebooks" / "index.html").resolve()
    assert url.query == f"path={notebook}"
    copy = json.loads((lite / "files" / unquote(notebook)).read_text())
    assert copy["metadata"]["kernelspec"]["name"] == "python"
    code = [c for c in copy["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)


@pytest.mark.book
@pytest.mark.lite
def test_intro_page_has_no_lite_link():
    """Markdown pages (the introduction) have no notebook, so no link."""
    html = built_book()
    assert 'class="lite-link"' not in (html / "book/intro.html").read_text(encoding="utf-8")


@pytest.mark.book
@pytest.mark.lite
def test_lite_site_is_self_contained():
    """The kernel is told to load Pyodide from the site, never to fall back to PyPI, and
    the lock file lists only wheels the site serves, with their sha256 and dependencies."""
    lite = built_lite()
    config = json.loads((lite / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert kernel["disablePyPIFallback"] is True
    assert "://" not in json.dumps(kernel)
    pyodide = lite / "static" / "pyodide"
    for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "LICENSE"):
        assert (pyodide / name).is_file(), name
    lock = json.loads((pyodide / "pyodide-lock.json").read_text())
    packages = lock["packages"]
    for pkg in kernel["loadPyodideOptions"]["packages"]:
        assert pkg in packages, f"{pkg} is loaded at start but not in the lock file"
    for name, entry in packages.items():
        wheel = pyodide / entry["file_name"]
        assert "/" not in entry["file_name"] and wheel.is_file(), f"{name}: {entry['file_name']} not served"
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == entry["sha256"], name
        assert set(entry["depends"]) <= set(packages), f"{name} depends on {entry['depends']}"
    assert {"refmodel", "ipywidgets", "ipython", "pyodide-kernel", "micropip"} <= set(packages)
    assert not {"numpy", "matplotlib"} & set(packages)      # not served: see lite/requirements-pyodide.txt


@pytest.mark.book
@pytest.mark.lite
def test_every_app_page_names_its_tab_icon():
    """Each page of the lite app links a tab icon that the site serves, so that the browser
    does not ask for /favicon.ico at the server's root (a 404 and a console error)."""
    lite = built_lite()
    for page in [lite / "index.html", *sorted(lite.glob("*/index.html"))]:
        hrefs = re.findall(r'<link rel="icon" [^>]*href="([^"]+)"', page.read_text(encoding="utf-8"))
        assert len(hrefs) == 1, f"{page.relative_to(lite)}: {hrefs}"
        assert (page.parent / hrefs[0]).resolve().is_file(), f"{page.relative_to(lite)}: {hrefs[0]}"


@pytest.mark.book
@pytest.mark.lite
def test_standard_library_is_served_with_bytecode():
    """The site's python_stdlib.zip has bytecode beside every module (name.pyc next to
    name.py, where zipimport looks first), unchecked-hash (PEP 552 flags = 1), so that no
    tab compiles the standard library again; the sources stay, for tracebacks."""
    import zipfile
    lite = built_lite()
    with zipfile.ZipFile(lite / "static" / "pyodide" / "python_stdlib.zip") as z:
        names = set(z.namelist())
        sources = sorted(n for n in names if n.endswith(".py"))
        assert len(sources) > 400 and "asyncio/__init__.py" in sources
        missing = [n for n in sources if n + "c" not in names]
        assert not missing, f"no bytecode for {missing[:10]}"
        for name in ("asyncio/__init__.pyc", "json/decoder.pyc", "inspect.pyc"):
            header = z.read(name)[:16]
            assert int.from_bytes(header[4:8], "little") == 1, f"{name}: not unchecked-hash bytecode"


# -- the kernel's start-up hook, in this Python -----------------------------------------------

def _workbook_lite():
    sys.path.insert(0, str(ROOT / "lite" / "kernel"))
    try:
        import workbook_lite
    finally:
        sys.path.pop(0)
    return workbook_lite


def test_missing_module_messages():
    """matplotlib gets the one-line explanation; a package that exists here (refmodel) with
    a wrong submodule keeps its normal traceback; an unknown package gets the generic line."""
    wl = _workbook_lite()
    assert "not available in the in-browser version" in wl.missing_module_message("matplotlib.pyplot")
    assert wl.missing_module_message("refmodel.no_such_module") is None
    assert "installs nothing from the internet" in wl.missing_module_message("no_such_package_xyz")


def test_raises_exception_tag_is_read_from_the_parent_request():
    """Only a cell whose execute request carries the tag counts as meant to fail."""
    wl = _workbook_lite()
    shell = SimpleNamespace(kernel=SimpleNamespace(_parent_header={"metadata": {"tags": ["raises-exception"]}}))
    assert wl.expects_exception(shell)
    shell.kernel._parent_header = {"metadata": {"tags": ["setup"]}}
    assert not wl.expects_exception(shell)
    shell.kernel._parent_header = None
    assert not wl.expects_exception(shell)


HOOK_SCRIPT = """
import json, sys
from types import SimpleNamespace
from IPython.core.interactiveshell import InteractiveShell
sys.path.insert(0, sys.argv[1])
import workbook_lite

class Shell(InteractiveShell):
    def _showtraceback(self, etype, evalue, stb):
        self.reported.append([etype.__name__, stb])

shell = Shell()
shell.reported = []
shell.kernel = SimpleNamespace(_parent_header={"metadata": {}})
workbook_lite.install(shell)
out = {}
shell.run_cell("import no_such_package_xyz")
shell.run_cell("import matplotlib.pyplot_fake_xyz")
out["missing"] = shell.reported[:]
shell.reported.clear()
shell.kernel._parent_header = {"metadata": {"tags": ["raises-exception"]}}
r = shell.run_cell("raise ValueError('meant to')")
out["tagged"] = [shell.reported[:], type(r.error_in_exec).__name__]
shell.reported.clear()
shell.kernel._parent_header = {"metadata": {"tags": []}}
r = shell.run_cell("raise ValueError('not meant to')")
out["untagged"] = [len(shell.reported), type(r.error_in_exec).__name__]
print(json.dumps(out))
"""


def test_hook_reports_missing_matplotlib_as_one_line_and_lets_tagged_cells_pass(tmp_path):
    """With a real IPython shell (in a process of its own, so that this one keeps its
    __main__ and no ~/.ipython is written): a missing package is reported as one line, and
    a cell fails as usual unless it is tagged raises-exception, whose traceback goes to
    stderr instead of to the report that stops "Run all"."""
    import subprocess
    pytest.importorskip("IPython")
    r = subprocess.run([sys.executable, "-c", HOOK_SCRIPT, str(ROOT / "lite" / "kernel")],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "IPYTHONDIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    (generic, mpl) = out["missing"]
    assert generic[0] == "ModuleNotFoundError" and len(generic[1]) == 1
    assert "installs nothing from the internet" in generic[1][0]
    assert mpl[0] == "ModuleNotFoundError" and len(mpl[1]) == 1 and "matplotlib is not available" in mpl[1][0]
    assert out["tagged"] == [[], "ValueError"]          # ran, raised, not reported as a failure
    assert "ValueError: meant to" in re.sub(r"\x1b\[[0-9;]*m", "", r.stderr)
    assert out["untagged"] == [1, "ValueError"]


# -- in the browser -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site():
    """Serve _build/html (with the lite site) on 127.0.0.1 at a free port; yields the base URL."""
    html = built_book()
    built_lite()
    with serve(html) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium(OFFLINE_FLAGS) as b:
        yield b


class LitePage:
    """A notebook open in the lite site, in a fresh browser profile, recording problems."""

    def __init__(self, browser, site: str, notebook: str, context=None):
        """A new browser profile of its own, or a new tab in context (which then keeps its
        HTTP cache and service worker from one notebook to the next, as a reader's does)."""
        self.own_context = context is None
        self.context = context or browser.new_context(viewport={"width": 1280, "height": 1600})
        self.problems, self.fetched = [], []
        if self.own_context:
            self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        if not self.own_context:
            self.page.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"uncaught exception: {exc}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}")
                     if r.status >= 400 else None)
        self.page.goto(f"{site}/lite/notebooks/index.html?path={notebook}", wait_until="load")
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)

    def _route(self, route):
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.hostname == "127.0.0.1":
            self.fetched.append(url.path)
            route.continue_()
        else:
            self.problems.append(f"request off this machine: {route.request.url}")
            route.abort()

    def _console(self, msg):
        # No console.error is known to be harmless here today: every one is a failure.
        if msg.type == "error":
            self.problems.append(f"console.error: {msg.text} [{msg.location.get('url', '')}]")

    def run_all(self):
        """Run > Run All Cells, from the menu as a reader would, once the kernel is idle and
        the notebook has the focus (clicked earlier, the command ran nothing, about one time
        in three); then wait until a cell has started."""
        self.wait("the kernel to be idle",
                  "() => Array.from(document.querySelectorAll('.jp-Notebook-ExecutionIndicator, .jp-KernelStatus'))"
                  ".some(e => /Idle/.test((e.getAttribute('title') || '') + ' ' + e.textContent))")
        self.page.locator(".jp-Notebook .jp-Cell").first.click()
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_text("Run All Cells", exact=True).click()
        self.wait("a cell to start running",
                  "() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))"
                  ".some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))", timeout=30_000)

    def output_text(self) -> str:
        """The text of every output area (offscreen cells included)."""
        return "\n".join(self.page.locator(".jp-OutputArea-output").all_text_contents())

    def wait(self, what: str, js: str, arg=None, timeout: int = KERNEL_TIMEOUT):
        """Poll until the JavaScript predicate js(arg) holds.  Fail with what was awaited and
        every problem recorded so far on a timeout, or at once when a request left for
        another host or an exception went uncaught (the kernel will not come then)."""
        deadline = time.monotonic() + timeout / 1000
        while not self.page.evaluate(js, arg):
            fatal = [p for p in self.problems if p.startswith(("request off", "uncaught"))]
            if fatal or time.monotonic() > deadline:
                pytest.fail(f"{'stopped' if fatal else f'timed out after {timeout / 1000:g} s'} waiting for "
                            f"{what}; problems seen: {self.problems or 'none'}; the page: {self.state()}",
                            pytrace=False)
            self.page.wait_for_timeout(250)

    def state(self) -> dict:
        """What the notebook shows: each code cell's prompt ([*] = running), the kernel's
        status and the outputs' first characters (for a timeout's report)."""
        return self.page.evaluate("""() => ({
            prompts: Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')).map(e => e.textContent.trim()),
            kernel: Array.from(document.querySelectorAll('.jp-Notebook-ExecutionIndicator, .jp-KernelStatus, .jp-Toolbar-kernelName'))
                    .map(e => (e.getAttribute('title') || '') + ' ' + e.textContent.trim()),
            outputs: Array.from(document.querySelectorAll('.jp-OutputArea-output')).map(e => e.textContent.slice(0, 80))})""")

    def wait_for_output(self, needle: str, timeout: int = KERNEL_TIMEOUT):
        """Wait until some output area contains needle (cells execute in the worker)."""
        self.wait(f"an output with {needle!r}",
                  "s => Array.from(document.querySelectorAll('.jp-OutputArea-output')).some(e => e.textContent.includes(s))",
                  needle, timeout)

    def wait_for_widget_output(self, needle: str):
        """Wait until the first Output widget shows needle (a callback redrew it)."""
        self.wait(f"the widget's picture to show {needle!r}",
                  "s => (document.querySelector('.widget-output') || {textContent: ''}).textContent.includes(s)",
                  needle, 30_000)

    def close(self):
        if self.own_context:
            self.context.close()
        else:
            self.page.close()


@pytest.fixture
def lite_page(browser, site):
    opened = []

    def open_(notebook):
        p = LitePage(browser, site, notebook)
        opened.append(p)
        return p

    yield open_
    for p in opened:
        p.close()


@pytest.mark.book
@pytest.mark.browser
@pytest.mark.lite
def test_chapter_runs_in_the_browser_with_live_widgets(lite_page):
    """The anatomy chapter runs top to bottom in Pyodide: the printed fields and the pte
    picture come from the model, and the widget's Python callback redraws on a change."""
    lp = lite_page(CHAPTER)
    lp.run_all()
    lp.wait("the widget of the last code cell", "() => !!document.querySelector('.widget-slider')")
    lp.wait_for_output("swp_entry_t = 0xf800000000012345")
    text = lp.output_text()
    assert "SWP_MIGRATION_WRITE = 31" in text
    assert "pte = 0x000000000123453e" in text
    pictures = lp.page.locator(".jp-OutputArea-output svg")
    assert pictures.count() >= 3                       # two in the page, one in the widget
    assert "migration entry" in pictures.first.text_content()

    widget = lp.page.locator(".widget-output").first
    assert "offset=0x12345" in widget.text_content() and "type = 0x1f" in widget.text_content()
    lp.page.locator(".widget-toggle-buttons button", has_text="READ").click()
    lp.wait_for_widget_output("type = 0x1e")
    handle = lp.page.locator(".widget-slider .noUi-handle, .widget-slider [role=slider]").first
    handle.focus()
    lp.page.keyboard.press("ArrowRight")
    lp.wait_for_widget_output("offset=0x12346")
    assert lp.page.locator(".widget-readout").first.text_content().strip() == "74566"

    assert any(p.endswith("/pyodide.asm.wasm") for p in lp.fetched), "the route never saw the runtime load"
    assert any(p.endswith("/refmodel-0.1.0-py3-none-any.whl") for p in lp.fetched)
    assert lp.problems == []


@pytest.mark.book
@pytest.mark.browser
@pytest.mark.lite
def test_exercise_check_runs_in_the_browser(lite_page):
    """Exercise 1 in Pyodide: the check scores the stubs 0 with BAD lines, and scores a
    working set of functions in full; a practice question works as a live widget."""
    lp = lite_page(EXERCISE)
    lp.run_all()
    lp.wait_for_output("ex1: 0/10 points")
    text = lp.output_text()
    assert "BAD  result: raised NotImplementedError" in text and "GOOD result" in text

    last = lp.page.locator(".jp-Notebook .jp-Cell").last
    last.click()
    lp.page.keyboard.press("Escape")
    lp.page.keyboard.press("b")                         # a new code cell below, selected
    lp.page.keyboard.press("Enter")                     # edit it
    lp.page.keyboard.insert_text(SOLUTION)
    t0 = time.perf_counter()
    lp.page.keyboard.press("Shift+Enter")
    lp.wait_for_output("ex1: 10/10 points", timeout=60_000)
    assert time.perf_counter() - t0 < 60

    # A practice question ("predict, then check") is a live widget here: commit to a
    # choice, Check, and the model's verdict and answer come back from the kernel.
    lp.page.keyboard.press("Escape")
    lp.page.keyboard.press("b")
    lp.page.keyboard.press("Enter")
    lp.page.keyboard.insert_text("from refmodel.practice import predict; predict('fault', 3)")
    lp.page.keyboard.press("Shift+Enter")
    lp.wait("the practice question's widget",
            "() => !!document.querySelector('.widget-radio-box input[type=radio]')", timeout=60_000)
    question = lp.page.locator(".widget-vbox").last
    assert "Predict, then check" in question.text_content() and "Which page" in question.text_content()
    question.locator(".widget-radio-box input[type=radio]").first.check()
    question.locator("button", has_text="Check").click()
    lp.wait("the practice question's verdict",
            "() => Array.from(document.querySelectorAll('.widget-vbox .widget-html')).some(e => /The model:/.test(e.textContent))",
            timeout=30_000)
    verdict = question.text_content()
    assert ("Right: the model agrees." in verdict) != ("Not what the model says." in verdict)
    assert question.locator("button", has_text="Check").is_disabled()
    assert lp.problems == []


# -- every notebook, in one browser session ---------------------------------------------------

def code_cells(notebook: str) -> list:
    """The tags of each code cell of a notebook of the repository, in order."""
    nb = json.loads((ROOT / notebook).read_text(encoding="utf-8"))
    return [c.get("metadata", {}).get("tags", []) for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.fixture(scope="module")
def shared_context(browser):
    """One browser profile for the whole run: each notebook opens in a new tab of it, one at
    a time (a tab closes, and its kernel with it, before the next opens)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1600})
    yield context
    context.close()


# ms per notebook from Run All to its last cell done; the slowest chapter (what-it-saved)
# takes about a minute in Pyodide on this machine.
RUN_ALL_TIMEOUT = 240_000


@pytest.mark.book
@pytest.mark.browser
@pytest.mark.lite
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("notebook", toc_notebooks())
def test_every_notebook_runs_in_the_browser(browser, site, shared_context, notebook):
    """Each chapter and exercise of _toc.yml, opened in the lite site and run with Run All:
    every code cell runs (JupyterLite stops Run All at the first error, so a cell without
    its execution count means that a cell above it failed), no cell shows an error or
    anything on stderr unless it is tagged raises-exception, and the page logs no
    JavaScript error and asks nothing of another host."""
    tags = code_cells(notebook)
    lp = LitePage(browser, site, notebook, context=shared_context)
    try:
        lp.wait("every code cell in the page",
                "n => document.querySelectorAll('.jp-Notebook .jp-CodeCell').length === n", len(tags),
                timeout=60_000)
        lp.run_all()
        # Run All marks every queued cell [*]; when none is left, the run is over (finished,
        # or stopped at an error, which leaves the cells below it without a number).
        lp.wait("Run All to finish", r"""() => !Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt'))
                                                .some(e => /\[\*\]/.test(e.textContent))""", timeout=RUN_ALL_TIMEOUT)
        cells = lp.page.evaluate("""() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell')).map(c => ({
            prompt: c.querySelector('.jp-InputPrompt').textContent.trim(),
            stderr: Array.from(c.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
                    .map(e => e.textContent.slice(0, 1500))}))""")
        assert len(cells) == len(tags)
        errors = [f"code cell {i + 1}: {'; '.join(c['stderr'])}" for i, (c, t) in enumerate(zip(cells, tags))
                  if c["stderr"] and "raises-exception" not in t]
        assert not errors, f"{notebook}: output on stderr or an error:\n" + "\n".join(errors)
        not_run = [i + 1 for i, c in enumerate(cells) if not re.search(r"\[\d+\]", c["prompt"])]
        assert not not_run, f"{notebook}: code cells {not_run} did not run"
        assert lp.problems == [], f"{notebook}: {lp.problems}"
    finally:
        lp.close()
