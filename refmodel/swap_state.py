"""The swap cache: swapper_space, a radix tree from swap entry to page.

Models mm/swap_state.c of Linux 2.6.18 (and find_get_page of mm/filemap.c):
https://elixir.bootlin.com/linux/v2.6.18/source/mm/swap_state.c
A page in the swap cache has PG_swapcache set, its swp_entry_t in ->private, and one
reference held by the cache.  Its slot's swap_map count includes the cache's use.
"""

from . import errno

from .page import (PG_dirty, PG_locked, PG_swapcache, PG_uptodate, Page, PageSwapCache, PagePrivate,
                   get_page, unlock_page)
from .page_alloc import alloc_pages_node
from .swap import lru_cache_add_active, page_cache_release
from .swapfile import get_swap_page, swap_duplicate, swap_free, swap_info_get
from .swapops import BUG, swp_offset


def find_get_page(k, mapping, index: int) -> Page | None:
    """Look a page up in a page cache and take a reference on it."""
    pfn = mapping.page_tree.get(index)
    if pfn is None:
        return None
    page = k.pages[pfn]
    get_page(page)
    return page


def __add_to_swap_cache(k, page: Page, entry: int) -> int:
    """Insert page at entry: the cache takes a reference; the page ends up locked."""
    if PageSwapCache(page) or PagePrivate(page):
        raise BUG("__add_to_swap_cache: page already has private data")
    tree = k.swapper_space.page_tree
    if entry in tree:
        return -errno.EEXIST
    tree[entry] = page.pfn
    k.swapper_space.nrpages += 1
    get_page(page)
    page.flags |= (1 << PG_locked) | (1 << PG_swapcache)   # SetPageLocked, SetPageSwapCache
    page.private = entry
    k.stat("swapcache_add")
    k.stat("radix_updates")
    return 0


def add_to_swap_cache(k, page: Page, entry: int) -> int:
    """Swap-in: the cache's use of an existing slot counts one more (-ENOENT if it is free)."""
    if not swap_duplicate(k, entry):
        return -errno.ENOENT            # the slot was freed meanwhile
    err = __add_to_swap_cache(k, page, entry)
    if err:
        swap_free(k, entry)
    return err


def add_to_swap(k, page: Page) -> bool:
    """Give a locked anonymous page a swap slot and put it in the swap cache, dirty."""
    if not page.locked:
        raise BUG("add_to_swap: page not locked")
    entry = get_swap_page(k)
    if not entry:
        return False
    if __add_to_swap_cache(k, page, entry):
        swap_free(k, entry)
        return False
    page.flags |= (1 << PG_uptodate) | (1 << PG_dirty)
    return True


def __delete_from_swap_cache(k, page: Page) -> None:
    """Take page out of the swap cache (caller holds tree_lock and drops the reference)."""
    if not page.locked or not PageSwapCache(page):
        raise BUG("__delete_from_swap_cache: bad page state")
    del k.swapper_space.page_tree[page.private]
    k.swapper_space.nrpages -= 1
    page.private = 0
    page.flags &= ~(1 << PG_swapcache)
    k.stat("swapcache_del")
    k.stat("radix_updates")


def delete_from_swap_cache(k, page: Page) -> None:
    """Remove a locked page from the swap cache, freeing its slot use and the cache's ref."""
    entry = page.private
    __delete_from_swap_cache(k, page)
    swap_free(k, entry)
    page_cache_release(k, page)


def lookup_swap_cache(k, entry: int) -> Page | None:
    """The swap-cache page for entry, with a reference taken; None if not cached."""
    return find_get_page(k, k.swapper_space, entry)


def swap_readpage(k, page: Page, entry: int) -> None:
    """Read the slot's bytes into page (synchronous I/O): uptodate and unlocked after."""
    si = swap_info_get(k, entry)
    page.data = si.slots.get(swp_offset(entry), page.data)
    page.flags |= 1 << PG_uptodate
    unlock_page(page)
    k.stat("pswpin")


def read_swap_cache_async(k, entry: int, node: int) -> Page | None:
    """Find entry's page in the swap cache or read it in; None if the slot vanished."""
    found = find_get_page(k, k.swapper_space, entry)
    if found is not None:
        return found
    new_page = alloc_pages_node(k, node)
    if add_to_swap_cache(k, new_page, entry):
        page_cache_release(k, new_page)
        return None
    lru_cache_add_active(new_page)
    swap_readpage(k, new_page, entry)
    return new_page
