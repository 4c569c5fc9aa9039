"""The properties the explorer checks, by name, and how each one's violation reads.

Instruments.  The sentences come from invariants.py and check.py; this module says which
property a problem breaks and computes the state invariants from cached parts.

    invariants   in every state: the kernel's own invariants (counts, mapcounts, rmap, swap
                 map, rss, anon_vma lifetime), each thread's (a sleeper holds a reference to
                 its page; no entry left behind the remove walk), and what each process
                 reads against the oracle; when every thread has finished, no lock is held
    transitions  in every step: no kernel BUG, no crash on a freed object, no stale read,
                 no extra fault from a write bit lost across migration
    liveness     no thread keeps retrying without progress (busy polling)
    deadlock     while a thread is unfinished, some thread can run
"""

from .. import invariants as inv
from ..snapshot import restore_path

PROPERTIES = ("invariants", "transitions", "liveness", "deadlock")

# Result.kind of each: a transition that hit a kernel BUG is a "bug", any other "safety".
KINDS = {"invariants": "safety", "transitions": "safety", "liveness": "liveness",
         "deadlock": "deadlock"}


def kind_of(problems) -> str:
    """The kind of a transition's problems: 'bug' for a kernel BUG or crash, else 'safety'."""
    return "bug" if problems[0].startswith(("kernel BUG", "the kernel crashed")) else "safety"


def state_problems(ex, state) -> list:
    """The invariants property in one state, from cached per-thread facts and per-kernel
    checks (ex: the Explorer, whose caches these are)."""
    w = ex.w
    kid, gid = state[0], state[1]
    facts = []
    k = None
    finished = True
    fcache, ccache, Tdone = ex.fcache, ex.ccache, w.Tdone
    for i, t in enumerate(state[2:]):
        f = fcache.get((t, i))                      # facts that need no kernel
        if f is None:
            f = fcache.get((kid, t, i))
            if f is None:
                if k is None:
                    k = w.R.restore(w.K[kid])
                p = restore_path(w.T[t], w.tids[i])
                f = inv.thread_facts(k, p, w.names[i], w.where)
                f = ccache.setdefault(("facts", f), f)   # equal facts: one object
                fcache[(kid, t, i) if inv.needs_kernel(p) else (t, i)] = f
        facts.append(f)
        finished = finished and Tdone[t]
    key = (kid, gid, finished) + tuple(map(id, facts))   # facts live on in fcache
    out = ccache.get(key)
    if out is None:
        live = lambda: w.R.restore(w.K[kid])         # noqa: E731  (only on a miss)
        out = ccache[key] = inv.combine(live, facts, dict(w.G[gid][0]), w.pins,
                                           w.where, finished, memo=w.kernel_cache,
                                           kern=kid, shadow_t=gid)
    return out


def deadlock(w, s) -> str:
    """The deadlock property's sentence for state s."""
    return inv.deadlock_problem([w.thread(s, i) for i in range(len(w.tids))], w.names)


def spins(parent, s, i, target) -> bool:
    """Did thread i alone lead from target to s (so that its step closes a cycle)?"""
    cur = s
    for _ in range(32):
        if cur == target:
            return True
        link = parent.get(cur)
        if link is None or link[1] != i:
            return False
        cur = link[0]
    return False


def spin_message(w, s, i) -> str:
    """The liveness property's sentence: thread i spins at state s."""
    return (f"liveness: {w.names[i]} keeps retrying without progress at "
            f"{inv.step_name(w.thread(s, i))} -- it faults, returns and faults again on "
            f"the same migration entry (busy polling) for as long as the page stays locked")
