"""The interleaving explorer: every schedule of a small configuration, on the real model.

A configuration (explore_configs.json) sets up processes and pages through the façade, then
names a few threads -- faults, move_pages, fork, munmap, mprotect, exit -- each one a kernel
path of the model (sched.KernelPath) that stops where the kernel takes, drops or sleeps on a
lock.  The explorer runs a breadth-first search over the states those threads can reach:

    state = (kernel capture, each thread's locals, the shadow contents)

as interned ids, with a visited set and parent pointers, so that the first violation it
meets has a shortest schedule.  A step is computed by restoring the live kernel from its
capture (snapshot.Restorer rebuilds only what differs), running the real step method and
capturing again; since a step reads only the kernel and its own thread's locals, its effect
is cached by (kernel, shadow, thread, position).  Identical threads are reduced by symmetry;
busy polling shows up as a cycle of one thread's steps; a state in which every unfinished
thread sleeps is a deadlock.  Invariants: invariants.py.

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

import json
import random
import sys
import types
import time
from collections import deque
from functools import lru_cache
from pathlib import Path

from . import invariants as inv
from .check import InvariantError  # noqa: F401  (re-exported for users of explore)
from .eras import ERAS
from .explore_mutants import CLASSES as MUTANT_CLASSES
from .fork import dup_mmap
from .machine import Machine, mm_write_op
from .memory import user_access
from .migrate import (MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, do_move_pages, isolate_lru_page,
                      migrate_pages)
from .mmap import (MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE,
                   do_munmap, exit_mmap)
from .mprotect import sys_mprotect
from .pgtable import PAGE_SHIFT, PAGE_SIZE, is_swap_pte, pte_pfn, pte_present, pte_write
from .sched import BLOCKED, DONE
from .snapshot import Restorer, capture, capture_path, restore_path
from .swapops import BUG, is_migration_entry, pte_to_swp_entry

DATA = Path(__file__).with_name("explore_configs.json")
TID_BASE = 101                 # task ids of the explored threads (pids stay small)
MODES = ("bfs", "bounded", "random")


@lru_cache(maxsize=1)
def load_data() -> dict:
    """The configurations, mutants and historical bugs (explore_configs.json)."""
    return json.loads(DATA.read_text())


def configs() -> dict:
    return load_data()["configs"]


def mutants() -> dict:
    return load_data()["mutants"]


def bugs() -> dict:
    return load_data()["bugs"]


def exit_mmap_op(k, mm):
    """exit(2) as an mm_write_op: the address space is torn down (exit_mmap)."""
    exit_mmap(k, mm)


_PATH_KINDS = {"user_access": user_access, "migrate_pages": migrate_pages, "dup_mmap": dup_mmap}


# -- dead locals -------------------------------------------------------------------------
# A value a path will overwrite before it reads it again cannot change the future, so two
# states that differ only in it are the same state (TLC's VIEW; dead-variable reduction).
# Which locals are dead at which step is read off the step methods; tests/explorer checks
# that every verdict is the same with view=False, and that steps commute with the view.
_WALK = ("walk", "walk_i", "walk_old", "walk_new", "walk_then")
_ZERO = {"pfn": 0, "orig_pte": 0, "entry": 0, "faults": 0, "walk": None, "walk_then": None,
         "walk_i": 0, "walk_old": 0, "walk_new": 0, "rc": 0, "newpfn": 0, "cur": 0,
         "moved": 0, "sub": None, "pm": (), "result": None, "error": None}


def dead_locals(cls, pc: str, top: bool) -> tuple:
    """Slots of a path of class cls whose values are dead when its next step is pc."""
    from .snapshot import _path_slots
    if pc == DONE and top:
        return tuple(s for s in _path_slots(cls) if s != "pc")   # a finished thread is over
    if issubclass(cls, user_access):
        if pc in ("access", "do_page_fault", DONE):
            return ("faults", "pfn", "orig_pte", "entry")
        if pc == "migration_entry_wait":
            return ("faults", "orig_pte", "entry")
        if pc == "do_wp_page_copy":
            return ("faults", "entry")
        return ("faults",)
    if issubclass(cls, do_move_pages):
        return ("sub", "pm", "result") if pc == "finish" else ()
    if issubclass(cls, mm_write_op):
        return ("result", "error") if pc == "finish" else ()
    if issubclass(cls, migrate_pages):                  # moved: a statistic, never read
        if pc in ("walk_lock", "walk_vma"):
            return ("moved",)
        dead = ("moved",) + (_WALK[1:] if pc == "after_unmap" else _WALK)
        if pc in ("start", "get_new_page", DONE):
            dead += ("rc", "newpfn", "cur")
        elif pc == "finish":
            dead += ("newpfn", "cur")
        return dead
    return ()


_VIEWS: dict = {}


def view_path(t: tuple, on: bool = True, top: bool = True) -> tuple:
    """A captured path with its dead locals set to their initial values (and its sub-path
    viewed too); the fault counter always goes."""
    from .snapshot import _P, _path_slots
    cls, pc = t[0], t[1]
    key = (cls, pc, top, on)
    idx = _VIEWS.get(key)
    if idx is None:
        slots = _path_slots(cls)
        dead = dead_locals(cls, pc, top) if on else (("faults",) if issubclass(cls, user_access) else ())
        idx = _VIEWS[key] = tuple((slots.index(s) + 1, _ZERO.get(s)) for s in dead)
    if not idx and not on:
        return t
    out = list(t)
    for j, zero in idx:
        out[j] = zero
    if on and pc != DONE or not top:
        for j, v in enumerate(out):
            if type(v) is _P:
                out[j] = _P(view_path(v, on, top=False))
    return tuple(out)


# -- building a configuration ------------------------------------------------------------

class World:
    """One configuration set up on the façade, with its threads ready to run.

    Everything the explorer, replay and the scheduler game share: how to take a step, how
    to capture and canonicalise a state, and what the invariants say about it.
    """

    def __init__(self, config, era: str = "2.6.18", mutant: str | None = None,
                 bug: str | None = None, symmetry: bool = True, view: bool = True, **overrides):
        self.bug = bug
        self.view = view
        self.mutant = mutant
        classes = {}
        era_overrides = {}
        if bug is not None:
            b = bugs()[bug]
            config = config or b["config"]
            era = b.get("era", era)
            era_overrides.update(b.get("era_overrides", {}))
            classes.update(b.get("classes", {}))
        if mutant is not None:
            mu = mutants()[mutant]
            config = config or mu["config"]
            era_overrides.update(mu.get("era_overrides", {}))
            classes.update(mu.get("classes", {}))
        era_overrides.update(overrides)
        self.era_overrides_user = dict(overrides)
        self.source = config                     # what replay() needs to build this world again
        if isinstance(config, str):
            self.name = config
            config = configs()[config]
        else:
            self.name = config.get("name", "custom")
        self.config = config
        self.era_name = era
        self.era_overrides = era_overrides
        # kernel class -> mutant class, for paths we build and paths the kernel builds
        self.subst = {_PATH_KINDS[base]: MUTANT_CLASSES[name] for base, name in classes.items()}
        m = self.machine = Machine(era=era, nodes=config.get("nodes", 2),
                                   pages_per_node=config.get("pages_per_node", 16),
                                   **era_overrides)
        self.procs, self.addrs = {}, {}
        for action in config["setup"]:
            self._setup(action)
        self.specs = config["threads"]
        self.names = [t["name"] for t in self.specs]
        self.tids = [TID_BASE + i for i in range(len(self.specs))]
        paths = [self._thread(t, tid) for t, tid in zip(self.specs, self.tids)]
        self.pins = dict(m.pins)
        shadow = {("p",) + key: data for key, data in m.shadow_private.items()}
        shadow.update({("s",) + key: data for key, data in m.shadow_shared.items()})
        self.mm_names = {pid: name for name, pid in self.procs.items()}
        # symmetry: threads with the same spec (all but the name) are interchangeable
        groups = {}
        for i, t in enumerate(self.specs):
            groups.setdefault(json.dumps({a: b for a, b in t.items() if a != "name"},
                                         sort_keys=True), []).append(i)
        self.groups = [g for g in groups.values() if len(g) > 1] if symmetry else []
        self.nodes, self.ppn = len(m.k.nodes), m.k.nodes[0].end_pfn - m.k.nodes[0].start_pfn
        self.R = Restorer(m.era, self.nodes, self.ppn)
        self._intern, self._renamed, self.kernel_cache, self._viewed = {}, {}, {}, {}
        self.K, self.Kid, self.T, self.Tid, self.Tdone, self.G, self.Gid = [], {}, [], {}, [], [], {}
        _normalise_free_lists(m.k)
        self.init, self.init_perm = self.canonical(
            self.kid(capture(m.k)), self.gid(self.freeze_ghost(shadow, set(), set())),
            [self.capture_thread(p) for p in paths])

    # -- setup actions (run on the façade, before exploring) --------------------------
    def _setup(self, action):
        m = self.machine
        verb, who = action[0], action[1]
        if verb == "spawn":
            opts = action[2] if len(action) > 2 else {}
            self.procs[who] = m.spawn(node=opts.get("node", 0),
                                      cap_sys_nice=opts.get("cap_sys_nice", False)).pid
        elif verb == "file":
            m.create_file(who, action[2].get("pages", 1), action[2].get("fs", "tmpfs"))
        elif verb == "mmap":
            proc, opts = self.proc(who), action[3] if len(action) > 3 else {}
            prot = _prot(opts.get("prot", "rw"))
            length = opts.get("pages", 1) * PAGE_SIZE
            if "file" in opts:
                flags = MAP_SHARED if opts.get("shared") else MAP_PRIVATE
                self.addrs[action[2]] = proc.mmap(None, length, prot, flags,
                                                  file=m.files[opts["file"]])
            else:
                flags = (MAP_SHARED if opts.get("shared") else MAP_PRIVATE) | MAP_ANONYMOUS
                self.addrs[action[2]] = proc.mmap(None, length, prot, flags)
        elif verb == "write":
            self.proc(who).write(self.addrs[action[2]], action[3].encode())
        elif verb == "read":
            self.proc(who).read(self.addrs[action[2]], action[3])
        elif verb == "fork":
            self.procs[action[2]] = self.proc(who).fork().pid
        elif verb == "pin":
            m.get_user_pages(self.proc(who), self.addrs[action[2]])
        else:
            raise ValueError(f"unknown setup action {verb!r}")

    def proc(self, name):
        return self.machine.processes[self.procs[name]]

    def _thread(self, t, tid):
        """The kernel path a thread spec describes, running as task tid."""
        m, kind = self.machine, t["kind"]
        cls = lambda base: self.subst.get(base, base)           # noqa: E731
        if kind == "fork":
            child = m._new_pid()
            proc = self.proc(t["proc"])
            m.k.node_of_pid[child] = proc.node
            from .machine import Process
            m.processes[child] = Process(m, child, proc.node, proc.cap_sys_nice)
            self.procs[t["child"]] = child
            return cls(dup_mmap)(tid, proc.pid, child)
        proc = self.proc(t["proc"])
        addr = self.addrs.get(t.get("addr"), 0) + t.get("offset", 0)
        if kind in ("write", "read"):
            write = kind == "write"
            return cls(user_access)(tid, proc.pid, addr, write, t.get("data", "").encode(),
                                    0 if write else t.get("length", 1), proc.node)
        if kind == "move_pages":
            flags = MPOL_MF_MOVE_ALL if t.get("flags", "MOVE") == "MOVE_ALL" else MPOL_MF_MOVE
            return do_move_pages(tid, proc.pid, [(addr, t["node"], 0)], flags == MPOL_MF_MOVE_ALL)
        if kind == "kernel_migrate":
            # A migration holding no mmap_sem (hot-remove style): isolate now, then migrate.
            page = m.k.pages[pte_pfn(proc.mm.pgtable[addr >> PAGE_SHIFT])]
            if isolate_lru_page(page) != 0:
                raise ValueError("kernel_migrate: the page is not on the LRU")
            return cls(migrate_pages)(tid, [page.pfn], ((page.pfn, t["node"]),))
        if kind == "munmap":
            return mm_write_op(tid, proc.pid, do_munmap, (addr, t.get("pages", 1) * PAGE_SIZE))
        if kind == "mprotect":
            return mm_write_op(tid, proc.pid, sys_mprotect,
                               (addr, t.get("pages", 1) * PAGE_SIZE, _prot(t.get("prot", "r"))))
        if kind == "exit":
            return mm_write_op(tid, proc.pid, exit_mmap_op, ())
        raise ValueError(f"unknown thread kind {kind!r}")

    # -- states ----------------------------------------------------------------------------
    # A state is a tuple of small ints: (kernel id, ghost id, thread id per position), each
    # id naming an interned capture (self.K, self.G, self.T).  Hashing a state is then cheap
    # however big the kernel is, and transitions can be cached by ids.
    def intern(self, t):
        return self._intern.setdefault(t, t)

    def kid(self, kern: tuple, like: tuple | None = None) -> int:
        """The id of a kernel capture (its parts are shared with every equal part seen).
        like: an interned capture it probably shares parts with (the state before a step):
        a part equal to like's is taken from it as it is."""
        it = self._intern
        parts = list(kern)
        for j in (0, 2, 4):                      # pages, mms, mappings: element by element
            if like is not None and parts[j] == like[j]:
                parts[j] = like[j]
            else:
                got = it.get(parts[j])
                parts[j] = got if got is not None else it.setdefault(
                    parts[j], tuple([it.setdefault(x, x) for x in parts[j]]))
        for j in (1, 3, 5, 6, 7):
            if like is not None and parts[j] == like[j]:
                parts[j] = like[j]
            else:
                parts[j] = it.setdefault(parts[j], parts[j])
        kern = tuple(parts)
        n = self.Kid.get(kern)
        if n is None:
            n = self.Kid[kern] = len(self.K)
            self.K.append(kern)
        return n

    def tid_of(self, t: tuple) -> int:
        n = self.Tid.get(t)
        if n is None:
            n = self.Tid[t] = len(self.T)
            self.T.append(t)
            self.Tdone.append(t[1] == DONE)
        return n

    def gid(self, g: tuple) -> int:
        n = self.Gid.get(g)
        if n is None:
            n = self.Gid[g] = len(self.G)
            self.G.append(g)
        return n

    def capture_thread(self, p) -> int:
        """A thread's locals as an id.  Values that are dead at the thread's pc (never read
        before they are written again: dead_locals) are left out, like the fault counter,
        which is history only -- a thread that faults again and again without progress
        must come back to the same state."""
        t = capture_path(p)
        n = self._viewed.get(t)
        if n is None:
            n = self._viewed[t] = self.tid_of(view_path(t, self.view))
        return n

    @staticmethod
    def freeze_ghost(shadow: dict, wbits: set, lost: set) -> tuple:
        return (tuple(sorted(shadow.items())), tuple(sorted(wbits)), tuple(sorted(lost)))

    @staticmethod
    def thaw_ghost(g: tuple):
        return dict(g[0]), set(g[1]), set(g[2])

    def canonical(self, kid: int, gid: int, threads):
        """(state, perm): identical threads sorted by their locals (their ids: a canonical
        order); perm[j] = the position the thread now at j came from.  Task ids stay with
        positions, so lock holders in the kernel are renamed to match."""
        perm = None
        for g in self.groups:
            order = sorted(g, key=threads.__getitem__)
            if order != g:
                if perm is None:
                    perm = list(range(len(threads)))
                for j, i in zip(g, order):
                    perm[j] = i
        if perm is None:
            return (kid, gid) + tuple(threads), None
        threads = tuple([threads[i] for i in perm])
        key = (kid, tuple(perm))
        nk = self._renamed.get(key)
        if nk is None:
            kern = self.K[kid]
            locks = kern[7]
            if locks[0] or locks[1] or locks[2]:
                rename = {self.tids[i]: self.tids[j] for j, i in enumerate(perm) if i != j}
                r = lambda t: rename.get(t, t)                    # noqa: E731
                locks = (tuple((mid, tuple(sorted(r(t) for t in rd)), r(w)) for mid, rd, w in locks[0]),
                         tuple((a, r(h)) for a, h in locks[1]), tuple((a, r(h)) for a, h in locks[2]))
                nk = self.kid(kern[:7] + (locks,))
            else:
                nk = kid
            self._renamed[key] = nk
        return (nk, gid) + threads, perm

    def done(self, state, i) -> bool:
        return self.Tdone[state[2 + i]]

    def thread(self, state, i):
        """A live copy of thread i of state."""
        return restore_path(self.T[state[2 + i]], self.tids[i])

    def live(self, state, restorer=None):
        """(kernel, paths, shadow, wbits, lost): a live copy of state."""
        R = restorer or Restorer(self.machine.era, self.nodes, self.ppn)
        k = R.restore(self.K[state[0]])
        paths = [restore_path(self.T[t], tid) for t, tid in zip(state[2:], self.tids)]
        return (k, paths, *self.thaw_ghost(self.G[state[1]]))

    # -- one step ------------------------------------------------------------------------------
    def run_step(self, k, paths, i, shadow, wbits, lost, pre):
        """Run thread i's next step on the live kernel, whose capture is pre.  Returns
        BLOCKED (nothing changed), or (problems the transition itself shows -- a BUG, a
        stale read, an extra fault --, the capture after the step, or None after a BUG);
        shadow, wbits and lost are updated in place."""
        p = paths[i]
        pc = p.pc
        iop = getattr(p, "i", None) if isinstance(p, dup_mmap) else None
        try:
            r = getattr(p, pc)(k)
        except BUG as e:
            self.R.reset()
            return [f"kernel BUG in {self.names[i]}'s {inv.step_name(p) if p.pc == pc else pc}: {e}"], None
        except (KeyError, AttributeError, IndexError) as e:
            self.R.reset()
            return [f"the kernel crashed in {self.names[i]}'s {pc}: {type(e).__name__} {e} "
                    f"(it used an object that no longer exists)"], None
        if r is BLOCKED:
            return BLOCKED
        sub = getattr(p, "sub", None)
        if sub is not None and type(sub) in self.subst:
            sub.__class__ = self.subst[type(sub)]
        problems = []
        # the shadow: writes land, fork copies, munmap and exit forget
        if isinstance(p, user_access):
            vpn = p.addr >> PAGE_SHIFT
            if pc == "access" and p.pc == "do_page_fault" and p.write and (p.mm, vpn) in lost:
                problems.append(f"{self.names[i]}'s write faults on {self.where(p.mm, vpn)}, "
                                f"which was writable before migration and came back read-only: "
                                f"the lost write bit costs an extra fault")
            if p.pc == DONE and p.error is None:
                off = p.addr & (PAGE_SIZE - 1)
                if p.write:
                    own, _ = inv.shadow_key(k, p.mm, vpn)
                    old = inv.expected(k, shadow, p.mm, vpn)
                    shadow[own] = old[:off] + p.data + old[off + len(p.data):]
                else:
                    exp = inv.expected(k, shadow, p.mm, vpn)[off:off + p.length]
                    if p.result != exp:
                        problems.append(f"{self.names[i]} read {p.result!r} at "
                                        f"{self.where(p.mm, vpn)}, expected {exp!r}: a stale read")
        elif isinstance(p, dup_mmap) and pc == "copy_page_range":
            vma = k.mms[p.oldmm].mmap[iop]
            for vpn in vma.pages():
                key = ("p", p.oldmm, vpn)
                if key in shadow:
                    shadow[("p", p.mm, vpn)] = shadow[key]
            wbits.difference_update({x for x in wbits if x[0] == p.oldmm})
        elif isinstance(p, mm_write_op) and pc == "work":
            if p.op is do_munmap:
                lo, hi = p.args[0] >> PAGE_SHIFT, (p.args[0] + p.args[1]) >> PAGE_SHIFT
                for key in [x for x in shadow if x[0] == "p" and x[1] == p.mm and lo <= x[2] < hi]:
                    del shadow[key]
            elif p.op is exit_mmap_op:
                for key in [x for x in shadow if x[0] == "p" and x[1] == p.mm]:
                    del shadow[key]
            wbits.difference_update({x for x in wbits if x[0] == p.mm})
        # the write bit across migration: which entries replaced writable ptes
        _normalise_free_lists(k)
        post = capture(k)
        if post[2] != pre[2]:
            self._write_bits(k, pre[2], post[2], wbits, lost)
        return problems, post

    @staticmethod
    def _write_bits(k, pre_mms, post_mms, wbits, lost):
        before = {t[0]: t for t in pre_mms}
        types = k.swp_types
        for t in post_mms:
            mm_id = t[0]
            a_t = before.get(mm_id)
            if a_t == t:
                continue
            old = dict(a_t[-1]) if a_t is not None else {}
            pt = dict(t[-1])
            if old == pt:
                continue
            for vpn in set(pt) | set(old):
                a, b = old.get(vpn, 0), pt.get(vpn, 0)
                if a == b:
                    continue
                key = (mm_id, vpn)
                a_entry = is_swap_pte(a) and is_migration_entry(pte_to_swp_entry(a), types)
                b_entry = is_swap_pte(b) and is_migration_entry(pte_to_swp_entry(b), types)
                if pte_present(a) and b_entry:
                    if pte_write(a):
                        wbits.add(key)
                elif a_entry and pte_present(b):
                    if key in wbits and not pte_write(b):
                        lost.add(key)
                    wbits.discard(key)
                else:
                    wbits.discard(key)
                    if not (pte_present(a) and pte_present(b) and pte_pfn(a) == pte_pfn(b)
                            and not pte_write(a) and not pte_write(b)):
                        lost.discard(key)

    def where(self, mm_id, vpn) -> str:
        """'P:a' for a page people know by name, else 'mm 3 at 0x...'."""
        proc = self.mm_names.get(mm_id, f"mm{mm_id}")
        for name, addr in self.addrs.items():
            if addr >> PAGE_SHIFT == vpn:
                return f"{proc}:{name}"
        return f"{proc}:{vpn << PAGE_SHIFT:#x}"

    def problems(self, k, paths, shadow) -> list:
        """Every invariant the live state breaks."""
        return inv.state_problems(k, paths, self.names, shadow, self.pins, self.where)

    def label(self, p) -> str:
        return inv.step_name(p)

    def pretty(self, msg: str) -> str:
        """Say 'C:a' where a message from check.py says 'mm 3: ... at 0x2aaa...'."""
        import re
        msg = re.sub(r"mm (\d+): (?:pte|migration entry) at (0x[0-9a-f]+)",
                     lambda m: f"{self.where(int(m.group(1)), int(m.group(2), 16) >> PAGE_SHIFT)}: "
                               f"{'migration entry' if 'migration' in m.group(0) else 'pte'}", msg)
        for mm_id, name in self.mm_names.items():
            msg = re.sub(rf"\bmm {mm_id}([:'])", rf"{name} (mm {mm_id})\1", msg)
        return msg


