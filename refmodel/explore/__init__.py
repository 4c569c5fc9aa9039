"""The interleaving explorer: every schedule of a small configuration, on the real model.

A configuration (data/explore_configs.json) is a scenario (docs/scenarios.md): its steps set
up processes and pages through the façade, and its start steps name a few threads -- faults,
move_pages, fork, munmap, mprotect, exit -- each one a kernel path of the model
(sched.KernelPath) that stops where the kernel takes, drops or sleeps on a lock.  The
explorer runs a breadth-first search over the states those threads can reach:

    state = (kernel capture, each thread's locals, the shadow contents)

as interned ids, with a visited set and parent pointers, so that the first violation it
meets has a shortest schedule.  A step is computed by restoring the live kernel from its
capture (snapshot.Restorer rebuilds only what differs), running the real step method and
capturing again; since a step reads only the kernel and its own thread's locals, its effect
is cached by (kernel, shadow, thread, position).  Identical threads are reduced by symmetry;
busy polling shows up as a cycle of one thread's steps; a state in which every unfinished
thread sleeps is a deadlock.  Invariants: invariants.py.

The package, along the model/checker line: world.py (a configuration's states and steps),
search.py (one search loop, four modes), properties.py (what is checked, by name),
replay.py, result.py (the tables), mutants.py, __main__.py (the CLI).

    >>> from refmodel import explore
    >>> r = explore("writer")                       # the 2.6.18 model: nothing breaks
    >>> r.violations, r.exhaustive, r.states > 100
    ([], True, True)
    >>> r = explore(mutant="unlock-before-remove")  # remove a step: a shortest counterexample
    >>> r.violations[0]
    'P:a: migration entry for page 1, which is not locked'
    >>> r.steps()
    ['mig', 'mig', 'mig', 'mig', 'mig', 'mig', 'mig']
    >>> rep = explore.replay("canonical", r.steps(), mutant="unlock-before-remove")
    >>> rep.violations == r.violations               # the schedule runs again, same verdict
    True
    >>> explore(bug="anon-vma-head").violations[0][:40]
    'C:a holds a migration entry for page 1 i'

print(r.render()) draws the counterexample one row per step (r.render(html=True) in HTML).

CLI: python -m refmodel.explore CONFIG [--era ERA] [--mutant M] [--bug B] [-s SEED] [--json]
     [--list] [--mode bfs|bounded|random] [--bound N] [--no-symmetry] [--por] [--html]
"""

import random

from ..check import InvariantError  # noqa: F401  (re-exported for users of explore)
from ..sched import BLOCKED  # noqa: F401  (re-exported: what a step returns when it sleeps)
from .properties import PROPERTIES
from .replay import Replay, replay
from .result import Result
from .search import Explorer
from .world import World, bugs, configs, dead_locals, load_data, mutants, view_path

MODES = ("bfs", "bounded", "random")


def explore(config=None, era: str = "2.6.18", mutant: str | None = None, bug: str | None = None,
            mode: str = "bfs", seed: int | None = None, symmetry: bool = True, por: bool = False,
            view: bool = True, bound: int = 2, progress: bool = False, walks: int = 2000,
            **overrides) -> Result:
    """Explore every schedule of config (a name from data/explore_configs.json, or a dict
    with the same shape: {"steps": [...]} in the scenario language).

    era: the kernel (see eras.ERAS); mutant: a step removed (see mutants()); bug: a
    historical bug, run in its own configuration and era; mode: "bfs" (exhaustive, shortest
    counterexample), "bounded" (at most `bound` preemptions) or "random" (seeded walks, NOT
    exhaustive); symmetry: sort identical threads; por: sleep sets (fewer transitions, the
    same states and verdicts -- tests/explorer checks that); view: leave out locals that are
    dead at a thread's next step (dead_locals; the same verdicts, far fewer states).
    Returns a Result with states, transitions, seconds, violations and trace.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if config is None and mutant is None and bug is None:
        raise ValueError("explore() needs a configuration, a mutant or a bug")
    if bug is not None:
        era = bugs()[bug].get("era", era)
    w = World(config, era=era, mutant=mutant, bug=bug, symmetry=symmetry, view=view, **overrides)
    ex = Explorer(w, progress=progress)
    if mode == "random":
        if seed is None:
            seed = random.randrange(1 << 32)
        return ex.random_walks(seed, walks=walks)
    if mode == "bounded":
        return ex.bounded(bound)
    return ex.bfs_por() if por else ex.bfs()


# refmodel.explore (the attribute of the refmodel package) is the function above, with the
# rest of the API on it (explore.replay, explore.configs, ...); refmodel/__init__.py binds it
# after importing this package, whose module stays in sys.modules for `from refmodel.explore
# import World` and `python -m refmodel.explore` (__main__.py).
API = ("replay", "configs", "mutants", "bugs", "load_data", "World", "Explorer", "Result",
       "Replay", "view_path", "dead_locals", "MODES", "PROPERTIES")
for _name in API:
    setattr(explore, _name, globals()[_name])

__all__ = ["explore", "InvariantError", "BLOCKED", "replay", "configs", "mutants", "bugs",
           "load_data", "World", "Explorer", "Result", "Replay", "view_path", "dead_locals",
           "MODES", "PROPERTIES"]
