"""The batch grader's command line: workers, progress, results.json and the summaries.

    python -m refmodel.grade SUBMISSION... [--out DIR] [--cases FILE] [--exercise ID]
        [--timeout S] [--memory MB] [--budget S] [-j N] [--hidden-visibility V] [--tier T]

A SUBMISSION is a notebook or a folder searched (subfolders too) for notebooks; each
notebook is matched to its exercise by its metadata (else its title, else its name).  For
each submission: DIR/<name>/results.json (Gradescope's format; <name> is unique in the
batch); for the batch: DIR/summary.csv and DIR/summary.md, always, whatever a submission
does.  Each submission is graded by a worker process (-j of them); a crash of the grader on
one submission gives that submission "grader error" and a traceback in
DIR/<name>/grader-error.txt (instructor only) and the batch goes on.
"""

import argparse
import csv
import json
import multiprocessing
import re
import sys
import time
import traceback
from multiprocessing.connection import wait
from pathlib import Path

from ..exercises import CaseResult, exercises, reference, run_explore
from .grader import (DEFAULT_BUDGET, DEFAULT_MEMORY, DEFAULT_TIMEOUT, GRADER_ERROR, Options,
                     grade_path)
from .sandbox import Slot, choose_tier, readable_by_others
from .spec import model_function

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


class CasesFileError(ValueError):
    """The instructor's --cases file is not usable (the batch does not start)."""


