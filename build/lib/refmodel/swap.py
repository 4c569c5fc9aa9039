"""Page references and the LRU lists, reduced: put_page, lru_cache_add, mark_page_accessed.

Models the parts of mm/swap.c of Linux 2.6.18 the series touches (the name is the kernel's:
this file is about page references, not swap space):
https://elixir.bootlin.com/linux/v2.6.18/source/mm/swap.c
The LRU is a flag only (PG_lru, PG_active): the model never scans lists.
"""

from .page import PG_active, PG_dirty, PG_lru, PG_referenced, Page, put_page_testzero
from .page_alloc import free_hot_cold_page
from .swapops import BUG


def page_cache_release(k, page: Page) -> None:
    """put_page(): drop a reference; the last one frees the page."""
    if put_page_testzero(page):
        __page_cache_release(k, page)


put_page = page_cache_release


def __page_cache_release(k, page: Page) -> None:
    """A page whose last reference went: off the LRU and back to the allocator."""
    page.flags &= ~((1 << PG_lru) | (1 << PG_active))
    free_hot_cold_page(k, page)


def lru_cache_add_active(page: Page) -> None:
    """Put a new page on the active LRU list."""
    page.flags |= (1 << PG_lru) | (1 << PG_active)


def lru_cache_add(page: Page) -> None:
    """Put a page on the inactive LRU list."""
    page.flags |= 1 << PG_lru


def mark_page_accessed(page: Page) -> None:
    """Note a use of the page (sets PG_referenced)."""
    page.flags |= 1 << PG_referenced


def set_page_dirty(page: Page) -> None:
    """Mark the struct page dirty (the pte's dirty bit moves here when the pte goes)."""
    page.flags |= 1 << PG_dirty


def isolate_lru_page(page: Page) -> bool:
    """Take a page off the LRU for migration or reclaim, with a reference of our own.

    Returns False if the page was not on an LRU list (someone else isolated it).
    """
    if not page.flags & (1 << PG_lru):
        return False
    if page._count <= 0:
        raise BUG(f"isolate_lru_page: free page {page.pfn}")
    page.flags &= ~(1 << PG_lru)
    page._count += 1
    return True


def putback_lru_page(k, page: Page) -> None:
    """move_to_lru(): back on the LRU, dropping the isolation reference (may free it)."""
    page.flags |= 1 << PG_lru
    page_cache_release(k, page)
