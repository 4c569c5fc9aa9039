"""A canonical, hashable snapshot of the whole kernel state.

Instruments.  Its cost is proportional to what is in use: pages in use, mappings, vmas and
swap slots; free memory is two numbers per node.  The interleaving explorer hashes these.
"""

from operator import attrgetter
from typing import NamedTuple

from .kernel import Kernel
from .mm import File, RwSem, address_space, anon_vma, mm_struct, vm_area_struct
from .page import Page
from .swapfile import swap_info_struct
from .task import task_struct


def snapshot(k) -> tuple:
    """Everything the kernel knows, as nested tuples in a canonical order."""
    pages = tuple(p.snapshot() for _, p in sorted(k.pages.items()))
    nodes = tuple(n.snapshot() for n in k.nodes)
    mms = tuple((mm.id, tuple(sorted(mm.pgtable.items())), mm.file_rss, mm.anon_rss,
                 mm.mmap_sem.snapshot(), mm.def_flags,
                 tuple((v.id, v.vm_start, v.vm_end, v.vm_flags, v.vm_page_prot, v.vm_pgoff,
                        v.vm_file.f_mapping.id if v.vm_file else 0,
                        v.anon_vma.id if v.anon_vma else 0, v.vm_policy, v.vm_private_data)
                       for v in mm.mmap))
                for _, mm in sorted(k.mms.items()))
    anon = tuple((av.id, tuple(v.id for v in av.head), av.lock)
                 for _, av in sorted(k.anon_vmas.items()))
    maps = tuple((m.id, tuple(sorted(m.page_tree.items())), tuple(v.id for v in m.i_mmap),
                  m.i_mmap_lock) for _, m in sorted(k.mappings.items()))
    swap = tuple(si.snapshot() for si in k.swap_info)
    return (pages, nodes, mms, anon, maps, swap, tuple(sorted(k.migrating.items())))


# -- A complete snapshot, and restoring a live kernel from it -----------------------------
#
# snapshot() above is the picture tests compare.  capture() is the explorer's state: it
# holds everything restore() needs to rebuild a live Kernel that steps exactly as the one it
# was taken from.  Objects are walked by their __slots__, so a field added to struct page,
# vm_area_struct, mm_struct, anon_vma or address_space is captured without a change here;
# only slots that point at other kernel objects are named below (they become ids).
# History-only fields (counters, trace, hiwater_rss) are not part of the state.


class KernelCapture(NamedTuple):
    """capture()'s result, a plain tuple with named parts."""
    pages: tuple         # one tuple of slot values per page in use, by pfn
    nodes: tuple         # (next_unused, free list) per node
    mms: tuple           # per mm: (id, slot values..., ptes), by id: see MM_ID, MM_PTES
    layout: tuple        # (vmas per mm, anon_vma lists, i_mmap lists, files)
    maps: tuple          # per address_space: (id, slot values..., page tree)
    swap: tuple          # per swap area: its slot values
    misc: tuple          # (migrating, node_of_pid, next_id, tasks' slot values)
    locks: tuple         # (mmap_sems, anon_vma locks, i_mmap_locks) held, by task id


MM_ID, MM_PTES = 0, -1        # the mm id and its page table in a captured mm
_new = tuple.__new__          # KernelCapture from a tuple of its parts, without a Python call


class _L(tuple):
    """A frozen list (thawed back into a list)."""
    __slots__ = ()


class _D(tuple):
    """A frozen dict: its sorted items (thawed back into a dict)."""
    __slots__ = ()


def _freeze(v):
    t = type(v)
    if t is list:
        return _L(v)
    if t is dict:
        return _D(sorted(v.items()))
    return v


def _thaw(v):
    t = type(v)
    if t is _L:
        return list(v)
    if t is _D:
        return dict(v)
    return v


