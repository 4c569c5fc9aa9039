"""The interleaving explorer (issue #6) on the real model.

    correct 2.6.18 model x every configuration  ->  no violation, exhaustively
    every mutant (a step removed)               ->  a violation, shortest trace <= 12 steps
    every historical bug                        ->  a violation in its own config and era,
                                                    and none once the fix is in
    each counterexample                         ->  replay() runs it again to the same violation
    symmetry (and POR)                          ->  never change a verdict
"""

import pytest

from refmodel import explore
from refmodel.explore import bugs, configs, mutants

CLEAN = [name for name, c in configs().items() if c.get("clean", True)]


@pytest.mark.parametrize("config", CLEAN)
def test_correct_model_has_no_violation(config):
    r = explore(config)
    assert r.exhaustive and r.states > 1 and r.transitions >= r.states - 1
    assert r.violations == [], r.render()
    assert r.trace == []


@pytest.mark.parametrize("mutant", list(mutants()))
def test_every_mutant_is_caught_with_a_short_trace(mutant):
    r = explore(mutant=mutant)
    assert r.violations, f"mutant {mutant} survived {r.states} states"
    assert 1 <= len(r.trace) <= 12, r.render()
    assert all(set(s) == {"thread", "step"} for s in r.trace)


@pytest.mark.parametrize("bug", list(bugs()))
def test_every_historical_bug_reproduces(bug):
    b = bugs()[bug]
    r = explore(bug=bug)
    assert r.era == b["era"] and r.config == b["config"]
    assert r.violations and len(r.trace) <= 12, r.render()
    assert b["link"].startswith("https://")
    text = r.render()
    assert b["link"] in text and "VIOLATED" in text


EXPECTED = {                                   # what each bug looks like, in plain words
    "anon-vma-head": "orphaned entry",
    "fork-cow-broken": "COW is broken",
    "v2-yield": "busy polling",
    "anon-vma-freed": "used after free",
    "v1-lost-write-bit": "extra fault",
    "v1-as-posted": "names free pfn",
    "v1-fault-uaf": "use after free",
    "v1-restore-present": "V1 6/6 restored a present pte",
}


@pytest.mark.parametrize("bug", list(bugs()))
def test_bug_is_named_in_plain_words(bug):
    r = explore(bug=bug)
    assert EXPECTED[bug] in r.violations[0]


@pytest.mark.parametrize("bug", ["anon-vma-head", "fork-cow-broken", "v2-yield",
                                 "v1-lost-write-bit", "v1-fault-uaf"])
def test_the_fix_removes_the_bug(bug):
    """The same configuration in 2.6.18 as merged (Hugh Dickins' fixes, the R/W entries)."""
    assert explore(bugs()[bug]["config"], era="2.6.18").violations == []


def test_v1_as_designed_puts_the_entries_back():
    """Without the as-posted gap, the same run in rfc-v1 shows only V1's documented defect."""
    r = explore(bugs()["v1-as-posted"]["config"], era="rfc-v1")
    assert r.violations and all("free pfn" not in v for v in r.violations)
    assert "extra fault" in r.violations[0]


def test_v1_fault_reference_races_the_free():
    """V1 2/6: the fault reads the entry (do_page_fault), migration restores the pte and frees
    the old page, then lookup_swap_cache's get_page lands on the free page."""
    r = explore("reader", era="rfc-v1")
    assert r.kind == "bug" and "use after free" in r.violations[0]
    steps = [(s["thread"], s["step"]) for s in r.trace]
    read = steps.index(("rA", "do_page_fault"))
    assert steps[-1] == ("rA", "v1_lookup_swap_cache")
    assert ("mig", "unmap_and_move.remove_migration_ptes") in steps[read + 1:-1]
    assert explore("reader", era="2.6.18").violations == []


def test_v1_as_designed_rolls_back_a_pinned_page_cleanly():
    """The same pinned page in rfc-v1 as designed: the failed count check only unlocks."""
    assert explore(bugs()["v1-restore-present"]["config"], era="rfc-v1").violations == []


def test_swapcache_config_migrates_through_a_swap_pte():
    """The page is in the swap cache when migration unmaps it: a swap pte, not an entry, and
    the reader's fault finds the page through lookup_swap_cache (2.6.18, A8)."""
    rep = explore.replay("swapcache", ["mig"] * 6 + ["rA"] * 2)
    rows = rep.text().splitlines()
    unmap = next(r for r in rows if "try_to_unmap " in r)
    assert " swap*" in unmap and not any(" MIG" in r for r in rows if r[:1].isdigit())
    assert rows[-3].split()[2] == "do_page_fault" and "rA(page" in rows[-3]


def test_anon_vma_freed_needs_a_migration_without_mmap_sem():
    """2.6.18's own callers hold mmap_sem: the exit then waits (munmap config is clean),
    but a kernel-internal migration (hot-remove, compaction) meets a freed anon_vma."""
    r = explore(bug="anon-vma-freed")
    assert r.kind == "bug" and "exit" in [s["thread"] for s in r.trace]


