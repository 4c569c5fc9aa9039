"""The grader: `python -m refmodel.grade SUBMISSION... --out DIR` (see refmodel/grading/cli.py).

Teaching layer.  Kept as the command's entry point; the grader itself is the package
refmodel/grading: spec.py (an exercise's API, from data), server.py (the model's side of a
learner's function), runtime.py (the learner's side, standard library only), sandbox.py
(the jailed learner's process), notebooks.py (reading untrusted notebooks), grader.py (one
submission), cli.py (a batch), similarity.py (pasted reference code, for the instructor).
"""

import sys
from pathlib import Path

from .exercises import CaseResult
from .grading.cli import main
from .grading.grader import (DEFAULT_BUDGET, DEFAULT_MEMORY, DEFAULT_TIMEOUT, Options,
                             grade_notebook_bytes)
from .grading.notebooks import NotebookError, read_capped
from .grading.sandbox import Slot, choose_tier


def grade_notebook(path, exercise: str, cases: list, timeout: float = DEFAULT_TIMEOUT,
                   memory_mb: int = DEFAULT_MEMORY, budget: float = DEFAULT_BUDGET,
                   hidden_names=frozenset(), tier: str | None = None) -> list:
    """[CaseResult] of one notebook for one exercise, its learner's side jailed in the
    strongest tier available here (or the one asked for)."""
    try:
        data = read_capped(path)
    except NotebookError as e:
        return [CaseResult(c["name"], c.get("title", c["name"]), 0, c.get("points", 1), str(e))
                for c in cases]
    slot = Slot(tier or _tier())
    try:
        nr = grade_notebook_bytes(data, Path(path).name, exercise, lambda ex: cases,
                                  Options(timeout, memory_mb, budget), slot, hidden_names)
    finally:
        slot.close()
    return nr.results


_TIER = []


def _tier() -> str:
    if not _TIER:
        _TIER.append(choose_tier()[0])
    return _TIER[0]


if __name__ == "__main__":
    sys.exit(main())