def _slots(cls, skip=()) -> tuple:
    out = []
    for c in reversed(cls.__mro__):
        for s in c.__dict__.get("__slots__", ()):
            if s not in skip and s not in out:
                out.append(s)
    return tuple(out)


# Slots that are references (rebuilt from ids) or not state at all.
PAGE_SLOTS = _slots(Page)
NODE_SLOTS = ("next_unused", "free")
MM_SLOTS = _slots(mm_struct, ("id", "mmap", "pgtable", "mmap_sem", "hiwater_rss"))
VMA_SLOTS = _slots(vm_area_struct, ("id", "vm_mm", "vm_file", "anon_vma"))
MAP_SLOTS = _slots(address_space, ("id", "page_tree", "i_mmap", "i_mmap_lock"))
SWAP_SLOTS = _slots(swap_info_struct)


TASK_SLOTS = _slots(task_struct)
_page_get = attrgetter(*PAGE_SLOTS)
_task_get = attrgetter(*TASK_SLOTS)
_mm_get = attrgetter(*MM_SLOTS)
_vma_get = attrgetter(*VMA_SLOTS)
_map_get = attrgetter(*MAP_SLOTS)
_mm_lists: list = []          # indices of MM_SLOTS that hold lists (found on first capture)


def _mm_values(mm) -> tuple:
    vals = _mm_get(mm)
    if not _mm_lists:
        _mm_lists.extend(i for i, v in enumerate(vals) if type(v) in (list, dict)) or \
            _mm_lists.append(-1)
    if _mm_lists[0] < 0:
        return vals
    vals = list(vals)
    for i in _mm_lists:
        vals[i] = _freeze(vals[i])
    return tuple(vals)


def _task_new(t: tuple) -> task_struct:
    task = task_struct.__new__(task_struct)
    for s, v in zip(TASK_SLOTS, t):
        setattr(task, s, v)
    return task


def capture(k) -> tuple:
    """The whole kernel state as nested tuples, complete enough for restore().

    (pages, nodes, mms, layout, mappings, swap, misc, locks): layout holds every vma, the
    anon_vma lists and i_mmap lists (they change only at fork, munmap, mprotect, exit);
    locks holds every lock held across steps (mmap_sem, anon_vma->lock, i_mmap_lock) by
    task id, so that the explorer can rename tasks without touching the rest.
    """
    kp = k.pages
    pages = tuple([_page_get(kp[pfn]) for pfn in sorted(kp)])
    nodes = tuple([(n.next_unused, tuple(n.free)) for n in k.nodes])
    mms, vmas, sems = [], [], []
    for mid in sorted(k.mms):
        mm = k.mms[mid]
        mms.append((mid,) + _mm_values(mm) + (tuple(sorted(mm.pgtable.items())),))
        vmas.append((mid, tuple([(v.id, v.vm_file.f_mapping.id if v.vm_file else 0,
                                  v.anon_vma.id if v.anon_vma else 0) + _vma_get(v)
                                 for v in mm.mmap])))
        sem = mm.mmap_sem
        if sem.readers or sem.writer is not None:
            sems.append((mid, tuple(sorted(sem.readers)), sem.writer))
    avs, av_locks = [], []
    for table, freed in ((k.anon_vmas, False), (k.freed_anon_vmas, True)):
        for aid in sorted(table):
            av = table[aid]
            avs.append((aid, freed, av.freed, tuple([v.id for v in av.head])))
            if av.lock is not None:
                av_locks.append((aid, av.lock))
    maps, i_mmaps, map_locks = [], [], []
    for mid in sorted(k.mappings):
        m = k.mappings[mid]
        maps.append((mid,) + _map_get(m) + (tuple(sorted(m.page_tree.items())),))
        i_mmaps.append(tuple([v.id for v in m.i_mmap]))
        if m.i_mmap_lock is not None:
            map_locks.append((mid, m.i_mmap_lock))
    files = {}
    for mm in k.mms.values():
        for v in mm.mmap:
            f = v.vm_file
            if f is not None:
                files[f.f_mapping.id] = (f.f_mapping.id, f.name, f.npages)
    layout = (tuple(vmas), tuple(avs), tuple(i_mmaps), tuple(sorted(files.values())))
    swap = tuple([tuple([_freeze(getattr(si, s)) for s in SWAP_SLOTS]) for si in k.swap_info])
    misc = (tuple(sorted(k.migrating.items())), tuple(sorted(k.node_of_pid.items())), k.next_id,
            tuple([_task_get(k.tasks[pid]) for pid in sorted(k.tasks)]))
    locks = (tuple(sems), tuple(av_locks), tuple(map_locks))
    return _new(KernelCapture, (pages, nodes, tuple(mms), layout, tuple(maps), swap, misc, locks))


