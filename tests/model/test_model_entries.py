"""Migration entries meeting the pre-migration paths (kernel-facts §3.2, §3.6, §6).

These tests make entries the way unmap_and_move does its first half -- lock the page, then
try_to_unmap(page, migration=1) -- and then drive fork, mprotect, munmap and faults over
them through the façade.  They need nothing of migrate.py: they pin down what memory.c,
mprotect.c, rmap.c and swapfile.c of 2.6.18 do when they find an entry.
"""

import pytest

from refmodel import (MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_READ,
                      PROT_WRITE, Deadlock, Machine)
from refmodel.page import TestSetPageLocked
from refmodel.rmap import SWAP_SUCCESS, try_to_unmap

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
P = PAGE_SIZE


def unmap_for_migration(m, proc, addr):
    """Hold a reference (standing in for isolate_lru_page's; m.check() counts it as a pin),
    lock the page at addr and replace every pte mapping it by a migration entry."""
    page = m.k.pages[m.get_user_pages(proc, addr)]
    assert not TestSetPageLocked(page)
    assert try_to_unmap(m.k, page, True) == SWAP_SUCCESS
    return page


def test_unmap_makes_a_write_entry_and_drops_one_count_per_pte():
    """
        before:  pte rw D -> pfn N  c=1+1 m=1   (+1: our reference)
        after:   pte = migration WRITE, offset N      pfn N locked dirty  c=1 m=0
    I2: creating an entry lowers mapcount and count by one; the entry holds no reference.
    The pte's dirty bit moves to PG_dirty (try_to_unmap_one, kernel-facts §3.2 step 3).
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"moving")
    pfn = p.pte(a).pfn
    page = unmap_for_migration(m, p, a)
    pte = p.pte(a)
    assert pte.is_swap and pte.is_migration and pte.is_write_migration
    assert pte.swp_type == 31 and pte.swp_offset == pfn
    assert (page._count, page._mapcount + 1) == (1, 0)
    assert page.flags & 1 and page.flags & (1 << 4)      # PG_locked, PG_dirty
    assert p.mm.anon_rss == 1                             # I9: rss untouched by migration
    assert p.page(a) is None
    m.check()


def _entry_world(shared=False, era="2.6.18", **decisions):
    """
        p: [ rw anon ] pte = migration WRITE -> pfn N (locked; count 1: our reference)
    """
    m = Machine(era=era, **decisions)
    p = m.spawn()
    flags = (MAP_SHARED | MAP_ANONYMOUS) if shared else ANON
    a = p.mmap(None, P, RW, flags)
    p.write(a, b"entry")
    pfn = p.pte(a).pfn
    page = unmap_for_migration(m, p, a)
    return m, p, a, page, pfn


def test_read_write_entry_types():
    m, p, a, page, pfn = _entry_world()
    assert p.pte(a).is_write_migration
    m2 = Machine()
    q = m2.spawn()
    c = q.mmap(None, P, RW, ANON)
    q.write(c, b"r")
    q.mprotect(c, P, PROT_READ)
    unmap_for_migration(m2, q, c)
    assert q.pte(c).is_migration and not q.pte(c).is_write_migration
    assert q.pte(c).swp_type == 30
    m.check()
    m2.check()


def test_fork_downgrades_a_write_entry_in_parent_and_child():
    """
        parent: migration WRITE N    --fork-->   parent: migration READ N
                                                 child:  migration READ N
    memory.c#L427 copy_one_pte: a WRITE entry in a COW vma becomes READ on both sides;
    swap_duplicate() is a no-op for it, so no swap_map count appears (§3.6, I2, I6).
    """
    m, p, a, page, pfn = _entry_world()
    m.swapon(16)
    c = p.fork()
    for proc in (p, c):
        pte = proc.pte(a)
        assert pte.is_migration and not pte.is_write_migration
        assert pte.swp_type == 30 and pte.swp_offset == pfn
    assert dict(m.k.swap_info[0].swap_map) == {0: 0x8000}    # header only
    assert page._mapcount + 1 == 0                           # fork added no mapping
    m.check()


@pytest.mark.parametrize("rss_fix, child_rss", [(False, 0), (True, 1)])
def test_fork_of_an_entry_and_the_rss_bug_fixed_in_3_3(rss_fix, child_rss):
    """2.6.18 does not count a fork-copied entry in the child's rss (fixed in 3.3, I9)."""
    m, p, a, page, pfn = _entry_world(rss_fix_3_3=rss_fix)
    c = p.fork()
    assert c.mm.anon_rss == child_rss
    assert p.mm.anon_rss == 1
    m.check()


