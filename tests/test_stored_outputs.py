"""Stored notebook outputs are part of the book: they must not carry a developer
machine's paths or terminal colour codes.

    book/*.ipynb, exercises/*.ipynb
      every output (stream text, error traceback, each mime type of display data)
        - no absolute path of a machine: /root, /home/..., /work/..., /tmp/...,
          site-packages, /usr/lib/python..., C:\\Users\\...
        - no ANSI escape (ESC [ ...), which a full traceback brings along

A cell that shows an error should catch it and print a short message (as the chapters
do with the model's BUG), not store a traceback.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for folder in ("book", "exercises") for p in (ROOT / folder).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)

BAD = {
    "an absolute path": re.compile(r"(?<![\w.])(/root/|/home/\w|/work/|/tmp/|/usr/lib/python|"
                                   r"site-packages|[A-Za-z]:\\\\Users\\\\)"),
    "an ANSI escape": re.compile(r"\x1b\["),
}


def _strings(value):
    """Every string inside an output (lists of lines, nested mime bundles)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def problems(nb: dict) -> list:
    """(cell index, what, excerpt) for each bad string in the notebook's outputs."""
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            for text in _strings({k: v for k, v in out.items() if k != "metadata"}):
                for what, rx in BAD.items():
                    m = rx.search(text)
                    if m:
                        start = max(0, m.start() - 30)
                        found.append((i, what, text[start:m.end() + 30].replace("\x1b", "ESC")))
    return found


def test_checker_sees_paths_and_escapes():
    """The checker itself: a traceback with a home directory and colour codes is caught,
    a pte value, a ratio and a URL are not."""
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "error", "ename": "BUG", "evalue": "x",
         "traceback": ["\x1b[31mBUG\x1b[39m", "File /home/ann/src/refmodel/rmap.py:258"]},
        {"output_type": "stream", "name": "stdout",
         "text": "pte 0x000000000123453e  1/7 slots  https://lore.kernel.org/linux-mm/x@y/\n"}]}]}
    whats = sorted({w for _, w, _ in problems(nb)})
    assert whats == ["an ANSI escape", "an absolute path"]
    assert all(i == 0 for i, _, _ in problems(nb))
    nb["cells"][0]["outputs"].pop(0)
    assert problems(nb) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_stored_outputs_are_clean(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = problems(nb)
    assert found == [], "\n".join(f"cell {i}: {what}: ...{x}..." for i, what, x in found)
