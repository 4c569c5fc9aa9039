"""Suspendable kernel paths: a path runs as a series of steps, split exactly where the real
code takes, drops or sleeps on a lock that is held across other CPUs' work (page lock,
mmap_sem, anon_vma lock, i_mmap_lock).  Critical sections under a spinlock are one step.

A path is a small object: its program counter (the name of its next step method) and its
locals (ints and tuples only, in __slots__), so that the explorer can snapshot and hash it.
The façade simply drives each path to completion; the explorer interleaves several.

Each step method declares its facts on itself with @step (as Hypothesis' @rule does); the
instruments -- the explorer, the invariant checker, the trace renderer, the scheduler game --
read them through facts(path), never through tables keyed by step names:

    sleeps_on  what the step may sleep on: "mmap_sem", "page_lock", "rmap_lock" (the
               anon_vma lock or i_mmap_lock), or None if it never sleeps
    page       the local naming the page the step sleeps on (or copies from) while it holds
               a reference to it; doing says how, in words ("sleeps in lock_page on")
    holds      locals naming pages the path holds a reference to while this is its next
               step (an int is one pfn; a list or tuple, one reference per pfn in it)
    dead       locals whose values are dead while this is the next step: no later step reads
               them before writing them again (the explorer leaves them out of the state)
    runs       the local holding a sub-path that this step drives (sched.run runs it directly)
    walk       "unmap" or "remove": the step visits one vma of migration's rmap walk
    effect     what the step may do to the memory a process sees, for the oracle:
               "access" (a user access may complete), "copies_ptes" (fork copies one vma's
               ptes into the child), "changes_mm" (munmap, mprotect or exit does its work)

A path's facts when it has finished are its class's at_done; locals that record history
only (a fault counter) are its class's history, never part of a state.
"""

from typing import NamedTuple

from .swapops import BUG

DONE = "done"
BLOCKED = "blocked"      # a step returns this when it must sleep: it changed nothing


class Deadlock(RuntimeError):
    """A path would sleep forever: nothing else can run to wake it (façade mode)."""


class StepFacts(NamedTuple):
    """What a step declares about itself (see the module docstring)."""
    sleeps_on: str | None = None
    page: str | None = None
    doing: str = ""
    holds: tuple = ()
    dead: tuple = ()
    runs: str | None = None
    walk: str | None = None
    effect: str | None = None


SLEEPS_ON = (None, "mmap_sem", "page_lock", "rmap_lock")
WALKS = (None, "unmap", "remove")
EFFECTS = (None, "access", "copies_ptes", "changes_mm")


def step(**declared):
    """Decorator: the method is a step of its kernel path, with these facts."""
    f = StepFacts(**declared)
    if f.sleeps_on not in SLEEPS_ON or f.walk not in WALKS or f.effect not in EFFECTS:
        raise ValueError(f"unknown step fact in {declared}")
    if isinstance(f.holds, str) or isinstance(f.dead, str):
        raise ValueError("holds and dead are tuples of local names")

    def mark(method):
        method.step_facts = f
        return method
    return mark


_FACTS: dict = {}              # (class, pc) -> StepFacts


def facts(path, pc: str | None = None) -> StepFacts:
    """The facts of path's next step (or of step pc): declared by @step on the method, or
    inherited from the method it overrides; a finished path's are its class's at_done."""
    key = (type(path), path.pc if pc is None else pc)
    f = _FACTS.get(key)                      # (the instruments ask this for every step)
    return f if f is not None else step_facts(*key)


def step_facts(cls, pc: str) -> StepFacts:
    """The facts of step pc of kernel path class cls."""
    f = _FACTS.get((cls, pc))
    if f is None:
        f = _FACTS[(cls, pc)] = _declared(cls, pc)
    return f


def _declared(cls, pc: str) -> StepFacts:
    if pc == DONE:
        return cls.at_done
    for c in cls.__mro__:
        method = c.__dict__.get(pc)
        if method is not None and hasattr(method, "step_facts"):
            return method.step_facts
    raise TypeError(f"{cls.__name__}.{pc} is not a declared step: decorate it with @step(...)")


def chain(path) -> list:
    """The path and the sub-paths it is driving, outermost first."""
    out = [path]
    while True:
        runs = facts(path).runs
        if not runs:
            return out
        path = getattr(path, runs)
        if path is None:
            return out
        out.append(path)


def innermost(path):
    """The path whose step runs when path takes its next step (a sub-path's, if it drives one
    that has not finished)."""
    while True:
        runs = facts(path).runs
        sub = getattr(path, runs) if runs else None
        if sub is None or sub.pc == DONE:
            return path
        path = sub


class Livelock(RuntimeError):
    """A path ran more steps than the bound it was given without finishing: the model is
    going round in circles (say, a learner's function plugged in keeps a fault retrying)."""


# How many steps run() lets one path take.  The façade's default is practically unbounded;
# the exercises' case runner lowers it for a case (refmodel.exercises.step_bound), so that a
# function that makes the model loop is stopped at once and the loop is named.
step_limit = 100_000_000


def describe(path) -> str:
    """A path in words: its own what() if it has one (a user access says which), else repr."""
    what = getattr(path, "what", None)
    return what() if callable(what) else repr(path)