def load_hidden_cases(path: Path) -> dict:
    """exercise -> [case] from a file shaped like exercises.json (only "cases" is read)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CasesFileError(f"--cases {path}: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("exercises"), dict):
        raise CasesFileError(f"--cases {path}: expected {{\"exercises\": {{\"ex1\": {{\"cases\": [...]}}}}}}")
    out, known = {}, exercises()
    for ex, body in data["exercises"].items():
        if ex not in known:
            raise CasesFileError(f"--cases {path}: no exercise {ex!r}")
        cases = body.get("cases", []) if isinstance(body, dict) else None
        if not isinstance(cases, list) or not all(isinstance(c, dict) and isinstance(c.get("name"), str)
                                                  and (isinstance(c.get("steps"), list) or
                                                       isinstance(c.get("explore"), dict)) for c in cases):
            raise CasesFileError(f"--cases {path}: {ex}'s cases must be objects with a name and steps "
                                 f"(or, a race case, explore)")
        public = {c["name"] for c in known[ex]["cases"]}
        clash = [c["name"] for c in cases if c["name"] in public]
        if clash:
            raise CasesFileError(f"--cases {path}: {ex} already has public cases named {clash}")
        out[ex] = cases
    return out


def unique_names(paths: list) -> list:
    """A name per submission for DIR/<name>: its folder's or file's name, made unique."""
    def clean(s):
        return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("._") or "submission"
    base = [clean(p.stem if p.suffix == ".ipynb" else p.name) for p in paths]
    names = []
    for i, p in enumerate(paths):
        name = base[i]
        if base.count(name) > 1:
            name = clean(f"{p.parent.name}-{name}")
        names.append(name)
    seen = {"summary.csv": 1, "summary.md": 1}       # the batch's own files
    out = []
    for n in names:
        k = seen.get(n, 0) + 1
        seen[n] = k
        out.append(n if k == 1 else f"{n}-{k}")
    return out


# -- one submission, in a worker -----------------------------------------------------------------

def _case_dict(r: CaseResult) -> dict:
    return {"name": r.name, "title": r.title, "points": r.points, "max_points": r.max_points,
            "feedback": r.feedback, "hidden": r.hidden}


def grade_one(task: dict, slot) -> dict:
    """Grade one submission; never raises (a crash of the grader is reported, not passed on)."""
    t0 = time.perf_counter()
    hidden = task["hidden"]
    hidden_names = frozenset(c["name"] for cs in hidden.values() for c in cs)

    def cases_of(ex):
        return exercises()[ex]["cases"] + hidden.get(ex, [])
    out = {"index": task["index"], "name": task["name"], "by_ex": {}, "notes": [], "errors": [],
           "flags": []}
    try:
        graded = grade_path(Path(task["path"]), task["only"], cases_of, Options(**task["opts"]),
                            slot, hidden_names)
        out["notes"] = graded["notes"]
        out["errors"] = graded["errors"]
        for ex, nr in graded["notebooks"].items():
            out["by_ex"][ex] = {"results": [_case_dict(r) for r in nr.results], "source": nr.source,
                                "how": nr.how, "notes": nr.notes}
            out["flags"] += nr.flags
    except BaseException:                            # noqa: B902 -- whatever it is, it is ours
        out["errors"].append(traceback.format_exc())
        out["crashed"] = True
    out["seconds"] = time.perf_counter() - t0
    return out


def worker_main(conn, tier: str) -> None:                # pragma: no cover -- in a child process
    slot = Slot(tier)
    try:
        while True:
            try:
                task = conn.recv()
            except EOFError:
                return
            if task is None:
                return
            conn.send(grade_one(task, slot))
    finally:
        slot.close()


class Pool:
    """N worker processes; a worker that dies takes only its current submission with it."""

    def __init__(self, n: int, tier: str):
        self.ctx = multiprocessing.get_context("fork")
        self.tier = tier
        self.workers = [self.start() for _ in range(max(1, n))]

    def start(self):
        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=worker_main, args=(child, self.tier), daemon=True)
        p.start()
        child.close()
        return {"proc": p, "conn": parent, "task": None}

    def run(self, tasks: list):
        """Yield each task's result (as a worker sends it, or a crash report)."""
        todo = list(tasks)
        busy = 0
        while todo or busy:
            for i, w in enumerate(self.workers):
                if w["task"] is None and todo:
                    task = todo.pop(0)
                    try:
                        w["conn"].send(task)
                    except (OSError, BrokenPipeError):      # it died while idle: a new one
                        w = self.workers[i] = self.start()
                        w["conn"].send(task)
                    w["task"] = task
                    busy += 1
            ready = wait([w["conn"] for w in self.workers if w["task"] is not None] +
                         [w["proc"].sentinel for w in self.workers if w["task"] is not None])
            for i, w in enumerate(self.workers):
                if w["task"] is None:
                    continue
                if w["conn"] in ready:
                    try:
                        result = w["conn"].recv()
                    except (EOFError, OSError):
                        result = None
                    if result is not None:
                        w["task"] = None
                        busy -= 1
                        yield result
                        continue
                if w["proc"].sentinel in ready or w["conn"] in ready:
                    w["proc"].join(1)
                    task = w["task"]
                    busy -= 1
                    code = w["proc"].exitcode
                    yield {"index": task["index"], "name": task["name"], "by_ex": {}, "notes": [],
                           "flags": [], "seconds": 0.0, "crashed": True,
                           "errors": [f"the grading worker died (exit code {code}) while grading "
                                      f"this submission"]}
                    self.workers[i] = self.start()

    def close(self):
        for w in self.workers:
            try:
                w["conn"].send(None)
            except (OSError, BrokenPipeError):
                pass
        for w in self.workers:
            w["proc"].join(10)
            if w["proc"].is_alive():
                w["proc"].kill()


# -- outputs ----------------------------------------------------------------------------------------

