"""Swap areas and their use counts: swapon, get_swap_page, swap_duplicate, swap_free,
free_swap_and_cache, can_share_swap_page, remove_exclusive_swap_page.

Models mm/swapfile.c of Linux 2.6.18: https://elixir.bootlin.com/linux/v2.6.18/source/mm/swapfile.c
A swap area is in memory: swap_map[offset] counts the swap ptes and the swap-cache page
that use the slot, and slots[offset] holds the bytes written there.  Slot 0 is the header.
"""

import errno
from itertools import chain

from .kernel import printk
from .page import Page, PageLocked, PagePrivate, PageSwapCache, PageWriteback, TestSetPageLocked, page_count, page_mapcount, unlock_page
from .swap import page_cache_release, set_page_dirty
from .swapops import BUG, is_migration_entry, swp_entry, swp_offset, swp_type

SWAP_MAP_MAX = 0x7FFF
SWAP_MAP_BAD = 0x8000


class swap_info_struct:
    """One swap area: its size, per-slot use counts and stored contents."""

    __slots__ = ("type", "max", "swap_map", "slots", "inuse_pages", "prio", "cluster_next")

    def __init__(self, type_: int, npages: int, prio: int):
        self.type, self.max, self.prio = type_, npages, prio
        self.swap_map: dict = {0: SWAP_MAP_BAD}   # offset -> count; absent = free slot
        self.slots: dict = {}                    # offset -> bytes written by swap_writepage
        self.inuse_pages = 0
        self.cluster_next = 1                    # where scan_swap_map looks first

    def snapshot(self) -> tuple:
        return (self.type, self.max, tuple(sorted(self.swap_map.items())),
                tuple(sorted(self.slots.items())))


def nr_swap_pages(k) -> int:
    """Free swap slots over all areas."""
    return sum(si.max - 1 - si.inuse_pages for si in k.swap_info)


def total_swap_pages(k) -> int:
    return sum(si.max - 1 for si in k.swap_info)


def vm_swap_full(k) -> bool:
    """More than half of swap is in use: the kernel then frees swap-cache copies eagerly."""
    return nr_swap_pages(k) * 2 < total_swap_pages(k)


def sys_swapon(k, npages: int, prio: int | None = None) -> int:
    """Add a swap area of npages (its first slot is the header); returns its type.

    Raises OSError(EPERM) when every type below MAX_SWAPFILES is taken, as the kernel does.
    """
    if npages < 2:
        raise OSError(errno.EINVAL, "a swap area needs a header page and at least one slot")
    type_ = len(k.swap_info)
    # patch 2/6 and 0697212a: the top swap types belong to migration entries, so a kernel
    # with CONFIG_MIGRATION has 30 (V1: 31) swap types instead of 32.
    if type_ >= k.swp_types.max_swapfiles:
        raise OSError(errno.EPERM, f"swapon: all {k.swp_types.max_swapfiles} swap types in use")
    k.swap_info.append(swap_info_struct(type_, npages, -1 - type_ if prio is None else prio))
    return type_


def get_swap_page(k) -> int:
    """Allocate a free slot (count 1) in the highest-priority area with room; 0 if none."""
    for si in sorted(k.swap_info, key=lambda s: -s.prio):
        if si.inuse_pages >= si.max - 1:
            continue
        # scan_swap_map: carry on from the last slot handed out, wrapping round once.
        for offset in chain(range(si.cluster_next, si.max), range(1, si.cluster_next)):
            if offset not in si.swap_map:
                si.swap_map[offset] = 1
                si.inuse_pages += 1
                si.cluster_next = offset + 1 if offset + 1 < si.max else 1
                k.stat("swap_slots_taken")
                return swp_entry(si.type, offset)
    return 0


def nr_swapfiles(k) -> int:
    """nr_swapfiles: how many swap types have ever been set up (swapon)."""
    return len(k.swap_info)


