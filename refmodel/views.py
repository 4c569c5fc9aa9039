"""Views: read-only looks at one pte and one struct page, for learners and tests.

Façade.  Process.pte(addr) and Process.page(addr) / Machine.page(pfn) return these; they
copy what they show, so they stay as they were when taken.  peek() reads a page as a load
would, without faulting.
"""

from .page import ZERO_BYTES
from .page import (PG_active, PG_dirty, PG_lru, PG_private, PG_referenced, PG_swapcache,
                   PG_uptodate, PG_writeback, PageAnon, flag_names, page_count, page_mapcount)
from .page import LOCKED
from .pgtable import (PAGE_SHIFT, is_swap_pte, pte_dirty, pte_none, pte_pfn, pte_present,
                      pte_to_pgoff, pte_write, pte_young)
from .render.pte import pte_picture
from .swapops import pte_kind, pte_to_swp_entry, swp_offset, swp_type


class PteView:
    """A read-only view of one pte value."""

    __slots__ = ("raw", "_types")

    def __init__(self, raw: int, types):
        self.raw, self._types = raw, types

    present = property(lambda s: pte_present(s.raw))
    none = property(lambda s: pte_none(s.raw))
    pfn = property(lambda s: pte_pfn(s.raw) if pte_present(s.raw) else None)
    writable = property(lambda s: pte_present(s.raw) and pte_write(s.raw))
    young = property(lambda s: pte_present(s.raw) and pte_young(s.raw))
    dirty = property(lambda s: pte_present(s.raw) and pte_dirty(s.raw))
    is_swap = property(lambda s: is_swap_pte(s.raw))
    swp_type = property(lambda s: swp_type(pte_to_swp_entry(s.raw)) if is_swap_pte(s.raw) else None)
    swp_offset = property(lambda s: swp_offset(pte_to_swp_entry(s.raw)) if is_swap_pte(s.raw) else None)
    kind = property(lambda s: pte_kind(s.raw, s._types))     # swapops.pte_kind
    is_migration = property(lambda s: s.kind.startswith("migration"))
    is_write_migration = property(lambda s: s.kind == "migration_write")

    def picture(self):
        """The pte's bit fields, as text and SVG."""
        return pte_picture(self.raw, self._types)

    def _repr_svg_(self):
        return self.picture().svg

    def __repr__(self) -> str:
        if self.none:
            return "<pte none>"
        if self.present:
            return (f"<pte pfn={self.pfn} {'rw' if self.writable else 'ro'}"
                    f"{' young' if self.young else ''}{' dirty' if self.dirty else ''}>")
        if self.kind == "file":
            return f"<pte file pgoff={pte_to_pgoff(self.raw)}>"
        kind = "migration" if self.is_migration else "swap"
        return f"<pte {kind} type={self.swp_type} offset={self.swp_offset}>"


class PageView:
    """A snapshot view of one struct page."""

    __slots__ = ("pfn", "node", "count", "mapcount", "flags", "anon", "index", "private")

    def __init__(self, page):
        self.pfn, self.node, self.flags = page.pfn, page.node, page.flags
        self.count, self.mapcount = page_count(page), page_mapcount(page)
        self.anon, self.index, self.private = PageAnon(page), page.index, page.private

    locked = property(lambda s: bool(s.flags & LOCKED))
    dirty = property(lambda s: bool(s.flags >> PG_dirty & 1))
    swapcache = property(lambda s: bool(s.flags >> PG_swapcache & 1))
    lru = property(lambda s: bool(s.flags >> PG_lru & 1))
    active = property(lambda s: bool(s.flags >> PG_active & 1))
    referenced = property(lambda s: bool(s.flags >> PG_referenced & 1))
    uptodate = property(lambda s: bool(s.flags >> PG_uptodate & 1))
    private_ = property(lambda s: bool(s.flags >> PG_private & 1))
    writeback = property(lambda s: bool(s.flags >> PG_writeback & 1))

    def __repr__(self) -> str:
        return (f"<page pfn={self.pfn} node={self.node} count={self.count} "
                f"mapcount={self.mapcount} {'anon' if self.anon else 'file'} "
                f"flags={flag_names(self.flags)}>")


def peek(k, mm, shared, addr: int):
    """What a load of the page at addr in mm would return, without faulting: the page a
    pte or a migration entry names, the swap cache or the swap slot, else -- for an empty
    pte -- the file page (shared: its ("s", mapping, index) key, see oracle.keys) or zeroes.
    None if the pte names a page that is gone (the kernel check reports it)."""
    pte = mm.pgtable.get(addr >> PAGE_SHIFT, 0)
    kind = pte_kind(pte, k.swp_types)
    if kind == "present":
        page = k.pages.get(pte_pfn(pte))
        return page.data if page is not None else None
    if kind.startswith("migration"):
        page = k.pages.get(swp_offset(pte_to_swp_entry(pte)))
        return page.data if page is not None else None
    if kind == "swap":
        e = pte_to_swp_entry(pte)
        pfn = k.swapper_space.page_tree.get(e)
        if pfn is not None:
            return k.pages[pfn].data
        return k.swap_info[swp_type(e)].slots.get(swp_offset(e), ZERO_BYTES)
    if shared is not None:                             # a file page not mapped yet
        pfn = k.mappings[shared[1]].page_tree.get(shared[2])
        return k.pages[pfn].data if pfn is not None else ZERO_BYTES
    return ZERO_BYTES
