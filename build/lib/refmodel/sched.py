"""Suspendable kernel paths: a path runs as a series of steps, split exactly where the real
code takes, drops or sleeps on a lock that is held across other CPUs' work (page lock,
mmap_sem, anon_vma lock, i_mmap_lock).  Critical sections under a spinlock are one step.

A path is a small object: its program counter (the name of its next step method) and its
locals (ints and tuples only, in __slots__), so that the explorer can snapshot and hash it.
The façade simply drives each path to completion; the explorer interleaves several.
"""

from .swapops import BUG

DONE = "done"
BLOCKED = "blocked"      # a step returns this when it must sleep: it changed nothing


class Deadlock(RuntimeError):
    """A path would sleep forever: nothing else can run to wake it (façade mode)."""


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

    def __init__(self, tid: int):
        self.tid = tid
        self.pc = self.first
        self.result = None
        self.error = None            # errno (positive) or a signal name, when it failed

    def step(self, k):
        """Run the next step; returns BLOCKED if it could not run yet."""
        return getattr(self, self.pc)(k)

    def held_refs(self) -> dict:
        """Page references the path holds between steps (pfn -> count); none by default."""
        return {}

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
        sub = getattr(path, "sub", None)
        if sub is not None and pc == "migrate" and sub.pc != DONE:
            run(k, sub, limit)          # nothing else runs here: drive the inner path directly
            continue
        if getattr(path, pc)(k) is BLOCKED:
            raise Deadlock(f"{path!r} would sleep forever: nothing else is running")
    raise Livelock(f"{describe(path)} did not finish in {limit} steps: the model looped")


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
