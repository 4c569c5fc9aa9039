"""Replay: a schedule run again on the real model, one table row per state.

Instruments.  Result.render, the book's counterexample tables and the scheduler game's
schedules go through here: every invariant is checked after each step, and the run ends at
the first violation, a deadlock or a thread back where it was (busy polling)."""

from .. import invariants as inv
from ..render.trace import frame, trace_html, trace_text
from ..sched import BLOCKED, DONE
from .world import World, bugs


class Replay:
    """A schedule run again on the real model: one frame (a row of the table) per state."""

    def __init__(self, world, steps):
        self.world = world
        self.steps = steps
        self.frames = []             # render.trace.frame() rows, the start state first
        self.violations = []

    @property
    def ok(self) -> bool:
        return not self.violations

    def text(self) -> str:
        return trace_text(self)

    def html(self) -> str:
        return trace_html(self)

    def _repr_html_(self):
        return self.html()

    def __str__(self):
        return self.text()


def replay(config, steps, era: str = "2.6.18", mutant: str | None = None,
           bug: str | None = None, **overrides) -> Replay:
    """Run a schedule (a list of thread names, or of {"thread": name} dicts) again on the
    real model, checking every invariant after each step; .violations lists what the first
    bad state breaks (or the deadlock / busy polling the schedule ends in)."""
    if bug is not None:
        era = bugs()[bug].get("era", era)
    w = World(config, era=era, mutant=mutant, bug=bug, symmetry=False, **overrides)
    rep = Replay(w, steps)
    R = w.R
    k, paths, shadow, wbits, lost = w.live(w.init, R)
    kern = w.K[w.init[0]]
    rep.frames.append(frame(w, k, paths, None, None, []))
    seen = [w.init]
    actors = []
    for st in steps:
        name = st["thread"] if isinstance(st, dict) else st
        i = w.names.index(name)
        label = inv.step_name(paths[i])
        out = w.run_step(k, paths, i, shadow, wbits, lost, kern)
        if out is BLOCKED:
            raise ValueError(f"step {len(rep.frames)}: {name} cannot run at {label} (it sleeps)")
        probs, kern = list(out[0]), out[1]
        if kern is not None:
            R.sync(kern)
            probs += w.problems(k, paths, shadow)
            key, _ = w.canonical(w.kid(kern), w.gid(w.freeze_ghost(shadow, wbits, lost)),
                                 [w.capture_thread(q) for q in paths])
            actors.append(i)
            if key in seen:
                j = seen.index(key)
                if len(set(actors[j:])) == 1:
                    probs.append(f"liveness: {name} is back in the state it was in "
                                 f"{len(actors) - j} steps ago, at {inv.step_name(paths[i])}, "
                                 f"without progress: it faults and retries on the migration "
                                 f"entry for as long as the page stays locked (busy polling)")
            seen.append(key)
            rep.frames.append(frame(w, k, paths, name, label, probs))
        else:                      # the step died in a BUG: the state before it, and the BUG
            rep.frames.append(dict(rep.frames[-1], actor=name, function=label, problems=probs))
        if probs:
            rep.violations = [w.pretty(p) for p in probs]
            break
    else:
        if not all(p.pc == DONE for p in paths) and \
                not any(w.can_run(k, paths, i) for i in range(len(paths)) if paths[i].pc != DONE):
            rep.violations = [inv.deadlock_problem(paths, w.names)]
    return rep