def _normalise_free_lists(k) -> None:
    """A node whose free list holds, at the bottom, the pfn just below next_unused hands out
    pages in the same order as one that never used that pfn: keep the second form, so that
    "allocated and freed again" and "never allocated" are one state (a canonical form, like
    symmetry; the allocation sequence -- free list popped from the top, then next_unused
    upwards -- is the same)."""
    for node in k.nodes:
        free = node.free
        while free and free[0] == node.next_unused - 1:
            free.pop(0)
            node.next_unused -= 1


def _prot(s: str) -> int:
    return ((PROT_READ if "r" in s else 0) | (PROT_WRITE if "w" in s else 0)
            | (PROT_EXEC if "x" in s else 0))


# -- results ---------------------------------------------------------------------------------

class Result:
    """What an exploration found: counts, time, the violations and the shortest trace."""

    def __init__(self, world, mode, seed=None):
        self.world = world
        self.config, self.era, self.mutant, self.bug = world.name, world.era_name, world.mutant, world.bug
        self.mode, self.seed = mode, seed
        self.exhaustive = mode == "bfs"
        self.states = self.transitions = 0
        self.seconds = 0.0
        self.violations: list = []
        self.trace: list = []              # [{"thread": name, "step": kernel function}]
        self.depth = 0
        self.kind = None                   # "safety", "liveness", "deadlock" or "bug"

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict:
        return {"config": self.config, "era": self.era, "mutant": self.mutant, "bug": self.bug,
                "mode": self.mode, "exhaustive": self.exhaustive, "seed": self.seed,
                "states": self.states, "transitions": self.transitions,
                "seconds": round(self.seconds, 4), "violations": self.violations,
                "kind": self.kind, "trace": self.trace}

    def steps(self) -> list:
        """The trace as thread names only: what replay() takes."""
        return [s["thread"] for s in self.trace]

    def render(self, html: bool = False) -> str:
        """The counterexample one row per step (text, or HTML)."""
        from .render.trace import trace_html, trace_text
        if not self.trace and not self.violations:
            return "no violation"
        rep = replay(self.world.source, self.steps(), era=self.era, mutant=self.mutant,
                     bug=self.bug, **self.world.era_overrides_user)
        return trace_html(rep) if html else trace_text(rep)

    def _repr_html_(self):
        if self.violations:
            return self.render(html=True)
        return f"<pre>{self.summary()}</pre>"

    def summary(self) -> str:
        label = "exhaustive" if self.exhaustive else "NOT exhaustive"
        head = (f"{self.config} era={self.era}" + (f" mutant={self.mutant}" if self.mutant else "")
                + (f" bug={self.bug}" if self.bug else ""))
        rate = self.states / self.seconds if self.seconds else 0
        lines = [f"{head}: {self.states} states, {self.transitions} transitions, "
                 f"{self.seconds:.3f} s ({rate:,.0f} states/s, {self.mode}, {label})"]
        if self.violations:
            lines.append(f"VIOLATION ({self.kind}) after {len(self.trace)} steps: {self.violations[0]}")
        else:
            lines.append("no violation" + ("" if self.exhaustive else " found (NOT exhaustive)"))
        return "\n".join(lines)

    def __repr__(self):
        return f"<explore {self.summary()}>"


