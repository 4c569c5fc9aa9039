"""struct page counters: _mapcount starts at -1, page_mapcount adds one, count 0 is free.

Kernel: include/linux/mm.h (page_mapcount, page_mapped, get_page, put_page_testzero) and
mm/swap.c (put_page) of Linux 2.6.18:
https://elixir.bootlin.com/linux/v2.6.18/source/include/linux/mm.h
"""

import pytest

from refmodel import BUG, Machine
from refmodel.page import (PG_dirty, PG_locked, PG_swapcache, Page, TestSetPageLocked,
                           get_page, page_count, page_mapcount, page_mapped,
                           put_page_testzero, unlock_page)
from refmodel.page_alloc import ZERO_PFN, alloc_pages_node
from refmodel.rmap import page_add_file_rmap, page_remove_rmap
from refmodel.swap import page_cache_release


def test_page_flag_bits_are_page_flags_h():
    # include/linux/page-flags.h of 2.6.18
    assert (PG_locked, PG_dirty, PG_swapcache) == (0, 4, 15)


def test_mapcount_is_underscore_mapcount_plus_one():
    page = Page(3, 0)
    assert page._mapcount == -1 and page_mapcount(page) == 0 and not page_mapped(page)
    page._count = 1
    page_add_file_rmap(page)
    assert page._mapcount == 0 and page_mapcount(page) == 1 and page_mapped(page)
    page_add_file_rmap(page)
    assert page_mapcount(page) == 2
    page_remove_rmap(page)
    page_remove_rmap(page)
    assert page_mapcount(page) == 0 and not page_mapped(page)
    with pytest.raises(BUG):
        page_remove_rmap(page)                       # mapcount below zero is a BUG


def test_get_page_on_a_free_page_is_a_bug():
    page = Page(3, 0)
    with pytest.raises(BUG):
        get_page(page)
    with pytest.raises(BUG):
        put_page_testzero(page)


def test_put_page_testzero_says_when_the_last_reference_goes():
    page = Page(3, 0)
    page._count = 2
    assert not put_page_testzero(page) and page_count(page) == 1
    assert put_page_testzero(page) and page_count(page) == 0


def test_page_is_freed_when_count_reaches_zero():
    m = Machine(nodes=1, pages_per_node=8)
    k = m.k
    page = alloc_pages_node(k, 0)
    pfn = page.pfn
    assert page_count(page) == 1 and pfn in k.pages and pfn != ZERO_PFN
    get_page(page)
    page_cache_release(k, page)
    assert pfn in k.pages                            # one reference left: still in use
    page_cache_release(k, page)
    assert pfn not in k.pages and pfn in k.nodes[0].free
    assert m.page(pfn).count == 0
    # LIFO free list: the next allocation reuses it
    assert alloc_pages_node(k, 0).pfn == pfn


def test_freeing_a_mapped_or_locked_page_is_a_bad_page():
    k = Machine(nodes=1, pages_per_node=8).k
    page = alloc_pages_node(k, 0)
    page_add_file_rmap(page)
    with pytest.raises(BUG):
        page_cache_release(k, page)                  # free_pages_check: still mapped
    page2 = alloc_pages_node(k, 0)
    page2.flags |= 1 << PG_locked
    with pytest.raises(BUG):
        page_cache_release(k, page2)                 # free_pages_check: still locked


def test_page_lock():
    page = Page(3, 0)
    assert not TestSetPageLocked(page) and page.locked
    assert TestSetPageLocked(page)                   # already held: not taken again
    unlock_page(page)
    assert not page.locked
    with pytest.raises(BUG):
        unlock_page(page)


def test_zero_page_is_pinned_at_pfn_0():
    m = Machine()
    z = m.page(0)
    assert z.pfn == 0 and z.count == 1 and z.mapcount == 0 and not z.anon
    assert list(m.k.pages) == [0]
