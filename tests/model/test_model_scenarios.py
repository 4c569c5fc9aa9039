"""Scenario tests of the reference model through its façade (issue #3, Reference model I).

Each test opens with a picture of the state it builds, in the manner of the kernel's
tools/testing/vma tests: the address space on top, the ptes under it, the pages they map at
the bottom.  Notation:

    [ rw anon ]      a vma, its protection and backing       pfn N   a page frame
    pte: rw D Y      present pte: writable, Dirty, Young      swp t:o swap pte, type t offset o
    c=2 m=2          page count and mapcount                  ZERO    the ZERO_PAGE (pfn 0)

Every test ends with m.check(), the model's own invariant checker, so a scenario that breaks
an invariant fails even if its asserts pass.  Line references are to Linux 2.6.18 on elixir.
"""

import errno

import pytest

from refmodel import (MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_NONE,
                      PROT_READ, PROT_WRITE, Machine, SegmentationFault)
from refmodel.mmap import MAX_ARG_PAGES, STACK_TOP, VM_STACK_FLAGS

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
P = PAGE_SIZE
STACK = (STACK_TOP - MAX_ARG_PAGES * P, STACK_TOP, VM_STACK_FLAGS)   # every process's stack vma


def swap_count(m, t, off):
    """swap_map[off] of swap area t (0 = free slot)."""
    return m.k.swap_info[t].swap_map.get(off, 0)


def used_pfns(m):
    return sorted(m.k.pages)


# -- anonymous faults (mm/memory.c do_anonymous_page, do_wp_page) ------------------------

def test_anonymous_write_fault_maps_a_private_dirty_page():
    """
        p:  a                 a+P
            [ rw anon private ][..]
               |
          pte: rw D Y
               v
            pfn N  c=1 m=1 anon   "hello"
    memory.c#L2021 do_anonymous_page: write -> new zeroed page, pte writable and dirty.
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, 2 * P, RW, ANON)
    assert not p.pte(a).present and p.page(a) is None       # nothing until the first touch
    p.write(a, b"hello")
    pte, pg = p.pte(a), p.page(a)
    assert pte.present and pte.writable and pte.dirty and pte.young
    assert pte.pfn == pg.pfn != 0
    assert (pg.count, pg.mapcount, pg.anon, pg.node) == (1, 1, True, 0)
    assert (p.mm.anon_rss, p.mm.file_rss) == (1, 0)
    assert p.read(a, 5) == b"hello"
    assert p.read(a + 5, 3) == b"\0\0\0"                      # the rest of the page is zero
    assert not p.pte(a + P).present                           # the neighbour was not touched
    m.check()


def test_read_fault_maps_the_zero_page_read_only():
    """
        p:  [ rw anon private ]
               |
          pte: ro Y           (vm_page_prot of a private mapping is PAGE_COPY)
               v
            ZERO pfn 0  c=1+1 m=1   counted in file_rss
    memory.c#L2049: a read maps ZERO_PAGE read-only and bumps file_rss (#L2058).
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    assert p.read(a, 8) == bytes(8)
    pte, pg = p.pte(a), p.page(a)
    assert pte.present and pte.pfn == 0 and not pte.writable and not pte.dirty
    assert pg.pfn == 0 and pg.count == 2 and pg.mapcount == 1 and not pg.anon
    assert (p.mm.anon_rss, p.mm.file_rss) == (0, 1)
    assert used_pfns(m) == [0]                                # no page was allocated
    m.check()


def test_write_after_read_cows_off_the_zero_page():
    """
        before:  pte ro -> ZERO            after:  pte rw D -> pfn N  c=1 m=1 anon
    memory.c#L1526: do_wp_page on the ZERO_PAGE allocates a zeroed page; file_rss -> anon_rss.
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.read(a, 1)
    p.write(a + 100, b"x")
    pte, pg = p.pte(a), p.page(a)
    assert pte.pfn != 0 and pte.writable and pte.dirty
    assert (pg.count, pg.mapcount, pg.anon) == (1, 1, True)
    assert (p.mm.anon_rss, p.mm.file_rss) == (0 + 1, 0)
    assert m.page(0).count == 1 and m.page(0).mapcount == 0   # ZERO_PAGE reference given back
    assert p.read(a, 101) == bytes(100) + b"x"
    m.check()


# -- fork and copy-on-write ------------------------------------------------------------

def test_fork_write_protects_both_sides_and_shares_the_page():
    """
        parent:  [ rw anon ]      child:  [ rw anon ]
                    |                        |
               pte: ro D Y              pte: ro D (old)
                    \\______________________/
                               v
                    pfn N  c=2 m=2 anon   "data"
    memory.c#L427 copy_one_pte: a COW mapping is write-protected in parent and child.
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"data")
    c = p.fork()
    pp, cp = p.pte(a), c.pte(a)
    assert pp.pfn == cp.pfn and not pp.writable and not cp.writable
    assert not cp.young                                       # the child's copy is old
    pg = p.page(a)
    assert (pg.count, pg.mapcount) == (2, 2)
    assert (c.mm.anon_rss, c.mm.file_rss) == (1, 0)
    assert c.read(a, 4) == b"data"
    m.check()


