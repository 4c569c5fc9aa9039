"""Topic "fault": what a fault does when it meets a page under migration, in each era.

P writes a page; a migration of it to node 1 is stopped where the page is locked and P's
pte no longer maps it (just after try_to_unmap, or after the copy, before the ptes are
restored); then P reads or writes the page.  The fault path (memory.py's user_access, the
model's do_page_fault/do_swap_page) is stepped and what it did is read off its steps:
slept on the page lock, slept in migration_entry_wait, faulted again at once, or mapped a
page.  Then the migration and the fault take turns, one step each, until both are done,
and the answer says which page the access used, after how many faults, and where the
page ended up.  The era decides it all (eras.py, fault_on_migration_entry).

2.6.17 borrows swap: its migrate_pages runs a page's whole pass as one step of the model,
so the question stops it half way by calling the pass's own functions in its order
(isolate, lock, add_to_swap, try_to_unmap), as the book's "Before the series" does, and
finishes the pass with the model's migrate_page_remove_references.
"""

from .. import MPOL_MF_MOVE, PAGE_SIZE
from ..memory import user_access
from ..migrate import isolate_lru_page, migrate_page_copy, move_to_lru
from ..page import TestSetPageLocked, unlock_page
from ..page_alloc import alloc_pages_node
from ..rmap import try_to_unmap
from ..sched import step_facts
from ..swap_state import add_to_swap
from ..variants.migrate_2_6_17 import migrate_page_remove_references, remove_from_swap
from . import Question
from .common import ANON, RW, machine, page_line, step_until

CHOICES = ("it sleeps on the page lock in do_swap_page (lock_page), holding a reference",
           "it sleeps in migration_entry_wait until the page is unlocked, holding a reference",
           "it returns at once (yield) and the access faults again, without sleeping",
           "it maps a page at once and the access goes on")
WHERE_CHOICES = ("the old page, on node 0", "the new page, on node 1")

# Where a fault path sleeps, read off the step's own @step facts (memory.py's user_access).
SLEEPS = {"sleeps in lock_page on": 0, "sleeps in migration_entry_wait on": 1}

WINDOWS = {"unmapped": "try_to_unmap has just replaced P's pte; the page is locked and not yet copied",
           "copied": "the page has been copied to node 1; the old page is still locked and P's "
                     "pte not yet restored"}


def classify(steps: list) -> int:
    """The index in CHOICES of what the fault did, from its first steps."""
    if "blocked" in steps:
        return SLEEPS[step_facts(user_access, steps[steps.index("blocked") - 1]).doing]
    faults = steps.count("do_page_fault")
    if faults > 1:
        return 2
    if steps[-1] == "done" and faults == 1:
        return 3
    raise ValueError(f"a fault path the practice questions do not know: {steps}")


def first_steps(m, f, limit: int = 8) -> list:
    """Step the fault alone until it sleeps, finishes or has faulted three times."""
    steps = []
    for _ in range(limit):
        r = m.step(f)
        steps.append(r)
        if r in ("blocked", "done") or steps.count("do_page_fault") >= 3:
            break
    return steps


def take_turns(m, mig, f, p, a, steps: list):
    """Migration and fault alternate, one step each, until both are done.  Returns the pfn
    the access used (P's pte when the access finished)."""
    used = p.pte(a).pfn if f.finished else None
    for _ in range(5000):
        if mig is not None and mig.finished and f.finished:
            break
        moved = mig is not None and not mig.finished and m.step(mig) != "blocked"
        if not f.finished:
            r = m.step(f)
            steps.append(r)
            if f.finished:
                used = p.pte(a).pfn
            moved = moved or r != "blocked"
        if mig is None and f.finished:
            break
        if not moved:
            raise RuntimeError("the migration and the fault both sleep")
    return used


def unmap_2_6_17(m, p, a):
    """2.6.17's pass over P's page up to try_to_unmap: isolate, lock, add_to_swap, unmap."""
    k = m.k
    page = k.pages[p.pte(a).pfn]
    isolate_lru_page(page)
    TestSetPageLocked(page)
    add_to_swap(k, page)
    try_to_unmap(k, page, True)
    return page


def finish_pass_2_6_17(m, page) -> int:
    """The rest of that pass: migrate_page_remove_references decides, then copy and
    remove_from_swap on success; unlock and put both pages back.  Returns its rc."""
    k = m.k
    new = alloc_pages_node(k, 1)
    new.flags |= 1                                   # lock_page(newpage)
    rc = migrate_page_remove_references(k, new, page, 2)
    if rc == 0:
        migrate_page_copy(k, new, page)
        remove_from_swap(k, new)
    else:
        new.mapping = 0
    unlock_page(new)
    unlock_page(page)
    move_to_lru(k, new)
    move_to_lru(k, page)
    return rc


