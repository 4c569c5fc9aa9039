"""Grading one submission: its notebooks, each in a jailed learner's process, every case
decided here from the model's own state.

Teaching layer, grader only.  For each case the model runs twice in this process: once as
it is (the reference, computed once per case) and once with the learner's functions plugged
in as stubs that call into their process (server.py, sandbox.py).  Whatever that process
does -- loops, dies, floods, lies -- it can only make its own case fail, with the reason.
"""

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ..exercises import (CaseResult, case_result, compare, exercises, race_result, reference,
                         run_learner_case)
from .notebooks import (NotebookError, code_cells, exercise_of, find_notebooks, parse_notebook,
                        read_capped)
from .sandbox import LearnerProcess, PipePeer
from .server import GraderBug, LearnerGone, Server, scrub
from .similarity import compare_to_reference
from .spec import exercise_api

DEFAULT_TIMEOUT = 1.0         # seconds for one call of a learner's function (nested calls included)
DEFAULT_MEMORY = 1024         # MiB of address space for the learner's process
DEFAULT_BUDGET = 60.0         # seconds for all the cases of one notebook
MAX_FEEDBACK_OUTPUT = 4000    # characters of a case's printed output quoted in its feedback
MAX_CODE = 512 << 10          # bytes of code in a notebook's student cells


@dataclass
class Options:
    timeout: float = DEFAULT_TIMEOUT
    memory_mb: int = DEFAULT_MEMORY
    budget: float = DEFAULT_BUDGET


@dataclass
class NotebookResult:
    exercise: str
    results: list                                  # [CaseResult]
    source: str = ""                               # which file (relative to the submission)
    how: str = ""                                  # how it was matched to its exercise
    notes: list = field(default_factory=list)      # for the learner
    flags: list = field(default_factory=list)      # for the instructor only


class ProcessSession:
    """The learner's functions of one notebook, in a jailed process of their own."""

    def __init__(self, slot, exercise: str, cells: list, opts: Options):
        api = exercise_api(exercise)
        self.functions = list(api.functions)
        self.server = Server(api)
        cpu = int(opts.budget + 10 * opts.timeout + 10)
        self.process = LearnerProcess(slot, opts.memory_mb, cpu)
        self.peer = PipePeer(self.process, opts.timeout)
        self.server.peer = self.peer
        self.gone = None
        try:
            self.process.send({"spec": api.learner_spec()})
            self.process.send({"load": cells, "functions": self.functions})
            self.peer.deadline = time.monotonic() + opts.timeout + 3
            self.peer.stopped_at = None
            self.loaded = self.peer.wait_answer(self.server, "loading the notebook", ("loaded",))
        except LearnerGone as e:
            self.loaded = {"loaded": False, "error": e.reason}
            self.close()

    def stubs(self) -> dict:
        return {name: self.server.stub(name) for name in self.functions}

    def begin_case(self) -> None:
        self.peer.printed.clear()
        self.gone = None

    def take_printed(self) -> str:
        out = "".join(self.peer.printed)
        return out

    def close(self) -> None:
        self.process.close()


def _not_run(cases, reason, hidden_names):
    return [CaseResult(c["name"], c.get("title", c["name"]), 0, c.get("points", 1), reason,
                       c["name"] in hidden_names) for c in cases]


def grade_cells(cells: list, exercise: str, cases: list, opts: Options, slot,
                hidden_names=frozenset()) -> list:
    """[CaseResult] for the notebook whose student cells are cells: every case scored,
    whatever happens.  Once the notebook's cases have taken opts.budget seconds, the rest
    are not run (0, with why)."""
    results = []
    t0 = time.monotonic()
    session = None
    try:
        for i, case in enumerate(cases):
            hidden = case["name"] in hidden_names
            if time.monotonic() - t0 > opts.budget:
                results += _not_run(cases[i:], f"not run: the notebook used up its time budget of "
                                    f"{opts.budget:g} s on the cases before this one", hidden_names)
                break
            if session is None:
                session = ProcessSession(slot, exercise, cells, opts)
                if not session.loaded.get("loaded"):
                    why = scrub(str(session.loaded.get("error", "it did not load")))
                    out = scrub(str(session.loaded.get("out", "")))[:MAX_FEEDBACK_OUTPUT]
                    trace = session.loaded.get("trace")
                    if isinstance(trace, list) and trace:
                        why += "\n" + "\n".join(scrub(str(t))[:200] for t in trace[:12])
                    if out:
                        why += "\n  (the notebook printed:)\n" + out
                    results += _not_run(cases[i:], f"the notebook could not be loaded: {why}",
                                        hidden_names)
                    break
            if "explore" in case:                   # a race case: the explorer decides
                result, gone = race_case(case, session, hidden)
                results.append(result)
                if gone is not None and gone.process_dead:
                    session.close()
                    session = None
                continue
            want = reference(case)
            obs, printed, gone = run_learner_case(case, session)
            diff = compare(want, [o.to_json() for o in obs], hidden=hidden)
            if diff and printed:
                printed = printed[:MAX_FEEDBACK_OUTPUT] + ("\n[... output cut]" if len(printed) > MAX_FEEDBACK_OUTPUT else "")
                diff += "\n  (the submission printed:)\n" + printed
            results.append(case_result(case, diff, hidden))
            if gone is not None and gone.process_dead:
                session.close()
                session = None                    # a fresh process for the next case
    finally:
        if session is not None:
            session.close()
        slot.kill_all()
    return results


