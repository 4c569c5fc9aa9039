"""The one scenario language (refmodel/scenario.py, docs/scenarios.md).

    P: a (1 page, rw, private anon) --fork--> C          every verb of the tables runs,
    P: f (tmpfs, shared)                                 names bind as documented, bad
    start/step/finish drive a kernel path by hand        input gets a ScenarioError
"""

import json
import re
from pathlib import Path

import pytest

from refmodel import SegmentationFault
from refmodel.scenario import (PATHS, VERBS, ScenarioError, Scene, describe, do_step, run,
                               run_step, start_path)

ROOT = Path(__file__).resolve().parents[2]


def scene_with_page(**kw):
    s = Scene.new(**kw)
    run([["spawn", "P", {"node": 0, "cap_sys_nice": True}],
         ["mmap", "P", "a", {"pages": 2}],
         ["write", "P", "a", "hello"]], s)
    return s


def test_names_bind_as_the_steps_run():
    s = scene_with_page()
    assert run_step(s, ["read", "P", "a", 5]) == "b'hello'"
    assert run_step(s, ["fork", "P", "C"]).startswith("pid ")
    assert set(s.procs) == {"P", "C"} and set(s.addrs) == {"a"}
    assert s.addr("a+1") == s.addrs["a"] + 4096
    assert run_step(s, ["read", "C", "a", 5]) == "b'hello'"


def test_system_calls_and_their_result_text():
    s = scene_with_page()
    assert run_step(s, ["move_pages", "P", ["a"], [1], "MOVE_ALL"]) == "[1] ret=0"
    assert run_step(s, ["move_pages", "P", ["a"], None]) == "[1] ret=0"     # where is it?
    assert run_step(s, ["migrate_pages", "P", [1], [0]]) == "0"
    assert run_step(s, ["mprotect", "P", "a", 1, "r"]) == "0"
    with pytest.raises(SegmentationFault):
        do_step(s, ["write", "P", "a", "x"])
    assert run_step(s, ["mbind", "P", "a+1", 1, "BIND", [1], ["MOVE"]]) == "0"
    assert run_step(s, ["munmap", "P", "a+1", 1]) == "0"
    assert run_step(s, ["pin", "P", "a", "gup"]) == "ok" and "gup" in s.pins
    assert run_step(s, ["unpin", "gup"]) == "ok" and not s.pins
    assert run_step(s, ["call", "swp_entry", [30, 5]]) == str((30 << 59) | 5)
    assert run_step(s, ["exit", "P"]) == "ok" and not s.procs["P"].alive


def test_files_and_shared_mappings():
    s = Scene.new()
    run([["spawn", "A"], ["spawn", "B"], ["file", "f", {"pages": 1}],
         ["mmap", "A", "a", {"file": "f", "shared": True}],
         ["mmap", "B", "b", {"file": "f", "shared": True}],
         ["write", "A", "a", "F0"]], s)
    assert run_step(s, ["read", "B", "b", 2]) == "b'F0'"


def test_reclaim_needs_swap():
    s = scene_with_page(swap_pages=8)
    assert run_step(s, ["reclaim", "P", "a"]) == "True"
    assert s.procs["P"].pte(s.addrs["a"]).is_swap
    assert run_step(s, ["read", "P", "a", 5]) == "b'hello'"


def test_a_kernel_path_started_stepped_and_finished():
    """   P:a --migration entry--> a reader sleeps in migration_entry_wait, holding a reference:
          every pass of the migration fails its count check (-EAGAIN), the page stays   """
    s = scene_with_page()
    assert run_step(s, ["migrate_start", "P", ["a"], 1, "mig"]) == "entries in"
    assert s.procs["P"].pte(s.addrs["a"]).is_migration
    assert run_step(s, ["start", "r", ["read", "P", "a", 2]]) == "started"
    steps = [run_step(s, ["step", "r"]) for _ in range(3)]
    assert steps[-1] == "blocked"
    assert run_step(s, ["migrate_finish", "mig"]) == "1 not migrated, status {1: -11}"
    assert run_step(s, ["finish", "r"]) == "b'he'"
    assert s.procs["P"].page(s.addrs["a"]).node == 0
    s.machine.check()


