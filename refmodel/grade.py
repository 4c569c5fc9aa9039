"""The grader: run learners' exercise notebooks, each in a process of its own, and score them.

    python -m refmodel.grade SUBMISSION [SUBMISSION ...] [--out DIR] [--cases FILE]
                             [--exercise ID] [--timeout S] [--memory MB] [--budget S]

A SUBMISSION is an exercise notebook, or a folder holding a learner's exercise notebooks
(named as in exercises/).  For each it writes DIR/<name>/results.json (Gradescope's format),
and for the batch DIR/summary.csv and DIR/summary.md; progress goes to stderr.

How a submission runs: the grader reads the notebook's `setup` and `student` cells and sends
them to a fresh Python process with limits (CPU seconds, address space, no files written, no
processes started, an empty working folder).  That process loads the learner's functions
and runs each case's steps with them plugged into the model; it returns what it observed.
The grader runs the same steps on the model itself, here, and compares.  What a case expects
never reaches the learner's process, so instructors can keep extra cases (--cases FILE,
same format as refmodel/data/exercises.json) out of the learners' hands.  A submission that
loops, eats memory, crashes its process or cannot be loaded gets 0 for what it could not
run, with the reason; the grader itself goes on.
"""

import argparse
import csv
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .exercises import CaseResult, SubmissionError, compare, exercises, notebook_code, reference

DEFAULT_TIMEOUT = 10.0        # seconds per case, wall clock
DEFAULT_MEMORY = 1024         # MiB of address space for the learner's process
DEFAULT_BUDGET = 120.0        # seconds for all the cases of one notebook


# -- the learner's side ------------------------------------------------------------------------

# What a submission may not do, as Python's audit events name it (PEP 578).  The limits set
# on the process (no file may grow, no process may start) back this up below Python.
_FORBIDDEN = {
    "os.system": "run a shell command", "subprocess.Popen": "start a process",
    "os.exec": "start a program", "os.posix_spawn": "start a process", "os.fork": "fork",
    "os.forkpty": "fork", "os.kill": "send a signal", "os.killpg": "send a signal",
    "os.remove": "remove a file", "os.rename": "rename a file", "os.rmdir": "remove a folder",
    "os.mkdir": "make a folder", "os.truncate": "truncate a file", "os.chmod": "change a file",
    "os.link": "link a file", "os.symlink": "link a file", "shutil.rmtree": "remove files",
    "socket.connect": "open a connection", "socket.bind": "open a port",
    "ctypes.dlopen": "load native code", "ctypes.cdata": "use ctypes",
}


def _guard(event: str, args) -> None:
    """The audit hook installed in the learner's process before their code runs."""
    if event in _FORBIDDEN:
        raise PermissionError(f"the grader does not let a submission {_FORBIDDEN[event]} ({event})")
    if event == "open":
        mode, flags = args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
            (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
        if writing:
            raise PermissionError(f"the grader does not let a submission write files ({args[0]!r})")


def child_main(fd: int) -> int:
    """Runs in the learner's process: commands on stdin, answers on fd, one JSON a line."""
    import contextlib
    import io
    import importlib
    for name in ("refmodel.machine", "refmodel.render.state"):   # what the cases use, loaded
        importlib.import_module(name)                            # before the guard goes in
    from .exercises import load_functions, run_case
    answers = os.fdopen(fd, "w", buffering=1)
    commands = os.fdopen(os.dup(0), "r")
    sys.stdin = io.StringIO("")          # input() in a notebook reads nothing, not our commands
    sys.addaudithook(_guard)
    functions = None
    for line in commands:
        msg = json.loads(line)
        if "cells" in msg:
            printed = io.StringIO()
            try:
                with contextlib.redirect_stdout(printed):
                    functions = load_functions(msg["cells"], msg["functions"])
                answers.write(json.dumps({"loaded": True}) + "\n")
            except SubmissionError as e:
                answers.write(json.dumps({"loaded": False, "error": str(e)}) + "\n")
        elif "case" in msg:
            obs, printed = run_case(msg["case"], functions)
            answers.write(json.dumps({"observations": [o.to_json() for o in obs],
                                      "printed": printed}) + "\n")
    return 0


def _limits(cpu_s: int, memory_mb: int):
    def apply():
        import resource
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))        # writes no file
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))        # starts no process
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setsid()
    return apply