# -- the search --------------------------------------------------------------------------------

class Explorer:
    """Breadth-first search (or bounded-preemption, or random walks) over one World."""

    def __init__(self, world: World, progress: bool = False, max_states: int = 2_000_000):
        self.w = world
        self.progress = progress
        self.max_states = max_states
        self.tcache: dict = {}          # (kernel, ghost, thread, position) -> effect of its step
        self.fcache: dict = {}          # (kernel, thread, position) -> the thread's facts
        self.ccache: dict = {}          # (kernel, ghost, ids of the facts) -> the problems

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

    def check_state(self, state) -> list:
        """The state's invariants, from cached per-thread facts and per-kernel checks."""
        w = self.w
        kid, gid = state[0], state[1]
        facts = []
        k = None
        finished = True
        fcache = self.fcache
        for i, t in enumerate(state[2:]):
            f = fcache.get((t, i))                      # facts that need no kernel
            if f is None:
                f = fcache.get((kid, t, i))
                if f is None:
                    if k is None:
                        k = w.R.restore(w.K[kid])
                    p = restore_path(w.T[t], w.tids[i])
                    f = inv.thread_facts(k, p, w.names[i], w.where)
                    f = self.ccache.setdefault(("facts", f), f)   # equal facts: one object
                    fcache[(kid, t, i) if inv.needs_kernel(p) else (t, i)] = f
            facts.append(f)
            finished = finished and w.Tdone[t]
        key = (kid, gid, finished) + tuple(map(id, facts))   # facts live on in fcache
        out = self.ccache.get(key)
        if out is None:
            live = lambda: w.R.restore(w.K[kid])         # noqa: E731  (only on a miss)
            out = self.ccache[key] = inv.combine(live, facts, dict(w.G[gid][0]), w.pins,
                                                 w.where, finished, memo=w.kernel_cache,
                                                 kern=kid, shadow_t=gid)
        return out

    def bfs(self) -> Result:
        """Exhaustive breadth-first search: the first violation has a shortest schedule."""
        w = self.w
        res = Result(w, "bfs")
        t0 = time.perf_counter()
        init = w.init
        parent = {init: None}                # state -> (parent state, thread position)
        found = None
        problems = self.check_state(init)
        if problems:
            found = (init, None, problems, "safety")
        n = len(w.tids)
        Tdone = w.Tdone
        frontier = deque([init])
        transitions = 0
        next_report = 50_000
        successor, check_state = self.successor, self.check_state
        while frontier and found is None:
            s = frontier.popleft()
            enabled = unfinished = False
            for i in range(n):
                if Tdone[s[2 + i]]:
                    continue
                unfinished = True
                out = successor(s, i)
                if out is BLOCKED:
                    continue
                enabled = True
                transitions += 1
                nstate, perm, tprob = out
                if tprob:
                    found = (s, i, tprob, _kind(tprob))
                    break
                if nstate in parent:
                    if nstate == s or self._spins(parent, s, i, nstate):
                        found = (s, i, [self._spin_message(s, i)], "liveness")
                        break
                    continue
                parent[nstate] = (s, i)
                problems = check_state(nstate)
                if problems:
                    found = (nstate, None, problems, "safety")
                    break
                frontier.append(nstate)
                if len(parent) >= next_report:
                    next_report += 50_000
                    if self.progress:
                        print(f"  .. {len(parent):,} states, {transitions:,} transitions, "
                              f"{time.perf_counter() - t0:.1f} s, frontier {len(frontier):,}",
                              file=sys.stderr, flush=True)
                    if len(parent) >= self.max_states:
                        raise RuntimeError(f"more than {self.max_states:,} states: use "
                                           f"mode='random' or 'bounded' for a configuration this big")
            if found is None and not enabled and unfinished:
                found = (s, None, [self._deadlock(s)], "deadlock")
        res.seconds = time.perf_counter() - t0
        res.states, res.transitions = len(parent), transitions
        if found is not None:
            self._report(res, parent, found)
        return res

    def bfs_por(self) -> Result:
        """Exhaustive search with sleep sets (partial-order reduction of transitions): after
        exploring thread i then j from a state, the successor via j need not try i again if
        i and j commute there -- both orders reach the same state and neither step breaks
        anything.  Every state is still visited (state matching with sleep sets: a state
        met again with a smaller sleep set is expanded again for the steps now awake)."""
        w = self.w
        res = Result(w, "bfs")
        res.por = True
        t0 = time.perf_counter()
        init = w.init
        parent = {init: None}
        sleep = {init: frozenset()}
        expanded = {}                        # state -> positions already tried from it
        found = None
        problems = self.check_state(init)
        if problems:
            found = (init, None, problems, "safety")
        n = len(w.tids)
        Tdone = w.Tdone
        frontier = deque([init])
        transitions = 0
        while frontier and found is None:
            s = frontier.popleft()
            z = sleep[s]
            done_before = expanded.get(s, frozenset())
            tried = []
            outs = {}
            enabled = unfinished = False
            for i in range(n):
                if Tdone[s[2 + i]]:
                    continue
                unfinished = True
                out = self.successor(s, i)
                if out is BLOCKED:
                    continue
                enabled = True
                outs[i] = out
            for i, out in outs.items():
                if i in z or i in done_before:
                    tried.append(i)
                    continue
                transitions += 1
                nstate, perm, tprob = out
                if tprob:
                    found = (s, i, tprob, _kind(tprob))
                    break
                nz = frozenset() if perm is not None else frozenset(
                    j for j in (set(z) | set(tried)) if j in outs and self._commute(s, i, j, outs))
                tried.append(i)
                if nstate in parent:
                    if nstate == s or self._spins(parent, s, i, nstate):
                        found = (s, i, [self._spin_message(s, i)], "liveness")
                        break
                    old = sleep[nstate]
                    if not old <= nz:
                        sleep[nstate] = old & nz      # wake the steps it slept before
                        frontier.append(nstate)
                    continue
                parent[nstate] = (s, i)
                sleep[nstate] = nz
                problems = self.check_state(nstate)
                if problems:
                    found = (nstate, None, problems, "safety")
                    break
                frontier.append(nstate)
            expanded[s] = frozenset(i for i in outs if i not in sleep[s])
            if found is None and not enabled and unfinished:
                found = (s, None, [self._deadlock(s)], "deadlock")
        res.seconds = time.perf_counter() - t0
        res.states, res.transitions = len(parent), transitions
        if found is not None:
            self._report(res, parent, found)
        return res

    def _commute(self, s, i, j, outs) -> bool:
        """Do thread i's and thread j's steps commute at s, with no problem on either path?"""
        a, b = outs[i], outs[j]
        if a[1] is not None or b[1] is not None or a[2] or b[2] or a[0] is None or b[0] is None:
            return False
        ab = self.successor(a[0], j)
        ba = self.successor(b[0], i)
        if ab is BLOCKED or ba is BLOCKED:
            return False
        return ab[1] is None and ba[1] is None and not ab[2] and not ba[2] and ab[0] == ba[0]

    def bounded(self, bound: int) -> Result:
        """Breadth-first search over schedules with at most `bound` preemptions (switching
        away from a thread that could have gone on running).  NOT exhaustive."""
        w = self.w
        res = Result(w, "bounded")
        t0 = time.perf_counter()
        start = (w.init, -1, 0)              # (state, last actor position, preemptions)
        parent = {start: None}
        states = {w.init}
        found = None
        problems = self.check_state(w.init)
        if problems:
            found = (start, None, problems, "safety")
        frontier = deque([start])
        transitions = 0
        n = len(w.tids)
        while frontier and found is None:
            node = frontier.popleft()
            s, last, used = node
            outs = {}
            for i in range(n):
                if not w.done(s, i):
                    out = self.successor(s, i)
                    if out is not BLOCKED:
                        outs[i] = out
            if not outs and not all(w.done(s, i) for i in range(n)):
                found = (node, None, [self._deadlock(s)], "deadlock")
                break
            for i, (nstate, perm, tprob) in outs.items():
                cost = used + (1 if last >= 0 and i != last and last in outs else 0)
                if cost > bound:
                    continue
                transitions += 1
                if tprob:
                    found = (node, i, tprob, _kind(tprob))
                    break
                if nstate == s:
                    found = (node, i, [self._spin_message(s, i)], "liveness")
                    break
                nxt = (nstate, perm.index(i) if perm else i, cost)
                if nxt in parent:
                    continue
                parent[nxt] = (node, i)
                if nstate not in states:
                    states.add(nstate)
                    problems = self.check_state(nstate)
                    if problems:
                        found = (nxt, None, problems, "safety")
                        break
                frontier.append(nxt)
        res.seconds = time.perf_counter() - t0
        res.states, res.transitions = len(states), transitions
        if found is not None:
            self._report(res, parent, found)
        return res

    def _report(self, res, parent, found):
        s, i, probs, kind = found
        res.violations, res.kind = [self.w.pretty(p) for p in probs], kind
        positions = self._path(parent, s)
        if i is not None:
            positions.append((s, i))
        res.trace = self.named(positions)

    def _deadlock(self, s) -> str:
        w = self.w
        return inv.deadlock_problem([w.thread(s, i) for i in range(len(w.tids))], w.names)

    def _spins(self, parent, s, i, target) -> bool:
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

    def _spin_message(self, s, i) -> str:
        w = self.w
        return (f"liveness: {w.names[i]} keeps retrying without progress at "
                f"{inv.step_name(w.thread(s, i))} -- it faults, returns and faults again on "
                f"the same migration entry (busy polling) for as long as the page stays locked")

    def _path(self, parent, s) -> list:
        out = []
        while parent[s] is not None:
            s, i = parent[s]
            out.append((s, i))
        out.reverse()
        return out

    def named(self, positions) -> list:
        """Canonical (state, position) pairs -> [{thread, step}] by replaying from the start
        with the real (unsorted) threads, following the symmetry permutations."""
        w = self.w
        R = Restorer(w.machine.era, w.nodes, w.ppn)
        k, paths, shadow, wbits, lost = w.live(w.init, R)
        kern = w.K[w.init[0]]
        order = list(w.init_perm or range(len(paths)))   # canonical position -> live index
        steps = []
        for _, pos in positions:
            i = order[pos]
            p = paths[i]
            steps.append({"thread": w.names[i], "step": inv.step_name(p)})
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

    def random_walks(self, seed: int, walks: int = 2000, depth: int = 200) -> Result:
        """Seeded random schedules (NOT exhaustive): stop at the first violation."""
        w = self.w
        res = Result(w, "random", seed)
        rng = random.Random(seed)
        t0 = time.perf_counter()
        seen = {w.init}
        transitions = 0
        n = len(w.tids)
        for _ in range(walks):
            s, positions = w.init, []
            for _ in range(depth):
                choices = [i for i in range(n) if not w.done(s, i)]
                rng.shuffle(choices)
                moved = False
                for i in choices:
                    out = self.successor(s, i)
                    if out is BLOCKED:
                        continue
                    moved = True
                    transitions += 1
                    nstate, perm, tprob = out
                    positions.append((s, i))
                    if tprob:
                        return self._stop(res, t0, seen, transitions, positions, tprob, _kind(tprob))
                    if nstate == s or (len(positions) > 1 and positions[-2][0] == nstate
                                       and positions[-2][1] == i):
                        return self._stop(res, t0, seen, transitions, positions,
                                          [self._spin_message(s, i)], "liveness")
                    if nstate not in seen:
                        seen.add(nstate)
                        probs = self.check_state(nstate)
                        if probs:
                            return self._stop(res, t0, seen, transitions, positions, probs, "safety")
                    s = nstate
                    break
                if not moved:
                    if choices:
                        return self._stop(res, t0, seen, transitions, positions,
                                          [self._deadlock(s)], "deadlock")
                    break
        res.seconds = time.perf_counter() - t0
        res.states, res.transitions = len(seen), transitions
        return res

    def _stop(self, res, t0, seen, transitions, positions, probs, kind):
        res.seconds = time.perf_counter() - t0
        res.states, res.transitions = len(seen), transitions
        res.violations, res.kind = [self.w.pretty(p) for p in probs], kind
        res.trace = self.named(positions)
        return res