def test_write_in_child_copies_and_parent_is_unchanged():
    """
        parent: pte ro -> pfn N "data" c=1 m=1      child: pte rw D -> pfn M "DATA" c=1 m=1
    COW isolation: do_wp_page copies (memory.c#L1455) because mapcount is 2.
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"data")
    old = p.page(a).pfn
    c = p.fork()
    copies = m.counters["cow_copy"]
    c.write(a, b"DATA")
    assert m.counters["cow_copy"] == copies + 1
    assert c.pte(a).pfn != old and c.pte(a).writable
    assert p.pte(a).pfn == old and not p.pte(a).writable      # the parent's pte is untouched
    assert p.read(a, 4) == b"data" and c.read(a, 4) == b"DATA"
    assert (p.page(a).count, p.page(a).mapcount) == (1, 1)
    assert (c.page(a).count, c.page(a).mapcount) == (1, 1)
    m.check()


def test_write_in_parent_after_child_exit_reuses_the_page():
    """
        fork, child exits:   parent pte ro -> pfn N c=1 m=1
        parent writes:       parent pte rw D -> pfn N  (same page: reuse, no copy)
    memory.c#L1500: can_share_swap_page() sees mapcount 1, so do_wp_page reuses the page.
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"data")
    pfn = p.page(a).pfn
    c = p.fork()
    c.exit()
    assert (p.page(a).count, p.page(a).mapcount) == (1, 1)
    reuse, copy = m.counters["cow_reuse"], m.counters["cow_copy"]
    p.write(a, b"D")
    assert m.counters["cow_reuse"] == reuse + 1
    assert m.counters["cow_copy"] == copy
    assert p.pte(a).pfn == pfn and p.pte(a).writable and p.pte(a).dirty
    assert p.read(a, 4) == b"Data"
    m.check()


# -- shared mappings -----------------------------------------------------------------------

def test_map_shared_file_write_seen_by_fork_child_and_other_process():
    """
        file f (tmpfs, 4 pages):   index 1 -> pfn N  (page cache)
        p: [ rw shared f ]   child: [ rw shared f ]   q: [ rw shared f ]
                 \\__________________|____________________/
                                     v
                        pfn N  c=1+3 m=3 file   "shared!"
    A MAP_SHARED write lands in the page cache page every mapper maps (no COW).
    """
    m = Machine()
    f = m.create_file("f", 4)
    p, q = m.spawn(), m.spawn()
    a = p.mmap(None, 4 * P, RW, MAP_SHARED, file=f)
    c = p.fork()
    b = q.mmap(None, 4 * P, RW, MAP_SHARED, file=f)
    p.write(a + P + 10, b"shared!")
    assert q.read(b + P + 10, 7) == b"shared!"
    assert c.read(a + P + 10, 7) == b"shared!"
    pfn = p.pte(a + P).pfn
    assert q.pte(b + P).pfn == pfn == c.pte(a + P).pfn
    pg = p.page(a + P)
    assert (pg.count, pg.mapcount, pg.anon) == (4, 3, False)   # 3 ptes + the page cache
    assert p.pte(a + P).writable and q.pte(b + P).writable     # PAGE_SHARED: no COW fault
    c.write(a + P, b"C")
    assert p.read(a + P, 1) == b"C" and q.read(b + P, 1) == b"C"
    assert (p.mm.file_rss, q.mm.file_rss, c.mm.file_rss) == (1, 1, 1)
    assert p.mm.anon_rss == q.mm.anon_rss == c.mm.anon_rss == 0
    m.check()


