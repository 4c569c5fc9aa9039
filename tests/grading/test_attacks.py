"""The attacks of issue #12, one test each, through the batch grader: each scores 0 for the
cases it touches, with a reason, leaves the other submissions' scores unchanged, and the
batch always completes with its summary.  Plus a hostile set of our own.

    subs/attacker/ex2.ipynb --+                       +--> out/attacker/results.json  (0, a reason)
    subs/honest/ex2.ipynb  ---+--> python -m refmodel.grade --> out/honest/results.json (full marks)
                                                      +--> out/summary.csv, summary.md (always)
"""

import csv
import json
import os
import signal
import time
from pathlib import Path

import nbformat
import pytest

import submissions as S
from refmodel import exercises as E
from refmodel.grading import cli

EX2 = "ex2-remove-migration-pte.ipynb"
EX2_MAX = sum(c.get("points", 1) for c in E.exercises()["ex2"]["cases"])
REPO = str(S.ROOT)


def grade(tmp_path, subs: dict, *extra, jobs="2", capsys=None) -> dict:
    """Write {name: cells or a callable(dest)} as submissions, grade them all in one batch
    (--exercise ex2 unless extra says otherwise); {name: results.json} plus the summary rows."""
    paths = []
    for name, what in subs.items():
        dest = tmp_path / "subs" / name / EX2
        if callable(what):
            dest.parent.mkdir(parents=True, exist_ok=True)
            what(dest)
        else:
            S.notebook(EX2, what, dest)
        paths.append(str(dest.parent))
    out = tmp_path / "out"
    args = paths + ["--out", str(out), "--timeout", "1", "-j", jobs] + list(extra)
    if "--exercise" not in extra and "--all" not in extra:
        args += ["--exercise", "ex2"]
    args = [a for a in args if a != "--all"]
    assert cli.main(args) == 0
    res = {n: json.loads((out / n / "results.json").read_text()) for n in subs}
    rows = {r["submission"]: r for r in csv.DictReader(open(out / "summary.csv"))}
    assert set(rows) == set(subs)
    res["_rows"] = rows
    res["_out"] = out
    return res


def feedback(res) -> str:
    return "\n".join(t["output"] for t in res["tests"]) + "\n" + res.get("output", "")


def honest_is_untouched(res):
    assert res["honest"]["score"] == EX2_MAX, feedback(res["honest"])


# -- "Switch the plug-in off" ----------------------------------------------------------------------

def test_switching_the_plug_in_off_is_impossible(tmp_path):
    attack = ("import refmodel.exercises as E, refmodel.overrides as O\n"
              "import contextlib\nE.override = O.override = lambda **kw: contextlib.nullcontext()\n"
              "def remove_migration_pte(k, vma, old, new):\n    pass\n",)
    res = grade(tmp_path, {"attacker": attack, "honest": S.EX2_RIGHT})
    assert res["attacker"]["score"] == 0
    assert "use the names the setup cell gives you" in feedback(res["attacker"])
    honest_is_untouched(res)


# -- "Delegate" ---------------------------------------------------------------------------------------

def test_delegating_to_the_models_own_function_is_impossible(tmp_path):
    attack = ('''
import gc, sys
try:
    from refmodel.migrate import remove_migration_pte as model
except ImportError as e:
    model = None
def remove_migration_pte(k, vma, old, new):
    found = [o for o in gc.get_objects() if callable(o) and getattr(o, "__name__", "") ==
             "remove_migration_pte" and o is not remove_migration_pte]
    for g in (page_address_in_vma.__globals__, get_page.__globals__):
        found += [v for v in g.values() if getattr(v, "__name__", "") == "remove_migration_pte"]
    print("model:", model, "found:", found, "modules:", [m for m in sys.modules if "refmodel" in m])
    if found:
        return found[0](k, vma, old, new)
''',)
    res = grade(tmp_path, {"attacker": attack, "honest": S.EX2_RIGHT})
    assert res["attacker"]["score"] == 0
    assert "model: None found: [] modules: []" in feedback(res["attacker"])
    honest_is_untouched(res)


# -- "Forge the report" ------------------------------------------------------------------------------

