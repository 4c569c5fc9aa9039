"""Helpers the practice topics share: a fresh machine, stepping a path until a condition
holds, and one-line descriptions of ptes and pages read through the public views."""

from .. import ERAS, MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Machine, errno

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
P = PAGE_SIZE
PG_reserved = 10          # include/linux/page-flags.h (the ZERO_PAGE is reserved)

# The kernel's errno numbers (refmodel/errno.py: 2.6.18's include/asm-generic/errno-base.h),
# which the model's statuses and return values use.  Not Python's errno module: its numbers
# are the host's, and under Pyodide (emscripten) they differ (ENOENT is 44 there).
ERRNO_NAMES = errno.errorcode
ENOENT = errno.ENOENT


def machine(era: str, swap_pages: int = 0) -> Machine:
    """A small two-node machine of era (32 pages a node: pfns 0-31 node 0, 32-63 node 1)."""
    return Machine(era=era, nodes=2, pages_per_node=32, swap_pages=swap_pages)


def types_of(era: str):
    """The swap-type numbering of era (SwapTypes: max_swapfiles, migration types)."""
    return ERAS[era].swap_types


def step_until(m, path, done, limit: int = 500) -> bool:
    """Step path until done() holds (True), or it finishes or sleeps first (False)."""
    for _ in range(limit):
        if done():
            return True
        if path.finished or m.step(path) == "blocked":
            return done()
    raise RuntimeError(f"{path!r} did not get there in {limit} steps")


def pte_line(view, types) -> str:
    """What a PteView holds, in a few words (types: the era's SwapTypes)."""
    if view.none:
        return "none"
    if view.present:
        bits = ["rw" if view.writable else "ro"] + [b for b in ("young", "dirty") if getattr(view, b)]
        return f"pfn {view.pfn} {' '.join(bits)}"
    if view.is_migration:
        rw = ""
        if view.is_write_migration:
            rw = " WRITE"
        elif types.migration_write is not None:
            rw = " READ"
        return f"migration entry{rw} -> pfn {view.swp_offset}"
    return f"swap entry: area {view.swp_type}, slot {view.swp_offset}"


def entry_pfn(view):
    """The pfn a pte maps or a migration entry names; None otherwise."""
    if view.present:
        return view.pfn
    if view.is_migration:
        return view.swp_offset
    return None


def page_line(m, pfn: int) -> str:
    """count, mapcount, node and notable flags of the page at pfn."""
    v = m.page(pfn)
    if v.count == 0:
        return f"pfn {pfn}: free"
    notes = [n for n, on in (("ZERO_PAGE", v.flags >> PG_reserved & 1), ("locked", v.locked),
                             ("swapcache", v.swapcache)) if on]
    extra = f" ({', '.join(notes)})" if notes else ""
    return f"pfn {pfn} (node {v.node}): count {v.count}, mapcount {v.mapcount}{extra}"
