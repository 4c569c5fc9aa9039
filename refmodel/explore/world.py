"""The explorer's world: one configuration set up on the façade, its states and its steps.

Instruments (the model half of the explorer; search.py is the checker half).  A
configuration is a scenario (docs/scenarios.md): its steps run on the façade, and each
["start", NAME, STEP] leaves a kernel path that becomes a thread.  A state is

    (kernel id, ghost id, thread id per position)

three kinds of small ints naming interned captures: the kernel (snapshot.capture), the
ghost (the oracle's records, and which migration entries replaced writable ptes) and each
thread's locals without those that are dead at its next step (@step(dead=...), sched.py).
"""

import json
import re
from functools import lru_cache
from pathlib import Path

from .. import invariants as inv
from .. import oracle, scenario
from ..fork import dup_mmap
from ..machine import Machine
from ..memory import user_access
from ..migrate import migrate_pages
from ..pgtable import PAGE_SHIFT, pte_pfn, pte_write
from ..sched import BLOCKED, DONE, chain, facts, step_facts
from ..snapshot import (MM_ID, MM_PTES, KernelCapture, Restorer, _P, _path_slots, capture,
                        capture_path, restore_path)
from ..swapops import BUG, pte_kind
from .finer import CLASSES as FINER_CLASSES
from .mutants import CLASSES as MUTANT_CLASSES

DATA = Path(__file__).resolve().parents[1] / "data" / "explore_configs.json"
PATH_KINDS = {"user_access": user_access, "migrate_pages": migrate_pages, "dup_mmap": dup_mmap}


# What kind of history each bug is (its "class" in the data; docs/explorer.md):
BUG_CLASSES = {
    "series": "a bug the series had",
    "limitation": "a known limitation the author named",
    "later-kernel": "a later kernel's bug",
    "our-reading": "our reading of the code as posted",
}


@lru_cache(maxsize=1)
def load_data() -> dict:
    """The configurations, mutants, historical bugs and levels (data/explore_configs.json);
    a bug without a known class is refused."""
    data = json.loads(DATA.read_text())
    check_bug_classes(data["bugs"])
    return data


def check_bug_classes(table: dict) -> None:
    """Every bug names one of BUG_CLASSES (ValueError naming the bug otherwise)."""
    for name, b in table.items():
        if b.get("class") not in BUG_CLASSES:
            raise ValueError(f"{DATA.name}: bug {name!r} has class {b.get('class')!r}; "
                             f"give one of {', '.join(BUG_CLASSES)}")


def configs() -> dict:
    return load_data()["configs"]


def mutants() -> dict:
    return load_data()["mutants"]


def bugs() -> dict:
    return load_data()["bugs"]


# -- dead locals -------------------------------------------------------------------------
# A value a path will overwrite before it reads it again cannot change the future, so two
# states that differ only in it are the same state (TLC's VIEW; dead-variable reduction).
# Which locals are dead at which step each step declares (@step(dead=...), sched.py);
# tests/explorer checks that every verdict is the same with view=False, and that steps
# commute with the view.  A dead local is set to its initial value:
_ZERO = {"pfn": 0, "orig_pte": 0, "entry": 0, "faults": 0, "walk_i": 0, "restore_to": 0,
         "rc": 0, "newpage": 0, "page": 0, "moved": 0, "sub": None, "pm": (), "result": None,
         "error": None}


def dead_locals(cls, pc: str, top: bool) -> tuple:
    """Slots of a path of class cls whose values are dead when its next step is pc."""
    if pc == DONE and top:
        return tuple(s for s in _path_slots(cls) if s != "pc")   # a finished thread is over
    return cls.history + step_facts(cls, pc).dead


_VIEWS: dict = {}


def view_path(t: tuple, on: bool = True, top: bool = True) -> tuple:
    """A captured path with its dead locals set to their initial values (and its sub-path
    viewed too); history-only locals (a fault counter) always go."""
    cls, pc = t[0], t[1]
    key = (cls, pc, top, on)
    idx = _VIEWS.get(key)
    if idx is None:
        slots = _path_slots(cls)
        dead = dead_locals(cls, pc, top) if on else cls.history
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


# Parts of a kernel capture interned element by element (big, and mostly unchanged by a
# step), and the others, interned whole.
_BY_ELEMENT = tuple(KernelCapture._fields.index(f) for f in ("pages", "mms", "maps"))
_WHOLE = tuple(i for i in range(len(KernelCapture._fields)) if i not in _BY_ELEMENT)


