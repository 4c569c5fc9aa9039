"""The explorer's search: one loop over the states of a World, in four modes.

Instruments (the checker half of the explorer).  Explorer.search is the loop: take a node
from the frontier, compute every thread's successor (a real step of the model, cached),
let the mode choose which transitions to take, and check each new state.  The modes differ
only in what a node is and which transitions they take:

    bfs       every transition; the first violation has a shortest schedule (exhaustive)
    por       bfs with sleep sets: a transition that commutes with one already taken is
              skipped (the same states and verdicts, fewer transitions; exhaustive)
    bounded   schedules with at most `bound` preemptions (NOT exhaustive)
    random    seeded random walks from the start (NOT exhaustive)
"""

import random
import sys
import time
from collections import deque
from functools import partial
from itertools import repeat

from ..sched import BLOCKED
from ..snapshot import Restorer, restore_path
from . import properties as props
from .result import Result
from .world import World


_NO_TAGS = repeat(None)


class BFS:
    """Every transition of every state; a node is a state.

    A mode says what a node is (by_state: the state itself; else state() and child()),
    which transitions to take from a node (choose), whether a step back to a state already
    seen closes a cycle of one thread (spins_back), and what to do when a transition meets
    a node again (revisit), makes a new one (new) or when a node is done (after); the hooks
    a mode does not need are None, so the loop skips them."""
    name, exhaustive, by_state = "bfs", True, True
    revisit = new = after = None

    def __init__(self, ex):
        self.ex = ex

    def root(self, init):
        return init

    def expands(self, node) -> bool:
        return True

    choose = None                # take every transition (the loop zips them without a call)

    # spins_back(parent, node, i, nstate): did thread i alone lead from nstate to this
    # state (its step closes a cycle)?  Asked only when nstate was seen before.
    spins_back = staticmethod(props.spins)


class POR(BFS):
    """Sleep sets: after taking thread i then j from a state, the successor via j need not
    try i again if i and j commute there -- both orders reach the same state and neither
    step breaks anything.  Every state is still visited (a state met again with a smaller
    sleep set is expanded again for the steps now awake)."""

    def __init__(self, ex):
        super().__init__(ex)
        self.sleep, self.expanded = {}, {}       # state -> sleeping / already tried positions
        self.revisit, self.new, self.after = self._revisit, self._new, self._after

    def root(self, init):
        self.sleep[init] = frozenset()
        return init

    def choose(self, node, s, outs) -> list:
        z, done_before, tried, out_ = self.sleep[s], self.expanded.get(s, frozenset()), [], []
        for i, out in outs.items():
            if i in z or i in done_before:
                tried.append(i)
                continue
            nz = frozenset() if out[1] is not None else frozenset(
                j for j in (set(z) | set(tried)) if j in outs and self.ex.commute(s, i, j, outs))
            tried.append(i)
            out_.append((i, out, nz))
        return out_

    def _revisit(self, node, nnode, nz, frontier):
        old = self.sleep[nnode]
        if not old <= nz:
            self.sleep[nnode] = old & nz          # wake the steps it slept before
            frontier.append(nnode)

    def _new(self, nnode, nz):
        self.sleep[nnode] = nz

    def _after(self, node, s, outs, took, frontier, parent):
        self.expanded[s] = frozenset(i for i in outs if i not in self.sleep[s])


class Bounded(BFS):
    """Schedules with at most `bound` preemptions (switching away from a thread that could
    have gone on); a node is (state, last actor's position, preemptions so far)."""
    name, exhaustive, by_state = "bounded", False, False
    spins_back = None

    def __init__(self, ex, bound: int):
        super().__init__(ex)
        self.bound = bound

    def root(self, init):
        return (init, -1, 0)

    def state(self, node):
        return node[0]

    def choose(self, node, s, outs) -> list:
        _, last, used = node
        out_ = []
        for i, out in outs.items():
            cost = used + (1 if last >= 0 and i != last and last in outs else 0)
            if cost <= self.bound:
                out_.append((i, out, cost))
        return out_

    def child(self, node, i, out, cost):
        nstate, perm, _ = out
        return (nstate, perm.index(i) if perm else i, cost)


