"""Helpers shared by the migration tests: building the usual address spaces, stepping a
migration to a named point, and reading the trace.

Nothing here asserts; the tests do.  Every helper goes through the façade (refmodel.Machine)
except kernel_migration(), which builds the kernel-internal migration the brief describes
(isolate_lru_page + migrate_pages with no mmap_sem held: memory hot-remove style).
"""

from refmodel import (MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_READ,
                      PROT_WRITE, Machine)
from refmodel.machine import PteView

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
SHANON = MAP_SHARED | MAP_ANONYMOUS
P = PAGE_SIZE
EAGAIN, ENOENT, EFAULT, EACCES, EPERM, ENODEV = 11, 2, 14, 13, 1, 19


def machine(era="2.6.18", **kw):
    """A small two-node machine (64 pages a node, no swap unless asked)."""
    kw.setdefault("nodes", 2)
    kw.setdefault("pages_per_node", 64)
    return Machine(era=era, **kw)


def anon_page(m, data=b"hello", node=0, cap=True, proc=None):
    """(process, address): one private anonymous page written with data (rw, dirty, young)."""
    p = proc or m.spawn(node=node, cap_sys_nice=cap)
    a = p.mmap(None, P, RW, ANON)
    p.write(a, data)
    return p, a


def sub_until(m, mig, pc, limit=2000):
    """Step a do_move_pages path until its migrate_pages sub-path's next step is pc
    (a step of migrate_pages or of unmap_and_move: try_to_unmap, remove_migration_ptes...)."""
    for _ in range(limit):
        if mig.pc == "migrate" and mig.sub is not None and mig.sub.pc == pc:
            return mig.sub
        if mig.finished:
            raise AssertionError(f"{mig!r} finished before reaching {pc!r}")
        if m.step(mig) == "blocked":
            raise AssertionError(f"{mig!r} blocked before reaching {pc!r}")
    raise AssertionError(f"{mig!r} never reached {pc!r}")


def path_until(m, path, pc, limit=2000):
    """The same for a bare migrate_pages path (kernel-internal migration)."""
    for _ in range(limit):
        if path.pc == pc:
            return path
        if path.finished:
            raise AssertionError(f"{path!r} finished before reaching {pc!r}")
        if m.step(path) == "blocked":
            raise AssertionError(f"{path!r} blocked before reaching {pc!r}")
    raise AssertionError(f"{path!r} never reached {pc!r}")


def kernel_migration(m, pfns, node):
    """A migration holding no mmap_sem: isolate each page (a reference each), then a
    migrate_pages path to node that the caller drives with m.step.  new_node is given as
    (pfn, node) pairs so that the path records a status per page, as new_page_node does."""
    from refmodel.migrate import isolate_lru_page, migrate_pages
    for pfn in pfns:
        assert isolate_lru_page(m.k.pages[pfn]) == 0
    return migrate_pages(m._new_tid(), list(pfns), tuple((pfn, node) for pfn in pfns))


def events(m, name, since=0):
    """[(mm id, addr)] of trace events called name, from index since on."""
    return [(e[1], e[2]) for e in m.trace[since:] if e[0] == name]


def event_ptes(m, name, since=0):
    """[(mm id, addr, PteView of the detail)] for set/remove_migration_pte events."""
    return [(e[1], e[2], PteView(e[3], m.k.swp_types)) for e in m.trace[since:] if e[0] == name]


def delta(m, before):
    """Counters added since the copy before (a Counter)."""
    return m.counters - before


def freed(m, pfn):
    """True if pfn is back in the allocator."""
    return pfn not in m.k.pages
