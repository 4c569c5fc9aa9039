"""Exercises whose functions are a kernel path's steps (ex9), and race exercises that the
explorer checks (ex10): the override of a path's method, what the wire allows for steps,
the finer fault that opens the kernel's window, and the grader end to end.

    fault: access -> do_page_fault --(entry)--> migration_entry_wait_start (learner's, under
           the pte lock) -> migration_entry_wait (learner's step: BLOCKED while locked) -> access
    UnlockedReadFault: do_page_fault's read and the locked re-check are two steps (2.6.18)
"""

import json
import shutil

import pytest

import submissions as S
import wrong_answers as W
from refmodel import exercises as E
from refmodel import sched
from refmodel.explore import configs, explore
from refmodel.grading import cli
from refmodel.grading.spec import model_function
from refmodel.memory import user_access
from refmodel.swapin import swapin_fault
from refmodel.overrides import kernel_function, override

RACE = [c for c in E.exercises()["ex10"]["cases"] if "explore" in c]


def local_check(exercise, cells):
    ns = dict(E.api(exercise))
    for c in cells:
        exec(compile(c, "student cell", "exec"), ns)
    return E.check(exercise, ns)


# -- overriding a kernel path's method or step ------------------------------------------------

def test_a_path_step_is_overridden_on_its_class_with_its_facts_and_restored():
    # user_access inherits its do_swap_page half from swapin_fault: the step is replaced
    # where it is defined, and user_access (and the finer classes) see it through the MRO
    original = swapin_fault.__dict__["migration_entry_wait"]
    calls = []

    def mine(self, k):
        calls.append(self.pc)
        return original(self, k)
    with pytest.raises(RuntimeError):
        with override(**{"user_access.migration_entry_wait": mine}):
            step = swapin_fault.__dict__["migration_entry_wait"]
            assert step is not original and step.step_facts == original.step_facts
            assert kernel_function("user_access.migration_entry_wait") == (swapin_fault, original)
            raise RuntimeError("boom")
    assert swapin_fault.__dict__["migration_entry_wait"] is original
    with override(**{"user_access.migration_entry_wait": mine}):
        r = explore("reader")
    assert not r.violations and calls and set(calls) == {"migration_entry_wait"}


def test_override_names_a_missing_path_or_method():
    with pytest.raises(KeyError, match="no kernel path named 'user_acess'"):
        with override(**{"user_acess.access": lambda *a: None}):
            pass
    with pytest.raises(KeyError, match="user_access has no method named 'acess'"):
        with override(**{"user_access.acess": lambda *a: None}):
            pass


def test_the_model_function_of_a_method_is_its_own():
    assert model_function("migration_entry_wait") is swapin_fault.__dict__["migration_entry_wait"]
    assert E.override_name("migration_entry_wait_start") == "user_access.migration_entry_wait_start"
    assert E.override_name("remove_migration_pte") == "remove_migration_pte"


# -- what the wire allows a step ---------------------------------------------------------------

START, WAIT = S.EX9_RIGHT


def _fails_with(cells, text):
    report = local_check("ex9", cells)
    assert report.score < report.max_score
    assert any(text in r.feedback for r in report), str(report)


def test_pc_takes_only_a_step_of_the_path():
    _fails_with((START.replace('"migration_entry_wait"', '"sleep"'), WAIT),
                "raised ValueError: 'sleep' is not a step of this kernel path")
    _fails_with((START.replace('self.pc = "migration_entry_wait"', 'self.addr = 0'), WAIT),
                "fault.addr is read-only in this exercise")


def test_a_step_returns_none_or_blocked():
    _fails_with((START, WAIT.replace("return BLOCKED", 'return "sleeping"')),
                "a step returns None (it ran; self.pc names the next step) or BLOCKED")
    report = local_check("ex9", (START, WAIT.replace("return BLOCKED", 'return "blocked"')))
    assert report.score == report.max_score        # the value, not the object, crosses the wire


def test_the_fault_gives_only_its_methods_and_listed_locals():
    _fails_with((START.replace("    get_page(page)\n", "    get_page(page)\n    self.orig_pte\n"), WAIT),
                "'fault' object has no attribute 'orig_pte'")
    _fails_with((START.replace("return self._return(k)", "return self.fail(k)", 1), WAIT),
                "AttributeError")


# -- the finer fault -------------------------------------------------------------------------

def _with(name, classes):
    cfg = dict(configs()[name])
    cfg["classes"] = classes
    return cfg


NO_RECHECK = START.replace("    if not is_swap_pte(pte):\n        return self._return(k)\n", "").replace(
    "    if not is_migration_entry(entry, k.swp_types):\n        return self._return(k)\n", "")