class Random(BFS):
    """Seeded random walks of at most `depth` steps from the start; a node is (walk, step,
    state).  Each step runs a thread chosen at random among those that can run."""
    name, exhaustive, by_state = "random", False, False

    def __init__(self, ex, seed: int, walks: int, depth: int):
        super().__init__(ex)
        self.rng, self.walks, self.depth = random.Random(seed), walks, depth
        self.after = self._after

    def root(self, init):
        self.init = init
        return (0, 0, init)

    def state(self, node):
        return node[2]

    def expands(self, node) -> bool:
        return node[1] < self.depth

    def choose(self, node, s, outs) -> list:
        choices = [i for i in range(len(self.ex.w.tids)) if not self.ex.w.done(s, i)]
        self.rng.shuffle(choices)
        i = next(i for i in choices if i in outs)
        return [(i, outs[i], None)]

    def spins_back(self, parent, node, i, nstate) -> bool:
        """This thread undoing its own last step (the walk's previous transition)."""
        link = parent.get(node)
        return link is not None and self.state(link[0]) == nstate and link[1] == i

    def child(self, node, i, out, tag):
        return (node[0], node[1] + 1, out[0])

    def _after(self, node, s, outs, took, frontier, parent):
        if not took and node[0] + 1 < self.walks:          # this walk is over: the next
            root = (node[0] + 1, 0, self.init)
            parent[root] = None
            frontier.append(root)


class Explorer:
    """The search over one World (bfs, por, bounded or random: Explorer.search)."""

    def __init__(self, world: World, progress: bool = False, max_states: int = 2_000_000):
        self.w = world
        self.progress = progress
        self.max_states = max_states
        self.tcache: dict = {}          # (kernel, ghost, thread, position) -> effect of its step
        self.fcache: dict = {}          # (kernel, thread, position) -> the thread's facts
        self.ccache: dict = {}          # (kernel, ghost, ids of the facts) -> the problems
        # check_state(state): the invariants property in a state (properties.state_problems)
        self.check_state = partial(props.state_problems, self)

    # -- one transition ------------------------------------------------------------------------
    def successor(self, state, i):
        """(next state, perm, problems) for thread i's step, or BLOCKED.

        A step reads only the kernel and the thread's own locals, so its effect is a
        function of (kernel, shadow, the thread's locals, its position): computed once by
        running the real step, then looked up (most states differ from others only in the
        locals of threads that are not moving)."""
        key = (state[0], state[1], state[2 + i], i)
        hit = self.tcache.get(key)
        if hit is None:
            hit = self.tcache[key] = self._run(*key)
        if hit is BLOCKED:
            return BLOCKED
        nk, nthread, ngid, problems = hit
        if nk is None:
            return None, None, problems
        if not self.w.groups:                        # no symmetry to apply: build it directly
            return (nk, ngid) + state[2:2 + i] + (nthread,) + state[3 + i:], None, problems
        threads = list(state[2:])
        threads[i] = nthread
        nstate, perm = self.w.canonical(nk, ngid, threads)
        return nstate, perm, problems

    def _run(self, kid, gid, tid, i):
        """Run the real step: (kernel after, thread after, ghost after, problems) or BLOCKED."""
        w = self.w
        kern = w.K[kid]
        k = w.R.restore(kern)
        p = restore_path(w.T[tid], w.tids[i])
        paths = _Lazy(len(w.tids), i, p)
        ghost = w.G[gid]
        shadow, wbits, lost = w.thaw_ghost(ghost)
        out = w.run_step(k, paths, i, shadow, wbits, lost, kern)
        if out is BLOCKED:
            return BLOCKED
        problems, nkern = out
        if nkern is None:                            # a BUG left the kernel half-changed
            return None, None, None, tuple(problems)
        nkid = w.kid(nkern, kern)
        w.R.sync(w.K[nkid])                          # the interned parts: identity tests hit
        ng = w.freeze_ghost(shadow, wbits, lost)
        return nkid, w.capture_thread(p), (gid if ng == ghost else w.gid(ng)), tuple(problems)

    def commute(self, s, i, j, outs) -> bool:
        """Do thread i's and thread j's steps commute at s, with no problem on either path?"""
        a, b = outs[i], outs[j]
        if a[1] is not None or b[1] is not None or a[2] or b[2] or a[0] is None or b[0] is None:
            return False
        ab = self.successor(a[0], j)
        ba = self.successor(b[0], i)
        if ab is BLOCKED or ba is BLOCKED:
            return False
        return ab[1] is None and ba[1] is None and not ab[2] and not ba[2] and ab[0] == ba[0]

    # -- the loop -----------------------------------------------------------------------------
    def search(self, mode) -> Result:
        """Run the search in mode (BFS, POR, Bounded or Random); stop at the first violation."""
        w = self.w
        res = Result(w, mode.name)
        t0 = time.perf_counter()
        init = mode.root(w.init)
        parent = {init: None}                # node -> (parent node, thread position)
        states = parent if mode.by_state else {w.init}      # the states seen
        found = None
        problems = self.check_state(w.init)
        if problems:
            found = (init, None, problems, "safety")
        n, Tdone = len(w.tids), w.Tdone
        frontier = deque([init])
        transitions, next_report = 0, 50_000
        successor, check_state = self.successor, self.check_state
        by_state, expands, choose = mode.by_state, mode.expands, mode.choose
        spins_back, revisit, new, after = mode.spins_back, mode.revisit, mode.new, mode.after
        while frontier and found is None:
            node = frontier.popleft()
            s = node if by_state else mode.state(node)
            outs, unfinished, took = {}, False, False
            if by_state or expands(node):
                for i in range(n):
                    if not Tdone[s[2 + i]]:
                        unfinished = True
                        out = successor(s, i)
                        if out is not BLOCKED:
                            outs[i] = out
            if not outs and unfinished:
                found = (node, None, [props.deadlock(w, s)], "deadlock")
                break
            for i, out, tag in (zip(outs, outs.values(), _NO_TAGS) if choose is None else
                                choose(node, s, outs)) if outs else ():
                transitions += 1
                nstate, perm, tprob = out
                if tprob:
                    found = (node, i, tprob, props.kind_of(tprob))
                    break
                seen = nstate in states
                if nstate == s or seen and spins_back is not None and \
                        spins_back(parent, node, i, nstate):
                    found = (node, i, [props.spin_message(w, s, i)], "liveness")
                    break
                if by_state:
                    nnode = nstate
                    if seen:
                        if revisit is not None:
                            revisit(node, nnode, tag, frontier)
                        continue
                else:
                    nnode = mode.child(node, i, out, tag)
                    if nnode in parent:
                        if revisit is not None:
                            revisit(node, nnode, tag, frontier)
                        continue
                parent[nnode] = (node, i)
                if new is not None:
                    new(nnode, tag)
                took = True
                if not seen:
                    if not by_state:
                        states.add(nstate)
                    problems = check_state(nstate)
                    if problems:
                        found = (nnode, None, problems, "safety")
                        break
                frontier.append(nnode)
                if len(states) >= next_report:
                    next_report += 50_000
                    if self.progress:
                        print(f"  .. {len(states):,} states, {transitions:,} transitions, "
                              f"{time.perf_counter() - t0:.1f} s, frontier {len(frontier):,}",
                              file=sys.stderr, flush=True)
                    if len(states) >= self.max_states:
                        raise RuntimeError(f"more than {self.max_states:,} states: use "
                                           f"mode='random' or 'bounded' for a configuration this big")
            if after is not None:
                after(node, s, outs, took, frontier, parent)
        res.seconds = time.perf_counter() - t0
        res.states, res.transitions = len(states), transitions
        if found is not None:
            node, i, probs, kind = found
            res.violations, res.kind = [w.pretty(p) for p in probs], kind
            positions = _path(parent, node) + ([(node, i)] if i is not None else [])
            res.trace = name_trace(w, [pos for _, pos in positions])
        return res

    def bfs(self) -> Result:
        """Exhaustive breadth-first search: the first violation has a shortest schedule."""
        return self.search(BFS(self))

    def bfs_por(self) -> Result:
        """Exhaustive search with sleep sets (partial-order reduction of transitions)."""
        res = self.search(POR(self))
        res.por = True
        return res

    def bounded(self, bound: int) -> Result:
        """Schedules with at most `bound` preemptions.  NOT exhaustive."""
        return self.search(Bounded(self, bound))

    def random_walks(self, seed: int, walks: int = 2000, depth: int = 200) -> Result:
        """Seeded random schedules (NOT exhaustive): stop at the first violation."""
        res = self.search(Random(self, seed, walks, depth))
        res.seed = seed
        return res


