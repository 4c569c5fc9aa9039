"""Exercises: a learner writes a kernel function; the model runs with it in place.

Teaching layer.  Each exercise (refmodel/data/exercises.json) names the kernel functions to
write, the API they may use (refmodel/data/kernel_api.json) and its cases: short scripts of
system calls and kernel calls on a Machine.  A case is run twice, once on the model as it is
and once with the learner's functions plugged in (overrides.override); it passes when every
step returns the same and leaves the same state.  Both runs happen in the process that holds
the model: the learner's functions are reached through stubs, and they see the kernel only
through stand-ins whose every use is a request the model's side checks (refmodel/grading).
`check()` does that inside the exercise notebook, with the learner's side in the same
process; `python -m refmodel.grade` does the same for a batch, with the learner's side in a
jailed process of its own.  Students run exactly what graders run.
"""

import contextlib
import io
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import sched
from .check import InvariantError
from .explore.finer import CLASSES as FINER
from .explore.search import Explorer
from .explore.world import PATH_KINDS, World, configs as explore_configs
from .grading import runtime as rt_mod
from .grading.notebooks import NotebookError, code_cells, parse_notebook
from .grading.server import (GraderBug, LearnerError, LearnerGone, LocalLink, LocalPeer, Server,
                             model_where, scrub)
from .grading.spec import exercise_api, model_function, override_name
from .overrides import override
from .swapops import BUG
from .render.state import machine_text
from .snapshot import capture
from .scenario import Scene, run_step

DATA = Path(__file__).with_name("data") / "exercises.json"
ROOT = Path(__file__).resolve().parents[1]
STUDENT_TAG, SETUP_TAG = "student", "setup"
# Steps one kernel path may take in a case before the model calls it a livelock: the
# public cases need a few hundred at most; a fault retried forever reaches this in well
# under a second, even with every retry calling a learner's function in another process.
CASE_STEP_LIMIT = 20_000


class SubmissionError(Exception):
    """A submission that cannot be run at all (no notebook, a syntax error, a missing function)."""


def exercises() -> dict:
    """Exercise id -> its metadata (title, notebook, functions, api, cases)."""
    return _load_exercises()


_EXERCISES = None


def _load_exercises() -> dict:
    global _EXERCISES
    if _EXERCISES is None:
        _EXERCISES = json.loads(DATA.read_text(encoding="utf-8"))["exercises"]
    return json.loads(json.dumps(_EXERCISES))          # a copy: callers may change theirs


# -- reading a submission (in a notebook; the grader reads untrusted files in grading/) -------

def notebook_code(nb_or_path, tags=(STUDENT_TAG, SETUP_TAG)) -> list:
    """[(label, source)] of the code cells tagged with one of tags, in notebook order;
    shell and magic lines (! and %) are left out, as they are not Python.  Labels are
    "cell N" (never a path)."""
    if isinstance(nb_or_path, (str, Path)):
        try:
            data = Path(nb_or_path).read_bytes()
        except FileNotFoundError:
            raise SubmissionError(f"no notebook at {nb_or_path}") from None
        nb = data
    else:
        nb = nb_or_path
    try:
        cells = code_cells(parse_notebook(nb), tags)
    except NotebookError as e:
        raise SubmissionError(str(e)) from None
    return cells


@contextlib.contextmanager
def step_bound(limit: int = CASE_STEP_LIMIT):
    """Within the block, a kernel path that takes more than limit steps raises
    sched.Livelock (the façade's default is practically unbounded)."""
    saved = sched.step_limit
    sched.step_limit = limit
    try:
        yield
    finally:
        sched.step_limit = saved


# -- running a case -------------------------------------------------------------------------

@dataclass
class Observation:
    step: str                    # the step as the case wrote it
    result: str                  # what it returned (or raised)
    state: str                   # the machine's text picture after it
    problems: list = field(default_factory=list)    # m.check() after it
    detail: str = ""             # more about a raise (not compared): a message, the learner's lines

    def to_json(self) -> dict:
        return {"step": self.step, "result": self.result, "state": self.state,
                "problems": self.problems, "detail": self.detail}