FORGE = '''
import sys
def remove_migration_pte(k, vma, old, new):
    f = sys._getframe()
    link = None
    while f is not None and link is None:
        for v in f.f_locals.values():
            if hasattr(v, "send") and hasattr(v, "receive"):
                link = v
            elif hasattr(getattr(v, "link", None), "send"):
                link = v.link
        f = f.f_back
    link.send(%s)
'''


@pytest.mark.parametrize("forged", [
    '{"observations": [{"step": "x", "result": "ok", "state": "", "problems": []}], "printed": ""}',
    '{"loaded": True, "score": 999}',
    '{"return": {"H": 424242}}',
])
def test_forging_the_report_gets_nothing(tmp_path, forged):
    res = grade(tmp_path, {"attacker": (FORGE % forged,), "honest": S.EX2_RIGHT})
    assert res["attacker"]["score"] == 0
    text = feedback(res["attacker"])
    assert "protocol" in text or "cannot take" in text, text
    honest_is_untouched(res)


# -- "Copy a classmate" ------------------------------------------------------------------------------

def test_copying_a_classmate_is_impossible(tmp_path):
    honest_path = tmp_path / "subs" / "honest" / EX2
    attack = (f'''
import os
for what in ("/proc/%d/cmdline" % os.getppid(), {str(honest_path)!r}, "/proc/1/environ"):
    try:
        print(open(what).read()[:80])
    except OSError as e:
        print("no", type(e).__name__)
def remove_migration_pte(k, vma, old, new):
    print(os.getppid())
''',)
    res = grade(tmp_path, {"attacker": attack, "honest": S.EX2_RIGHT})
    assert res["attacker"]["score"] == 0
    text = feedback(res["attacker"])
    assert str(tmp_path) not in text and "honest" not in text
    honest_is_untouched(res)


# -- "Forge results.json" -----------------------------------------------------------------------------

def test_forging_results_json_from_a_process_that_outlives_the_grader_is_impossible(tmp_path):
    target = tmp_path / "out" / "honest" / "results.json"
    shell = f"sleep 1; echo '{{\"score\": 999}}' > {target}"
    attack = (f'''
import os, _posixsubprocess
r, w = os.pipe()
try:
    _posixsubprocess.fork_exec([b"/bin/sh"], [b"/bin/sh", b"-c", {shell.encode()!r}], True, (), None, None,
        -1, -1, -1, -1, -1, -1, r, w, False, False, False, None, None, None, -1, None, False)
    print("started")
except OSError as e:
    print("refused", e.errno)
try:
    open({str(target)!r}, "w").write("{{}}")
except OSError as e:
    print("refused", type(e).__name__)
def remove_migration_pte(k, vma, old, new):
    pass
''',)
    res = grade(tmp_path, {"attacker": attack, "honest": S.EX2_RIGHT}, jobs="1")
    time.sleep(1.5)
    assert json.loads(target.read_text())["score"] == EX2_MAX
    assert res["attacker"]["score"] == 0
    honest_is_untouched(res)


# -- "End the batch": ten ways, one batch ------------------------------------------------------------

def _cells_without(key, value):
    def write(dest):
        nb = nbformat.read(str(S.ROOT / "exercises" / EX2), as_version=4)
        nb = json.loads(nbformat.writes(nb))
        for cell in nb["cells"]:
            if "student" in cell.get("metadata", {}).get("tags", []):
                cell["source"] = S.EX2_RIGHT[0]
                if value is None:
                    del cell[key]
                elif key == "tags":
                    cell["metadata"]["tags"] = value
                else:
                    cell[key] = value
        dest.write_text(json.dumps(nb))
    return write


PIPE = '''
import sys, os
def _link():
    f = sys._getframe()
    while f is not None:
        for v in f.f_locals.values():
            if hasattr(v, "fd_out"):
                return v
        f = f.f_back
def remove_migration_pte(k, vma, old, new):
    os.write(_link().fd_out, %s)
'''