@pytest.mark.parametrize("which", [("mutant", m) for m in mutants()] +
                         [("bug", b) for b in bugs()])
def test_replay_reproduces_the_counterexample(which):
    kind, name = which
    r = explore(**{kind: name})
    rep = explore.replay(r.config, r.steps(), era=r.era, **{kind: name})
    assert rep.violations, rep.text()
    assert len(rep.frames) == len(r.trace) + 1
    if r.kind != "liveness":
        assert rep.violations[0] == r.violations[0]
    else:
        assert "busy polling" in rep.violations[0]


def test_replay_of_a_correct_schedule_is_clean():
    r = explore(mutant="unlock-before-remove")
    rep = explore.replay("canonical", r.steps())              # the same schedule on 2.6.18
    assert rep.ok and len(rep.frames) == len(r.trace) + 1


def test_replay_refuses_a_step_that_sleeps():
    with pytest.raises(ValueError, match="sleeps"):
        # wA waits in migration_entry_wait; running it again while the page is locked
        explore.replay("writer", ["mig"] * 5 + ["wA", "wA", "wA"])


@pytest.mark.parametrize("config", ["two-faulters"])
def test_symmetry_reduces_identical_faulters(config):
    """Symmetry alone (dead locals kept) keeps one of the two orders of the faulters' local
    states: close to half.  With dead locals left out too, more states have both faulters
    alike already, so symmetry has less left to remove; together they remove ~9/10."""
    full = explore(config, symmetry=False, view=False)
    sym = explore(config, view=False)
    assert full.violations == sym.violations == []
    assert full.states / sym.states >= 1.8, (full.states, sym.states)
    both = explore(config)
    assert both.violations == [] and full.states / both.states >= 5


@pytest.mark.parametrize("which", [("mutant", m) for m in mutants()] +
                         [("bug", b) for b in bugs()] + [("config", "two-faulters")])
def test_symmetry_never_changes_a_verdict(which):
    kind, name = which
    kw = {kind: name} if kind != "config" else {"config": name}
    a, b = explore(**kw, symmetry=True), explore(**kw, symmetry=False)
    assert bool(a.violations) == bool(b.violations)
    assert len(a.trace) == len(b.trace)


def test_counterexample_table_marks_changed_cells():
    r = explore(mutant="unlock-before-remove")
    text = r.render()
    lines = text.splitlines()
    assert any(line.startswith("#  actor") for line in lines)
    assert "*" in text and "P:a" in text and "C:a" in text
    assert "VIOLATED: P:a: migration entry for page" in text
    html = r.render(html=True)
    assert "<table" in html and "class='changed'" in html and "Violated:" in html


def test_result_json_has_the_documented_keys():
    r = explore(mutant="no-page-lock")
    d = r.to_json()
    for key in ("config", "era", "mutant", "states", "transitions", "seconds", "violations", "trace"):
        assert key in d
    assert d["violations"] and isinstance(d["trace"], list) and d["trace"][0]["thread"] == "mig"


def test_bounded_mode_is_labelled_and_finds_shallow_bugs():
    r = explore(mutant="no-ref-before-wait", mode="bounded", bound=1)
    assert not r.exhaustive and r.violations
    ok = explore("canonical", mode="bounded", bound=0)
    assert ok.violations == [] and "NOT exhaustive" in ok.summary()


def test_random_mode_prints_its_seed_and_replays():
    a = explore(mutant="no-page-lock", mode="random", seed=7)
    b = explore(mutant="no-page-lock", mode="random", seed=7)
    assert a.seed == 7 and not a.exhaustive and "NOT exhaustive" in a.summary()
    assert a.violations and a.trace == b.trace
    c = explore("reader", mode="random", seed=3, walks=50)
    assert c.violations == [] and "NOT exhaustive" in c.summary()


def test_deadlock_is_reported():
    """A migration that forgets to unlock the page after a failed pass (the pinned page of
    the rollback configuration) leaves the fault asleep in migration_entry_wait and itself
    asleep in lock_page on its next forced pass: no unfinished thread can run."""
    from refmodel.explore import Explorer, World
    from refmodel.migrate import migrate_pages
    from refmodel.page import unlock_page

    class NeverUnlocks(migrate_pages):
        __slots__ = ()

        def unlock(self, k):
            real = unlock_page
            import refmodel.migrate as mig
            mig.unlock_page = lambda page: None             # the page stays locked
            try:
                return super().unlock(k)
            finally:
                mig.unlock_page = real

    w = World("rollback")
    w.subst = {migrate_pages: NeverUnlocks}
    r = Explorer(w).bfs()
    assert r.kind == "deadlock", r.violations
    assert r.violations[0].startswith("deadlock: every unfinished thread sleeps (")
    assert "lock_page" in r.violations[0] and len(r.trace) <= 20