def _kind(problems) -> str:
    return "bug" if problems[0].startswith(("kernel BUG", "the kernel crashed")) else "safety"


class _Lazy(list):
    """The thread list of a state with only the acting thread restored: a step reads no
    other thread's locals."""

    def __init__(self, n, i, p):
        super().__init__([None] * n)
        self[i] = p


# -- the API -------------------------------------------------------------------------------

def explore(config=None, era: str = "2.6.18", mutant: str | None = None, bug: str | None = None,
            mode: str = "bfs", seed: int | None = None, symmetry: bool = True, por: bool = False,
            view: bool = True, bound: int = 2, progress: bool = False, walks: int = 2000,
            **overrides) -> Result:
    """Explore every schedule of config (a name from explore_configs.json, or a dict).

    era: the kernel (see eras.ERAS); mutant: a step removed (see mutants()); bug: a
    historical bug, run in its own configuration and era; mode: "bfs" (exhaustive, shortest
    counterexample), "bounded" (at most `bound` preemptions) or "random" (seeded walks, NOT
    exhaustive); symmetry: sort identical threads; por: sleep sets (fewer transitions, the
    same states and verdicts -- tests/explorer checks that); view: leave out locals that are
    dead at a thread's next step (dead_locals; the same verdicts, far fewer states).
    Returns a Result with states,
    transitions, seconds, violations and trace.
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
        from .render.trace import trace_text
        return trace_text(self)

    def html(self) -> str:
        from .render.trace import trace_html
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
    from .render.trace import frame
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
                not any(_can_run(w, k, paths, i) for i in range(len(paths)) if paths[i].pc != DONE):
            rep.violations = [inv.deadlock_problem(paths, w.names)]
    return rep


def _can_run(w, k, paths, i) -> bool:
    """Would thread i's step run (not sleep)?  Tried on a copy of the state."""
    from .snapshot import capture as cap
    kern = cap(k)
    R = Restorer(w.machine.era, w.nodes, w.ppn)
    k2 = R.restore(kern)
    p = restore_path(capture_path(paths[i]), w.tids[i])
    try:
        return getattr(p, p.pc)(k2) is not BLOCKED
    except Exception:
        return True