def test_mprotect_downgrades_a_write_entry_even_to_rw():
    """
        migration WRITE N  --mprotect(RW)-->  migration READ N
    mprotect.c change_pte_range: "a protection check is difficult", so WRITE becomes READ
    whatever the new protection (kernel-facts S12).
    """
    m, p, a, page, pfn = _entry_world()
    p.mprotect(a, P, RW)
    pte = p.pte(a)
    assert pte.is_migration and not pte.is_write_migration and pte.swp_offset == pfn
    m.check()


def test_munmap_of_an_entry_vanishes_without_touching_the_page_or_swap():
    """
        p: migration WRITE N  --munmap-->  nothing;  pfn N still locked, count unchanged
    zap_pte_range -> free_swap_and_cache returns at once for a migration entry (§3.6);
    2.6.18 leaves anon_rss at 1 (the rss leak fixed in 3.3, kernel-facts I9/S24).
    """
    m, p, a, page, pfn = _entry_world()
    m.swapon(16)
    count = page._count
    p.munmap(a, P)
    assert p.pte(a).none
    assert page._count == count and pfn in m.k.pages and page.flags & 1
    assert dict(m.k.swap_info[0].swap_map) == {0: 0x8000}
    assert p.mm.anon_rss == 1
    m.check()


def test_fault_on_an_entry_sleeps_on_the_page_lock():
    """
        p: migration WRITE N (N locked)   p reads a  -> migration_entry_wait: sleeps
    memory.c do_swap_page -> migration_entry_wait (kernel-facts §3.3, S4).  On an otherwise
    idle machine nothing will unlock N, so the façade reports the sleep as a Deadlock.
    """
    m, p, a, page, pfn = _entry_world()
    with pytest.raises(Deadlock):
        p.read(a, 1)


def test_reclaim_refuses_mlock_but_migration_unmaps_it():
    """
        [ rw anon L ] pte -> N:   try_to_unmap(N, 0) = SWAP_FAIL,  try_to_unmap(N, 1) = SUCCESS
    rmap.c#L566: only reclaim honours VM_LOCKED (kernel-facts S13).
    """
    from refmodel.rmap import SWAP_FAIL
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.mlock(a, P)
    page = m.k.pages[m.get_user_pages(p, a)]          # a reference, as isolation takes
    assert not TestSetPageLocked(page)
    assert try_to_unmap(m.k, page, False) == SWAP_FAIL
    assert p.pte(a).present
    assert try_to_unmap(m.k, page, True) == SWAP_SUCCESS
    assert p.pte(a).is_write_migration
    m.check()


def test_swap_cache_page_gets_a_real_swap_pte_even_when_migrating():
    """
        after swap-in:  pte ro -> N (swap cache, entry 0:o)
        try_to_unmap(N, migration=1):  pte = swap 0:o (NOT a migration entry), anon_rss - 1
    rmap.c try_to_unmap_one: the PageSwapCache branch comes first (kernel-facts §3.2 step 5,
    the 2.6.18 quirk of S15).
    """
    m = Machine()
    m.swapon(16)
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"cached")
    assert m.reclaim(p, a)
    off = p.pte(a).swp_offset
    assert p.read(a, 6) == b"cached"
    assert p.page(a).swapcache
    unmap_for_migration(m, p, a)
    pte = p.pte(a)
    assert pte.is_swap and not pte.is_migration and (pte.swp_type, pte.swp_offset) == (0, off)
    assert m.k.swap_info[0].swap_map[off] == 2               # the pte + the swap cache
    assert p.mm.anon_rss == 0
    m.check()


def test_fork_skips_a_shared_vma_and_its_write_entry_stays_write():
    """
        p: [ rw shared anon ] migration WRITE -> N (shmem page)
        fork:  p keeps WRITE;  child: no pte at all (re-faults from the page cache later)
    memory.c copy_page_range returns early for a vma without an anon_vma, and a shared
    vma is not a COW mapping anyway: nothing downgrades the entry (kernel-facts S3, I6).
    """
    m, p, a, page, pfn = _entry_world(shared=True)
    assert not page.mapping & 1                            # a file (shmem) page
    c = p.fork()
    assert p.pte(a).is_write_migration and p.pte(a).swp_offset == pfn
    assert c.pte(a).none
    assert (p.mm.file_rss, c.mm.file_rss) == (1, 0)
    m.check()