def _setter(slots, name):
    """Generate 'def put(o, t): o.a = t[0]; o.b = t[1]; ...' (one call per object)."""
    body = "".join(f"    o.{s} = t[{i}]\n" for i, s in enumerate(slots)) or "    pass\n"
    env = {}
    exec(f"def {name}(o, t):\n{body}", env)
    return env[name]


_page_put = _setter(PAGE_SLOTS, "page_put")


class Restorer:
    """Keeps one live Kernel and moves it to any captured state, rebuilding only the parts
    that differ from the state it is in (pages by pfn, mms by id, the vma layout as a whole).

    restore(snap) returns the live kernel; objects are reused and mutated in place, so no
    caller may keep references to kernel objects across restores (kernel paths keep ids).
    """

    def __init__(self, cfg, nodes: int, pages_per_node: int):
        self.k = Kernel(cfg, nodes, pages_per_node)
        self.k.tracing = False
        self.k.pages.clear()
        self.cur = None
        self._page_t: dict = {}           # pfn -> tuple the live page object holds
        self._mm_t: dict = {}             # mm id -> tuple the live mm holds
        self._map_t: dict = {}

    def restore(self, snap: tuple) -> Kernel:
        k, cur = self.k, self.cur
        if cur is snap:
            return k
        if cur is None:
            cur = _NOTHING
        pages, nodes, mms, layout, maps, swap, misc, locks = snap
        if pages is not cur.pages:
            self._restore_pages(pages)
        if nodes is not cur.nodes and nodes != cur.nodes:
            for n, (nu, free) in zip(k.nodes, nodes):
                n.next_unused, n.free = nu, list(free)
        if mms is not cur.mms:
            self._restore_mms(mms)
        if maps is not cur.maps:
            self._restore_maps(maps)
        relinked = layout is not cur.layout and layout != cur.layout
        if relinked:
            self._restore_layout(layout)
        if swap is not cur.swap and swap != cur.swap:
            self._restore_swap(swap)
        if misc is not cur.misc and misc != cur.misc:
            k.migrating = dict(misc[0])
            k.node_of_pid = dict(misc[1])
            k.next_id = misc[2]
            k.tasks = {t[0]: _task_new(t) for t in misc[3]}
        if relinked or locks != cur.locks:
            self._restore_locks(locks)
        self.cur = snap
        return k

    def reset(self) -> None:
        """Forget what the live kernel holds (after a step died half way): rebuild fully."""
        self.cur = None
        self._page_t.clear()
        self._mm_t.clear()
        self._map_t.clear()
        self.k.pages = {}
        self.k.mms = {}

    def sync(self, snap: tuple) -> None:
        """The live kernel was stepped and then captured as snap: remember that it is there."""
        seen = self._page_t
        for t in snap.pages:
            seen[t[0]] = t
        seen = self._mm_t
        for t in snap.mms:
            seen[t[0]] = t
        seen = self._map_t
        for t in snap.maps:
            seen[t[0]] = t
        self.cur = snap

    def _restore_pages(self, pages):
        old, seen, put = self.k.pages, self._page_t, _page_put
        new = {}
        for t in pages:
            pfn = t[0]
            p = old.get(pfn)
            if p is None:
                p = Page.__new__(Page)
                put(p, t)
                seen[pfn] = t
            elif seen.get(pfn) is not t:
                put(p, t)
                seen[pfn] = t
            new[pfn] = p
        self.k.pages = new

    def _restore_mms(self, mms):
        k, seen = self.k, self._mm_t
        live = {}
        for t in mms:
            mid = t[0]
            mm = k.mms.get(mid)
            if mm is None:
                mm = mm_struct.__new__(mm_struct)
                mm.id, mm.mmap, mm.mmap_sem, mm.hiwater_rss = mid, [], RwSem(), 0
                seen.pop(mid, None)
            if seen.get(mid) is not t:
                for s, v in zip(MM_SLOTS, t[1:]):
                    setattr(mm, s, _thaw(v))
                mm.pgtable = dict(t[-1])
                seen[mid] = t
            live[mid] = mm
        k.mms = live

    def _restore_layout(self, layout):
        k = self.k
        vmas_t, avs_t, i_mmaps, files_t = layout
        files = {mid: File(name, npages, k.mappings[mid]) for mid, name, npages in files_t}
        avs = {}
        k.anon_vmas, k.freed_anon_vmas = {}, {}
        for aid, in_freed, freed, _ in avs_t:
            av = anon_vma.__new__(anon_vma)
            av.id, av.lock, av.freed, av.head = aid, None, freed, []
            avs[aid] = av
            (k.freed_anon_vmas if in_freed else k.anon_vmas)[aid] = av
        vmas = {}
        for mid, vts in vmas_t:
            mm = k.mms[mid]
            mm.mmap = []
            for vt in vts:
                v = vm_area_struct.__new__(vm_area_struct)
                v.id, v.vm_mm = vt[0], mm
                v.vm_file = files[vt[1]] if vt[1] else None
                v.anon_vma = avs[vt[2]] if vt[2] else None
                for s, x in zip(VMA_SLOTS, vt[3:]):
                    setattr(v, s, x)
                vmas[v.id] = v
                mm.mmap.append(v)
        for aid, _, _, head in avs_t:
            avs[aid].head = [vmas[i] for i in head]
        for (mid, m), ids in zip(sorted(k.mappings.items()), i_mmaps):
            m.i_mmap = [vmas[i] for i in ids]

    def _restore_maps(self, maps):
        k, seen = self.k, self._map_t
        live = {}
        for t in maps:
            mid = t[0]
            m = k.mappings.get(mid)
            if m is None:
                m = address_space.__new__(address_space)
                m.id, m.i_mmap, m.i_mmap_lock = mid, [], None
                seen.pop(mid, None)
            if seen.get(mid) is not t:
                for s, v in zip(MAP_SLOTS, t[1:]):
                    setattr(m, s, v)
                m.page_tree = dict(t[-1])
                seen[mid] = t
            live[mid] = m
        k.mappings = live

    def _restore_swap(self, swap):
        out = []
        for t in swap:
            si = swap_info_struct.__new__(swap_info_struct)
            for s, v in zip(SWAP_SLOTS, t):
                setattr(si, s, _thaw(v))
            out.append(si)
        self.k.swap_info = out

    def _restore_locks(self, locks):
        k = self.k
        for mm in k.mms.values():
            sem = mm.mmap_sem
            sem.readers, sem.writer = (), None
        for av in k.anon_vmas.values():
            av.lock = None
        for av in k.freed_anon_vmas.values():
            av.lock = None
        for m in k.mappings.values():
            m.i_mmap_lock = None
        sems, avl, mapl = locks
        for mid, readers, writer in sems:
            sem = k.mms[mid].mmap_sem
            sem.readers, sem.writer = readers, writer
        for aid, holder in avl:
            (k.anon_vmas.get(aid) or k.freed_anon_vmas[aid]).lock = holder
        for mid, holder in mapl:
            k.mappings[mid].i_mmap_lock = holder