class World:
    """One configuration set up on the façade, with its threads ready to run.

    Everything the explorer, replay and the scheduler game share: how to take a step, how
    to capture and canonicalise a state, and what the invariants say about it.
    """

    def __init__(self, config, era: str = "2.6.18", mutant: str | None = None,
                 bug: str | None = None, symmetry: bool = True, view: bool = True, **overrides):
        self.bug, self.mutant, self.view = bug, mutant, view
        classes, era_overrides = {}, {}
        self.bug_info = bugs()[bug] if bug is not None else None
        self.mutant_info = mutants()[mutant] if mutant is not None else None
        for extra in (self.bug_info, self.mutant_info):
            if extra is not None:
                config = config or extra["config"]
                era_overrides.update(extra.get("era_overrides", {}))
                classes.update(extra.get("classes", {}))
        if self.bug_info is not None:
            era = self.bug_info.get("era", era)
        era_overrides.update(overrides)
        self.era_overrides_user = dict(overrides)
        self.source = config                     # what replay() needs to build this world again
        if isinstance(config, str):
            self.name = config
            config = configs()[config]
        else:
            self.name = config.get("name", "custom")
        self.config, self.era_name, self.era_overrides = config, era, era_overrides
        classes.update(config.get("classes", {}))    # finer paths (explore/finer.py), by data
        # kernel class -> mutant class, for paths we build and paths the kernel builds
        self.subst = {PATH_KINDS[base]: {**MUTANT_CLASSES, **FINER_CLASSES}[name]
                      for base, name in classes.items()}
        m = self.machine = Machine(era=era, nodes=config.get("nodes", 2),
                                   pages_per_node=config.get("pages_per_node", 16),
                                   swap_pages=config.get("swap_pages", 0), **era_overrides)
        self.scene = self.build(config)
        self.procs = {name: p.pid for name, p in self.scene.procs.items()}
        self.addrs = dict(self.scene.addrs)
        self.names = list(self.scene.paths)
        paths = list(self.scene.paths.values())
        for p in paths:                          # the mutant runs where the kernel path would
            if type(p) in self.subst:
                p.__class__ = self.subst[type(p)]
        self.tids = [p.tid for p in paths]
        self.pins = dict(m.pins)
        self.mm_names = {pid: name for name, pid in self.procs.items()}
        # symmetry: threads started by the same step are interchangeable
        groups = {}
        for i, (_, st) in enumerate(self.threads):
            groups.setdefault(json.dumps(st), []).append(i)
        self.groups = [g for g in groups.values() if len(g) > 1] if symmetry else []
        self.nodes, self.ppn = len(m.k.nodes), m.k.nodes[0].end_pfn - m.k.nodes[0].start_pfn
        self.R = Restorer(m.era, self.nodes, self.ppn)
        self._intern, self._renamed, self.kernel_cache, self._viewed = {}, {}, {}, {}
        self.K, self.Kid, self.T, self.Tid, self.Tdone, self.G, self.Gid = [], {}, [], {}, [], [], {}
        normalise_free_lists(m.k)
        self.init, self.init_perm = self.canonical(
            self.kid(capture(m.k)), self.gid(self.freeze_ghost(dict(m.contents), set(), set())),
            [self.capture_thread(p) for p in paths])

    def build(self, config) -> scenario.Scene:
        """Run the configuration's steps on the façade; its start steps become the threads."""
        if "steps" not in config:
            raise ValueError("an explorer configuration is {'steps': [...]} in the scenario "
                             "language (docs/scenarios.md), threads as ['start', NAME, STEP]")
        scene = scenario.Scene(self.machine)
        self.threads = []                        # [(name, the system-call step it runs)]
        for st in config["steps"]:
            scenario.check_step(st)
            if st[0] == "start":
                scenario.do_step(scene, st)
                self.threads.append((st[1], st[2]))
            elif self.threads:
                raise scenario.ScenarioError(f"{json.dumps(st)}: set-up steps come before "
                                             f"the first start step")
            else:
                scenario.do_step(scene, st)
        if not self.threads:
            raise scenario.ScenarioError("a configuration needs at least one start step")
        return scene

    def proc(self, name):
        return self.machine.processes[self.procs[name]]

    # -- states ----------------------------------------------------------------------------
    # Hashing a state is cheap however big the kernel is, and transitions can be cached by ids.
    def kid(self, kern: tuple, like: tuple | None = None) -> int:
        """The id of a kernel capture (its parts are shared with every equal part seen).
        like: an interned capture it probably shares parts with (the state before a step):
        a part equal to like's is taken from it as it is."""
        it = self._intern
        parts = list(kern)
        for j in _BY_ELEMENT:                    # pages, mms, mappings: element by element
            if like is not None and parts[j] == like[j]:
                parts[j] = like[j]
            else:
                got = it.get(parts[j])
                parts[j] = got if got is not None else it.setdefault(
                    parts[j], tuple([it.setdefault(x, x) for x in parts[j]]))
        for j in _WHOLE:
            if like is not None and parts[j] == like[j]:
                parts[j] = like[j]
            else:
                parts[j] = it.setdefault(parts[j], parts[j])
        kern = tuple.__new__(KernelCapture, parts)
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
        """A thread's locals as an id, without the dead ones (dead_locals) and the history
        (a thread that faults again and again without progress comes back to a state)."""
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
            sems, avl, mapl = kern.locks
            if sems or avl or mapl:
                rename = {self.tids[i]: self.tids[j] for j, i in enumerate(perm) if i != j}
                r = lambda t: rename.get(t, t)                    # noqa: E731
                locks = (tuple((mid, tuple(sorted(r(t) for t in rd)), r(w)) for mid, rd, w in sems),
                         tuple((a, r(h)) for a, h in avl), tuple((a, r(h)) for a, h in mapl))
                nk = self.kid(kern._replace(locks=locks))
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
        if self.subst:
            for sub in chain(p):             # a sub-path the step created runs as the mutant
                if type(sub) in self.subst:
                    sub.__class__ = self.subst[type(sub)]
        problems = []
        # the oracle: writes land, fork copies, munmap and exit forget
        effect = facts(p, pc).effect
        exp = oracle.after_step(k, shadow, p, pc) if effect else None
        if effect == "access":
            vpn = p.addr >> PAGE_SHIFT
            if p.pc != DONE and p.write and (p.mm, vpn) in lost:      # the access faulted
                problems.append(f"{self.names[i]}'s write faults on {self.where(p.mm, vpn)}, "
                                f"which was writable before migration and came back read-only: "
                                f"the lost write bit costs an extra fault")
            if exp is not None and p.result != exp:
                problems.append(f"{self.names[i]} read {p.result!r} at "
                                f"{self.where(p.mm, vpn)}, expected {exp!r}: a stale read")
        elif effect == "copies_ptes":                # the write bits follow the oracle
            wbits.difference_update({x for x in wbits if x[0] == p.oldmm})
        elif effect == "changes_mm":
            wbits.difference_update({x for x in wbits if x[0] == p.mm})
        # the write bit across migration: which entries replaced writable ptes
        normalise_free_lists(k)
        post = capture(k)
        if post.mms != pre.mms:
            self._write_bits(k, pre.mms, post.mms, wbits, lost)
        return problems, post

    @staticmethod
    def _write_bits(k, pre_mms, post_mms, wbits, lost):
        before = {t[MM_ID]: t for t in pre_mms}
        types = k.swp_types
        for t in post_mms:
            mm_id = t[MM_ID]
            a_t = before.get(mm_id)
            if a_t == t:
                continue
            old = dict(a_t[MM_PTES]) if a_t is not None else {}
            pt = dict(t[MM_PTES])
            if old == pt:
                continue
            for vpn in set(pt) | set(old):
                a, b = old.get(vpn, 0), pt.get(vpn, 0)
                if a == b:
                    continue
                key = (mm_id, vpn)
                a_kind, b_kind = pte_kind(a, types), pte_kind(b, types)
                if a_kind == "present" and b_kind.startswith("migration"):
                    if pte_write(a):
                        wbits.add(key)
                elif a_kind.startswith("migration") and b_kind == "present":
                    if key in wbits and not pte_write(b):
                        lost.add(key)
                    wbits.discard(key)
                else:
                    wbits.discard(key)
                    if not (a_kind == b_kind == "present" and pte_pfn(a) == pte_pfn(b)
                            and not pte_write(a) and not pte_write(b)):
                        lost.discard(key)

    def can_run(self, k, paths, i) -> bool:
        """Would thread i's step run (not sleep)?  Tried on a copy of the state."""
        k2 = Restorer(self.machine.era, self.nodes, self.ppn).restore(capture(k))
        p = restore_path(capture_path(paths[i]), self.tids[i])
        try:
            return getattr(p, p.pc)(k2) is not BLOCKED
        except Exception:
            return True

    # -- naming things for people --------------------------------------------------------------
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
        msg = re.sub(r"mm (\d+): (?:pte|migration entry) at (0x[0-9a-f]+)",
                     lambda m: f"{self.where(int(m.group(1)), int(m.group(2), 16) >> PAGE_SHIFT)}: "
                               f"{'migration entry' if 'migration' in m.group(0) else 'pte'}", msg)
        for mm_id, name in self.mm_names.items():
            msg = re.sub(rf"\bmm {mm_id}([:'])", rf"{name} (mm {mm_id})\1", msg)
        return msg


def normalise_free_lists(k) -> None:
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