def results_json(result: dict, ids: list, graded_ids: list, hidden: dict, visibility: str) -> dict:
    """Gradescope's results.json for one submission: only its own output and the cases'
    public text (hidden cases say that they are hidden, and carry `visibility`)."""
    tests = []
    crashed = result.get("crashed")
    for ex in ids:
        if ex not in graded_ids:
            continue
        got = result["by_ex"].get(ex)
        if got is None:
            why = GRADER_ERROR if crashed else f"this submission has no notebook for {ex}"
            rows = [{"name": c["name"], "title": c.get("title", c["name"]), "points": 0,
                     "max_points": c.get("points", 1), "feedback": why,
                     "hidden": c in hidden.get(ex, [])}
                    for c in exercises()[ex]["cases"] + hidden.get(ex, [])]
        else:
            rows = got["results"]
        for r in rows:
            t = {"name": f"{ex}: {r['title']}", "score": r["points"], "max_score": r["max_points"],
                 "status": "passed" if r["points"] == r["max_points"] else "failed",
                 "output": r["feedback"]}
            if r.get("hidden"):
                t["visibility"] = visibility
            tests.append(t)
    notes = list(result.get("notes", []))
    for ex, got in result["by_ex"].items():
        notes += got.get("notes", [])
    out = {"score": sum(t["score"] for t in tests), "execution_time": round(result.get("seconds", 0), 2),
           "tests": tests}
    if notes:
        out["output"] = "\n".join(notes)
    return out