class KernelPath:
    """Base class: subclasses name their steps as methods and keep locals in __slots__."""

    __slots__ = ("tid", "pc", "result", "error")
    first = "start"
    at_done = StepFacts()          # the facts of a finished path
    history: tuple = ()            # locals that record history only (never part of a state)
    migrates: tuple = ()           # locals naming the pages the path is migrating (if any)

    def __init__(self, tid: int):
        self.tid = tid
        self.pc = self.first
        self.result = None
        self.error = None            # errno (positive) or a signal name, when it failed

    def step(self, k):
        """Run the next step; returns BLOCKED if it could not run yet."""
        return getattr(self, self.pc)(k)

    def held_refs(self) -> dict:
        """Page references the path holds before its next step (pfn -> count), as its
        step declares them (holds), with those of the sub-path it drives (runs)."""
        f = facts(self)
        refs: dict = {}
        for name in f.holds:
            v = getattr(self, name)
            for pfn in ((v,) if isinstance(v, int) else v):
                refs[pfn] = refs.get(pfn, 0) + 1
        if f.runs:
            sub = getattr(self, f.runs)
            if sub is not None:
                for pfn, n in sub.held_refs().items():
                    refs[pfn] = refs.get(pfn, 0) + n
        return refs

    def done(self, result=None):
        """Finish the path with a result."""
        self.pc = DONE
        self.result = result

    def fail(self, error):
        """Finish the path with an error (an errno or "SIGSEGV"/"SIGBUS")."""
        self.pc = DONE
        self.error = error

    @property
    def finished(self) -> bool:
        return self.pc == DONE

    def locals(self) -> tuple:
        """The path's own variables, for snapshots and pictures."""
        out = []
        for cls in type(self).__mro__:
            for s in getattr(cls, "__slots__", ()):
                out.append(getattr(self, s))
        return tuple(out)

    def snapshot(self) -> tuple:
        """The path's state as a hashable tuple (lists, dicts and sub-paths frozen)."""
        return (type(self).__name__, self.pc) + tuple(_freeze(v) for v in self.locals())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} tid={self.tid} at {self.pc}>"


def _freeze(v):
    """Lists and dicts become tuples; sub-paths become their snapshots."""
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted(v.items()))
    if isinstance(v, KernelPath):
        return v.snapshot()
    return v


def run(k, path: KernelPath, limit: int | None = None) -> KernelPath:
    """Drive a path to completion on an otherwise idle machine (the façade's scheduler);
    Livelock after limit steps (default: step_limit)."""
    limit = step_limit if limit is None else limit
    for _ in range(limit):
        pc = path.pc
        if pc == DONE:
            return path
        step_fn = getattr(path, pc)
        f = getattr(step_fn, "step_facts", None) or facts(path)   # (an override may not say)
        if f.runs:
            sub = getattr(path, f.runs)
            if sub is not None and sub.pc != DONE:
                run(k, sub, limit)      # nothing else runs here: drive the inner path directly
        if step_fn(k) is BLOCKED:
            raise Deadlock(f"{path!r} would sleep forever: nothing else is running")
    raise Livelock(f"{describe(path)} did not finish in {limit} steps: the model looped")


def run_sub(k, path, sub_attr: str = "sub"):
    """Step a sub-path held by path; returns BLOCKED, or None (its pc tells if it finished)."""
    sub = getattr(path, sub_attr)
    return getattr(sub, sub.pc)(k)


# -- Locks held across steps ---------------------------------------------------------

def down_read(sem, tid: int) -> bool:
    """Take an rwsem for read; False (and nothing taken) if a writer holds it."""
    if sem.writer is not None:
        return False
    sem.readers = sem.readers + (tid,)
    return True


def up_read(sem, tid: int) -> None:
    """Release a read hold."""
    readers = sem.readers
    if readers == (tid,):
        sem.readers = ()
        return
    if tid not in readers:
        raise BUG(f"up_read by task {tid} that does not hold it")
    r = list(readers)
    r.remove(tid)
    sem.readers = tuple(r)


def down_write(sem, tid: int) -> bool:
    """Take an rwsem for write; False if anyone holds it."""
    if sem.writer is not None or sem.readers:
        return False
    sem.writer = tid
    return True


def up_write(sem, tid: int) -> None:
    """Release the write hold."""
    if sem.writer != tid:
        raise BUG(f"up_write by task {tid} that does not hold it")
    sem.writer = None


def spin_trylock(obj, attr: str, tid: int) -> bool:
    """Take a spinlock held across steps (anon_vma->lock, i_mmap_lock); False if busy."""
    holder = getattr(obj, attr)
    if holder is not None:
        if holder == tid:
            raise BUG(f"task {tid} takes {attr} of {obj!r} twice: self-deadlock")
        return False
    setattr(obj, attr, tid)
    return True


def spin_unlock(obj, attr: str, tid: int) -> None:
    """Release a spinlock taken with spin_trylock."""
    if getattr(obj, attr) != tid:
        raise BUG(f"task {tid} releases {attr} of {obj!r} it does not hold")
    setattr(obj, attr, None)