END_THE_BATCH = {
    "pidfd": ("import os, signal\ndef remove_migration_pte(k, vma, old, new):\n"
              "    signal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)\n",),
    "prlimit": ("import os, resource\ndef remove_migration_pte(k, vma, old, new):\n"
                "    resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, (3, 3))\n",),
    "sigstop": ("import os, signal\ndef remove_migration_pte(k, vma, old, new):\n"
                "    os.kill(os.getppid(), signal.SIGSTOP)\n",),
    "not-json": (PIPE % repr(b"this is not JSON\n"),),
    "not-a-dict": (PIPE % repr(b"[1, 2, 3]\n"),),
    "malformed": (PIPE % repr(b'{"op": "getattr", "h": {"deep": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}, "name": 5}\n'),),
    "huge-line": (PIPE % 'b"[" * (2 << 20)',),
    "huge-cell": ("x = " + repr("y" * (2 << 20)) + "\ndef remove_migration_pte(k, vma, old, new):\n    pass\n",),
    "no-cell-type": _cells_without("cell_type", None),
    "int-tags": _cells_without("tags", 7),
    "int-source": _cells_without("source", 12345),
    "exit": ("import os\ndef remove_migration_pte(k, vma, old, new):\n    os._exit(0)\n",),
    "segfault": ("import signal\ndef remove_migration_pte(k, vma, old, new):\n    signal.raise_signal(signal.SIGSEGV)\n",),
}


def test_no_submission_can_end_the_batch(tmp_path):
    subs = dict(END_THE_BATCH)
    subs["honest"] = S.EX2_RIGHT
    res = grade(tmp_path, subs)
    honest_is_untouched(res)
    for name in END_THE_BATCH:
        assert res[name]["score"] == 0 or name in ("no-cell-type", "int-tags", "int-source"), name
        assert res["_rows"][name]["grader_error"] == "", name
    for name in ("no-cell-type", "int-tags", "int-source"):
        assert res[name]["score"] == 0 and "has no code cell tagged 'student'" in feedback(res[name])
        assert "skipped" in res[name]["output"] or "ignored" in res[name]["output"]
    assert "protocol" in feedback(res["not-json"]) and "protocol" in feedback(res["huge-line"])
    assert "the student cells are" in feedback(res["huge-cell"])
    assert "ended with exit status 0" in feedback(res["exit"])
    assert "killed by SIGSEGV" in feedback(res["segfault"])
    assert (res["_out"] / "summary.md").exists()


# -- "Leaks" ---------------------------------------------------------------------------------------------

def test_feedback_quotes_no_path_of_the_graders_machine(tmp_path):
    hidden = tmp_path / "secret-hidden-cases.json"
    hidden.write_text(json.dumps({"exercises": {"ex2": {"cases": [dict(
        E.exercises()["ex2"]["cases"][0], name="hidden-one", title="an instructor's case")]}}}))
    attack = ('''
import sys, os, traceback
print(sys.argv, __file__ if "__file__" in dir() else "", os.environ, sys.path, sys.executable)
def remove_migration_pte(k, vma, old, new):
    print(traceback.format_stack())
    open("/work/nothing/here/x.txt")
''',)
    res = grade(tmp_path, {"attacker": attack, "honest": S.EX2_RIGHT}, "--cases", str(hidden))
    for name in ("attacker", "honest"):
        text = json.dumps(res[name])
        for secret in (str(tmp_path), REPO, "secret-hidden-cases", "refmodel/grading", "tests/grading",
                       "/root", "/opt/python", "runtime.py"):
            assert secret not in text, (name, secret)
    assert "<path>" in feedback(res["attacker"])
    hidden_tests = [t for t in res["attacker"]["tests"] if t["name"] == "ex2: an instructor's case"]
    assert hidden_tests and hidden_tests[0]["visibility"] == "after_published"
    assert "GOOD" not in hidden_tests[0]["output"] and "hidden" in hidden_tests[0]["output"]
    assert all("visibility" not in t for t in res["attacker"]["tests"] if t is not hidden_tests[0])


def test_hidden_visibility_is_configurable(tmp_path):
    hidden = tmp_path / "h.json"
    hidden.write_text(json.dumps({"exercises": {"ex2": {"cases": [dict(
        E.exercises()["ex2"]["cases"][0], name="hidden-one", title="secret")]}}}))
    res = grade(tmp_path, {"honest": S.EX2_RIGHT}, "--cases", str(hidden), "--hidden-visibility", "hidden")
    assert [t["visibility"] for t in res["honest"]["tests"] if "visibility" in t] == ["hidden"]