COMPARED = ("step", "result", "state", "problems")


def describe_exception(e: BaseException) -> tuple:
    """(result, detail) of a step that raised.  A kernel BUG is told by where it fired (as
    the kernel prints "kernel BUG at mm/rmap.c:612"), its message going to the detail; any
    other exception by its type and message.  A learner's exception carries its type name
    and the lines of their cells it passed through."""
    if isinstance(e, LearnerError):
        type_name, msg, where, trace = e.type_name, e.msg, e.where, e.trace
    else:
        type_name, msg, where, trace = type(e).__name__, scrub(str(e)), model_where(e), []
    detail = "\n".join(trace)
    if type_name == "BUG":
        return f"raised BUG in {where}()", (msg + ("\n" + detail if detail else "")).strip()
    return f"raised {type_name}: {msg}", detail


def _picture(m) -> str:
    """The state's text picture after a step (drawn with the model's own functions)."""
    try:
        state = machine_text(m)
    except Exception as e:                           # a state the renderer cannot follow
        state = f"(the state cannot be drawn: {type(e).__name__})"
    return state


def _log_lines(lines) -> str:
    """What the step printed in the kernel log (printk), under the picture: compared too."""
    return "".join(f"\nkernel log: {ln}" for ln in lines)


def run_case(case: dict, functions: dict | None = None, max_output: int = 4000,
             session=None) -> tuple:
    """(observations, printed): run case on a fresh Machine, with functions plugged in (or
    the stubs of a grading session: the learner's functions on their side).

    A step that raises ends the case: the exception is its result (the machine may be
    half-changed, so nothing after it would mean anything).  So does a learner's side that
    cannot go on (out of time, dead): the step's result says what happened."""
    scene = Scene.new(era=case.get("era", "2.6.18"), nodes=case.get("nodes", 2),
                      pages_per_node=case.get("pages_per_node", 32),
                      swap_pages=case.get("swap_pages", 0))
    m = scene.machine
    obs, printed = [], io.StringIO()
    if session is not None:
        functions = session.stubs()
    targets = {override_name(n): f for n, f in (functions or {}).items()}
    finer = path_classes(case)
    with override(**targets), contextlib.redirect_stdout(printed), step_bound():
        for step in case["steps"]:
            text = " ".join(str(x) for x in step)
            logged = len(m.k.log)
            try:
                result = run_step(scene, step)          # the one step interpreter (scenario.py)
                for path in scene.paths.values():       # "classes": a started path, finer
                    path.__class__ = finer.get(type(path), type(path))
            except LearnerGone as e:                   # out of time, dead: the case ends here
                obs.append(Observation(text, f"stopped: {e.reason}", "", []))
                if session is None:
                    raise
                session.gone = e
                break
            except (GraderBug, KeyboardInterrupt):
                raise
            except Exception as e:                     # the learner's code, or a BUG it caused
                result, detail = describe_exception(e)
                obs.append(Observation(text, result, "", [], detail))
                break
            try:
                m.check(list(scene.paths.values()))
                problems = []
            except InvariantError as e:
                problems = list(e.problems)
            except Exception as e:                      # the checker tripped over the state
                problems = [f"the state after this step is inconsistent: the model's checker "
                            f"cannot read it ({type(e).__name__})"]
            obs.append(Observation(text, result, _picture(m) + _log_lines(m.k.log[logged:]), problems))
            if problems:
                break
    out = printed.getvalue()
    return obs, out[:max_output] + ("\n[... output cut]" if len(out) > max_output else "")


def path_classes(case: dict) -> dict:
    """A case's "classes" ({"user_access": "UnlockedReadFault"}): kernel path class -> the
    finer class (explore/finer.py) its started paths run as."""
    return {PATH_KINDS[base]: FINER[name] for base, name in case.get("classes", {}).items()}


def run_learner_case(case: dict, session) -> tuple:
    """(observations, printed, gone): the case with the session's learner functions; if the
    learner's side could not go on, the last observation says why and gone is the reason."""
    session.begin_case()
    obs, _ = run_case(case, session=session)
    return obs, session.take_printed(), session.gone


