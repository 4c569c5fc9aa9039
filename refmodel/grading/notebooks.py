"""Reading learners' notebooks as untrusted bytes: safe file access, tolerant parsing,
matching a notebook to its exercise.

Teaching layer.  A submission folder may hold anything: symlinks (to /etc/passwd, to
/dev/zero, to another learner's folder, in a loop), fifos, devices, a 100 MB file, a
thousand notebooks, JSON that is not a notebook or a notebook whose cells are malformed.
Files are opened without following symlinks, only regular files are read, each with a size
cap, and nothing outside the submission's folder is ever opened.  Whatever the JSON, the
result is cells or a NotebookError with a reason the learner can act on.
"""

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_NOTEBOOK = 5 << 20        # bytes read of one notebook
MAX_NOTEBOOKS = 200           # notebooks looked at in one submission
MAX_DEPTH = 8                 # folders deep


class NotebookError(Exception):
    """A notebook that cannot be read or understood (the message says why)."""


@dataclass
class Notebook:
    cells: list                              # [(index, cell_type, tags, source)]
    metadata: dict
    notes: list = field(default_factory=list)   # what was odd and ignored


def read_capped(path, cap: int = MAX_NOTEBOOK) -> bytes:
    """The bytes of a regular file, without following a symlink, at most cap of them."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno in (40,):                  # ELOOP: the last component is a symlink
            raise NotebookError(f"{Path(path).name} is a symbolic link: not read") from None
        raise NotebookError(f"{Path(path).name} cannot be opened ({os.strerror(e.errno)})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotebookError(f"{Path(path).name} is not a regular file: not read")
        if st.st_size > cap:
            raise NotebookError(f"{Path(path).name} is {st.st_size} bytes, more than the "
                                f"{cap} a notebook may have")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            raise NotebookError(f"{Path(path).name} is more than {cap} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def find_notebooks(folder: Path) -> tuple:
    """([(relative path, absolute path)], notes): the regular *.ipynb files under folder,
    symlinks neither followed nor read, checkpoints and hidden folders skipped."""
    out, notes = [], []
    root = Path(folder)
    stack = [(root, 0)]
    while stack:
        d, depth = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as e:
            notes.append(f"a folder could not be listed ({os.strerror(e.errno)})")
            continue
        subdirs = []
        for e in entries:
            rel = Path(e.path).relative_to(root)
            if e.is_symlink():
                if e.name.endswith(".ipynb"):
                    notes.append(f"{rel} is a symbolic link: not read")
                continue
            if e.is_dir(follow_symlinks=False):
                if e.name.startswith(".") or e.name == "__MACOSX":
                    continue
                if depth + 1 <= MAX_DEPTH:
                    subdirs.append((Path(e.path), depth + 1))
                continue
            if e.name.endswith(".ipynb") and not e.name.startswith("."):
                if not e.is_file(follow_symlinks=False):
                    notes.append(f"{rel} is not a regular file: not read")
                    continue
                if len(out) >= MAX_NOTEBOOKS:
                    notes.append(f"more than {MAX_NOTEBOOKS} notebooks: the rest were not looked at")
                    return out, notes
                out.append((str(rel), Path(e.path)))
        stack.extend(reversed(subdirs))
    out.sort(key=lambda t: (t[0].count("/"), t[0]))
    return out, notes


def _text(source, what: str) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    raise NotebookError(f"{what} is not text")


def parse_notebook(data) -> Notebook:
    """A notebook (bytes, str or an already-parsed dict) into cells; odd cells are skipped
    with a note, never a crash."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise NotebookError("the notebook is not UTF-8 text") from None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as e:
            raise NotebookError(f"the notebook is not JSON ({str(e)[:80]})") from None
    if hasattr(data, "cells") and not isinstance(data, dict):          # an nbformat node
        data = json.loads(json.dumps(data))
    if not isinstance(data, dict):
        raise NotebookError("the notebook is not a JSON object")
    raw = data.get("cells")
    if not isinstance(raw, list):
        raise NotebookError("the notebook has no list of cells (is it an nbformat 4 notebook?)")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    nb = Notebook([], metadata)
    for i, cell in enumerate(raw):
        if not isinstance(cell, dict):
            nb.notes.append(f"cell {i} is not an object: skipped")
            continue
        ctype = cell.get("cell_type")
        if not isinstance(ctype, str):
            nb.notes.append(f"cell {i} has no cell_type: skipped")
            continue
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        tags = meta.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            nb.notes.append(f"cell {i}'s tags are not a list of strings: ignored")
            tags = []
        try:
            source = _text(cell.get("source", ""), f"cell {i}'s source")
        except NotebookError as e:
            nb.notes.append(f"{e}: skipped")
            continue
        nb.cells.append((i, ctype, tuple(tags), source))
    return nb


def code_cells(nb: Notebook, tags) -> list:
    """[("cell N", source)] of the code cells carrying one of tags; shell and magic lines
    (! and %) are left out, as they are not Python."""
    out = []
    for i, ctype, ctags, source in nb.cells:
        if ctype == "code" and set(ctags) & set(tags):
            lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("!", "%"))]
            out.append((f"cell {i}", "\n".join(lines)))
    return out


def exercise_of(nb: Notebook, filename: str, exercises: dict) -> tuple:
    """(exercise id, how it was recognised) or (None, why not): the notebook's metadata
    (metadata.workbook.exercise), else its title line, else its file name."""
    wb = nb.metadata.get("workbook")
    if isinstance(wb, dict) and isinstance(wb.get("exercise"), str) and wb["exercise"] in exercises:
        return wb["exercise"], "its metadata"
    for _, ctype, _, source in nb.cells:
        if ctype == "markdown":
            first = source.strip().splitlines()[0] if source.strip() else ""
            m = re.match(r"#+\s*Exercise\s+(\d+)\b", first, re.I)
            if m and f"ex{m.group(1)}" in exercises:
                return f"ex{m.group(1)}", "its title line (its metadata does not say)"
            break
    stem = Path(filename).name.lower()
    for ex_id, ex in exercises.items():
        want = Path(ex["notebook"]).stem.lower()
        if stem.startswith(want) or stem.startswith(ex_id + "-") or stem.startswith(ex_id + "."):
            return ex_id, "its file name (neither its metadata nor its title says)"
    return None, "neither its metadata, its title nor its file name names an exercise"
