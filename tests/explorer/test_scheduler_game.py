"""Be the scheduler: the learner picks each step; goals; undo; the explorer's solution."""

import pytest

from refmodel.scheduler_game import GOALS, SchedulerGame, levels


def test_every_level_has_a_solution_that_wins():
    for name, level in levels().items():
        g = SchedulerGame(level=name)
        assert level["goal"] in GOALS and level["intro"] and level["lesson"]
        sol = g.solution()
        assert sol, name
        for t in sol:
            g.step(t)
        assert g.won, (name, g.text())


def test_enabled_steps_undo_and_sleeping_threads():
    g = SchedulerGame(level="wait")
    assert {n for n, _ in g.enabled()} == {"mig", "wP", "rC"}
    g.step("mig")
    g.undo()
    assert g.schedule == [] and len(g.rows.frames) == 1
    for t in ["mig"] * 5 + ["wP", "wP"]:
        g.step(t)
    assert g.won                                         # wP sleeps in migration_entry_wait
    assert ("wP", "migration_entry_wait") in g.sleeping()
    with pytest.raises(ValueError, match="sleeps"):
        g.step("wP")
    assert "goal: make a fault sleep in migration_entry_wait  -- REACHED" in g.text()


def test_a_broken_invariant_stops_the_game_until_undo():
    g = SchedulerGame(mutant="no-page-lock")
    for t in ["mig"] * 5:
        g.step(t)
    assert g.won and "BUG" in g.rows.violations[0]
    with pytest.raises(RuntimeError):
        g.step("wP")
    g.undo()
    assert not g.won


def test_widget_builds():
    import ipywidgets                                    # in requirements.txt
    w = SchedulerGame(level="busy").widget()
    assert isinstance(w, ipywidgets.VBox)
    assert w.children and "Goal" in w.children[1].value
