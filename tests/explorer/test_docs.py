"""The documented API runs as documented: refmodel/explore/'s doctests and the quick start
of docs/explorer.md."""

import doctest
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_module_doctests():
    m = importlib.import_module("refmodel.explore")
    r = doctest.testmod(m)
    assert r.attempted >= 5 and r.failed == 0


def test_docs_quick_start_runs():
    text = (ROOT / "docs" / "explorer.md").read_text()
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", text, re.S).group(1)
    env = {}
    exec(compile(code, "docs/explorer.md", "exec"), env)
    assert env["r"].violations and env["rep"].violations