def _path(parent, node) -> list:
    """The (node, position) transitions from the root to node."""
    out = []
    while parent[node] is not None:
        node, i = parent[node]
        out.append((node, i))
    out.reverse()
    return out


def name_trace(w, positions) -> list:
    """Canonical thread positions -> [{thread, step}], by replaying from the start with the
    real (unsorted) threads, following the symmetry permutations."""
    R = Restorer(w.machine.era, w.nodes, w.ppn)
    k, paths, shadow, wbits, lost = w.live(w.init, R)
    kern = w.K[w.init[0]]
    order = list(w.init_perm or range(len(paths)))   # canonical position -> live index
    steps = []
    for pos in positions:
        i = order[pos]
        p = paths[i]
        steps.append({"thread": w.names[i], "step": w.label(p)})
        out = w.run_step(k, paths, i, shadow, wbits, lost, kern)
        if out is BLOCKED:
            raise RuntimeError("the trace does not replay: a step sleeps")
        kern = out[1]
        if kern is None:
            break
        R.sync(kern)
        _, perm = w.canonical(w.kid(kern), 0, [w.capture_thread(q) for q in paths])
        order = list(perm) if perm is not None else list(range(len(paths)))
    return steps


class _Lazy(list):
    """The thread list of a state with only the acting thread restored: a step reads no
    other thread's locals."""

    def __init__(self, n, i, p):
        super().__init__([None] * n)
        self[i] = p
