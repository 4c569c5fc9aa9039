"""One source per exercise: exercises/source/exN-*.ipynb -> the learner's exercises/exN-*.ipynb.

Teaching layer (a build tool; standard library only).  A source notebook is the exercise as
the learner sees it, with the answer written in: in each code cell tagged `student`, every
solution region is

        ### BEGIN SOLUTION
        ### HINT: what the learner's stub says        (optional, at most one per region)
        ...the answer...
        ### END SOLUTION

(nbgrader's markers, each alone on its line; the hint line may sit anywhere in the region).
The learner's notebook has, in place of each region, one line at the BEGIN line's indent:
`raise NotImplementedError("the hint")`, or `raise NotImplementedError` without a hint.
Everything else is copied: cell ids, tags, markdown, metadata; outputs and execution counts
are cleared.  The output is byte-for-byte deterministic (nbformat's own layout: sorted keys,
one-space indent, a final newline), so `--check` can tell a stale learner notebook.

    python -m refmodel.grading.generate            write exercises/exN-*.ipynb (make exercises)
                                                   and the table of docs/exercises.md
    python -m refmodel.grading.generate --check    exit 1 if one differs from its source
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = ROOT / "exercises" / "source"
OUT_DIR = ROOT / "exercises"
BEGIN, END, HINT = "### BEGIN SOLUTION", "### END SOLUTION", "### HINT:"
STUDENT_TAG = "student"


class SourceError(ValueError):
    """A source notebook the generator cannot read: unbalanced markers, a marker outside a
    student cell, a region without code."""


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _lines(text: str) -> list:
    """nbformat's on-disk form of a cell's source: a list of lines, each keeping its newline."""
    return text.splitlines(keepends=True)


def _is_student(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and STUDENT_TAG in cell.get("metadata", {}).get("tags", [])


def _regions(text: str, where: str):
    """Yield ("code", line) and ("region", indent, hint, [lines], newline after) items of a
    cell's source."""
    region = None
    for n, line in enumerate(text.splitlines(keepends=True), 1):
        bare = line.strip()
        if bare == BEGIN:
            if region is not None:
                raise SourceError(f"{where}, line {n}: {BEGIN} inside another solution region")
            region = (line[:len(line) - len(line.lstrip())], [None], [], n)
        elif bare == END:
            if region is None:
                raise SourceError(f"{where}, line {n}: {END} without {BEGIN}")
            indent, hint, body, start = region
            if not any(ln.strip() for ln in body):
                raise SourceError(f"{where}, line {start}: a solution region without code")
            yield ("region", indent, hint[0], body, line.endswith("\n"))
            region = None
        elif bare.startswith(HINT):
            if region is None:
                raise SourceError(f"{where}, line {n}: {HINT} outside a solution region")
            if region[1][0] is not None:
                raise SourceError(f"{where}, line {n}: a second {HINT} line in one region")
            region[1][0] = bare[len(HINT):].strip()
        elif region is not None:
            region[2].append(line)
        else:
            yield ("code", line)
    if region is not None:
        raise SourceError(f"{where}, line {region[3]}: {BEGIN} without {END}")


def _stub_line(indent: str, hint, newline: bool) -> str:
    end = "\n" if newline else ""
    if hint is None:
        return f"{indent}raise NotImplementedError{end}"
    return f"{indent}raise NotImplementedError({json.dumps(hint, ensure_ascii=False)}){end}"


def stub(text: str, where: str = "cell") -> str:
    """The learner's version of a student cell: each region becomes its stub line."""
    out = []
    for item in _regions(text, where):
        out.append(item[1] if item[0] == "code" else _stub_line(item[1], item[2], item[4]))
    return "".join(out)


def solution(text: str, where: str = "cell") -> str:
    """The answer: the cell with its marker and hint lines taken out."""
    out = []
    for item in _regions(text, where):
        out += [item[1]] if item[0] == "code" else item[3]
    return "".join(out)


def read_source(path: Path) -> dict:
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for i, cell in enumerate(nb.get("cells", [])):
        src = _text(cell.get("source", ""))
        if not _is_student(cell) and any(m in src for m in (BEGIN, END, HINT)):
            raise SourceError(f"{Path(path).name}, cell {i + 1}: solution markers in a cell not "
                              f"tagged '{STUDENT_TAG}'")
    return nb