_NOTHING = KernelCapture(*(None,) * len(KernelCapture._fields))


def restore(snap: tuple, cfg, nodes: int, pages_per_node: int) -> Kernel:
    """A new live Kernel in the state capture() recorded (see Restorer for repeated use)."""
    return Restorer(cfg, nodes, pages_per_node).restore(snap)


# -- Kernel paths ----------------------------------------------------------------------------

_PATH_SLOTS: dict = {}


def _path_slots(cls) -> tuple:
    s = _PATH_SLOTS.get(cls)
    if s is None:
        s = _PATH_SLOTS[cls] = _slots(cls, ("tid",))
    return s


class _P(tuple):
    """A frozen sub-path (thawed back into a path with its parent's task id)."""
    __slots__ = ()


_PLAIN = frozenset((int, str, bytes, bool, tuple, type(None)))


def _pfreeze(v):
    t = type(v)
    if t in _PLAIN:
        return v
    if t is list:
        return _L(v)
    if t is dict:
        return _D(sorted(v.items()))
    if isinstance(v, OSError):
        return ("OSError", v.errno, str(v.strerror))
    if hasattr(v, "pc") and hasattr(type(v), "first"):
        return _P(capture_path(v))
    return v


_PATH_CAP: dict = {}           # class -> (attrgetter of its slots, indices to freeze)


