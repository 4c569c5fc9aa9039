"""Be the scheduler: choose which thread runs next, by hand, on the real model.

Like The Deadlock Empire, but the threads are the 2006 kernel paths: a fault, a migration,
a fork.  A level (explore_configs.json, "levels") names a configuration, perhaps a mutant or
a historical bug, and a goal -- usually "make an invariant break", sometimes "make a fault
wait on a migration entry" -- and the learner wins by finding a schedule that reaches it.

    >>> from refmodel.scheduler_game import SchedulerGame
    >>> g = SchedulerGame(level="orphan")
    >>> g.enabled()                      # [(thread, kernel function it would run), ...]
    >>> g.step("fork"); g.undo()
    >>> print(g.text())                  # the schedule so far, one row per step
    >>> g.widget()                       # in Jupyter: a button per thread, undo, the table

The same engine answers: g.solution() is the explorer's shortest schedule to the goal.
"""

from . import invariants as inv
from .explore import World, bugs, load_data, mutants
from .render.trace import frame, trace_html, trace_text
from .sched import BLOCKED, DONE

# Goals a level can name: (what the learner must do, test on the live state).
GOALS = {
    "violation": ("make an invariant break", None),
    "wait": ("make a fault sleep in migration_entry_wait",
             lambda k, paths: any(_pc(p) == "migration_entry_wait" for p in paths)),
    "rollback": ("make the migration fail its count check and put the ptes back",
                 lambda k, paths: any(getattr(_mig(p), "walk", None) == "remove" and
                                      getattr(_mig(p), "rc", 0) == -11 for p in paths)),
    "fork-copies-entry": ("make fork copy a migration entry into the child",
                          lambda k, paths: k.counters["fork_copied_migration_entry"] > 0),
}


def _mig(p):
    sub = getattr(p, "sub", None)
    return sub if sub is not None else p


def _pc(p):
    return _mig(p).pc if p.pc != DONE else DONE


def levels() -> dict:
    """The levels: name -> {title, config, mutant/bug, era, goal, intro, lesson}."""
    return load_data().get("levels", {})


class _Rows:
    """What the trace renderer needs: the world, the frames, the violations."""

    def __init__(self, world):
        self.world = world
        self.frames = []
        self.violations = []


