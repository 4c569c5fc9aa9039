"""struct page: flags, reference count, map count, mapping, index, private and contents.

Models the struct page of include/linux/mm.h and the flag bits of include/linux/page-flags.h
in Linux 2.6.18 (https://elixir.bootlin.com/linux/v2.6.18/source/include/linux/mm.h).
As in the kernel, _mapcount starts at -1 (page_mapcount() adds one back) and the low bit
of ->mapping (PAGE_MAPPING_ANON) says whether it names an anon_vma or an address_space.
"""

from .pgtable import PAGE_SIZE
from .swapops import BUG

# include/linux/page-flags.h bit numbers.
PG_locked = 0
PG_error = 1
PG_referenced = 2
PG_uptodate = 3
PG_dirty = 4
PG_lru = 5
PG_active = 6
PG_reserved = 10
PG_private = 11
PG_writeback = 12
PG_swapcache = 15

FLAG_NAMES = {PG_locked: "locked", PG_error: "error", PG_referenced: "referenced",
              PG_uptodate: "uptodate", PG_dirty: "dirty", PG_lru: "lru", PG_active: "active",
              PG_reserved: "reserved", PG_private: "private", PG_writeback: "writeback",
              PG_swapcache: "swapcache"}

LOCKED = 1 << PG_locked      # the PG_locked bit as a mask (the hottest flag test)
PAGE_MAPPING_ANON = 1
ZERO_BYTES = bytes(PAGE_SIZE)


class Page:
    """One page frame.  mapping is an int handle: anon_vma id << 1 | 1, or address_space id << 1."""

    __slots__ = ("pfn", "node", "flags", "_count", "_mapcount", "mapping", "index",
                 "private", "data")

    def __init__(self, pfn: int, node: int):
        self.pfn, self.node = pfn, node
        self.flags = 0
        self._count = 0          # 0 = free
        self._mapcount = -1      # -1 = no pte maps it
        self.mapping = 0         # NULL
        self.index = 0
        self.private = 0
        self.data = ZERO_BYTES   # immutable bytes, replaced on write: cheap to snapshot

    # Flag tests read like the kernel's PageLocked() & co.
    def test(self, bit: int) -> bool:
        """TestPageFlag."""
        return bool(self.flags >> bit & 1)

    def set(self, bit: int) -> None:
        """SetPageFlag."""
        self.flags |= 1 << bit

    def clear(self, bit: int) -> None:
        """ClearPageFlag."""
        self.flags &= ~(1 << bit)

    @property
    def locked(self) -> bool:
        return bool(self.flags & LOCKED)

    def snapshot(self) -> tuple:
        """Everything about this page, as a hashable tuple."""
        return (self.pfn, self.node, self.flags, self._count, self._mapcount, self.mapping,
                self.index, self.private, self.data)

    def __repr__(self) -> str:
        return (f"<page pfn={self.pfn} node={self.node} count={self._count} "
                f"mapcount={self._mapcount + 1} flags={flag_names(self.flags)}>")


def flag_names(flags: int) -> str:
    """PG_ flags as a short readable list."""
    return ",".join(n for b, n in FLAG_NAMES.items() if flags >> b & 1) or "-"


def page_count(page: Page) -> int:
    """page_count(): references held on the page (0 = free)."""
    return page._count


def page_mapcount(page: Page) -> int:
    """page_mapcount(): number of ptes mapping the page (_mapcount + 1)."""
    return page._mapcount + 1


def page_mapped(page: Page) -> bool:
    """page_mapped(): is any pte mapping the page?"""
    return page._mapcount >= 0


def PageAnon(page: Page) -> bool:
    """Anonymous page: ->mapping names an anon_vma."""
    return bool(page.mapping & PAGE_MAPPING_ANON)


def PageLocked(page: Page) -> bool:
    return bool(page.flags & LOCKED)


def PageSwapCache(page: Page) -> bool:
    return bool(page.flags & (1 << PG_swapcache))


def PageDirty(page: Page) -> bool:
    return bool(page.flags & (1 << PG_dirty))


def PagePrivate(page: Page) -> bool:
    return bool(page.flags & (1 << PG_private))


def PageWriteback(page: Page) -> bool:
    return bool(page.flags & (1 << PG_writeback))


def PageLRU(page: Page) -> bool:
    return bool(page.flags & (1 << PG_lru))


def PageReserved(page: Page) -> bool:
    return bool(page.flags & (1 << PG_reserved))


def SetPageSwapCache(page: Page) -> None:
    """Mark the page as a swap-cache page (its ->private then holds its swap entry)."""
    page.flags |= 1 << PG_swapcache


def set_page_private(page: Page, value: int) -> None:
    """set_page_private(): the page's ->private word (a swap-cache page's swap entry)."""
    page.private = value


def page_index(page: Page) -> int:
    """page_index(): where the page sits in its address_space's radix tree -- its swap entry
    for a swap-cache page, else ->index."""
    return page.private if PageSwapCache(page) else page.index


def get_page(page: Page) -> None:
    """Take a reference; the page must already be in use."""
    if page._count <= 0:
        raise BUG(f"get_page on free page {page.pfn}")
    page._count += 1


def put_page_testzero(page: Page) -> bool:
    """Drop a reference; True if it was the last one."""
    if page._count <= 0:
        raise BUG(f"put_page on free page {page.pfn}")
    page._count -= 1
    return page._count == 0


def TestSetPageLocked(page: Page) -> bool:
    """Try to take the page lock: returns True if it was already held (and so not taken)."""
    was = page.flags & LOCKED
    page.flags |= LOCKED
    return bool(was)


def unlock_page(page: Page) -> None:
    """Release the page lock; sleepers in lock_page/wait_on_page_locked become runnable."""
    if not page.flags & LOCKED:
        raise BUG(f"unlock_page on unlocked page {page.pfn}")
    page.flags &= ~LOCKED