# -- the CLI -------------------------------------------------------------------------------

def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m refmodel.explore",
                                 description="Explore every schedule of a configuration on the model.")
    ap.add_argument("config", nargs="?", help="a configuration name (see --list)")
    ap.add_argument("--era", default=None, help=f"one of {', '.join(ERAS)} (default 2.6.18)")
    ap.add_argument("--mutant", default=None, help="a step removed from the design (see --list)")
    ap.add_argument("--bug", default=None, help="a historical bug, in its configuration and era")
    ap.add_argument("--mode", default=None, choices=MODES)
    ap.add_argument("-s", "--seed", type=int, default=None, help="random mode: the seed")
    ap.add_argument("--bound", type=int, default=2, help="bounded mode: preemptions allowed")
    ap.add_argument("--no-symmetry", action="store_true", help="do not sort identical threads")
    ap.add_argument("--por", action="store_true", help="partial-order reduction (sleep sets)")
    ap.add_argument("--no-view", action="store_true", help="keep dead locals in the state")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--html", action="store_true", help="print the counterexample as HTML")
    ap.add_argument("--list", action="store_true", help="list configurations, mutants and bugs")
    args = ap.parse_args(argv)
    if args.list:
        for name in configs():
            print(f"config {name}")
        for name in mutants():
            print(f"mutant {name}")
        for name in bugs():
            print(f"bug {name}")
        return 0
    if args.config is None and args.mutant is None and args.bug is None:
        ap.error("give a CONFIG, --mutant or --bug (or --list)")
    for kind, name, table in (("mutant", args.mutant, mutants()), ("bug", args.bug, bugs())):
        if name is not None and name not in table:
            ap.error(f"unknown {kind} {name!r}; see --list")
    if args.config is not None and args.config not in configs():
        ap.error(f"unknown configuration {args.config!r}; see --list")
    era = args.era or (bugs()[args.bug].get("era") if args.bug else None) or "2.6.18"
    if args.era and args.era not in ERAS:
        ap.error(f"unknown era {args.era!r}")
    mode = args.mode or ("random" if args.seed is not None else "bfs")
    seed = args.seed
    if mode == "random" and seed is None:
        seed = random.randrange(1 << 32)
    config = args.config or (mutants()[args.mutant]["config"] if args.mutant else
                             bugs()[args.bug]["config"])
    settings = [("config", config), ("era", era), ("mutant", args.mutant), ("bug", args.bug),
                ("mode", mode), ("symmetry", not args.no_symmetry), ("por", args.por),
                ("view", not args.no_view)]
    if mode == "random":
        settings.append(("seed", seed))
    if mode == "bounded":
        settings.append(("bound", args.bound))
    if not args.json:
        for key, val in settings:
            print(f"ARG {key} {val}")
        if mode != "bfs":
            print(f"NOTE {mode} mode is NOT exhaustive: no violation found proves nothing")
        if args.bug:
            b = bugs()[args.bug]
            print(f"BUG {b['title']}\nFIX {b['fix']}\nLINK {b['link']}")
    r = explore(config, era=era, mutant=args.mutant, bug=args.bug, mode=mode, seed=seed,
                symmetry=not args.no_symmetry, por=args.por, view=not args.no_view,
                bound=args.bound, progress=True)
    if args.json:
        print(json.dumps(r.to_json()))
    else:
        print(r.summary())
        if r.violations:
            print()
            print(r.render(html=args.html))
    return 1 if r.violations else 0


if __name__ == "__main__":
    sys.exit(main())


# The function carries the module's helpers too (explore.replay, explore.configs, ...) ...
for _name in ("replay", "configs", "mutants", "bugs", "World", "Explorer", "Result", "main",
              "load_data"):
    setattr(explore, _name, globals()[_name])


class _CallableModule(types.ModuleType):
    """... and the module can be called like the function: refmodel.explore(config, ...)."""

    def __call__(self, *args, **kwargs):
        return explore(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
