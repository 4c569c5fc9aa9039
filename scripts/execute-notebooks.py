"""Re-run book notebooks in place so that their stored outputs are fresh (for nbval --nbval).

    .venv/bin/python scripts/execute-notebooks.py [book/chapter.ipynb ...]   (default: all of book/)

It runs each notebook top to bottom with nbclient (storing widget state, as the book build
does) and then drops the per-cell timing metadata that nbclient records, so that a re-run
without changes to the code leaves only widget ids changed in the diff.
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path) -> None:
    """Execute one notebook in its own folder and save it with outputs, without timings."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
        # ipykernel's "running over TCP without encryption" warning lands in whichever cell
        # is running when it is printed; it is not part of any chapter's output.
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("name") == "stderr" and "without encryption" in o.get("text", ""))]
    nbformat.write(nb, path)
    print(f"executed {path.relative_to(ROOT)}")


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(
        p for p in (ROOT / "book").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and "_static" not in p.parts)
    for p in paths:
        execute(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