class Learner:
    """The learner's process, as the grader sees it: send a command, wait for the answer."""

    def __init__(self, cells, functions, timeout: float, memory_mb: int):
        self.timeout = timeout
        self.dir = tempfile.TemporaryDirectory(prefix="grade-")
        r, w = os.pipe()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir.name,
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "refmodel.grade", "--child", str(w)], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir.name, env=env,
            pass_fds=(w,), preexec_fn=_limits(int(timeout * 4) + 5, memory_mb),
            text=True, bufsize=1)
        os.close(w)                              # the child's answers come back on r
        self.fd, self.buf = r, b""
        self.loaded = self.ask({"cells": cells, "functions": functions}, self.timeout + 5)

    def ask(self, msg: dict, timeout: float) -> dict:
        """Send msg and wait for one answer; {'died': reason} if none comes."""
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"died": self._why()}
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                return {"died": f"no answer within {timeout:g} s (an endless loop, or a deadlock "
                                f"in the model caused by the submission?)"}
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    return {"died": self._why()}
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def _why(self) -> str:
        try:
            rc = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = self.proc.returncode
        if rc is not None and rc < 0:
            import signal
            name = signal.Signals(-rc).name
            hint = {"SIGXCPU": "it used up its CPU time", "SIGKILL": "it was killed (memory?)",
                    "SIGSEGV": "it crashed"}.get(name, "")
            return f"the submission's process died of {name}" + (f": {hint}" if hint else "")
        return (f"the submission's process ended (exit status {rc}); a MemoryError or an "
                f"exit() in the notebook would do that")

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            self.proc.wait()

    def close(self):
        self.kill()
        os.close(self.fd)
        self.dir.cleanup()


# -- the grader's side -------------------------------------------------------------------------

_REFERENCE: dict = {}


def expected(case: dict) -> list:
    key = json.dumps(case, sort_keys=True)
    if key not in _REFERENCE:
        _REFERENCE[key] = reference(case)
    return _REFERENCE[key]


def grade_notebook(path, exercise: str, cases: list, timeout: float = DEFAULT_TIMEOUT,
                   memory_mb: int = DEFAULT_MEMORY, budget: float = DEFAULT_BUDGET) -> list:
    """[CaseResult] of one exercise notebook (every case scored, whatever happens).  Once
    the notebook's cases have taken `budget` seconds, the rest are not run (0, with why),
    so that one endless loop cannot hold up a whole batch."""
    ex = exercises()[exercise]
    results = []
    t0 = time.monotonic()

    def fail_all(reason, start=0):
        for case in cases[start:]:
            results.append(CaseResult(case["name"], case.get("title", case["name"]), 0,
                                      case.get("points", 1), reason))

    try:
        cells = notebook_code(path)
    except SubmissionError as e:
        fail_all(str(e))
        return results
    if not cells:
        fail_all("the notebook has no cell tagged 'student' or 'setup'")
        return results
    learner = None
    try:
        for i, case in enumerate(cases):
            if time.monotonic() - t0 > budget:
                fail_all(f"not run: the notebook used up its time budget of {budget:g} s "
                         f"on the cases before this one", i)
                break
            if learner is None:
                learner = Learner(cells, ex["functions"], timeout, memory_mb)
                if "died" in learner.loaded or not learner.loaded.get("loaded"):
                    reason = learner.loaded.get("error") or learner.loaded.get("died")
                    fail_all(f"the notebook could not be loaded: {reason}", i)
                    break
            answer = learner.ask({"case": case}, timeout)
            pts = case.get("points", 1)
            if "died" in answer:
                diff = answer["died"]
                learner.close()
                learner = None                    # a fresh process for the next case
            else:
                diff = compare(expected(case), answer["observations"])
                if diff and answer.get("printed"):
                    diff += "\n  (the submission printed:)\n" + answer["printed"]
            results.append(CaseResult(case["name"], case.get("title", case["name"]),
                                      0 if diff else pts, pts, diff or ""))
    finally:
        if learner is not None:
            learner.close()
    return results


