"""2.6.17 as 2.6.17 ran it (issue #11, verified-facts K/M1): do_swap_page's PageSwapCache
re-check with `goto again` on the saved entry, and new vmas at the head of the anon_vma list.

    era field swapin_recheck:  "again" (2.6.17, and the V1 patches on 2.6.17-rc1)
                               "redo"  (rfc-v1, v2-yield: Lameter's redo patch)
                               "none"  (2.6.18: pte_same alone)
"""

import pytest

from refmodel import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Machine
from refmodel.eras import ERAS, era_upto_patch
from refmodel.page import PageSwapCache, TestSetPageLocked, unlock_page
from refmodel.rmap import try_to_unmap
from refmodel.swap_state import add_to_swap
from refmodel.variants.migrate_2_6_17 import remove_from_swap

RW, ANON = PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS


def test_presets():
    assert [ERAS[e].swapin_recheck for e in ("2.6.17", "rfc-v1", "v2-yield", "2.6.18")] == \
        ["again", "redo", "redo", "none"]
    assert ERAS["2.6.17"].anon_vma_insert == "head" and era_upto_patch(4).anon_vma_insert == "head"
    assert ERAS["rfc-v1"].anon_vma_insert == ERAS["2.6.18"].anon_vma_insert == "tail"


@pytest.mark.parametrize("recheck, again", [("again", 1), ("none", 0)])
def test_a_fault_that_wakes_on_a_page_gone_from_the_swap_cache_looks_the_entry_up_again(
        recheck, again):
    """
        p: [anon] swap pte (slot s)     P in the swap cache, locked (the lock holder: say
                                        swapoff's try_to_unuse, or 2.6.17's remove_from_swap)
        p reads: lookup_swap_cache(s) -> P (ref), lock_page(P) sleeps
        the holder puts the pte back to P and takes P out of the swap cache (slot freed), unlocks
        2.6.17: P not in the swap cache -> unlock, put, `goto again`: lookup(s) finds nothing,
                read_swap_cache_async(s) finds a free slot, the pte has changed: back out, retry
        2.6.18 ("none"): pte_same fails at once: back out, retry
    """
    m = Machine(era="2.6.17", nodes=2, pages_per_node=32, swap_pages=8, swapin_recheck=recheck)
    p = m.spawn(node=0)
    a = p.mmap(None, PAGE_SIZE, RW, ANON)
    p.write(a, b"hello")
    k = m.k
    page = k.pages[p.pte(a).pfn]
    assert TestSetPageLocked(page) is False
    assert add_to_swap(k, page)
    try_to_unmap(k, page, True)
    assert p.pte(a).kind == "swap"
    reader = m.access_path(p, a, write=False, length=5)
    assert m.run_until(reader, "do_swap_page_lock") == "do_swap_page_lock"
    assert m.step(reader) == "blocked"
    remove_from_swap(k, page)
    unlock_page(page)
    assert not PageSwapCache(page) and p.pte(a).present
    m.finish(reader)
    assert reader.result == b"hello" and reader.faults == 1
    assert m.counters["swapin_again"] == again
    m.check()


def test_fork_puts_the_child_at_the_head_of_the_anon_vma_list_in_2_6_17():
    """
        P writes a page, forks C, C forks G:  anon_vma list, walk order
        2.6.17 (list_add):       G C P
        2.6.18 (list_add_tail):  P C G
    """
    order = {}
    for era in ("2.6.17", "2.6.18"):
        m = Machine(era=era, nodes=2, pages_per_node=32, swap_pages=8)
        p = m.spawn(node=0)
        a = p.mmap(None, PAGE_SIZE, RW, ANON)
        p.write(a, b"x")
        c = p.fork()
        g = c.fork()
        names = {p.pid: "P", c.pid: "C", g.pid: "G"}
        order[era] = "".join(names[v.vm_mm.id] for v in p.mm.mmap[0].anon_vma.head)
    assert order == {"2.6.17": "GCP", "2.6.18": "PCG"}