@pytest.mark.parametrize("name", ["reader", "writer", "canonical", "munmap"])
def test_the_finer_fault_is_clean_with_the_models_own_code(name):
    r = explore(_with(name, {"user_access": "UnlockedReadFault"}))
    assert r.exhaustive and not r.violations, r.violations
    assert r.states >= explore(name).states        # one more step: never fewer states


def test_only_the_finer_fault_has_the_window_in_which_the_recheck_matters():
    """Without the re-check, the model's own one-step fault is still safe (it read the pte in
    the same step), the finer one is not: the explorer needs the kernel's real window."""
    ns = dict(E.api("ex9"))
    exec(NO_RECHECK, ns)
    session = E.LocalSession("ex9", {"migration_entry_wait_start": ns["migration_entry_wait_start"],
                                     "migration_entry_wait": model_function("migration_entry_wait")})
    stub = session.stubs()["migration_entry_wait_start"]
    with override(**{"user_access.migration_entry_wait_start": E._as_kernel_error(stub)}):
        assert not explore("reader").violations
        r = explore(_with("reader", {"user_access": "UnlockedReadFault"}))
    assert r.violations and "migration_entry_wait_locked" in r.violations[0]


def test_a_case_can_run_its_started_paths_as_the_finer_class():
    case = next(c for c in E.exercises()["ex9"]["cases"] if c["name"] == "stale-entry-migration-done")
    results = [o["result"] for o in E.reference(case)]
    assert "migration_entry_wait_locked" in results          # the step the model's fault lacks


# -- race cases ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", RACE, ids=[c["name"] for c in RACE])
def test_every_race_case_is_clean_on_the_model(case):
    r = E.run_explore(case, {n: model_function(n) for n in E.exercises()["ex10"]["functions"]})
    assert r.exhaustive and not r.violations and r.states > 100


def test_a_race_failure_is_the_explorers_shortest_schedule_as_its_table():
    report = local_check("ex10", W.EX10["put-before-wait"][0])
    fb = next(r.feedback for r in report if r.name == "reader")
    assert fb.startswith("BAD: page 1: count")
    assert "#  actor  kernel function" in fb and "VIOLATED:" in fb and "replay: [" in fb
    steps = json.loads(fb.split("replay: ")[1].splitlines()[0].replace("'", '"'))
    assert steps[-2:] == ["rA", "rA"] and len(steps) == int(fb.split("breaks it (")[1].split()[0])


def test_a_right_race_answer_says_good_with_the_number_of_states():
    report = local_check("ex10", S.EX9_RIGHT)
    assert report.score == report.max_score == 10
    assert all(r.feedback.startswith("GOOD: no schedule breaks it (") for r in report)


@pytest.mark.parametrize("name", sorted(W.EX10))
def test_each_race_mistake_has_a_counterexample_in_the_first_configuration(name):
    report = local_check("ex10", W.EX10[name][0])
    assert not report[0].passed and "the shortest schedule" in report[0].feedback, str(report)


def test_the_waiting_side_learner_mistakes_are_the_issues():
    assert {"no-recheck", "put-before-wait", "no-get-page", "no-wait"} <= set(W.EX10)


# -- through the grader, jailed ----------------------------------------------------------------

def test_the_sources_score_full_and_the_stubs_zero_through_the_grader(tmp_path):
    names = [E.exercises()[ex]["notebook"].split("/")[1] for ex in ("ex9", "ex10")]
    for who, folder in (("right", S.ROOT / "exercises" / "source"), ("stub", S.ROOT / "exercises")):
        (tmp_path / who).mkdir()
        for n in names:
            shutil.copy(folder / n, tmp_path / who / n)
    out = tmp_path / "out"
    assert cli.main([str(tmp_path / "right"), str(tmp_path / "stub"), "--out", str(out), "-j", "1"]) == 0
    full_marks = sum(c.get("points", 1) for ex in ("ex9", "ex10") for c in E.exercises()[ex]["cases"])
    for who, full in (("right", True), ("stub", False)):
        res = json.loads((out / who / "results.json").read_text())
        ours = [t for t in res["tests"] if t["name"].startswith(("ex9:", "ex10:"))]
        assert len(ours) == len(E.exercises()["ex9"]["cases"]) + len(RACE)
        assert sum(t["score"] for t in ours) == res["score"] == (full_marks if full else 0), \
            json.dumps(ours, indent=1)[:3000]
        if not full:
            assert all("NotImplementedError" in t["output"] for t in ours)