def summary_row(result: dict, ids: list, res: dict) -> dict:
    row = {"submission": result["name"]}
    for ex in ids:
        pts = [t for t in res["tests"] if t["name"].startswith(ex + ": ")]
        if pts:
            row[ex] = sum(t["score"] for t in pts)
            row[f"{ex}_max"] = sum(t["max_score"] for t in pts)
    row["total"] = sum(v for k, v in row.items() if k in ids)
    row["flags"] = " | ".join(result.get("flags", []))
    row["grader_error"] = "yes" if result.get("errors") else ""
    row["seconds"] = round(result.get("seconds", 0), 2)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m refmodel.grade", description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, default=Path("_grade"))
    ap.add_argument("--exercise", choices=sorted(exercises()))
    ap.add_argument("--cases", type=Path, help="extra (hidden) cases: a JSON file like exercises.json")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                    help=f"seconds one call of a learner's function may take (default {DEFAULT_TIMEOUT:g})")
    ap.add_argument("--memory", type=int, default=DEFAULT_MEMORY, help="MiB for a learner's process")
    ap.add_argument("--budget", type=float, default=DEFAULT_BUDGET,
                    help=f"seconds for all the cases of one notebook (default {DEFAULT_BUDGET:g})")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="submissions graded at once")
    ap.add_argument("--hidden-visibility", choices=VISIBILITIES, default="after_published",
                    help="Gradescope visibility of the hidden cases (default after_published)")
    ap.add_argument("--tier", choices=("namespaces", "uid", "user"),
                    help="insist on an isolation tier (default: the strongest that works here)")
    ap.add_argument("--results", type=Path, metavar="FILE",
                    help="also write the (single) submission's results.json to FILE (Gradescope)")
    args = ap.parse_args(argv)
    if not args.submissions:
        ap.error("name at least one submission (a notebook or a folder of them)")
    if args.timeout <= 0 or args.budget <= 0 or args.memory < 64 or args.jobs < 1:
        ap.error("--timeout and --budget must be positive, --memory at least 64, -j at least 1")
    try:
        hidden = load_hidden_cases(args.cases) if args.cases else {}
    except CasesFileError as e:
        ap.error(str(e))
    for ex, cases in hidden.items():                  # an instructor's case should run cleanly
        for case in cases:
            if "explore" in case:                     # a race case: no violation on the model
                r = run_explore(case, {n: model_function(n) for n in exercises()[ex]["functions"]})
                if r.violations:
                    print(f"grade: warning: hidden race case {ex}/{case['name']} breaks on the "
                          f"model: {r.violations[0]}", file=sys.stderr)
                continue
            obs = reference(case)
            bad = [o["result"] for o in obs if o["result"].startswith("raised") or o["problems"]]
            if len(obs) != len(case["steps"]) or (bad and not (case.get("expect_fault") or case.get("expect_bug"))):
                print(f"grade: warning: hidden case {ex}/{case['name']} does not run cleanly on the "
                      f"model: {(bad or ['it stops early'])[0]}", file=sys.stderr)
    try:
        tier, tier_notes = choose_tier(args.tier)
    except OSError as e:
        print(f"grade: no way to start a learner's process here: {e}", file=sys.stderr)
        return 2
    for n in tier_notes:
        print(f"grade: {n}", file=sys.stderr)
    if tier != "namespaces":
        exposed = [str(p) for p in list(args.submissions) + ([args.cases] if args.cases else [])
                   if readable_by_others(p)]
        if exposed:
            print(f"grade: warning: in tier {tier!r} a learner's process can read what any user may: "
                  f"{len(exposed)} of the submissions or the --cases file are readable by others "
                  f"(e.g. {exposed[0]}); chmod -R go-rwx them for an untrusted batch", file=sys.stderr)
    print(f"grade: isolation tier {tier!r}; {len(args.submissions)} submission(s), -j {args.jobs}, "
          f"timeout {args.timeout:g} s per call, budget {args.budget:g} s per notebook",
          file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    ids = sorted(exercises())
    names = unique_names(args.submissions)
    opts = {"timeout": args.timeout, "memory_mb": args.memory, "budget": args.budget}
    tasks = [{"index": i, "name": names[i], "path": str(p.absolute()), "only": args.exercise,
              "hidden": hidden, "opts": opts} for i, p in enumerate(args.submissions)]
    rows = [None] * len(tasks)
    pool = Pool(min(args.jobs, len(tasks)), tier)
    done = 0
    try:
        for result in pool.run(tasks):
            done += 1
            i = result["index"]
            sub = args.submissions[i]
            if args.exercise:
                graded = [args.exercise]
            elif sub.is_dir() or result.get("crashed"):
                graded = ids
            else:
                graded = sorted(result["by_ex"]) or ids
            res = results_json(result, ids, graded, hidden, args.hidden_visibility)
            d = args.out / result["name"]
            d.mkdir(parents=True, exist_ok=True)
            (d / "results.json").write_text(json.dumps(res, indent=1) + "\n")
            err = d / "grader-error.txt"
            if result.get("errors"):
                err.write_text("\n\n".join(result["errors"]))
            elif err.exists():
                err.unlink()
            if args.results and len(tasks) == 1:
                args.results.parent.mkdir(parents=True, exist_ok=True)
                args.results.write_text(json.dumps(res, indent=1) + "\n")
            row = rows[i] = summary_row(result, ids, res)
            scores = ", ".join(f"{ex} {row[ex]:g}/{row[ex + '_max']:g}" for ex in ids if ex in row)
            extra = " [grader error]" if result.get("errors") else ""
            print(f"[{done}/{len(tasks)}] {result['name']}: {scores or 'nothing graded'}"
                  f"{extra} ({result.get('seconds', 0):.1f} s)", file=sys.stderr, flush=True)
    finally:
        pool.close()
        write_summaries(args.out, ids, [r for r in rows if r is not None], tier)
    print(f"wrote {args.out}/<submission>/results.json, {args.out}/summary.csv and summary.md",
          file=sys.stderr)
    return 0


def write_summaries(out: Path, ids: list, rows: list, tier: str) -> None:
    fields = ["submission"] + [f for ex in ids for f in (ex, f"{ex}_max")] + \
        ["total", "flags", "grader_error", "seconds"]
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    lines = [f"Isolation tier: {tier}", "",
             "| submission | " + " | ".join(ids) + " | total |", "|---" * (len(ids) + 2) + "|"]
    for row in rows:
        cells = [f"{row[ex]:g}/{row[ex + '_max']:g}" if ex in row else "-" for ex in ids]
        lines.append(f"| {row['submission']} | " + " | ".join(cells) + f" | {row['total']:g} |")
    flagged = [r for r in rows if r["flags"] or r["grader_error"]]
    if flagged:
        lines += ["", "For the instructor:"]
        for r in flagged:
            if r["flags"]:
                lines.append(f"- {r['submission']}: {r['flags']}")
            if r["grader_error"]:
                lines.append(f"- {r['submission']}: grader error, see {r['submission']}/grader-error.txt")
    (out / "summary.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
