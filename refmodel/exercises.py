"""Exercises: a learner writes a kernel function; the model runs with it in place.

Teaching layer.  Each exercise (refmodel/data/exercises.json) names the kernel functions to
write and its cases: short scripts of system calls and kernel calls on a Machine.  A case is
run twice, once on the model as it is and once with the learner's functions plugged in
(overrides.override); it passes when every step returns the same and leaves the same state.
`check()` does that inside the exercise notebook; `python -m refmodel.grade` does the same
for a batch of submissions, each in a process of its own.
"""

import contextlib
import io
import json
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

from .check import InvariantError
from .overrides import override
from .render.state import machine_text
from .scenario import Scene, run_step

DATA = Path(__file__).with_name("data") / "exercises.json"
ROOT = Path(__file__).resolve().parents[1]
STUDENT_TAG, SETUP_TAG = "student", "setup"


class SubmissionError(Exception):
    """A submission that cannot be run at all (no notebook, a syntax error, a missing function)."""


def exercises() -> dict:
    """Exercise id -> its metadata (title, notebook, functions, cases)."""
    return json.loads(DATA.read_text(encoding="utf-8"))["exercises"]


# -- reading a submission ---------------------------------------------------------------------

def notebook_code(nb_or_path) -> list:
    """[(label, source)] of the cells tagged setup or student, in notebook order; shell and
    magic lines (! and %) are left out, as they are not Python."""
    import nbformat
    if isinstance(nb_or_path, (str, Path)):
        try:
            nb = nbformat.read(str(nb_or_path), as_version=4)
        except FileNotFoundError:
            raise SubmissionError(f"no notebook at {nb_or_path}") from None
        except Exception as e:                       # not JSON, not a notebook
            raise SubmissionError(f"{Path(nb_or_path).name} is not a readable notebook: {e}") from None
        name = Path(nb_or_path).name
    else:
        nb, name = nb_or_path, "notebook"
    out = []
    for i, cell in enumerate(nb.cells):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "code" and tags & {STUDENT_TAG, SETUP_TAG}:
            lines = [ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("!", "%"))]
            out.append((f"{name}[cell {i}]", "\n".join(lines)))
    return out


def load_functions(cells: list, names: list) -> dict:
    """Execute the cells in a fresh module and return the named functions from it."""
    mod = types.ModuleType("submission")
    for label, source in cells:
        try:
            code = compile(source, label, "exec")
        except SyntaxError as e:
            raise SubmissionError(f"{label}, line {e.lineno}: SyntaxError: {e.msg}") from None
        try:
            exec(code, mod.__dict__)
        except Exception as e:
            raise SubmissionError(f"{label} raised {type(e).__name__}: {e}") from None
    missing = [n for n in names if not callable(mod.__dict__.get(n))]
    if missing:
        raise SubmissionError(f"the notebook defines no function named {', '.join(missing)}")
    return {n: mod.__dict__[n] for n in names}


# -- running a case -------------------------------------------------------------------------

@dataclass
class Observation:
    step: str                    # the step as the case wrote it
    result: str                  # what it returned (or raised)
    state: str                   # the machine's text picture after it
    problems: list = field(default_factory=list)    # m.check() after it

    def to_json(self) -> dict:
        return {"step": self.step, "result": self.result, "state": self.state,
                "problems": self.problems}


def run_case(case: dict, functions: dict | None = None, max_output: int = 4000) -> tuple:
    """(observations, printed): run case on a fresh Machine, with functions plugged in.

    A step that raises ends the case: the exception is its result (the machine may be
    half-changed, so nothing after it would mean anything)."""
    scene = Scene.new(era=case.get("era", "2.6.18"), nodes=case.get("nodes", 2),
                      pages_per_node=case.get("pages_per_node", 32),
                      swap_pages=case.get("swap_pages", 0))
    m = scene.machine
    obs, printed = [], io.StringIO()
    with override(**(functions or {})), contextlib.redirect_stdout(printed):
        for step in case["steps"]:
            text = " ".join(str(x) for x in step)
            try:
                result = run_step(scene, step)          # the one step interpreter (scenario.py)
            except Exception as e:                     # the learner's code, or a BUG it caused
                obs.append(Observation(text, f"raised {type(e).__name__}: {e}", "", []))
                break
            try:
                m.check(list(scene.paths.values()))
                problems = []
            except InvariantError as e:
                problems = list(e.problems)
            except Exception as e:                      # the checker tripped over the state
                problems = [f"the state cannot be checked: {type(e).__name__}: {e}"]
            obs.append(Observation(text, result, machine_text(m), problems))
            if problems:
                break
    out = printed.getvalue()
    return obs, out[:max_output] + ("\n[... output cut]" if len(out) > max_output else "")