def test_every_system_call_path_can_be_started():
    s = scene_with_page()
    run_step(s, ["fork", "P", "C"])
    steps = {"write": ["write", "P", "a", "x"], "read": ["read", "P", "a", 1],
             "move_pages": ["move_pages", "P", ["a"], [1], "MOVE_ALL"],
             "migrate_pages": ["migrate_pages", "C", [0], [1]],
             "kernel_migrate": ["kernel_migrate", "P", ["a+1"], 1] ,
             "fork": ["fork", "C", "G"], "munmap": ["munmap", "C", "a+1", 1],
             "mprotect": ["mprotect", "P", "a+1", 1, "r"], "exit": ["exit", "C"]}
    run_step(s, ["write", "P", "a+1", "second"])
    assert set(steps) == set(PATHS)
    for name, st in steps.items():
        p = start_path(s, name, st)
        s.machine.finish(p)
        s.machine.check()
    assert "G" in s.procs and not s.procs["C"].alive


def test_bad_steps_get_a_clear_error_and_change_nothing():
    s = scene_with_page()
    before = s.machine.snapshot()
    for bad, why in ((["teleport", "P"], "unknown step 'teleport'"),
                     (["read", "Q", "a", 1], "no process named 'Q'"),
                     (["read", "P", "b", 1], "no mapping named 'b'"),
                     (["read", "P", "a"], "read takes 3 arguments (who, addr, length), not 2"),
                     (["move_pages", "P", ["a"], [1], "MOVE_SOME"], "unknown flag"),
                     (["finish", "nothing"], "no kernel path named"),
                     (["start", "x", ["spawn", "Q"]], "cannot be started"),
                     ("read", "a step is a list")):
        with pytest.raises(ScenarioError, match=re.escape(why)):
            run_step(s, bad)
    assert s.machine.snapshot() == before


def test_describe_names_threads_as_the_tables_do():
    assert describe(["write", "P", "a", "p"]) == "P writes 'p' at a"
    assert describe(["read", "C", "a", 2]) == "C reads 2 bytes at a"
    assert describe(["move_pages", "P", ["a"], [1], "MOVE_ALL"]) == \
        "P move_pages(a -> node 1, MOVE_ALL)"
    assert describe(["kernel_migrate", "A", ["a"], 1]) == \
        "migrate_pages of A's a -> node 1 without mmap_sem"
    assert describe(["fork", "B", "C"]) == "B forks C"
    assert describe(["exit", "A"]) == "A exits"


def test_every_exercise_case_speaks_the_language():
    data = json.loads((ROOT / "refmodel" / "data" / "exercises.json").read_text())
    verbs = {st[0] for ex in data["exercises"].values() for c in ex["cases"]
             for st in c.get("steps", c.get("explore", {}).get("steps", []))}   # (a race case
    # names an explorer configuration, whose steps tests/explorer checks, or has its own)
    assert verbs <= set(VERBS), verbs - set(VERBS)


def test_the_documentation_lists_every_verb():
    doc = (ROOT / "docs" / "scenarios.md").read_text()
    missing = [v for v in VERBS if f'`["{v}"' not in doc]
    assert not missing, f"docs/scenarios.md does not describe {missing}"


def test_the_three_scenario_sources_run_through_this_interpreter(monkeypatch):
    """An exercise case, an explorer configuration and a conformance scenario each run their
    steps through scenario.do_step / run_step (and start_path for kernel paths)."""
    import sys
    from refmodel import exercises, scenario
    from refmodel.explore import World
    calls = {"exercise": 0, "explorer": 0, "conformance": 0}
    who = ["exercise"]
    real_do, real_start = scenario.do_step, scenario.start_path

    def counting_do(scene, step):
        calls[who[0]] += 1
        return real_do(scene, step)

    def counting_start(scene, name, step):
        calls[who[0]] += 1
        return real_start(scene, name, step)
    monkeypatch.setattr(scenario, "do_step", counting_do)
    monkeypatch.setattr(scenario, "start_path", counting_start)
    real_run = scenario.run_step
    monkeypatch.setattr(exercises, "run_step",
                        lambda scene, step: (calls.__setitem__("exercise", calls["exercise"] + 1),
                                             real_run(scene, step))[1])
    case = exercises.exercises()["ex2"]["cases"][0]
    exercises.run_case(case)
    who[0] = "explorer"
    World("writer")
    who[0] = "conformance"
    sys.path.insert(0, str(ROOT))
    from conformance import model_side, scenarios
    model_side.run_all(scenarios.load(), only={"anon_exclusive_move"})
    assert all(n > 0 for n in calls.values()), calls