def test_map_private_file_write_is_private():
    """
        file f:  index 0 -> pfn N "" (page cache, untouched by the write)
        p: [ rw private f ]  pte rw D -> pfn M anon "mine"     q: [ ro shared f ] -> pfn N
    do_no_page (memory.c#L2090) breaks COW at once on a private write fault.
    """
    m = Machine()
    f = m.create_file("f", 1)
    p, q = m.spawn(), m.spawn()
    a = p.mmap(None, P, RW, MAP_PRIVATE, file=f)
    b = q.mmap(None, P, PROT_READ, MAP_SHARED, file=f)
    p.write(a, b"mine")
    assert q.read(b, 4) == bytes(4)
    assert p.read(a, 4) == b"mine"
    assert p.page(a).anon and not q.page(b).anon
    assert p.pte(a).pfn != q.pte(b).pfn
    assert (p.mm.anon_rss, p.mm.file_rss) == (1, 0)
    m.check()


def test_shared_anonymous_memory_is_shared_across_fork():
    """
        p: [ rw shared anon ]  child: [ rw shared anon ]     (a hidden tmpfs file)
                  \\___________________/
                            v
                  pfn N  c=1+2 m=2 file   "from child"
    """
    m = Machine()
    p = m.spawn()
    s = p.mmap(None, 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS)
    c = p.fork()
    c.write(s, b"from child")
    assert p.read(s, 10) == b"from child"
    p.write(s + P, b"from parent")
    assert c.read(s + P, 11) == b"from parent"
    assert p.pte(s).pfn == c.pte(s).pfn
    pg = p.page(s)
    assert (pg.count, pg.mapcount, pg.anon) == (3, 2, False)
    m.check()


# -- munmap ------------------------------------------------------------------------------

def test_munmap_of_one_of_two_mappers():
    """
        before:  p pte -> pfn N <- c pte    c=2 m=2
        p munmaps:   p: (nothing)            c: pte -> pfn N  c=1 m=1, still reads "both"
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"both")
    c = p.fork()
    p.munmap(a, P)
    assert p.vmas() == [STACK] and not p.pte(a).present
    assert (p.mm.anon_rss, p.mm.file_rss) == (0, 0)
    pg = c.page(a)
    assert (pg.count, pg.mapcount) == (1, 1)
    assert c.read(a, 4) == b"both"
    with pytest.raises(SegmentationFault):
        p.read(a, 1)
    m.check()


def test_munmap_of_the_middle_page_splits_the_vma():
    """
        before:  [ A | B | C | D ]   one vma, four pages
        after:   [ A ]  hole  [ C | D ]   two vmas; B's page is freed
    mmap.c#L1776 do_munmap: split_vma at both edges, zap the middle.
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, 4 * P, RW, ANON)
    for i in range(4):
        p.write(a + i * P, bytes([65 + i]))
    freed = p.page(a + P).pfn
    p.munmap(a + P, P)
    starts_ends = [(s, e) for s, e, _ in p.vmas()]
    assert starts_ends == [(a, a + P), (a + 2 * P, a + 4 * P), STACK[:2]]
    assert freed not in m.k.pages
    assert p.mm.anon_rss == 3
    assert [p.read(a + i * P, 1) for i in (0, 2, 3)] == [b"A", b"C", b"D"]
    with pytest.raises(SegmentationFault) as e:
        p.read(a + P, 1)
    assert e.value.addr == a + P
    m.check()


# -- mprotect -----------------------------------------------------------------------------

def test_mprotect_read_only_then_write_faults_then_back_to_rw():
    """
        [ rw anon ] pte rw D -> pfn N
        mprotect(R):   [ r- anon ]  pte ro D -> pfn N   write -> SIGSEGV at a
        mprotect(RW):  [ rw anon ]  pte ro D -> pfn N   (PAGE_COPY: still read-only)
        write:         pte rw D -> pfn N   (do_wp_page reuses: mapcount 1)
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, 2 * P, RW, ANON)
    p.write(a, b"x")
    pfn = p.pte(a).pfn
    p.mprotect(a, P, PROT_READ)
    assert not p.pte(a).writable and p.pte(a).dirty and p.pte(a).pfn == pfn
    assert len(p.vmas()) == 3                      # mprotect split the vma (+ the stack)
    with pytest.raises(SegmentationFault) as e:
        p.write(a + 7, b"y")
    assert e.value.addr == a + 7
    assert p.read(a, 1) == b"x"                               # reading is still allowed
    p.mprotect(a, P, RW)
    assert not p.pte(a).writable                              # restored lazily by a fault
    reuse, copy = m.counters["cow_reuse"], m.counters["cow_copy"]
    p.write(a, b"z")
    assert p.pte(a).writable and p.pte(a).pfn == pfn
    assert (m.counters["cow_reuse"], m.counters["cow_copy"]) == (reuse + 1, copy)
    assert p.read(a, 1) == b"z"
    m.check()


def test_prot_none_read_faults():
    """
        [ --- anon ]   read -> SIGSEGV, no pte is made
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, PROT_NONE, ANON)
    with pytest.raises(SegmentationFault) as e:
        p.read(a + 3, 1)
    assert e.value.addr == a + 3
    with pytest.raises(SegmentationFault):
        p.write(a, b"w")
    assert p.pte(a).none
    m.check()


