"""Machine(era="rfc-v1", upto_patch=k): the kernel after each of the six V1 patches.

Patches 1-4 add code that 2.6.17's swap-based migrate_pages never reaches; a caller that
reaches it directly sees exactly what each patch added (V1 2/6, 3/6 and 4/6; the pre-series
try_to_unmap_one had a BUG_ON(!PageSwapCache(page)) for anonymous pages, which the V2
version of patch 3 removes).  Patch 5 alone is refused, patch 6 is the full RFC.
"""

import pytest

from refmodel import PAGE_SIZE, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, Machine
from refmodel.eras import ERAS, NotInThisKernel, era_upto_patch
from refmodel.migrate import remove_migration_ptes
from refmodel.page import TestSetPageLocked, get_page, page_count, page_mapcount, unlock_page
from refmodel.pgtable import pte_present, pte_write
from refmodel.swap import page_cache_release
from refmodel.rmap import try_to_unmap, SWAP_SUCCESS
from refmodel.check import InvariantError
from refmodel.swapops import BUG, is_migration_entry, pte_to_swp_entry


def one_page(upto: int, swap: int = 0):
    """A machine after `upto` V1 patches with one written private anonymous page."""
    m = Machine(era="rfc-v1", upto_patch=upto, swap_pages=swap)
    p = m.spawn()
    a = p.mmap(None, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"hello")
    return m, p, a, m.k.pages[p.page(a).pfn]


def lock_for_migration(page):
    """What migration holds while it unmaps: a reference (isolation) and the page lock."""
    get_page(page)
    assert TestSetPageLocked(page) is False


def test_every_step_of_the_series_has_a_name_and_patch_5_is_refused():
    names = [era_upto_patch(k).name for k in (0, 1, 2, 3, 4, 6)]
    assert len(set(names)) == 6
    assert era_upto_patch(6) == ERAS["rfc-v1"]
    with pytest.raises(ValueError, match="patch 5/6 rips out"):
        Machine(era="rfc-v1", upto_patch=5)
    with pytest.raises(ValueError, match="0..6"):
        era_upto_patch(7)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_before_patch_6_migration_is_still_swap_based(k):
    era = era_upto_patch(k)
    assert era.migration == "swapcache" and era.needs_swap
    assert era.swap_types.max_swapfiles == (31 if k >= 2 else 32)        # patch 2/6


@pytest.mark.parametrize("k", [0, 1, 2])
def test_before_patch_3_unmapping_a_page_outside_the_swap_cache_is_a_bug(k):
    m, p, a, page = one_page(k)
    lock_for_migration(page)
    with pytest.raises(BUG, match="not in the swap cache"):
        try_to_unmap(m.k, page, True)