def race_case(case, session, hidden: bool) -> tuple:
    """(CaseResult, gone) of a race case: the explorer over its configuration with the
    learner's functions; gone: the LearnerGone that ended it, if their side could not go on."""
    session.begin_case()
    try:
        result = race_result(case, session.stubs(), hidden)
    except LearnerGone as e:
        return CaseResult(case["name"], case.get("title", case["name"]), 0, case.get("points", 1),
                          f"stopped: {e.reason}", hidden), e
    printed = session.take_printed()
    if not result.passed and printed:
        result.feedback += "\n  (the submission printed:)\n" + printed[:MAX_FEEDBACK_OUTPUT]
    return result, None


def reference_flags(cells: list, exercise: str) -> list:
    """Instructor-only notes: a learner's function that is the model's own code."""
    flags = []
    for name in exercises()[exercise]["functions"]:
        try:
            sim = compare_to_reference(cells, name)
        except Exception:                            # a tree we cannot read: no flag
            sim = None
        if sim and sim["identical"]:
            flags.append(f"{exercise}: {name} is the model's own code (the same syntax tree "
                         f"once docstrings, names and the model's bookkeeping are set aside)")
    return flags


def grade_notebook_bytes(data: bytes, filename: str, exercise: str | None, cases_of, opts: Options,
                         slot, hidden_names=frozenset()) -> NotebookResult:
    """One notebook's bytes -> its NotebookResult (exercise from its metadata unless given)."""
    all_ex = exercises()
    try:
        nb = parse_notebook(data)
    except NotebookError as e:
        ex = exercise or "?"
        return NotebookResult(ex, _not_run(cases_of(ex), f"{filename}: {e}", hidden_names)
                              if exercise else [], filename, notes=[f"{filename}: {e}"])
    how = "the grader's --exercise"
    if exercise is None:
        exercise, how = exercise_of(nb, filename, all_ex)
        if exercise is None:
            return NotebookResult("?", [], filename, how, notes=[f"{filename}: {how}"])
    cells = code_cells(nb, ("student",))
    cases = cases_of(exercise)
    notes = [f"{filename}: {n}" for n in nb.notes]
    size = sum(len(src.encode("utf-8", "replace")) for _, src in cells)
    if size > MAX_CODE:
        return NotebookResult(exercise, _not_run(cases, f"the student cells are {size} bytes of code, "
                                                 f"more than the {MAX_CODE} a notebook may have",
                                                 hidden_names), filename, how, notes)
    if not cells:
        return NotebookResult(exercise, _not_run(cases, f"{filename} has no code cell tagged "
                                                 f"'student'", hidden_names), filename, how, notes)
    results = grade_cells(cells, exercise, cases, opts, slot, hidden_names)
    return NotebookResult(exercise, results, filename, how, notes, reference_flags(cells, exercise))


def grade_path(path: Path, only: str | None, cases_of, opts: Options, slot,
               hidden_names=frozenset()) -> dict:
    """A submission (a notebook, or a folder searched for notebooks) -> {"notebooks":
    {exercise: NotebookResult}, "notes": [...], "errors": [tracebacks]}; exercises it has no
    notebook for are left for the caller to score 0.  A crash of the grader while grading one
    notebook costs that notebook only ("grader error"), with the traceback in "errors"."""
    notes, errors, chosen = [], [], {}
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        found, more = find_notebooks(path)
        notes += more
    else:
        found = [(path.name, path)]
    if not found:
        notes.append("no notebook (.ipynb) was found in the submission")
    candidates = []
    for rel, abspath in found:
        try:
            data = read_capped(abspath)
        except NotebookError as e:
            notes.append(str(e))
            continue
        try:
            ex, how = exercise_of(parse_notebook(data), rel, exercises())
        except NotebookError as e:
            if only is None:
                notes.append(f"{rel}: {e}")
                continue
            ex, how = None, str(e)
        candidates.append((rel, data, ex, how))
    if only is not None:
        pick = [c for c in candidates if c[2] == only] or candidates[:1]
        for rel, data, ex, how in pick[:1]:
            chosen[only] = (rel, data, "the grader's --exercise")
        for rel, *_ in pick[1:]:
            notes.append(f"{rel}: not graded: {pick[0][0]} is already this submission's {only}")
    else:
        for rel, data, ex, how in candidates:
            if ex is None:
                notes.append(f"{rel}: not graded: {how}")
            elif ex in chosen:
                notes.append(f"{rel}: not graded: {chosen[ex][0]} is already this submission's {ex}")
            else:
                chosen[ex] = (rel, data, how)
                if how != "its metadata":
                    notes.append(f"{rel} was taken for {ex} by {how}")
    by_ex = {}
    for ex, (rel, data, how) in chosen.items():
        try:
            by_ex[ex] = grade_notebook_bytes(data, rel, ex, cases_of, opts, slot, hidden_names)
            by_ex[ex].how = how
        except (Exception, GraderBug):               # noqa: B902 -- the grader's own fault
            errors.append(crash_report())
            by_ex[ex] = NotebookResult(ex, _not_run(cases_of(ex), GRADER_ERROR, hidden_names), rel, how)
    return {"notebooks": by_ex, "notes": notes, "errors": errors}


GRADER_ERROR = ("grader error: the grader failed on this notebook (not your code's fault). "
                "Please report this to your instructor.")


def crash_report() -> str:
    """The traceback of the exception being handled (for the instructor only)."""
    return traceback.format_exc()
