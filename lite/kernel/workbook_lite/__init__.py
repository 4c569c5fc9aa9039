"""The workbook's start-up hook for the Python kernel of its in-browser (JupyterLite) site.

Two things differ from a Jupyter kernel on a desktop, and install() handles both:

1. Missing packages.  The lite site's Pyodide kernel has the standard library, refmodel,
ipywidgets and IPython, all from wheels the site serves itself (lite/requirements-pyodide.txt);
it installs nothing from the internet.  Packages with compiled parts that only Pyodide's own
CDN builds for WebAssembly (numpy, matplotlib) are not there, so a cell that imports one
fails.  That failure becomes one line that says why, in place of a traceback; every other
error is shown as usual.
2. Cells that are meant to fail.  A chapter shows some kernel BUG()s on purpose, in cells
tagged `raises-exception`; Jupyter Book and JupyterLab with a desktop kernel run on past
them.  JupyterLite cancels every queued cell after any error reply, whatever the tag, so
"Run all" would stop at the first of them.  For such a cell the traceback is shown on
stderr and the cell counts as run, so the cells below it run too.

install() runs once when the kernel starts: jupyter-lite.json points IPYTHONDIR at ipython/
beside this file, whose profile_default/startup/ calls it.
"""

import importlib.util
import sys
from collections.abc import Mapping

# Compiled packages a chapter may import that the in-browser kernel cannot have.
NOT_IN_BROWSER = frozenset({"matplotlib", "numpy", "pandas", "scipy", "PIL"})


def missing_module_message(name: str) -> str | None:
    """The one-line explanation for `import name` failing, or None when the failure is not
    about a package that is absent (a wrong submodule name, say), which keeps its traceback."""
    root = (name or "").split(".")[0]
    if not root:
        return None
    if root in NOT_IN_BROWSER:
        return (f"{root} is not available in the in-browser version of this book (it needs a "
                "WebAssembly build that this site does not serve); the book's page shows what "
                "this cell draws.")
    try:
        present = importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        present = False
    if present:
        return None
    return (f"No module named {root!r} in the in-browser kernel: it has the standard library, "
            "refmodel and ipywidgets, and installs nothing from the internet.")


def _on_missing_module(shell, etype, value, tb, tb_offset=None):
    """IPython custom exception handler for ModuleNotFoundError."""
    message = missing_module_message(getattr(value, "name", None))
    if message is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    else:
        # _showtraceback is what marks the cell as failed (so "Run all" stops here, as it
        # would on any error) and sends the lines to the page.
        shell._showtraceback(etype, value, [f"\x1b[0;31mModuleNotFoundError\x1b[0m: {message}"])
    return None


def expects_exception(shell) -> bool:
    """True while the running cell is tagged raises-exception.  JupyterLab sends the cell's
    metadata with its execute request, and pyodide-kernel keeps that request as the parent."""
    parent = getattr(getattr(shell, "kernel", None), "_parent_header", None)
    metadata = parent.get("metadata") if isinstance(parent, Mapping) else None
    tags = metadata.get("tags") if isinstance(metadata, Mapping) else None
    return isinstance(tags, (list, tuple)) and "raises-exception" in tags


def install(shell) -> None:
    """Register both behaviours on the kernel's IPython shell."""
    shell.set_custom_exc((ModuleNotFoundError,), _on_missing_module)
    report_error = shell._showtraceback          # marks the cell failed and shows the lines

    def _showtraceback(etype, evalue, stb):
        if expects_exception(shell):
            print(shell.InteractiveTB.stb2text(stb), file=sys.stderr)
        else:
            report_error(etype, evalue, stb)

    shell._showtraceback = _showtraceback