# -- a race case: the explorer, with the learner's functions in place ------------------------

def explore_config(case: dict) -> dict:
    """The explorer configuration of a race case: {"explore": {"config": NAME or "steps":
    [...], "classes": {...}}} (data/explore_configs.json's names)."""
    spec = case["explore"]
    cfg = dict(explore_configs()[spec["config"]]) if "config" in spec else {"steps": spec["steps"]}
    cfg["classes"] = dict(spec.get("classes", {}))
    cfg["name"] = spec.get("config", case["name"])
    return cfg


# A race case's bounds: the model's own code needs a few thousand states and a second or
# two; a learner's code that keeps changing a local or the kernel could go on for ever.
RACE_MAX_STATES = 200_000       # (the explorer checks its bound every 50,000 states)
RACE_SECONDS = 60.0             # (checked before each call of the learner's code)


class RaceOverBudget(LearnerGone):
    """A race case used up its time: the learner's side is fine, the case ends."""

    def __init__(self, reason: str):
        super().__init__(reason, process_dead=False)


def _as_kernel_error(fn, is_step: bool = False, deadline: float = float("inf")):
    """fn, whose exceptions the explorer reads as the kernel's: a BUG, or a crash on an
    object that no longer exists, raised by the learner's code (through a helper or a
    stand-in) is a transition the explorer reports with its schedule.  A step that returns
    BLOCKED must have changed nothing (the explorer keeps no state of a step that slept):
    one that did is a BUG at that step."""
    def run(*args):
        if time.monotonic() > deadline:
            raise RaceOverBudget(f"the explorer did not finish this configuration within "
                                 f"{RACE_SECONDS:g} s with your code")
        before = capture(args[1]) if is_step else None
        try:
            r = fn(*args)
        except LearnerError as e:
            if e.type_name == "BUG":
                raise BUG(f"{e.msg} (in {e.where})") from None
            if e.type_name in ("KeyError", "AttributeError", "IndexError"):
                raise {"KeyError": KeyError, "AttributeError": AttributeError,
                       "IndexError": IndexError}[e.type_name](e.msg) from None
            raise
        if is_step and r is sched.BLOCKED and capture(args[1]) != before:
            raise BUG(f"{run.__name__} returned BLOCKED after changing the kernel: a step "
                      f"that sleeps must change nothing (it runs again when woken)")
        return r
    run.__name__ = getattr(fn, "__name__", "step")
    return run


def run_explore(case: dict, functions: dict, budget: float | None = None):
    """The explorer's Result for a race case, exhaustive over its configuration, with
    functions in place.  (The explorer's view leaves out locals dead at a step, @step(dead):
    the locals a learner's step is given are none of them, but for one it sets before it
    reads -- the fault's pfn.)  More than RACE_MAX_STATES states: RuntimeError."""
    deadline = time.monotonic() + (RACE_SECONDS if budget is None else budget)
    targets = {override_name(n): _as_kernel_error(
        f, hasattr(model_function(n), "step_facts"), deadline) for n, f in functions.items()}
    with override(**targets):
        r = Explorer(World(explore_config(case)), max_states=RACE_MAX_STATES).bfs()
        r.table = r.render() if r.violations else ""      # its replay runs the same code
    return r


def explore_feedback(case: dict, functions: dict, hidden: bool = False) -> tuple:
    """(passed, feedback) of a race case: GOOD with the number of states, or BAD with the
    shortest schedule that breaks the kernel, as the explorer chapter's table."""
    try:
        r = run_explore(case, functions)
    except LearnerError as e:
        detail = "\n".join(e.trace)
        return False, (f"BAD: your {e.where or 'function'} raised {e.type_name}: {e.msg}"
                       + (f"\n{detail}" if detail else ""))
    except RaceOverBudget as e:
        return False, f"BAD: {e.reason}"
    except RuntimeError as e:                        # the explorer's state bound
        if "states" not in str(e):
            raise
        return False, (f"BAD: with your code the kernel reaches more than {RACE_MAX_STATES:,} "
                       f"states (the model's own reaches a few thousand): something changes "
                       f"at every step that should not")
    if not r.violations:
        return True, (f"GOOD: no schedule breaks it ({r.states:,} states, "
                      f"{r.transitions:,} transitions: every interleaving)")
    if hidden:
        return False, f"BAD: a schedule of this hidden configuration breaks it ({r.kind})"
    return False, (f"BAD: {r.violations[0]}\n"
                   f"the shortest schedule that breaks it ({len(r.steps())} steps):\n{r.table}")