def test_links_devices_fifos_and_huge_files_are_never_read(tmp_path):
    def links(dest):
        d = dest.parent
        (d / "ex1-migration-entries.ipynb").symlink_to("/etc/passwd")
        (d / "ex3-change-pte-range.ipynb").symlink_to("/dev/zero")
        os.mkfifo(d / "ex4-try-to-unmap-one.ipynb")
        (d / "loop").symlink_to(d)
        (d / "big.ipynb").write_bytes(b"{" + b" " * (6 << 20) + b"}")
        (d / "zero.ipynb").symlink_to("/dev/zero")
        S.notebook(EX2, S.EX2_RIGHT, dest)
    t0 = time.monotonic()
    res = grade(tmp_path, {"honest": links}, "--all")
    assert time.monotonic() - t0 < 60
    text = json.dumps(res["honest"])
    assert "root:x:0" not in text
    assert res["_rows"]["honest"]["ex2"] == str(EX2_MAX) and res["_rows"]["honest"]["ex1"] == "0"
    out = res["honest"]["output"]
    assert "symbolic link: not read" in out and "not a regular file: not read" in out
    assert "more than 5242880" in out or "bytes, more than" in out


def test_a_thousand_notebooks_are_not_a_problem(tmp_path):
    def many(dest):
        blob = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
        for i in range(1000):
            (dest.parent / f"n{i:04}.ipynb").write_text(blob)
        S.notebook(EX2, S.EX2_RIGHT, dest.parent / "a" / EX2)
    res = grade(tmp_path, {"many": many}, "--all")
    assert "more than 200 notebooks" in res["many"]["output"]


# -- "Slow and unclear" ----------------------------------------------------------------------------------

def test_a_looping_function_is_stopped_where_it_loops_and_its_process_goes_on(tmp_path):
    attack = ('''
calls = []
def remove_migration_pte(k, vma, old, new):
    calls.append(1)
    print("call", len(calls))
    if len(calls) == 1:
        while True:
            pass
    raise NotImplementedError
''',)
    res = grade(tmp_path, {"attacker": attack})
    tests = res["attacker"]["tests"]
    assert "did not return within 1 s; it was stopped at cell " in tests[0]["output"]
    assert "in remove_migration_pte" in tests[0]["output"]
    assert "call 2" in tests[1]["output"] and "NotImplementedError" in tests[1]["output"]


def test_a_loop_that_swallows_the_stop_is_killed(tmp_path):
    attack = ("def remove_migration_pte(k, vma, old, new):\n    while True:\n        try:\n"
              "            while True:\n                pass\n        except BaseException:\n            pass\n",)
    res = grade(tmp_path, {"attacker": attack}, "--budget", "3")
    text = feedback(res["attacker"])
    assert "did not stop when asked: the grader ended its process" in text
    assert "time budget of 3 s" in text


@pytest.mark.parametrize("body, words", [
    ("import sys; sys.exit(3)", "raised SystemExit: exit(3) was called"),
    ("import os; os._exit(3)", "the submission's process ended with exit status 3"),
    ("x = bytearray(8 << 30)", "raised MemoryError"),
    ("import signal; signal.raise_signal(signal.SIGKILL)", "killed by SIGKILL (not sent by the grader)"),
    ("def f(): return f()\n    f()", "raised RecursionError"),
    ("print('x' * 10_000_000)", "[... output cut]"),
    ("print('\\udcff\\x00 bytes', b'\\xff')", "bytes"),
])
def test_a_dead_or_failing_function_is_told_what_happened(tmp_path, body, words):
    attack = (f"def remove_migration_pte(k, vma, old, new):\n    {body}\n",)
    res = grade(tmp_path, {"attacker": attack}, "--memory", "512")
    text = feedback(res["attacker"])
    assert words in text, text[:2000]
    assert "would do that" not in text and len(json.dumps(res["attacker"])) < 200_000


def test_a_grader_crash_is_a_grader_error_for_that_submission_only(tmp_path, monkeypatch):
    import refmodel.grading.grader as G
    real = G.reference

    def broken(case):
        if case["name"] == "rollback":
            raise IndexError("a bug in the grader")
        return real(case)
    monkeypatch.setattr(G, "reference", broken)
    res = grade(tmp_path, {"a": S.EX2_RIGHT, "b": S.EX2_NO_WRITE_BIT}, jobs="1")
    for name in ("a", "b"):
        text = feedback(res[name])
        assert "grader error" in text and "report this to your instructor" in text
        assert "IndexError" not in text
        assert "IndexError: a bug in the grader" in (res["_out"] / name / "grader-error.txt").read_text()
        assert res["_rows"][name]["grader_error"] == "yes"