def gradescope(results_by_exercise: dict, seconds: float) -> dict:
    """Gradescope's results.json for one learner."""
    tests = []
    for exercise, results in results_by_exercise.items():
        for r in results:
            tests.append({"name": f"{exercise}: {r.title}", "score": r.points,
                          "max_score": r.max_points, "status": "passed" if r.passed else "failed",
                          "output": r.feedback})
    return {"score": sum(t["score"] for t in tests), "execution_time": round(seconds, 2),
            "tests": tests}


def find_notebooks(submission: Path, only: str | None) -> dict:
    """exercise id -> notebook path, for one submission (a notebook or a folder)."""
    by_name = {Path(e["notebook"]).name: i for i, e in exercises().items()}
    if submission.is_file():
        ex = only or by_name.get(submission.name)
        if ex is None:
            raise SubmissionError(f"{submission.name}: which exercise is this? (name it as in "
                                  f"exercises/ or pass --exercise)")
        return {ex: submission}
    found = {by_name[p.name]: p for p in sorted(submission.glob("*.ipynb")) if p.name in by_name}
    if only:
        found = {only: submission / Path(exercises()[only]["notebook"]).name}
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m refmodel.grade", description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, default=Path("_grade"))
    ap.add_argument("--exercise", choices=sorted(exercises()))
    ap.add_argument("--cases", type=Path, help="extra (hidden) cases: a JSON file like exercises.json")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per case")
    ap.add_argument("--memory", type=int, default=DEFAULT_MEMORY, help="MiB for a learner's process")
    ap.add_argument("--budget", type=float, default=DEFAULT_BUDGET,
                    help="seconds for all the cases of one notebook")
    ap.add_argument("--child", type=int, metavar="FD", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        return child_main(args.child)
    if not args.submissions:
        ap.error("name at least one submission (a notebook or a folder of them)")
    extra = {}
    if args.cases:
        extra = {k: v.get("cases", []) for k, v in json.loads(args.cases.read_text())["exercises"].items()}
    args.out.mkdir(parents=True, exist_ok=True)
    ids = sorted(exercises())
    rows = []
    for n, sub in enumerate(args.submissions, 1):
        t0 = time.perf_counter()
        name = sub.stem if sub.is_file() else sub.name
        by_ex = {}
        try:
            notebooks = find_notebooks(sub, args.exercise)
        except SubmissionError as e:
            notebooks, error = {}, str(e)
        else:
            error = "" if notebooks else "no exercise notebook found"
        for ex in ([args.exercise] if args.exercise else ids):
            cases = exercises()[ex]["cases"] + extra.get(ex, [])
            if ex in notebooks:
                by_ex[ex] = grade_notebook(notebooks[ex], ex, cases, args.timeout, args.memory,
                                           args.budget)
            elif sub.is_dir() or args.exercise:
                by_ex[ex] = [CaseResult(c["name"], c.get("title", c["name"]), 0, c.get("points", 1),
                                        error or f"no {Path(exercises()[ex]['notebook']).name}")
                             for c in cases]
        seconds = time.perf_counter() - t0
        out = args.out / name
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(gradescope(by_ex, seconds), indent=1) + "\n")
        row = {"submission": name}
        for ex in ids:
            if ex in by_ex:
                row[ex] = sum(r.points for r in by_ex[ex])
                row[f"{ex}_max"] = sum(r.max_points for r in by_ex[ex])
        row["total"] = sum(v for k, v in row.items() if k in ids)
        rows.append(row)
        scores = ", ".join(f"{ex} {row[ex]:g}/{row[ex + '_max']:g}" for ex in ids if ex in row)
        print(f"[{n}/{len(args.submissions)}] {name}: {scores or error} ({seconds:.1f} s)",
              file=sys.stderr, flush=True)
    fields = ["submission"] + [f for ex in ids for f in (ex, f"{ex}_max")] + ["total"]
    with open(args.out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    lines = ["| submission | " + " | ".join(ids) + " | total |", "|---" * (len(ids) + 2) + "|"]
    for row in rows:
        cells = [f"{row[ex]:g}/{row[ex + '_max']:g}" if ex in row else "-" for ex in ids]
        lines.append(f"| {row['submission']} | " + " | ".join(cells) + f" | {row['total']:g} |")
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}/<submission>/results.json, {args.out}/summary.csv and summary.md",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