def compare(expected: list, got: list) -> str | None:
    """None if the runs agree; else a report of the first step where they part, xv6-style:
    the step, then GOOD (the model) and BAD (the submission) lines."""
    for i, want in enumerate(expected):
        if i >= len(got):
            return f"step {i + 1} ({want['step']}) never ran"
        have = got[i]
        if want == have:
            continue
        lines = [f"step {i + 1}: {want['step']}"]
        if want["result"] != have["result"]:
            lines += [f"  GOOD result: {want['result']}", f"  BAD  result: {have['result']}"]
        if have["problems"]:
            lines += ["  the model's invariant check failed after this step:"] + \
                     [f"    - {p}" for p in have["problems"]]
        if want["state"] != have["state"] and have["state"]:
            w, h = want["state"].splitlines(), have["state"].splitlines()
            for j in range(max(len(w), len(h))):
                a = w[j] if j < len(w) else "(nothing)"
                b = h[j] if j < len(h) else "(nothing)"
                if a != b:
                    lines += [f"  GOOD {a.strip()}", f"  BAD  {b.strip()}"]
        return "\n".join(lines)
    if len(got) > len(expected):
        return f"the submission ran more steps than the model ({len(got)} > {len(expected)})"
    return None


def reference(case: dict) -> list:
    """The model's own observations for case (as JSON-ready dicts)."""
    obs, _ = run_case(case)
    return [o.to_json() for o in obs]


# -- feedback inside the notebook -------------------------------------------------------------

@dataclass
class CaseResult:
    name: str
    title: str
    points: float
    max_points: float
    feedback: str                # empty when passed

    @property
    def passed(self) -> bool:
        return self.points == self.max_points


class Report(list):
    """The case results of one exercise: text when printed, a table in a notebook."""

    def __init__(self, exercise: str, results):
        super().__init__(results)
        self.exercise = exercise

    @property
    def score(self) -> float:
        return sum(r.points for r in self)

    @property
    def max_score(self) -> float:
        return sum(r.max_points for r in self)

    def __str__(self) -> str:
        out = [f"{self.exercise}: {self.score:g}/{self.max_score:g} points"]
        for r in self:
            out.append(f"  {'PASS' if r.passed else 'FAIL'}  {r.title} ({r.points:g}/{r.max_points:g})")
            out += [f"        {ln}" for ln in r.feedback.splitlines()]
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html
        rows = "".join(
            f"<tr><td>{'✔' if r.passed else '✘'}</td><td>{html.escape(r.title)}</td>"
            f"<td>{r.points:g}/{r.max_points:g}</td><td><pre>{html.escape(r.feedback)}</pre></td></tr>"
            for r in self)
        return (f"<p><b>{html.escape(self.exercise)}</b>: {self.score:g}/{self.max_score:g} points</p>"
                f"<table><tr><th></th><th>case</th><th>points</th><th>first difference</th></tr>"
                f"{rows}</table>")


def grade_functions(exercise: str, functions: dict, cases: list | None = None) -> Report:
    """Run every case of the exercise with functions in place of the model's (in this
    process: use it for feedback, not for untrusted code -- the grader isolates that)."""
    ex = exercises()[exercise]
    results = []
    for case in cases if cases is not None else ex["cases"]:
        want = reference(case)
        try:
            obs, printed = run_case(case, functions)
            diff = compare(want, [o.to_json() for o in obs])
        except Exception:
            diff, printed = "the case crashed:\n" + traceback.format_exc(limit=3), ""
        pts = case.get("points", 1)
        if diff and printed:
            diff += "\n  (the submission printed:)\n" + printed
        results.append(CaseResult(case["name"], case.get("title", case["name"]),
                                  0 if diff else pts, pts, diff or ""))
    return Report(exercise, results)


def check(exercise: str, namespace: dict) -> Report:
    """In an exercise notebook: `check("ex1", globals())` grades the functions you wrote."""
    ex = exercises()[exercise]
    missing = [n for n in ex["functions"] if not callable(namespace.get(n))]
    if missing:
        raise SubmissionError(f"define {', '.join(missing)} first")
    return grade_functions(exercise, {n: namespace[n] for n in ex["functions"]})