def race_result(case: dict, functions: dict, hidden: bool = False) -> "CaseResult":
    """A race case's CaseResult: all its points or none, with the explorer's feedback."""
    pts = case.get("points", 1)
    ok, feedback = explore_feedback(case, functions, hidden)
    return CaseResult(case["name"], case.get("title", case["name"]), pts if ok else 0, pts,
                      feedback, hidden)


def compare(expected: list, got: list, hidden: bool = False) -> str | None:
    """None if the runs agree; else a report of the first step where they part, xv6-style:
    the step, then GOOD (the model) and BAD (the submission) lines.  For a hidden case only
    the step's number and what the submission's own run did: nothing the model expected."""
    for i, want in enumerate(expected):
        if i >= len(got):
            return f"step {i + 1} ({'hidden' if hidden else want['step']}) never ran"
        have = got[i]
        if all(want.get(k) == have.get(k) for k in COMPARED):
            continue
        if hidden:
            lines = [f"step {i + 1} of this hidden case differs from the model's run "
                     f"(the hidden case's steps and expected states are not shown)"]
            if have["result"].startswith(("raised", "stopped")):
                lines += [f"  your run: {have['result']}"]
            if have.get("detail"):
                lines += [f"    {ln}" for ln in have["detail"].splitlines()]
            return "\n".join(lines)
        lines = [f"step {i + 1}: {want['step']}"]
        if want["result"] != have["result"]:
            lines += [f"  GOOD result: {want['result']}", f"  BAD  result: {have['result']}"]
            if have.get("detail"):
                lines += [f"       {ln}" for ln in have["detail"].splitlines()]
        if have["problems"]:
            lines += ["  the model's invariant check failed after this step:"] + \
                     [f"    - {p}" for p in have["problems"]]
        if want["state"] != have["state"] and have["state"]:
            w, h = want["state"].splitlines(), have["state"].splitlines()
            several = sum(ln.startswith("process ") for ln in w) > 1
            for j in range(max(len(w), len(h))):
                a = w[j] if j < len(w) else "(nothing)"
                b = h[j] if j < len(h) else "(nothing)"
                if a != b:
                    where = _process_of(w if j < len(w) else h, j) if several else ""
                    lines += [f"  GOOD {where}{a.strip()}", f"  BAD  {where}{b.strip()}"]
        return "\n".join(lines)
    if len(got) > len(expected):
        return f"the submission ran more steps than the model ({len(got)} > {len(expected)})"
    return None


def _process_of(state_lines: list, j: int) -> str:
    """"pid 2: " for a line of a picture that shows several processes: the process whose
    block holds line j (nothing for a process's own first line, or the swap lines)."""
    line = state_lines[j] if j < len(state_lines) else ""
    if line.startswith(("process ", "swap ", "kernel log")):
        return ""
    for ln in reversed(state_lines[:j]):
        if ln.startswith("process "):
            return f"pid {ln.split()[1]}: "
    return ""


_REFERENCE: dict = {}


def reference(case: dict) -> list:
    """The model's own observations for case (as JSON-ready dicts); computed once per case."""
    key = json.dumps(case, sort_keys=True)
    if key not in _REFERENCE:
        obs, _ = run_case(case)
        _REFERENCE[key] = [o.to_json() for o in obs]
    return json.loads(json.dumps(_REFERENCE[key]))


# -- feedback inside the notebook -------------------------------------------------------------

@dataclass
class CaseResult:
    name: str
    title: str
    points: float
    max_points: float
    feedback: str                # empty when passed
    hidden: bool = False

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