def test_a_learners_side_that_dies_in_a_race_case_costs_that_case_only(tmp_path):
    dies = (START.replace("    get_page(page)\n", "    import os\n    os._exit(3)\n"), WAIT)
    dest = tmp_path / "sub" / "ex10.ipynb"
    S.notebook("ex10-waiting-races.ipynb", dies, dest)
    out = tmp_path / "out"
    assert cli.main([str(dest.parent), "--out", str(out), "-j", "1", "--exercise", "ex10"]) == 0
    res = json.loads((out / "sub" / "results.json").read_text())
    assert res["score"] == 0 and len(res["tests"]) == len(RACE)
    assert all("stopped:" in t["output"] or "exit" in t["output"] for t in res["tests"]), res["tests"]


def test_step_facts_of_an_overridden_step_reach_the_instruments():
    with override(**{"user_access.migration_entry_wait": lambda self, k: None}):
        assert sched.step_facts(user_access, "migration_entry_wait").holds == ("pfn",)


# -- a race case is bounded, and a step that sleeps changes nothing ----------------------------

def test_a_step_that_sleeps_after_changing_the_kernel_is_a_bug_with_its_schedule():
    sleeps_dirty = WAIT.replace("    if PageLocked(page):\n        return BLOCKED\n",
                                "    if PageLocked(page):\n        get_page(page)\n        return BLOCKED\n")
    fb = local_check("ex10", (START, sleeps_dirty))[0].feedback
    assert fb.startswith("BAD: kernel BUG in rA's migration_entry_wait: migration_entry_wait "
                         "returned BLOCKED after changing the kernel"), fb
    assert "#  actor  kernel function" in fb


def test_a_race_case_has_a_state_bound_and_a_time_bound(monkeypatch):
    case = RACE[0]
    ns = dict(E.api("ex10"))
    for c in S.EX9_RIGHT:
        exec(c, ns)
    funcs = {n: ns[n] for n in E.exercises()["ex10"]["functions"]}
    seen = {}

    def bfs(self):                         # (the explorer checks its bound every 50,000 states)
        seen["max"] = self.max_states
        raise RuntimeError(f"more than {self.max_states:,} states: use mode='random' ...")
    monkeypatch.setattr(E.Explorer, "bfs", bfs)
    ok, fb = E.explore_feedback(case, E.LocalSession("ex10", funcs).stubs())
    assert not ok and seen["max"] == E.RACE_MAX_STATES
    assert f"the kernel reaches more than {E.RACE_MAX_STATES:,} states" in fb
    monkeypatch.undo()
    monkeypatch.setattr(E, "RACE_SECONDS", 0.0)
    ok, fb = E.explore_feedback(case, E.LocalSession("ex10", funcs).stubs())
    assert not ok and fb.startswith("BAD: the explorer did not finish this configuration within 0 s")


def test_a_hidden_race_case_tells_only_that_a_schedule_breaks_it(tmp_path, capsys):
    hidden = {"ex10": {"cases": [{"name": "two-faulters-hidden", "title": "hidden", "points": 2,
                                  "explore": {"config": "two-faulters",
                                              "classes": {"user_access": "UnlockedReadFault"}}}]}}
    cases = tmp_path / "hidden.json"
    cases.write_text(json.dumps({"exercises": hidden}))
    for who, cells in (("right", S.EX9_RIGHT), ("wrong", W.EX10["put-before-wait"][0])):
        S.notebook("ex10-waiting-races.ipynb", cells, tmp_path / "subs" / who / "ex10.ipynb")
    out = tmp_path / "out"
    assert cli.main([str(tmp_path / "subs" / "right"), str(tmp_path / "subs" / "wrong"), "--out", str(out),
                     "-j", "1", "--exercise", "ex10", "--cases", str(cases)]) == 0
    assert "hidden race case" not in capsys.readouterr().err         # clean on the model
    for who in ("right", "wrong"):
        res = json.loads((out / who / "results.json").read_text())
        t = next(t for t in res["tests"] if "visibility" in t)
        if who == "right":
            assert t["score"] == 2 and res["score"] == 12
        else:
            assert t["score"] == 0 and t["output"] == "BAD: a schedule of this hidden configuration breaks it (safety)"


def test_a_pasted_model_method_is_flagged():
    import inspect
    import textwrap
    from refmodel.grading.similarity import compare_to_reference
    for name in ("migration_entry_wait_start", "migration_entry_wait"):
        pasted = textwrap.dedent(inspect.getsource(model_function(name)))
        assert compare_to_reference([("cell 3", pasted)], name)["identical"]
        own = compare_to_reference([("cell 3", "\n".join(S.EX9_RIGHT))], name)
        assert not own["identical"]