class SchedulerGame:
    """The learner is the scheduler: enabled() lists who can run, step(name) runs one step,
    undo() takes it back, won tells whether the goal is reached."""

    def __init__(self, config=None, era: str = "2.6.18", mutant=None, bug=None,
                 goal: str | None = None, level: str | None = None):
        self.level = levels()[level] if level else {}
        config = config or self.level.get("config")
        mutant = mutant or self.level.get("mutant")
        bug = bug or self.level.get("bug")
        era = self.level.get("era", era)
        if bug:
            era = bugs()[bug].get("era", era)
        self.goal = goal or self.level.get("goal") or ("violation" if mutant or bug else "wait")
        if self.goal not in GOALS:
            raise ValueError(f"unknown goal {self.goal!r}; choose one of {', '.join(GOALS)}")
        self.w = World(config, era=era, mutant=mutant, bug=bug, symmetry=False)
        self.config = self.w.name
        self.era, self.mutant, self.bug = era, mutant, bug
        self.history = [self.w.init]           # states (World ids), the current one last
        self.schedule: list = []               # thread names, in order
        self.rows = _Rows(self.w)
        k, paths = self._live()
        self.rows.frames.append(frame(self.w, k, paths, None, None, []))
        self.counters = [self.w.machine.k.counters.copy()]

    # -- the state -------------------------------------------------------------------------
    def _live(self, state=None):
        k, paths, *_ = self.w.live(state or self.history[-1], self.w.R)
        return k, paths

    @property
    def threads(self) -> list:
        return list(self.w.names)

    def enabled(self) -> list:
        """[(thread, kernel function)] of every thread whose next step can run now."""
        out = []
        for i, name in enumerate(self.w.names):
            k, paths = self._live()
            if paths[i].pc == DONE:
                continue
            label = inv.step_name(paths[i])
            try:
                r = getattr(paths[i], paths[i].pc)(k)
            except Exception:
                r = None                       # it runs (and breaks something): enabled
            self.w.R.reset()
            if r is not BLOCKED:
                out.append((name, label))
        return out

    def sleeping(self) -> list:
        """[(thread, kernel function)] of unfinished threads that would sleep."""
        can = {n for n, _ in self.enabled()}
        k, paths = self._live()
        return [(n, inv.step_name(p)) for n, p in zip(self.w.names, paths)
                if p.pc != DONE and n not in can]

    def finished(self) -> list:
        k, paths = self._live()
        return [n for n, p in zip(self.w.names, paths) if p.pc == DONE]

    # -- moves ---------------------------------------------------------------------------
    def step(self, name: str) -> dict:
        """Run thread name's next step; returns its row (problems included)."""
        if self.rows.violations:
            raise RuntimeError("an invariant is already broken: undo() first")
        w = self.w
        i = w.names.index(name)
        state = self.history[-1]
        k, paths, shadow, wbits, lost = w.live(state, w.R)
        k.counters = self.counters[-1].copy()
        label = inv.step_name(paths[i])
        out = w.run_step(k, paths, i, shadow, wbits, lost, w.K[state[0]])
        if out is BLOCKED:
            raise ValueError(f"{name} cannot run: it sleeps at {label}")
        probs, kern = list(out[0]), out[1]
        counters = k.counters.copy()
        if kern is not None:
            w.R.sync(kern)
            probs += w.problems(k, paths, shadow)
            nstate, _ = w.canonical(w.kid(kern), w.gid(w.freeze_ghost(shadow, wbits, lost)),
                                    [w.capture_thread(p) for p in paths])
            if nstate in self.history:
                j = self.history.index(nstate)
                if all(s == name for s in self.schedule[j:]):
                    probs.append(f"liveness: {name} is back in the state it was in "
                                 f"{len(self.schedule) + 1 - j} steps ago, without progress "
                                 f"(busy polling)")
        else:
            nstate = state
        if kern is not None:
            row = frame(w, k, paths, name, label, probs)
        else:                      # the step died in a BUG: the state before it, and the BUG
            row = dict(self.rows.frames[-1], actor=name, function=label, problems=probs)
        self.history.append(nstate)
        self.counters.append(counters)
        self.schedule.append(name)
        self.rows.frames.append(row)
        self.rows.violations = [w.pretty(p) for p in probs]
        self._goal_k = k if kern is not None else None
        return row

    def undo(self) -> None:
        """Take the last step back."""
        if len(self.history) == 1:
            raise IndexError("nothing to undo")
        self.history.pop()
        self.counters.pop()
        self.schedule.pop()
        self.rows.frames.pop()
        self.rows.violations = list(self.rows.frames[-1]["problems"])

    def reset(self) -> None:
        while len(self.history) > 1:
            self.undo()

    # -- the goal ------------------------------------------------------------------------
    @property
    def goal_text(self) -> str:
        return GOALS[self.goal][0]

    @property
    def won(self) -> bool:
        """Is the goal reached in the current state?"""
        if self.goal == "violation":
            return bool(self.rows.violations)
        k, paths = self._live()
        k.counters = self.counters[-1]
        return bool(GOALS[self.goal][1](k, paths))

    def solution(self) -> list:
        """A shortest schedule to the goal, found by the explorer (for the instructor)."""
        from .explore import Explorer
        from collections import deque
        w = World(self.w.source, era=self.era, mutant=self.mutant, bug=self.bug, symmetry=False)
        if self.goal == "violation":
            ex = Explorer(w)
            r = ex.bfs()
            return [s["thread"] for s in r.trace]
        # BFS for a state where the goal holds (g.won), replaying names for the counters
        start = ()
        queue, seen = deque([start]), {w.init}
        while queue:
            sched = queue.popleft()
            g = SchedulerGame(self.w.source, era=self.era, mutant=self.mutant, bug=self.bug,
                              goal=self.goal)
            for n in sched:
                g.step(n)
            if g.won:
                return list(sched)
            for n, _ in g.enabled():
                g.step(n)
                if g.history[-1] not in seen and not g.rows.violations:
                    seen.add(g.history[-1])
                    queue.append(sched + (n,))
                g.undo()
        return []

    # -- pictures ------------------------------------------------------------------------
    def text(self) -> str:
        head = [f"goal: {self.goal_text}" + ("  -- REACHED" if self.won else "")]
        if self.level:
            head.insert(0, f"level: {self.level.get('title', '')}")
        can = ", ".join(f"{n} ({f})" for n, f in self.enabled()) or "nobody"
        return "\n".join(head + [trace_text(self.rows), f"can run now: {can}"])

    def html(self) -> str:
        return trace_html(self.rows)

    def __str__(self):
        return self.text()

    def widget(self):
        """An ipywidgets front end: one button per thread (disabled while it sleeps),
        undo and reset, the goal, and the table of the schedule so far."""
        import ipywidgets as W
        from IPython.display import HTML, display
        out = W.Output()
        status = W.HTML()
        buttons = {n: W.Button(description=n, tooltip=f"run {n}'s next step")
                   for n in self.w.names}
        undo, reset = W.Button(description="undo"), W.Button(description="reset")

        def refresh():
            can = dict(self.enabled())
            for n, b in buttons.items():
                b.disabled = n not in can or bool(self.rows.violations)
                b.description = f"{n}: {can[n]}" if n in can else f"{n} (sleeps)" \
                    if n not in self.finished() else f"{n} (done)"
                b.layout.width = "auto"
            undo.disabled = reset.disabled = len(self.history) == 1
            won = self.won
            status.value = (f"<b>Goal:</b> {self.goal_text} &mdash; "
                            + ("<b style='color:#070'>reached!</b>" if won else "not yet")
                            + (f"<br><i>{self.level.get('lesson', '')}</i>" if won and self.level else ""))
            out.clear_output()
            with out:
                display(HTML(self.html()))

        def run(name):
            def go(_):
                self.step(name)
                refresh()
            return go

        for n, b in buttons.items():
            b.on_click(run(n))
        undo.on_click(lambda _: (self.undo(), refresh()))
        reset.on_click(lambda _: (self.reset(), refresh()))
        intro = W.HTML(f"<p>{self.level.get('intro', '')}</p>" if self.level else "")
        refresh()
        return W.VBox([intro, status, W.HBox(list(buttons.values()) + [undo, reset]), out])


def play(level: str):
    """The widget of a level (in Jupyter)."""
    return SchedulerGame(level=level).widget()


__all__ = ["SchedulerGame", "GOALS", "levels", "play", "mutants", "bugs"]