@pytest.mark.parametrize("k", [3, 4, 6])
def test_from_patch_3_unmapping_for_migration_writes_a_migration_entry(k):
    m, p, a, page = one_page(k)
    lock_for_migration(page)
    assert try_to_unmap(m.k, page, True) == SWAP_SUCCESS
    pte = p.mm.pgtable[a // PAGE_SIZE]
    assert not pte_present(pte)
    entry = pte_to_swp_entry(pte)
    assert is_migration_entry(entry, m.k.swp_types)
    assert m.k.swp_types.max_swapfiles == 31                 # V1's single type, 31
    unlock_page(page)


def test_patch_3_without_patch_4_leaves_no_way_back():
    m, p, a, page = one_page(3)
    lock_for_migration(page)
    try_to_unmap(m.k, page, True)
    with pytest.raises(NotInThisKernel, match="patch 4/6"):
        remove_migration_ptes(m.k, page, page)


@pytest.mark.parametrize("k", [4, 6])
def test_from_patch_4_remove_migration_ptes_restores_the_pte_without_its_write_bit(k):
    m, p, a, page = one_page(k)
    lock_for_migration(page)
    try_to_unmap(m.k, page, True)
    remove_migration_ptes(m.k, page, page)
    unlock_page(page)
    page_cache_release(m.k, page)                           # the isolation reference
    pte = p.mm.pgtable[a // PAGE_SIZE]
    assert pte_present(pte) and not pte_write(pte)          # V1 4/6: vm_page_prot, no write
    assert p.read(a, 5) == b"hello"
    m.check()


def one_page_with(upto: int, **decisions):
    m = Machine(era="rfc-v1", upto_patch=upto, **decisions)
    p = m.spawn()
    a = p.mmap(None, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"hello")
    return m, p, a, m.k.pages[p.page(a).pfn]


@pytest.mark.parametrize("recheck", ["again", "redo"])
def test_from_patch_2_a_fault_on_an_entry_takes_a_reference_and_waits_for_the_lock(recheck):
    """
        patches 1-4 on 2.6.17-rc1: p: [anon] MIG:P   P (L) c=2 (isolation, pte gone)
        the fault: lookup_swap_cache -> P with a reference (c=3), lock_page(P) sleeps
        migration gives up: ptes back to P, unlock;  the fault wakes, P not in swap cache:
          again (2.6.17-rc1): look the saved entry up again -> P again -> ... (a loop
                 for as long as P lives: V1 needed the redo patch)
          redo (Lameter's patch): drop P, fault again -> the restored pte
    """
    m, p, a, page = one_page_with(4, swapin_recheck=recheck)
    assert era_upto_patch(4).swapin_recheck == "again"
    lock_for_migration(page)
    try_to_unmap(m.k, page, True)
    count = page._count
    fault = m.access_path(p, a, write=False)
    assert m.run_until(fault, "done") == "blocked"           # asleep in lock_page()
    assert fault.pc == "do_swap_page_lock"
    assert page._count == count + 1                         # lookup_swap_cache's reference
    remove_migration_ptes(m.k, page, page)
    unlock_page(page)
    if recheck == "again":
        for _ in range(30):
            assert m.step(fault) in ("do_swap_page_lock", "swapin_again")
        assert not fault.finished and m.counters["swapin_again"] == 15    # one per two steps
        assert p.pte(a).present                               # the pte was never read again
        return
    m.finish(fault)
    assert fault.result == b"h" and page._count == count + 1   # the restored pte; the
    # fault has dropped its reference
    assert m.counters["swapin_again"] == 0


# -- V1 as posted (an override of rfc-v1): the gap between patch 6/6 and patch 4/6 ----------

def test_v1_as_posted_leaves_entries_for_a_page_that_is_freed():
    """
        V1 6/6 returns for an anonymous page outside the swap cache before it copies
        ->mapping to the new page; V1 4/6's remove_migration_ptes then skips a page that is
        not anonymous: the entries stay, naming the old page, which is freed.
    """
    m = Machine(era="rfc-v1", v1_as_posted=True, nodes=2, pages_per_node=32)
    p = m.spawn(cap_sys_nice=True)
    a = p.mmap(None, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"hello")
    old = p.page(a).pfn
    assert m.migrate_pages(p, {0}, {1}) == 0                  # "success"
    assert p.pte(a).is_migration and p.pte(a).swp_offset == old
    with pytest.raises(InvariantError, match=f"names free pfn {old}"):
        m.check()
    with pytest.raises(BUG, match="use after free"):
        p.read(a, 5)


def test_v1_as_posted_bugs_when_the_page_to_restore_is_not_mapped():
    """page_lock_anon_vma refuses a page no present pte maps: V1 4/6's BUG_ON."""
    m = Machine(era="rfc-v1", v1_as_posted=True, nodes=2, pages_per_node=32)
    p = m.spawn()
    a = p.mmap(None, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"hello")
    page = m.k.pages[p.page(a).pfn]
    lock_for_migration(page)
    try_to_unmap(m.k, page, True)
    with pytest.raises(BUG, match="page_lock_anon_vma"):
        remove_migration_ptes(m.k, page, page)


def test_v1_as_posted_is_a_variant_of_rfc_v1_only():
    with pytest.raises(ValueError, match="variant of era 'rfc-v1' only"):
        Machine(era="2.6.18", v1_as_posted=True)


@pytest.mark.parametrize("posted", [False, True])
def test_v1_as_posted_remaps_a_pinned_pages_present_pte_on_every_failed_pass(posted):
    """
        p: [anon] rw dirty -> P   P c=2 (pte, pin) m=1
        V1 6/6: the count check before unmapping fails on each of 11 passes;
        as posted, remove_migration_ptes(P, P) follows, and 4/6's page_check_address matches
        the present pte: get_page + page_add_anon_rmap + a pte from vm_page_prot, old
        -> P c=2+11 m=1+11, pte ro clean;   as designed: nothing changes
    """
    m = Machine(era="rfc-v1", v1_as_posted=posted, nodes=2, pages_per_node=32)
    p = m.spawn(cap_sys_nice=True)
    a = p.mmap(None, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"hello")
    pfn = m.get_user_pages(p, a)
    assert m.migrate_pages(p, {0}, {1}) == 1 and m.last_call["migrate_passes"] == 11
    pte, page = p.pte(a), m.k.pages[pfn]
    assert pte.pfn == pfn
    if posted:
        assert (page_count(page), page_mapcount(page)) == (2 + 11, 1 + 11)
        assert not pte.writable and not pte.dirty
        with pytest.raises(InvariantError, match="V1 6/6 restored a present pte"):
            m.check()
    else:
        assert (page_count(page), page_mapcount(page)) == (2, 1) and pte.writable and pte.dirty
        m.check()