def test_a_second_isolation_of_the_same_page_fails():
    cfg = {
        "name": "twice",
        "steps": [["spawn", "A", {"node": 0, "cap_sys_nice": True}], ["mmap", "A", "a", {}],
                  ["write", "A", "a", "x"],
                  ["start", "m1", ["kernel_migrate", "A", ["a"], 1]],
                  ["start", "m2", ["kernel_migrate", "A", ["a"], 1]]],
    }
    with pytest.raises(ValueError, match="not on an LRU list"):
        explore(cfg)                        # isolate_lru_page: the page is off the LRU already


def test_explore_needs_something_to_explore():
    with pytest.raises(ValueError):
        explore()
    with pytest.raises(ValueError):
        explore("canonical", mode="dfs")


@pytest.mark.parametrize("which", [("mutant", m) for m in mutants()] +
                         [("bug", b) for b in bugs()] +
                         [("config", c) for c in ("canonical", "munmap", "file", "fork-shared")])
def test_partial_order_reduction_never_changes_a_verdict(which):
    """Sleep sets skip transitions that commute; every state is still visited, so the
    state count, the verdict and (here) the length of the shortest trace are unchanged."""
    kind, name = which
    kw = {kind: name} if kind != "config" else {"config": name}
    a, b = explore(**kw), explore(**kw, por=True)
    assert bool(a.violations) == bool(b.violations)
    assert len(a.trace) == len(b.trace)
    if not a.violations:
        assert a.states == b.states and b.transitions < a.transitions


@pytest.mark.parametrize("which", [("mutant", m) for m in mutants()] +
                         [("bug", b) for b in bugs()] +
                         [("config", c) for c in ("canonical", "munmap", "file", "fork-shared",
                                                  "rollback", "mprotect")])
def test_leaving_out_dead_locals_never_changes_a_verdict(which):
    kind, name = which
    kw = {kind: name} if kind != "config" else {"config": name}
    a, b = explore(**kw, view=False), explore(**kw)
    assert bool(a.violations) == bool(b.violations) and a.kind == b.kind
    if a.kind == "liveness":           # dead locals no longer tell the rounds of a cycle apart
        assert len(b.trace) <= len(a.trace)
    elif a.violations:
        assert len(a.trace) == len(b.trace) and a.violations[0] == b.violations[0]
    else:
        assert b.states <= a.states


@pytest.mark.parametrize("config", ["writer", "rollback", "fork-shared", "file", "mprotect"])
def test_steps_commute_with_the_view(config):
    """For every reachable state S (dead locals kept) and every thread i: viewing the
    successor gives the successor of the viewed state -- dead locals really are dead."""
    from refmodel.explore import Explorer, World, view_path
    from refmodel.sched import BLOCKED
    full = World(config, view=False, symmetry=False)
    viewed = World(config, view=True, symmetry=False)
    ex_full, ex_view = Explorer(full), Explorer(viewed)
    seen = {}
    ex_full.check_state = lambda s: seen.setdefault(s, None) or []
    assert ex_full.bfs().violations == []

    def as_viewed(s):
        # the same kernel and ghost, the threads without their dead locals
        kid = viewed.kid(full.K[s[0]])
        gid = viewed.gid(full.G[s[1]])
        return (kid, gid) + tuple(viewed.tid_of(view_path(full.T[t])) for t in s[2:])

    checked = 0
    for s in seen:
        for i in range(len(full.tids)):
            if full.done(s, i):
                continue
            a = ex_full.successor(s, i)
            b = ex_view.successor(as_viewed(s), i)
            assert (a is BLOCKED) == (b is BLOCKED), (s, i)
            if a is not BLOCKED:
                assert list(a[2]) == list(b[2])
                if a[0] is not None:
                    assert as_viewed(a[0]) == b[0], (full.names[i], s, i)
                checked += 1
    assert checked > 50


def test_a_new_configuration_is_data():
    """CONTRIBUTING.md's recipe: set-up steps, then one start step per thread."""
    cfg = {"name": "two-readers", "steps": [
        ["spawn", "A", {"node": 0, "cap_sys_nice": True}], ["mmap", "A", "a", {}],
        ["write", "A", "a", "A0"],
        ["start", "mig", ["move_pages", "A", ["a"], [1], "MOVE"]],
        ["start", "r1", ["read", "A", "a", 2]], ["start", "r2", ["read", "A", "a", 2]]]}
    r = explore(cfg)
    assert r.exhaustive and r.violations == [] and r.states > 100
    assert explore(cfg, symmetry=False).states > r.states      # r1 and r2 are interchangeable
    with pytest.raises(ValueError, match="before the first start"):
        explore({"steps": cfg["steps"][:4] + [["write", "A", "a", "x"]]})
    with pytest.raises(ValueError, match="'steps'"):
        explore({"setup": [], "threads": []})