def swap_info_get(k, entry: int):
    """The area an entry belongs to, or None for a bad entry (the kernel logs which kind of
    bad, as "swap_free: Bad swap file entry 3fffffffffff"; the null entry is silent)."""
    if not entry:
        return None
    t = swp_type(entry)
    if t >= nr_swapfiles(k):
        printk(k, f"swap_free: Bad swap file entry {entry:08x}")
        return None
    si = k.swap_info[t]
    if swp_offset(entry) >= si.max:
        printk(k, f"swap_free: Bad swap offset entry {entry:08x}")
        return None
    if swp_offset(entry) not in si.swap_map:
        printk(k, f"swap_free: Unused swap offset entry {entry:08x}")
        return None
    return si


def swap_entry_free(k, si, offset: int) -> int:
    """Drop one use of a slot; returns the count left.  The slot is freed at zero."""
    count = si.swap_map[offset]
    if count < SWAP_MAP_MAX:
        count -= 1
        if count:
            si.swap_map[offset] = count
        else:
            del si.swap_map[offset]
            si.slots.pop(offset, None)
            si.inuse_pages -= 1
    return count


def swap_free(k, entry: int) -> None:
    """Drop one use of the slot entry names."""
    si = swap_info_get(k, entry)
    if si is None:
        raise BUG(f"swap_free: bad swap entry {entry:#x}")
    swap_entry_free(k, si, swp_offset(entry))


def swap_duplicate(k, entry: int) -> int:
    """One more user of a swap slot (fork copying a swap pte): 1, or 0 for an entry that
    names no slot in use.  Migration entries hold no count: 2.6.18 returns 1 for them at
    once.  A count that reaches SWAP_MAP_MAX stays there (the slot is then freed only by
    swapoff)."""
    if is_migration_entry(entry, k.swp_types):
        return 1
    t = swp_type(entry)
    if t >= nr_swapfiles(k):
        printk(k, f"swap_dup: Bad swap file entry {entry:08x}")
        return 0
    si, offset = k.swap_info[t], swp_offset(entry)
    if offset < si.max and si.swap_map.get(offset, 0):
        si.swap_map[offset] = min(si.swap_map[offset] + 1, SWAP_MAP_MAX)
        return 1
    return 0


def page_swapcount(k, page: Page) -> int:
    """How many swap ptes still name a swap-cache page's slot (the cache's own use excluded)."""
    si = swap_info_get(k, page.private)
    return si.swap_map[swp_offset(page.private)] - 1 if si else 0


def can_share_swap_page(k, page: Page) -> bool:
    """May a write fault reuse this anonymous page?  Only if no one else maps or swaps it."""
    if not PageLocked(page):
        raise BUG("can_share_swap_page: page not locked")
    count = page_mapcount(page)
    if count <= 1 and PageSwapCache(page):
        count += page_swapcount(k, page)
    return count == 1


def remove_exclusive_swap_page(k, page: Page) -> bool:
    """Drop the swap-cache copy of a page nobody else needs (caller holds the page lock)."""
    from .swap_state import __delete_from_swap_cache   # swap_state.c and swapfile.c call each other
    if PagePrivate(page) or not PageLocked(page):
        raise BUG("remove_exclusive_swap_page: bad page state")
    if not PageSwapCache(page) or PageWriteback(page) or page_count(page) != 2:
        return False
    entry = page.private
    si = swap_info_get(k, entry)
    if si is None or si.swap_map[swp_offset(entry)] != 1:
        return False
    __delete_from_swap_cache(k, page)
    set_page_dirty(page)
    swap_free(k, entry)
    page_cache_release(k, page)
    return True


def free_swap_and_cache(k, entry: int) -> None:
    """A swap pte went away (munmap, exit): drop its slot count, and the swap-cache page too
    if that leaves it unused.  Migration entries hold no count: nothing to do."""
    from .swap_state import delete_from_swap_cache, find_get_page   # (as above)
    if is_migration_entry(entry, k.swp_types):
        return
    si = swap_info_get(k, entry)
    page = None
    if si is not None and swap_entry_free(k, si, swp_offset(entry)) == 1:
        page = find_get_page(k, k.swapper_space, entry)
        if page is not None and TestSetPageLocked(page):
            page_cache_release(k, page)
            page = None
    if page is not None:
        one_user = page_count(page) == 2
        if PageSwapCache(page) and not PageWriteback(page) and (one_user or vm_swap_full(k)):
            delete_from_swap_cache(k, page)
            set_page_dirty(page)
        unlock_page(page)
        page_cache_release(k, page)