def test_access_outside_every_vma_faults():
    """
        [ rw anon ]  <hole>      read just past the end -> SIGSEGV
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    with pytest.raises(SegmentationFault) as e:
        p.read(a + P, 1)
    assert e.value.addr == a + P
    with pytest.raises(SegmentationFault) as e:
        p.write(0x1000, b"w")
    assert e.value.addr == 0x1000
    m.check()


def test_mprotect_of_a_hole_after_a_vma_is_enomem():
    """
        [ rw anon ] <hole>    mprotect over both -> ENOMEM (mprotect.c#L296)
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    with pytest.raises(OSError) as e:
        p.mprotect(a, 2 * P, PROT_READ)
    assert e.value.errno == errno.ENOMEM
    m.check()


@pytest.mark.parametrize("call, err", [
    # mmap.c#L917: len == 0
    (lambda p: p.mmap(None, 0, RW, ANON), errno.EINVAL),
    # mmap.c#L1013: neither MAP_SHARED nor MAP_PRIVATE
    (lambda p: p.mmap(None, P, RW, MAP_ANONYMOUS), errno.EINVAL),
    # mmap.c#L1782: unaligned start
    (lambda p: p.munmap(0x12345, P), errno.EINVAL),
    # mmap.c#L1785: zero length
    (lambda p: p.munmap(0x100000, 0), errno.EINVAL),
    # mprotect.c#L217: unaligned start
    (lambda p: p.mprotect(0x12345, P, PROT_READ), errno.EINVAL),
    # mprotect.c#L226: unknown PROT_ bits
    (lambda p: p.mprotect(0x100000, P, 0x100), errno.EINVAL),
    # mprotect.c#L240: nothing mapped there
    (lambda p: p.mprotect(0x100000, P, PROT_READ), errno.ENOMEM),
], ids=["mmap-len0", "mmap-no-type", "munmap-unaligned", "munmap-len0",
        "mprotect-unaligned", "mprotect-bad-prot", "mprotect-unmapped"])
def test_bad_arguments_give_the_kernels_errno(call, err):
    m = Machine()
    p = m.spawn()
    with pytest.raises(OSError) as e:
        call(p)
    assert e.value.errno == err
    assert p.vmas() == [STACK]
    m.check()


def test_mprotect_of_zero_length_is_a_no_op():
    m = Machine()
    p = m.spawn()
    assert p.mprotect(0x100000, 0, PROT_READ) == 0            # mprotect.c#L219: !len -> 0


# -- mlock ---------------------------------------------------------------------------------

def test_mlock_faults_pages_in_and_sets_vm_locked():
    """
        mlock:  [ rw anon L ]   every pte present and writable (faulted for write)
                 pte rw D -> pfn N1   pte rw D -> pfn N2
    mlock.c#L62: make_pages_present() after setting VM_LOCKED.
    """
    from refmodel.mm import VM_LOCKED
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, 3 * P, RW, ANON)
    assert p.mlock(a, 2 * P) == 0
    flags = {s: f for s, _, f in p.vmas()}
    assert flags[a] & VM_LOCKED and not flags[a + 2 * P] & VM_LOCKED   # split at a+2P
    for addr in (a, a + P):
        assert p.pte(addr).present and p.pte(addr).writable and p.pte(addr).pfn != 0
    assert not p.pte(a + 2 * P).present
    assert p.mm.anon_rss == 2
    m.check()