def test_a_dying_worker_costs_one_submission(tmp_path, monkeypatch):
    import refmodel.grading.cli as C
    real = C.grade_path

    def dies(path, *a, **kw):
        if "victim" in str(path):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, *a, **kw)
    monkeypatch.setattr(C, "grade_path", dies)
    res = grade(tmp_path, {"victim": S.EX2_RIGHT, "honest": S.EX2_RIGHT}, jobs="1")
    assert "grader error" in feedback(res["victim"]) and res["_rows"]["victim"]["grader_error"] == "yes"
    honest_is_untouched(res)


# -- "Submissions as learners name them" --------------------------------------------------------------------

def test_notebooks_are_found_by_their_metadata_in_any_subfolder_under_any_name(tmp_path):
    def renamed(dest):
        S.notebook(EX2, S.EX2_RIGHT, dest.parent / "work" / "deep" / "ex2-remove-migration-pte (1).ipynb")
        S.notebook("ex1-migration-entries.ipynb", S.EX1_RIGHT, dest.parent / "My Exercise.ipynb")
    res = grade(tmp_path, {"alice": renamed}, "--all")
    rows = res["_rows"]["alice"]
    assert rows["ex2"] == str(EX2_MAX) and rows["ex1"] == rows["ex1_max"]


def test_equal_file_names_never_collide(tmp_path):
    a = S.notebook(EX2, S.EX2_RIGHT, tmp_path / "a" / EX2)
    b = S.notebook(EX2, S.EX2_NO_WRITE_BIT, tmp_path / "b" / EX2)
    out = tmp_path / "out"
    assert cli.main([str(a), str(b), "--out", str(out)]) == 0
    dirs = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(dirs) == 2
    scores = sorted(json.loads((out / d / "results.json").read_text())["score"] for d in dirs)
    assert scores[0] < scores[1] == EX2_MAX


def test_broken_notebooks_get_a_reason_in_one_batch(tmp_path):
    marker = Path("/tmp/grade-was-here")
    marker.unlink(missing_ok=True)
    broken = {"syntax": (S.EX2_SYNTAX_ERROR, "cell 4, line 1: SyntaxError: expected ':'"),
              "wrong-name": (S.EX2_WRONG_NAME, "defines no function named remove_migration_pte"),
              "writes": (S.EX2_WRITES_A_FILE, "does not let a submission write files"),
              "process": (S.EX2_STARTS_A_PROCESS, "does not let a submission run a shell command"),
              "eats-memory": (S.EX2_EATS_MEMORY, "raised MemoryError"),
              "loops-at-load": (S.EX2_LOOPS_AT_LOAD, "could not be loaded: cell 4 did not finish within the grader's time limit; it was stopped at cell 4, line "),
              "input": (S.EX2_READS_INPUT, "raised EOFError"),
              "prints": (S.EX2_PRINTS, "hello from the submission")}
    res = grade(tmp_path, {n: c for n, (c, _) in broken.items()})
    for name, (_, words) in broken.items():
        assert res[name]["score"] == 0 and words in feedback(res[name]), (name, feedback(res[name])[:500])
    assert not marker.exists()


def test_output_names_are_unique_and_never_the_summaries():
    names = cli.unique_names([Path("a/summary.csv"), Path("x/ex2.ipynb"), Path("y/ex2.ipynb"),
                              Path("z/q/ex2.ipynb"), Path("w/q/ex2.ipynb"), Path("../..")])
    assert len(set(names)) == len(names) and "summary.csv" not in names
    assert all("/" not in n and n not in (".", "..") for n in names)


def test_a_hidden_case_that_does_not_run_cleanly_is_reported_to_the_instructor(tmp_path, capsys):
    hidden = tmp_path / "h.json"
    hidden.write_text(json.dumps({"exercises": {"ex2": {"cases": [
        {"name": "typo", "title": "t", "steps": [["spwan", "P", {}]]}]}}}))
    grade(tmp_path, {"honest": S.EX2_RIGHT}, "--cases", str(hidden))
    assert "hidden case ex2/typo does not run cleanly" in capsys.readouterr().err