def run(era: str, write: bool, window: str):
    """Set the scene, run the fault and the migration; everything the answer needs."""
    m = machine(era, swap_pages=16 if era == "2.6.17" else 0)
    p = m.spawn(node=0)
    a = p.mmap(None, PAGE_SIZE, RW, ANON)
    p.write(a, b"data")
    old = p.pte(a).pfn
    out = {"old": old}
    if era == "2.6.17":
        page = unmap_2_6_17(m, p, a)
        mig = None
    else:
        mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
        copied = (lambda: p.pte(a).is_migration and not m.page(old).anon) if window == "copied" \
            else (lambda: p.pte(a).is_migration)
        if not step_until(m, mig, copied):
            raise RuntimeError(f"the migration never reached {window!r}")
    out["pte"] = p.pte(a).raw
    out["old_line"] = page_line(m, old)
    before = m.counters.copy()
    f = m.access_path(p, a, write=write, data=b"W", length=4)
    steps = first_steps(m, f)
    out["first"] = list(steps)
    out["choice"] = classify(steps)
    if era == "2.6.17":
        out["rc"] = finish_pass_2_6_17(m, page)
        out["pte_after_pass"] = repr(p.pte(a))
        out["used"] = take_turns(m, None, f, p, a, steps)
        out["counters"] = dict(m.counters - before)
        out["again"] = m.migrate_pages(p, {0}, {1})  # migration tries the page again
    else:
        out["used"] = take_turns(m, mig, f, p, a, steps)
        out["counters"] = dict(m.counters - before)
    out["steps"] = steps
    out["faults"] = f.faults
    out["result"] = f.result if not write else None
    out["final_pfn"], out["final_node"] = p.pte(a).pfn, p.page(a).node
    out["final_pte"] = repr(p.pte(a))
    m.check()
    return m, out


def explain(era: str, write: bool, window: str, out: dict) -> str:
    """The details: the fault's steps, then what the two did in turn, then the end state."""
    c = out["counters"]
    used_old = out["used"] == out["old"]
    later = " -> ".join(out["steps"][len(out["first"]):]) or "(nothing left)"
    lines = [f"the fault's steps on its own: access -> {' -> '.join(out['first'])}",
             f"then, taking turns with the migration: {later}",
             f"the access used the {'old' if used_old else 'new'} page (pfn {out['used']}) after "
             f"{out['faults']} fault(s)"
             + (f", reading {out['result']!r}" if out["result"] is not None else "")]
    counted = [f"{k} {c.get(k, 0)}" for k in ("pgfault", "pswpin", "migration_entry_waits",
                                              "migration_yield")]
    counted += [f"{k} {c[k]}" for k in ("migrate_passes", "migrate_count_mismatch") if c.get(k)]
    lines.append("counters meanwhile: " + ", ".join(counted))
    if era == "2.6.17":
        lines.append(f"the pass went on with the fault asleep: migrate_page_remove_references "
                     f"returned {out['rc']}, and when it unlocked the page P's pte was "
                     f"{out['pte_after_pass']}")
        lines.append(f"a second migrate_pages(2) call afterwards: {out['again']} page(s) not "
                     "migrated")
    lines.append(f"in the end P's pte is {out['final_pte']}, on node {out['final_node']}")
    return "\n".join(lines)


def make(rng, era: str) -> Question:
    """One fault on a page under migration, in era."""
    write = rng.random() < 0.5
    window = "unmapped" if era == "2.6.17" else rng.choice(tuple(WINDOWS))
    m, out = run(era, write, window)
    if era == "2.6.17":
        scene = ("migrate_pages(P, {0}, {1}) has put the page in the swap cache and try_to_unmap "
                 "has replaced P's pte; the page is locked")
    else:
        scene = f"move_pages(P, [a], [1]) is under way: {WINDOWS[window]}"
    setting = (f"Era {era}.  P (node 0) wrote page a (pfn {out['old']}).\n"
               f"  {scene}.\n"
               f"  P's pte for a is now 0x{out['pte']:016x}.\n"
               f"  Then P {'writes' if write else 'reads'} a.")
    details = explain(era, write, window, out)
    where = 0 if out["used"] == out["old"] else 1
    facts = {**out, "write": write,
             "window": window, "where": where}
    if rng.random() < 0.7:
        return Question(topic="fault", seed=0, index=0, era=era, setting=setting,
                        ask="What does the fault do when it meets that pte?", kind="choice",
                        choices=CHOICES, answer=out["choice"],
                        summary=CHOICES[out["choice"]], details=details, facts=facts)
    return Question(topic="fault", seed=0, index=0, era=era, setting=setting,
                    ask=f"Which page does P's {'write' if write else 'read'} finally use?",
                    kind="choice", choices=WHERE_CHOICES, answer=where,
                    summary=f"{WHERE_CHOICES[where]} ({CHOICES[out['choice']].split(',')[0]})",
                    details=details, facts=facts)