def _path_cap(p):
    cls = type(p)
    slots = _path_slots(cls)
    getter = attrgetter(*slots) if len(slots) > 1 else (lambda o: (getattr(o, slots[0]),))
    # slots that hold (or may come to hold) lists, dicts, sub-paths or errors
    cand = tuple(i for i, v in enumerate(getter(p))
                 if v is None or type(v) in (list, dict) or hasattr(v, "pc")
                 or isinstance(v, OSError))
    _PATH_CAP[cls] = (getter, cand, slots)
    return _PATH_CAP[cls]


def capture_path(p) -> tuple:
    """A kernel path's state without its task id: (class, slot values...)."""
    e = _PATH_CAP.get(type(p)) or _path_cap(p)
    vals = e[0](p)
    if e[1]:
        vals = list(vals)
        for i in e[1]:
            vals[i] = _pfreeze(vals[i])
    return (type(p),) + tuple(vals)


def _pthaw(v, tid):
    tv = type(v)
    if tv is _L:
        return list(v)
    if tv is _D:
        return dict(v)
    if tv is _P:
        return restore_path(v, tid)
    if tv is tuple and v and v[0] == "OSError":
        return OSError(v[1], v[2])
    return v


_PATH_RESTORE: dict = {}       # class -> generated function (t, tid) -> path


def _path_restorer(cls):
    """Generate 'p = cls.__new__(cls); p.tid = tid; p.pc = t[1]; ...' once per class:
    restoring a path is then one call with a plain assignment per slot."""
    e = _PATH_CAP.get(cls)
    slots, cand = (e[2], e[1]) if e else (_path_slots(cls), None)
    lines = ["def restore(t, tid):", "    p = new(cls)", "    p.tid = tid"]
    for i, s in enumerate(slots):
        if cand is None or i in cand:
            lines.append(f"    p.{s} = thaw(t[{i + 1}], tid)")
        else:
            lines.append(f"    p.{s} = t[{i + 1}]")
    lines.append("    return p")
    env = {"new": cls.__new__, "cls": cls, "thaw": _pthaw}
    exec("\n".join(lines), env)
    if e is not None:
        _PATH_RESTORE[cls] = env["restore"]
    return env["restore"]


def restore_path(t: tuple, tid: int):
    """A live path from capture_path()'s tuple, running as task tid."""
    f = _PATH_RESTORE.get(t[0]) or _path_restorer(t[0])
    return f(t, tid)
