"""Reclaim, reduced to one page: the steps shrink_page_list() takes to push an anonymous
page out to swap, so that readers can watch real swap entries and the swap cache.

Models the anonymous-page path of shrink_page_list()/pageout()/remove_mapping() in
mm/vmscan.c of Linux 2.6.18: https://elixir.bootlin.com/linux/v2.6.18/source/mm/vmscan.c
The LRU scan itself is not modelled: the caller names the page, and its young bits are
cleared first, as the scan's page_referenced() pass would have done by the time it got here.
"""

from .page import (PG_dirty, PG_writeback, Page, PageAnon, PageSwapCache, PageWriteback,
                   TestSetPageLocked, page_count, page_mapped, unlock_page)
from .rmap import SWAP_FAIL, page_referenced, try_to_unmap
from .swap import isolate_lru_page, page_cache_release, putback_lru_page
from .swap_state import __delete_from_swap_cache, add_to_swap
from .swapfile import swap_free, swap_info_get
from .swapops import swp_offset


def swap_writepage(k, page: Page) -> None:
    """pageout() of a swap-cache page: write its bytes to its slot (synchronous I/O)."""
    entry = page.private
    si = swap_info_get(k, entry)
    page.flags |= 1 << PG_writeback
    page.flags &= ~(1 << PG_dirty)                 # clear_page_dirty_for_io
    si.slots[swp_offset(entry)] = page.data
    page.flags &= ~(1 << PG_writeback)             # end_page_writeback
    k.stat("pswpout")


def remove_mapping(k, page: Page) -> bool:
    """Drop the swap cache's hold if only the cache and we still hold the page."""
    if page_count(page) != 2 or page.flags & (1 << PG_dirty):
        return False
    entry = page.private
    __delete_from_swap_cache(k, page)
    swap_free(k, entry)
    page_cache_release(k, page)                    # the cache's reference
    return True


def reclaim_page(k, page: Page) -> bool:
    """Try to evict one anonymous page to swap; True if it was freed."""
    if not PageAnon(page) or not isolate_lru_page(page):
        return False
    freed = False
    if not TestSetPageLocked(page):
        page_referenced(k, page)                   # age it: clear the young bits
        # The scan that finds it: what is still "referenced" now is a VM_LOCKED mapping,
        # and shrink_page_list() puts such a page back on the active list untouched.
        ok = not PageWriteback(page) and not page_referenced(k, page)
        if ok and not PageSwapCache(page):
            ok = add_to_swap(k, page)              # locks it again: it is already locked
        if ok and page_mapped(page):
            ok = try_to_unmap(k, page, False) != SWAP_FAIL and not page_mapped(page)
        if ok and page.flags & (1 << PG_dirty):
            swap_writepage(k, page)
        if ok:
            freed = remove_mapping(k, page)
        unlock_page(page)
    if freed:
        page_cache_release(k, page)                # the isolation reference: frees it
        k.stat("pgsteal")
    else:
        putback_lru_page(k, page)
    return freed