def test_mlock_of_prot_none_is_efault_and_leaves_vm_locked():
    """
        [ --- anon ]   mlock -> EFAULT; the vma is VM_LOCKED anyway, no pte was made
    mlock.c#L56 sets vm_flags before make_pages_present (#L65), whose get_user_pages
    refuses a vma without VM_READ (memory.c#L1033) with -EFAULT.
    """
    from refmodel.mm import VM_LOCKED
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, P, PROT_NONE, ANON)
    with pytest.raises(OSError) as e:
        p.mlock(a, P)
    assert e.value.errno == errno.EFAULT
    assert p.vmas()[0][2] & VM_LOCKED
    assert p.pte(a).none
    m.check()


def test_reclaim_of_an_mlocked_page_fails():
    """
        swap on; [ rw anon L ] pte -> pfn N      reclaim(N) -> False, pte still present
        [ rw anon   ] pte -> pfn M               reclaim(M) -> True (control)
    rmap.c#L566: try_to_unmap_one returns SWAP_FAIL for a VM_LOCKED vma unless migrating.
    """
    from refmodel.page import TestSetPageLocked, unlock_page
    from refmodel.rmap import SWAP_FAIL, try_to_unmap
    from refmodel.swapops import BUG
    m = Machine()
    m.swapon(npages=64)
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    b = p.mmap(None, P, RW, ANON)
    assert p.mlock(a, P) == 0
    p.write(a, b"locked")
    p.write(b, b"free")
    pfn = p.pte(a).pfn
    assert m.reclaim(p, a) is False
    assert p.pte(a).present and p.pte(a).pfn == pfn and p.read(a, 6) == b"locked"
    # shrink_page_list activates a page page_referenced() counts through a VM_LOCKED vma
    # before add_to_swap: no swap slot, no swap cache
    from refmodel.page import PageSwapCache
    assert not PageSwapCache(m.k.pages[pfn]) and m.k.counters["swap_slots_taken"] == 0
    page = m.k.pages[pfn]
    with pytest.raises(BUG, match="not locked"):             # BUG_ON(!PageLocked(page))
        try_to_unmap(m.k, page, False)
    assert TestSetPageLocked(page) is False
    assert try_to_unmap(m.k, page, False) == SWAP_FAIL
    unlock_page(page)
    assert p.pte(a).present
    assert m.reclaim(p, b) is True and p.pte(b).is_swap
    m.check()


# -- swap -----------------------------------------------------------------------------------

def test_reclaim_swaps_a_page_out_and_a_read_brings_it_back():
    """
        before:   pte rw D -> pfn N "swapme"                swap 0: all free
        reclaim:  pte swp 0:1                               swap_map[1] = 1, pfn N freed
        read:     pte ro -> pfn M (swap cache) "swapme"     swap_map[1] = 1 (the cache)
    mm/vmscan.c shrink_page_list, memory.c#L1920 do_swap_page.
    """
    m = Machine()
    assert m.swapon(npages=64) == 0
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"swapme")
    pfn = p.pte(a).pfn
    assert m.reclaim(p, a) is True
    pte = p.pte(a)
    assert pte.is_swap and not pte.present and pte.swp_type == 0
    off = pte.swp_offset
    assert off >= 1                                           # slot 0 is the header
    assert swap_count(m, 0, off) == 1
    assert pfn not in m.k.pages and used_pfns(m) == [0]
    assert (p.mm.anon_rss, p.mm.file_rss) == (0, 0)
    m.check()
    assert p.read(a, 6) == b"swapme"
    pte, pg = p.pte(a), p.page(a)
    assert pte.present and not pte.writable                   # read fault: read-only
    assert pg.swapcache and pg.anon and pg.private == (0 << 59 | off)
    assert (pg.count, pg.mapcount) == (2, 1)                  # pte + swap cache
    assert swap_count(m, 0, off) == 1                         # the swap cache's use only
    assert p.mm.anon_rss == 1
    m.check()


def test_fork_while_swapped_out_duplicates_the_swap_entry():
    """
        p: pte swp 0:1       child: pte swp 0:1        swap_map[1] = 2 (swap_duplicate)
        child exits:         p: pte swp 0:1            swap_map[1] = 1 (free_swap_and_cache)
        p exits:                                       swap_map[1] = 0 (slot free)
    memory.c#L440 copy_one_pte -> swap_duplicate; zap_pte_range -> free_swap_and_cache.
    """
    m = Machine()
    m.swapon(npages=64)
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"out")
    assert m.reclaim(p, a)
    off = p.pte(a).swp_offset
    c = p.fork()
    assert c.pte(a).is_swap and c.pte(a).raw == p.pte(a).raw
    assert swap_count(m, 0, off) == 2
    m.check()
    c.exit()
    assert swap_count(m, 0, off) == 1 and p.pte(a).is_swap
    m.check()
    assert p.read(a, 3) == b"out"
    p.exit()
    assert swap_count(m, 0, off) == 0
    assert used_pfns(m) == [0]
    m.check()