def solution_cells(path: Path) -> tuple:
    """The right answer of a source notebook: its student cells, markers taken out."""
    nb = read_source(path)
    return tuple(solution(_text(c["source"]), f"{Path(path).name}, cell {i + 1}")
                 for i, c in enumerate(nb["cells"]) if _is_student(c))


def learner_notebook(path: Path) -> dict:
    """The learner's notebook made from a source notebook (a new dict)."""
    nb = json.loads(json.dumps(read_source(path)))
    for i, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") == "code":
            if _is_student(cell):
                cell["source"] = _lines(stub(_text(cell["source"]), f"{Path(path).name}, cell {i + 1}"))
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def dumps(nb: dict) -> str:
    """A notebook as nbformat writes it (sorted keys, indent 1, UTF-8 kept, final newline)."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def sources(source_dir: Path = None) -> list:
    """The source notebooks (default: exercises/source/ of the checkout), sorted."""
    return sorted(Path(source_dir or SOURCE_DIR).glob("*.ipynb"))


def generated(source_dir: Path = None, out_dir: Path = None) -> dict:
    """{learner notebook path: its text} for every source notebook (default folders: the
    checkout's exercises/source/ and exercises/)."""
    return {Path(out_dir or OUT_DIR) / p.name: dumps(learner_notebook(p)) for p in sources(source_dir)}


# -- the table of exercises in docs/exercises.md ----------------------------------------------

DATA = ROOT / "refmodel" / "data" / "exercises.json"
DOCS = ROOT / "docs" / "exercises.md"
TABLE_BEGIN = ("<!-- the table of exercises: made from refmodel/data/exercises.json by "
               "`make exercises` (python -m refmodel.grading.generate); do not edit by hand -->")
TABLE_END = "<!-- end of the table of exercises -->"


def exercise_table(data_path: Path = None) -> str:
    """The markdown table of every exercise: id, patch, topic, functions, chapter, points
    (default data: refmodel/data/exercises.json)."""
    exs = json.loads(Path(data_path or DATA).read_text(encoding="utf-8"))["exercises"]
    rows = ["| id | patch | topic | the learner writes | chapter | cases | points |",
            "|---|---|---|---|---|---|---|"]
    for ex in sorted(exs, key=lambda e: (len(e), e)):
        body = exs[ex]
        chapter = body.get("chapter", "")
        cases = body.get("cases", [])
        rows.append(
            f"| [{ex}](../{body['notebook']}) | {body.get('patch', '')} | {body['title']} | "
            + ", ".join(f"`{f}`" for f in body["functions"]) + " | "
            + (f"[{chapter.split('/')[-1]}](../{chapter}.ipynb)" if chapter else "") + " | "
            + f"{len(cases)} | {sum(c.get('points', 1) for c in cases):g} |")
    return "\n".join(rows) + "\n"


def with_table(docs_text: str, table: str) -> str:
    """docs_text with the text between the table's markers replaced by table."""
    if TABLE_BEGIN not in docs_text or TABLE_END not in docs_text:
        raise SourceError(f"{DOCS.name} has no table markers ({TABLE_BEGIN!r} ... {TABLE_END!r})")
    head, rest = docs_text.split(TABLE_BEGIN, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_BEGIN}\n{table}{TABLE_END}{tail}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if a learner notebook is not what its source makes")
    ap.add_argument("--source", type=Path, default=SOURCE_DIR)
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--docs", type=Path, default=DOCS,
                    help="the markdown file whose table of exercises is made from exercises.json")
    a = ap.parse_args(argv)
    try:
        made = generated(a.source, a.out)
        if a.docs.exists():
            made[a.docs] = with_table(a.docs.read_text(encoding="utf-8"), exercise_table())
    except (SourceError, json.JSONDecodeError) as e:
        print(f"make-exercises: {e}", file=sys.stderr)
        return 2
    if not made:
        print(f"make-exercises: no source notebook in {a.source}", file=sys.stderr)
        return 2
    stale = []
    for path, text in made.items():
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            print(f"  unchanged  {path.name}")
            continue
        stale.append(path)
        if a.check:
            print(f"  STALE      {path.name} (run `make exercises`)")
        else:
            path.write_bytes(text.encode("utf-8"))
            print(f"  wrote      {path.name}")
    return 1 if a.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
