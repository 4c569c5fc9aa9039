"""The exercises and their grader: right answers get every point, wrong ones get the first
difference, and hostile or broken submissions get a reason -- never a crash of the grader."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import submissions as S
from refmodel import exercises as E
from refmodel.grade import grade_notebook
from refmodel.overrides import kernel_function, override

ROOT = Path(__file__).resolve().parents[2]
EX1, EX2 = "ex1-migration-entries.ipynb", "ex2-remove-migration-pte.ipynb"
EX3 = "ex3-change-pte-range.ipynb"
EX4 = "ex4-try-to-unmap-one.ipynb"


def first_case(exercise):
    return E.exercises()[exercise]["cases"][:1]


# -- the override registry -------------------------------------------------------------------

def test_override_replaces_every_binding_and_restores_it_even_after_an_error():
    import refmodel.migrate as migrate
    import refmodel.rmap as rmap
    import refmodel.swapops as swapops
    original = swapops.make_migration_entry
    assert rmap.make_migration_entry is original

    def mine(page, write, types=swapops.MIGRATION_2_6_18):
        return 0
    with pytest.raises(RuntimeError):
        with override(make_migration_entry=mine):
            assert swapops.make_migration_entry is mine and rmap.make_migration_entry is mine
            assert kernel_function("make_migration_entry") == (swapops, original)
            raise RuntimeError("boom")
    assert swapops.make_migration_entry is original and rmap.make_migration_entry is original
    assert migrate.remove_migration_pte is kernel_function("remove_migration_pte")[1]


def test_override_refuses_names_the_model_does_not_have():
    with pytest.raises(KeyError, match="no kernel function named 'remove_migration_pets'"):
        with override(remove_migration_pets=lambda *a: None):
            pass


# -- in the notebook ----------------------------------------------------------------------------

@pytest.mark.parametrize("exercise", sorted(E.exercises()))
def test_the_models_own_functions_get_every_point(exercise):
    ex = E.exercises()[exercise]
    funcs = {n: getattr(kernel_function(n)[0], n) for n in ex["functions"]}
    report = E.grade_functions(exercise, funcs)
    assert report.score == report.max_score > 0, str(report)
    assert "PASS" in str(report) and "<table>" in report._repr_html_()


def test_every_case_runs_cleanly_on_the_model():
    """No case of the data file may itself raise or break an invariant on the model, except
    a last step that a case says must fault (a write to a page made read-only)."""
    for exercise, ex in E.exercises().items():
        for case in ex["cases"]:
            obs = E.reference(case)
            assert len(obs) == len(case["steps"]), (exercise, case["name"], obs[-1])
            assert not any(o["problems"] for o in obs), (exercise, case["name"])
            raised = [i for i, o in enumerate(obs) if o["result"].startswith("raised")]
            if case.get("expect_fault"):
                assert raised == [len(obs) - 1], (exercise, case["name"])
                assert obs[-1]["result"].startswith("raised SegmentationFault")
            else:
                assert raised == [], (exercise, case["name"])


def test_check_in_the_notebook_names_what_is_missing():
    with pytest.raises(E.SubmissionError, match="define remove_migration_pte first"):
        E.check("ex2", {})


# -- the grader, in its own processes -------------------------------------------------------------

def grade(path, exercise, cases=None, timeout=5.0, memory=1024, budget=600.0):
    cases = cases if cases is not None else E.exercises()[exercise]["cases"]
    return grade_notebook(path, exercise, cases, timeout, memory, budget)


def test_right_answers_get_every_point(tmp_path):
    for exercise, file, cells in (("ex1", EX1, S.EX1_RIGHT), ("ex2", EX2, S.EX2_RIGHT),
                                  ("ex3", EX3, S.EX3_RIGHT), ("ex4", EX4, S.EX4_RIGHT)):
        results = grade(S.notebook(file, cells, tmp_path / file), exercise)
        assert results and all(r.passed for r in results), [r.feedback for r in results]


def test_a_wrong_answer_loses_exactly_the_cases_that_see_the_mistake(tmp_path):
    results = grade(S.notebook(EX2, S.EX2_NO_WRITE_BIT, tmp_path / EX2), "ex2")
    failed = {r.name for r in results if not r.passed}
    assert failed == {"one-writable-page", "rollback"}
    fb = next(r.feedback for r in results if r.name == "one-writable-page")
    assert "step 4: move_pages" in fb and " rw -> node1" in fb and " ro -> node1" in fb
    assert "GOOD" in fb and "BAD" in fb
    results = grade(S.notebook(EX1, S.EX1_NO_MASK, tmp_path / EX1), "ex1")
    assert [r.name for r in results if not r.passed] == ["pack-and-unpack"]
    results = grade(S.notebook(EX3, S.EX3_NO_DOWNGRADE, tmp_path / EX3), "ex3")
    assert {r.name for r in results if not r.passed} == {"write-entry-made-read", "prot-none",
                                                         "part-of-the-range", "present-and-entry"}
    results = grade(S.notebook(EX4, S.EX4_LOCKED_REFUSES, tmp_path / EX4), "ex4")
    assert [r.name for r in results if not r.passed] == ["mlocked-migrates"]
    results = grade(S.notebook(EX4, S.EX4_NO_WRITE_ENTRY, tmp_path / EX4), "ex4")
    # (after fork both ptes are read-only: READ entries either way)
    assert {r.name for r in results if not r.passed} == {"write-entry", "mlocked-migrates",
                                                         "tmpfs-page"}


def test_the_shipped_stubs_get_nothing_and_say_why():
    results = grade(ROOT / "exercises" / EX2, "ex2")
    assert sum(r.points for r in results) == 0
    assert all("NotImplementedError" in r.feedback for r in results)


@pytest.mark.parametrize("cells, reason", [
    (S.EX2_SYNTAX_ERROR, "SyntaxError: expected ':'"),
    (S.EX2_WRONG_NAME, "defines no function named remove_migration_pte"),
    (S.EX2_WRITES_A_FILE, "does not let a submission write files"),
    (S.EX2_STARTS_A_PROCESS, "does not let a submission run a shell command"),
    (S.EX2_EXITS, "exit status 3"),
    (S.EX2_EATS_MEMORY, "MemoryError"),
    (S.EX2_LOOPS, "no answer within 1 s"),
    (S.EX2_LOOPS_AT_LOAD, "could not be loaded"),
    (S.EX2_READS_INPUT, "raised EOFError"),
])
def test_a_broken_or_hostile_submission_gets_a_reason(tmp_path, cells, reason):
    marker = Path("/tmp/grade-was-here")
    marker.unlink(missing_ok=True)
    loops = cells in (S.EX2_LOOPS, S.EX2_LOOPS_AT_LOAD)
    results = grade(S.notebook(EX2, cells, tmp_path / EX2), "ex2", first_case("ex2"),
                    timeout=1.0 if loops else 20.0, memory=512)
    assert len(results) == 1 and results[0].points == 0
    assert reason in results[0].feedback, results[0].feedback
    assert not marker.exists()


def test_what_a_submission_prints_comes_back_with_the_difference(tmp_path):
    results = grade(S.notebook(EX2, S.EX2_PRINTS, tmp_path / EX2), "ex2", first_case("ex2"))
    assert "hello from the submission" in results[0].feedback


def test_no_notebook_or_not_a_notebook(tmp_path):
    bad = tmp_path / EX2
    bad.write_text("this is not json")
    assert "not a readable notebook" in grade(bad, "ex2", first_case("ex2"))[0].feedback
    assert "no notebook at" in grade(tmp_path / "missing.ipynb", "ex2", first_case("ex2"))[0].feedback


def test_the_command_line_grades_a_batch_with_progress_and_three_reports(tmp_path):
    S.notebook(EX1, S.EX1_RIGHT, tmp_path / "subs" / "alice" / EX1)
    S.notebook(EX2, S.EX2_RIGHT, tmp_path / "subs" / "alice" / EX2)
    S.notebook(EX2, S.EX2_NO_WRITE_BIT, tmp_path / "subs" / "bob" / EX2)
    hidden = tmp_path / "hidden.json"
    hidden.write_text(json.dumps({"exercises": {"ex2": {"cases": [dict(
        E.exercises()["ex2"]["cases"][0], name="hidden-one", title="an instructor's case")]}}}))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "refmodel.grade", str(tmp_path / "subs" / "alice"),
                        str(tmp_path / "subs" / "bob"), "--out", str(out), "--cases", str(hidden)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "[1/2] alice: ex1 8/8, ex2 12/12, ex3 0/9, ex4 0/10" in r.stderr and "[2/2] bob:" in r.stderr
    rows = {row["submission"]: row for row in csv.DictReader(open(out / "summary.csv"))}
    assert rows["alice"]["total"] == "20" and rows["bob"]["ex1"] == "0" and rows["bob"]["ex2"] == "6"
    assert rows["alice"]["ex3_max"] == "9"
    res = json.loads((out / "bob" / "results.json").read_text())
    assert set(res) == {"score", "execution_time", "tests"} and res["score"] == 6
    names = [t["name"] for t in res["tests"]]
    assert "ex2: an instructor's case" in names
    assert all(set(t) == {"name", "score", "max_score", "status", "output"} for t in res["tests"])
    assert "no ex1-migration-entries.ipynb" in res["tests"][0]["output"]
    assert "| alice | 8/8 | 12/12 | 0/9 | 0/10 | 20 |" in (out / "summary.md").read_text()


def test_a_looping_notebook_stops_at_its_time_budget(tmp_path):
    """Every case of a looping submission would time out; the budget ends it after the
    first, and the rest say why they were not run."""
    cases = E.exercises()["ex2"]["cases"]
    results = grade(S.notebook(EX2, S.EX2_LOOPS, tmp_path / EX2), "ex2", cases,
                    timeout=1.0, budget=0.5)
    assert len(results) == len(cases) and sum(r.points for r in results) == 0
    assert "no answer within 1 s" in results[0].feedback
    assert all("time budget of 0.5 s" in r.feedback for r in results[1:])