def test_child_reads_swapped_page_after_fork():
    """
        p: swp 0:1   child: swp 0:1   swap_map 2
        child reads:  child pte ro -> pfn M (swap cache)  p: swp 0:1   swap_map 2 (p + cache)
    """
    m = Machine()
    m.swapon(npages=64)
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"both")
    assert m.reclaim(p, a)
    off = p.pte(a).swp_offset
    c = p.fork()
    assert c.read(a, 4) == b"both"
    assert c.pte(a).present and p.pte(a).is_swap
    assert swap_count(m, 0, off) == 2
    assert p.read(a, 4) == b"both"
    assert p.pte(a).pfn == c.pte(a).pfn                       # both map the swap-cache page
    assert (p.page(a).count, p.page(a).mapcount) == (3, 2)
    m.check()


# -- swapon and MAX_SWAPFILES (kernel-facts S19) ------------------------------------------

def test_S19_31st_swapon_fails_with_config_migration():
    """swapfile.c#L1394: type >= MAX_SWAPFILES (30 with CONFIG_MIGRATION) -> EPERM."""
    m = Machine(era="2.6.18")
    assert [m.swapon(4) for _ in range(30)] == list(range(30))
    with pytest.raises(OSError) as e:
        m.swapon(4)
    assert e.value.errno == errno.EPERM
    assert len(m.k.swap_info) == 30
    m.check()


def test_S19_2_6_17_allows_32_swap_areas():
    m = Machine(era="2.6.17")
    assert [m.swapon(4) for _ in range(32)] == list(range(32))
    with pytest.raises(OSError) as e:
        m.swapon(4)
    assert e.value.errno == errno.EPERM


# -- NUMA allocation ---------------------------------------------------------------------

def test_allocation_falls_back_to_node_1_when_node_0_is_full():
    """
        node 0: pfn 0..7   ZERO + 7 pages of p      node 1: pfn 8..15   the overflow
        p (on node 0): [ rw anon, 10 pages ]  -> 7 on node 0, 3 on node 1
    """
    m = Machine(nodes=2, pages_per_node=8)
    p = m.spawn(node=0)
    a = p.mmap(None, 10 * P, RW, ANON)
    for i in range(10):
        p.write(a + i * P, bytes([i]))
    nodes = [p.page(a + i * P).node for i in range(10)]
    assert nodes == [0] * 7 + [1] * 3
    assert all(8 <= p.page(a + i * P).pfn < 16 for i in range(7, 10))
    assert [p.read(a + i * P, 1)[0] for i in range(10)] == list(range(10))
    m.check()


def test_process_on_node_1_allocates_on_node_1():
    m = Machine(nodes=2, pages_per_node=8)
    q = m.spawn(node=1)
    a = q.mmap(None, P, RW, ANON)
    q.write(a, b"n1")
    assert q.page(a).node == 1
    m.check()


# -- exit -----------------------------------------------------------------------------------

def test_exit_of_every_process_frees_every_page():
    """
        p: [ anon: written | zero-page read | swapped out ]   child: COW copy of page 0
        both exit  ->  m.k.pages == {0: ZERO}, every swap slot free
    """
    m = Machine()
    m.swapon(npages=16)
    p = m.spawn()
    a = p.mmap(None, 3 * P, RW, ANON)
    p.write(a, b"w")
    p.read(a + P, 1)
    p.write(a + 2 * P, b"s")
    assert m.reclaim(p, a + 2 * P)
    c = p.fork()
    c.write(a, b"c")
    assert len(m.k.pages) > 1
    m.check()
    c.exit()
    p.exit()
    assert used_pfns(m) == [0]
    assert m.page(0).count == 1 and m.page(0).mapcount == 0
    assert set(m.k.swap_info[0].swap_map) == {0}              # only the header slot
    assert m.k.anon_vmas == {}
    m.check()
    with pytest.raises(ProcessLookupError):
        p.read(a, 1)