def case_result(case: dict, feedback: str | None, hidden: bool = False) -> CaseResult:
    pts = case.get("points", 1)
    return CaseResult(case["name"], case.get("title", case["name"]), 0 if feedback else pts, pts,
                      feedback or "", hidden)


def grade_functions(exercise: str, functions: dict, cases: list | None = None) -> Report:
    """Run every case of the exercise with functions plugged straight into the model (they
    get the model's real objects: for the model's own functions and its variants, in tests).
    A learner's functions go through check() (or the grader), which hands them stand-ins."""
    ex = exercises()[exercise]
    results = []
    for case in cases if cases is not None else ex["cases"]:
        if "explore" in case:
            results.append(race_result(case, functions))
            continue
        want = reference(case)
        try:
            obs, printed = run_case(case, functions)
            diff = compare(want, [o.to_json() for o in obs])
        except Exception:
            diff, printed = "the case crashed:\n" + traceback.format_exc(limit=3), ""
        if diff and printed:
            diff += "\n  (the submission printed:)\n" + printed
        results.append(case_result(case, diff))
    return Report(exercise, results)


# -- the learner's side in the notebook -----------------------------------------------------------

_LOCAL: dict = {}                  # exercise id -> the notebook's Runtime (one per kernel)


def _local_runtime(exercise: str):
    rt = _LOCAL.get(exercise)
    if rt is None:
        api = exercise_api(exercise)
        rt = rt_mod.Runtime(json.loads(json.dumps(api.learner_spec())), LocalLink(api))
        rt.passthrough = (GraderBug, LearnerGone, KeyboardInterrupt)
        _LOCAL[exercise] = rt
    return rt


def api(exercise: str) -> dict:
    """The names an exercise gives the learner's code: the kernel functions it may call
    (each a request to the model, exactly as while grading), constants and value types.

        from refmodel.exercises import check, api
        globals().update(api("ex2"))
    """
    if exercise not in exercises():
        raise SubmissionError(f"no exercise {exercise!r}; there are {', '.join(sorted(exercises()))}")
    rt = _local_runtime(exercise)
    return {k: v for k, v in rt.namespace.items() if not k.startswith("__")}


class LocalSession:
    """A grading session whose learner's side runs in this process (check() in a notebook)."""

    def __init__(self, exercise: str, functions: dict):
        self.rt = _local_runtime(exercise)
        self.rt.functions = dict(functions)
        self.server = Server(exercise_api(exercise), LocalPeer(self.rt))
        self.printed, self.gone = [], None

    def stubs(self) -> dict:
        return {name: self.server.stub(name) for name in self.rt.functions}

    def begin_case(self) -> None:
        self.gone = None

    def take_printed(self) -> str:
        return ""                    # in a notebook, print() goes to the cell's output


def check(exercise: str, namespace: dict) -> Report:
    """In an exercise notebook: `check("ex1", globals())` grades the functions you wrote,
    with the grader's own cases, stand-ins and checks."""
    ex = exercises().get(exercise)
    if ex is None:
        raise SubmissionError(f"no exercise {exercise!r}; there are {', '.join(sorted(exercises()))}")
    missing = [n for n in ex["functions"] if not callable(namespace.get(n))]
    if missing:
        raise SubmissionError(f"define {', '.join(missing)} first")
    given = api(exercise)
    foreign = [n for n, v in given.items() if n in namespace and namespace[n] is not v
               and callable(v) and n not in ex["functions"]]
    if foreign:
        raise SubmissionError(
            f"{', '.join(sorted(foreign))} in this notebook {'is' if len(foreign) == 1 else 'are'} "
            f"not what the setup cell gives (imported from refmodel?): run the setup cell again, "
            f"so that your functions use the same kernel functions as the grader")
    session = LocalSession(exercise, {n: namespace[n] for n in ex["functions"]})
    results = []
    for case in ex["cases"]:
        if "explore" in case:
            session.begin_case()
            results.append(race_result(case, session.stubs()))
            continue
        want = reference(case)
        obs, printed, gone = run_learner_case(case, session)
        diff = compare(want, [o.to_json() for o in obs])
        results.append(case_result(case, diff))
    return Report(exercise, results)
