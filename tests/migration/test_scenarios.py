"""The scenarios S1-S25 of /work/shared/kernel-facts.md §7, as tests of the reference model.

Every test opens with a picture of the state it builds, as the kernel's tools/testing/vma
tests do: processes and their vmas on top, ptes under them, struct pages at the bottom.

    [ rw anon ]     a vma                       pfn O / pfn N   old page / new page
    pte rw D Y      present pte: writable, Dirty, Young (ro: read-only)
    mig W:O / R:O   migration entry, WRITE (31) or READ (30), naming pfn O
    c=2 m=1         page count / mapcount       (L) page locked   iso  isolation reference

Where two things happen at once the kernel paths are stepped by hand (Machine.step) and
m.check() is called with the paths still in flight, so their references are counted.
Where docs/verified-facts.md corrects kernel-facts.md, the verified fact is tested (marked
"verified-facts" below).  S23 (2.6.17 swap-based migration) lives in test_s23_2617.py.

S26 (the "modern" READ_EXCLUSIVE entries of 5.19+) is left out: the model has no modern
era (refmodel/eras.py knows 2.6.17, rfc-v1, v2-yield and 2.6.18 only).

Some scenarios need a fork, munmap, exit or mprotect of an mm that maps the page while the
migration runs.  In 2.6.18 move_pages(2) holds the target mm's mmap_sem for read, so the
same mm cannot fork/munmap/mprotect meanwhile (verified-facts D3); such tests either use a
second mm that shares the page (the 2006 race) or a kernel-internal migration that holds
no mmap_sem (migtools.kernel_migration).
"""

import errno

import pytest

from refmodel import (BUG, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, PROT_READ, InvariantError)
from refmodel.rmap import SWAP_FAIL, try_to_unmap
from refmodel.swapops import (make_migration_entry, make_migration_entry_read,
                              pte_to_swp_entry, swp_entry_to_pte, swp_offset, swp_type,
                              is_migration_entry, is_write_migration_entry)

from migtools import (ANON, EAGAIN, EPERM, P, RW, SHANON, anon_page, delta, event_ptes,
                      events, freed, kernel_migration, machine, path_until, sub_until)


# -- S1, S21: one private anonymous page -------------------------------------------------

def test_s1_anon_page_migrates_without_swap():
    """
        before                               after move_pages(a -> node 1)
        p: [ rw anon ]                       p: [ rw anon ]
             pte rw D Y                           pte rw (old, clean)
             v                                    v
        pfn O node 0  c=1 m=1  "hello"       pfn N node 1  c=1 m=1  PG_dirty  "hello"
                                             pfn O freed
    No swap device: 2.6.18's migrate_prep no longer asks for one.  The entry was WRITE.
    """
    m = machine()
    p, a = anon_page(m)
    assert m.k.swap_info == []
    old = p.page(a)
    assert (old.node, old.count, old.mapcount) == (0, 1, 1)
    assert p.pte(a).writable and p.pte(a).dirty and p.pte(a).young
    t0 = len(m.trace)

    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE)

    assert list(st) == [1] and st.ret == 0
    pte, new = p.pte(a), p.page(a)
    assert pte.present and pte.pfn == new.pfn != old.pfn
    assert pte.writable and not pte.young and not pte.dirty
    assert (new.node, new.count, new.mapcount, new.anon, new.dirty) == (1, 1, 1, True, True)
    assert not new.locked and new.lru
    assert freed(m, old.pfn) and m.page(old.pfn).count == 0
    assert (p.mm.anon_rss, p.mm.file_rss) == (1, 0)
    # one WRITE entry naming the old pfn, set and removed once, in p only
    sets = event_ptes(m, "set_migration_pte", t0)
    assert [(mm, ad) for mm, ad, _ in sets] == [(p.mm.id, a)]
    assert sets[0][2].is_write_migration and sets[0][2].swp_type == 31
    assert sets[0][2].swp_offset == old.pfn
    assert events(m, "remove_migration_pte", t0) == [(p.mm.id, a)]
    assert events(m, "migration_entry_wait", t0) == []
    c = m.last_call
    assert (c["pgmigrate_success"], c["pgmigrate_fail"], c["migrate_passes"]) == (1, 0, 1)
    assert (c["page_copies"], c["pte_writes"], c["migrate_retries"]) == (1, 2, 0)
    assert c["swap_slots_taken"] == 0 and c["swapcache_add"] == 0 and c["radix_updates"] == 0
    assert p.read(a, 5) == b"hello"
    m.check()
    # the write bit came back: the next write takes no fault (compare S21)
    f0 = m.counters["pgfault"]
    p.write(a, b"J")
    assert m.counters["pgfault"] == f0
    assert p.read(a, 5) == b"Jello"
    m.check()


def _s1_then_write(era):
    """S1 in era, then one write: (pte after migration, faults the write took, counters)."""
    m = machine(era)
    p, a = anon_page(m)
    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert list(st) == [1] and st.ret == 0
    pte = p.pte(a)
    before = m.counters.copy()
    p.write(a, b"J")
    assert p.read(a, 5) == b"Jello" and p.page(a).node == 1
    m.check()
    return pte, delta(m, before), m


def test_s21_v1_restores_read_only_and_the_first_write_faults():
    """
        rfc-v1 (one SWP_TYPE_MIGRATION = 31, no write bit)      2.6.18
        p: [ rw anon ]                                            p: [ rw anon ]
             pte ro  -> write: do_wp_page, reuse (no copy)             pte rw -> write: no fault
             v                                                         v
        pfn N node 1  c=1 m=1                                     pfn N node 1  c=1 m=1
    V1 4/6 rebuilt every pte from vm_page_prot (PAGE_COPY for a private mapping).
    """
    pte1, d1, m1 = _s1_then_write("rfc-v1")
    pte18, d18, _ = _s1_then_write("2.6.18")
    assert pte1.present and not pte1.writable and not pte1.young and not pte1.dirty
    assert pte18.present and pte18.writable
    assert d1["pgfault"] == 1 and d18["pgfault"] == 0          # the extra fault, only in V1
    assert d1["cow_reuse"] == 1 and d1["cow_copy"] == 0         # a write fault, not a COW copy
    # V1's single type is 31 and carries no write bit
    (_, _, e), = event_ptes(m1, "set_migration_pte")
    assert e.is_migration and e.swp_type == 31 and not e.is_write_migration


# -- S2, S3: pages mapped twice ------------------------------------------------------------

def test_s2_cow_page_of_parent_and_child_migrates_read_only():
    """
        parent: [ rw anon ]     child: [ rw anon ]       (COW after fork)
                  pte ro                  pte ro
                    \\                    /
                 pfn O node 0  c=2 m=2        --move_pages MOVE_ALL-->   pfn N node 1  c=2 m=2
    Both entries READ; both ptes come back read-only; a write then COWs as usual.
    """
    m = machine()
    par, a = anon_page(m, b"cow!")
    child = par.fork()
    old = par.page(a)
    assert (old.count, old.mapcount) == (2, 2)
    assert not par.pte(a).writable and not child.pte(a).writable
    t0 = len(m.trace)
    # mapcount 2: plain MOVE refuses (-EACCES) and, nothing isolated, the call fails ENOENT
    with pytest.raises(OSError) as e:
        m.move_pages(par, [a], [1], MPOL_MF_MOVE)
    assert e.value.errno == errno.ENOENT

    st = m.move_pages(par, [a], [1], MPOL_MF_MOVE_ALL)

    assert list(st) == [1] and st.ret == 0
    new = par.page(a)
    assert child.pte(a).pfn == par.pte(a).pfn == new.pfn != old.pfn
    assert (new.node, new.count, new.mapcount) == (1, 2, 2)
    for q in (par, child):
        assert not q.pte(a).writable and not q.pte(a).young and not q.pte(a).dirty
    sets = event_ptes(m, "set_migration_pte", t0)
    assert sorted((mm, ad) for mm, ad, _ in sets) == sorted([(par.mm.id, a), (child.mm.id, a)])
    assert all(e.is_migration and not e.is_write_migration for _, _, e in sets)
    assert sorted(events(m, "remove_migration_pte", t0)) == sorted([(par.mm.id, a), (child.mm.id, a)])
    assert freed(m, old.pfn)
    m.check()
    # a write in the child takes an ordinary COW fault
    before = m.counters.copy()
    child.write(a, b"kid")
    d = delta(m, before)
    assert d["pgfault"] == 1 and d["cow_copy"] == 1
    assert child.read(a, 4) == b"kid!" and par.read(a, 4) == b"cow!"
    assert par.page(a).pfn == new.pfn and par.page(a).mapcount == 1
    m.check()


def test_s3_shared_anon_page_keeps_write_permission_in_both():
    """
        p: [ rw shared anon ]     q: [ rw shared anon ]     (q = fork of p, faulted itself)
             pte rw                    pte rw
                \\                     /
           pfn O node 0  c=3 m=2   (2 ptes + page cache)   radix[0] -> O
        after: pfn N node 1  c=3 m=2,  radix[0] -> N,  both ptes rw (WRITE entries)
    Shared memory is a tmpfs page with a mapping: the count check wants 2 (iso + radix).
    """
    m = machine()
    p = m.spawn(cap_sys_nice=True)
    a = p.mmap(None, P, RW, SHANON)
    p.write(a, b"shared")
    q = p.fork()
    assert not q.pte(a).present            # fork does not copy a vma without an anon_vma
    q.write(a, b"S")
    old = p.page(a)
    mapping = p.mm.mmap[0].vm_file.f_mapping
    assert (old.count, old.mapcount, old.anon) == (3, 2, False)
    assert mapping.page_tree[0] == old.pfn
    assert p.pte(a).writable and q.pte(a).writable
    t0 = len(m.trace)

    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE_ALL)

    assert list(st) == [1] and st.ret == 0
    new = p.page(a)
    assert q.pte(a).pfn == new.pfn != old.pfn
    assert (new.node, new.count, new.mapcount, new.anon) == (1, 3, 2, False)
    assert mapping.page_tree[0] == new.pfn and freed(m, old.pfn)
    assert m.last_call["radix_updates"] == 1
    sets = event_ptes(m, "set_migration_pte", t0)
    assert sorted((mm, ad) for mm, ad, _ in sets) == sorted([(p.mm.id, a), (q.mm.id, a)])
    assert all(e.is_write_migration for _, _, e in sets)
    assert sorted(events(m, "remove_migration_pte", t0)) == sorted([(p.mm.id, a), (q.mm.id, a)])
    for r in (p, q):
        assert r.pte(a).writable and not r.pte(a).young and not r.pte(a).dirty
    m.check()
    f0 = m.counters["pgfault"]
    q.write(a, b"Q")
    p.write(a + 1, b"P")
    assert m.counters["pgfault"] == f0            # no write fault in either process
    assert p.read(a, 6) == q.read(a, 6) == b"QPared"
    m.check()


# -- S4, S5: a fault meets the migration entry -----------------------------------------------

def test_s4_fault_during_migration_waits_and_then_maps_the_new_page():
    """
        move_pages: entries in, count check passed, remove walk not yet run
        p: [ rw anon ]        reader: do_swap_page -> migration_entry_wait, sleeps
             mig W:O              get_page(O) under the pte lock
             v
        pfn O (L) c=1 iso+1 waiter m=0      pfn N (L? no: unlocked after copy) c=1 alloc
        ... migration finishes: pte rw -> N; the waiter wakes, put_page(O) frees O, retries.
    """
    m = machine()
    p, a = anon_page(m, b"data")
    old = p.pte(a).pfn
    mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
    sub = sub_until(m, mig, "remove_migration_ptes")   # count check done, copy done
    assert sub.rc == 0 and p.pte(a).is_write_migration
    newpfn = sub.newpage
    rd = m.access_path(p, a, write=False, length=4)
    assert m.step(rd) == "do_page_fault"
    assert m.step(rd) == "migration_entry_wait"
    assert m.step(rd) == "blocked"                       # sleeps on the old page's lock
    assert m.page(old).count == 2 and m.page(old).locked  # isolation + the waiter
    m.check([mig, rd])
    assert events(m, "migration_entry_wait") == [(p.mm.id, a)]

    m.finish(mig)
    assert mig.result == 0 and [s for _, _, s, _ in mig.pm] == [1]
    assert p.pte(a).pfn == newpfn and p.pte(a).writable
    assert not m.page(old).locked and m.page(old).count == 1   # only the waiter's ref left
    m.check([rd])
    assert m.step(rd) == "access"                        # woke, put_page: O is freed now
    assert freed(m, old)
    m.finish(rd)
    assert rd.result == b"data" and rd.faults == 1
    assert m.counters["migration_entry_waits"] == 1 and m.counters["migration_yield"] == 0
    new = p.page(a)
    assert (new.pfn, new.node, new.count, new.mapcount) == (newpfn, 1, 1, 1)
    assert p.pte(a).young and not p.pte(a).dirty
    m.check()


def test_s4_verified_a_waiter_before_the_count_check_makes_the_pass_fail():
    """
        entries in, count check NOT yet run:
        p: [ rw anon ]  mig W:O        reader in migration_entry_wait holds a ref on O
        pfn O (L) c=1 iso + 1 waiter -> migrate_page_move_mapping: count 2 != 1 -> -EAGAIN
        rollback: pte rw -> O, unlock; the reader wakes and reads O; pass 2 migrates.
    verified-facts A10 / G1: the waiter's reference is not always harmless.
    """
    m = machine()
    p, a = anon_page(m, b"early")
    old = p.pte(a).pfn
    before = m.counters.copy()
    mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
    sub_until(m, mig, "move_to_new_page")
    rd = m.access_path(p, a, write=False, length=5)
    assert m.run_until(rd, "migration_entry_wait") == "migration_entry_wait"
    assert m.step(rd) == "blocked"
    m.check([mig, rd])
    m.step(mig)                                          # the count check fails
    sub = mig.sub
    assert sub.rc == -EAGAIN and (sub.pc, sub.restore_to) == ("remove_migration_ptes", old)
    assert p.pte(a).is_write_migration                   # rollback walk not yet run
    assert m.counters["migrate_count_mismatch"] - before["migrate_count_mismatch"] == 1
    m.check([mig, rd])
    sub_until(m, mig, "unmap_and_move")                    # rolled back, unlocked, N freed
    assert p.pte(a).present and p.pte(a).pfn == old and p.pte(a).writable
    assert not m.page(old).locked and freed(m, sub.newpage)
    m.check([mig, rd])
    m.finish(rd)                                         # wakes; the pte maps O again
    assert rd.result == b"early" and m.page(old).count == 1 + 1   # pte + isolation
    m.finish(mig)
    assert mig.result == 0 and [s for _, _, s, _ in mig.pm] == [1]
    d = delta(m, before)
    assert (d["migrate_passes"], d["migrate_retries"], d["pgmigrate_success"]) == (2, 1, 1)
    assert p.page(a).node == 1 and p.pte(a).writable and freed(m, old)
    assert p.read(a, 5) == b"early"
    m.check()


def test_s5_fault_during_failed_migration_gets_the_old_page_back_writable():
    """
        pin (get_user_pages) on O makes every count check fail
        p: [ rw anon ]   mig W:O      writer in migration_entry_wait
        pfn O (L) c= pte-less: iso + pin + waiter
        rollback: pte rw -> O (old, clean); the writer wakes, writes without faulting again.
        after 10 passes: status -EAGAIN, ret 1; O back on the LRU, unchanged.
    """
    m = machine()
    p, a = anon_page(m, b"pinned")
    old = p.pte(a).pfn
    pin = m.get_user_pages(p, a, write=True)
    assert pin == old
    mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
    sub_until(m, mig, "move_to_new_page")
    assert p.pte(a).is_write_migration
    wr = m.access_path(p, a, write=True, data=b"W")
    assert m.run_until(wr, "migration_entry_wait") == "migration_entry_wait"
    assert m.step(wr) == "blocked"
    m.check([mig, wr])
    m.step(mig)                                          # count check fails (pin + waiter)
    assert mig.sub.rc == -EAGAIN and p.pte(a).is_write_migration
    sub_until(m, mig, "unmap_and_move")                    # rolled back and unlocked
    pte = p.pte(a)
    assert pte.present and pte.pfn == old and pte.writable and not pte.young and not pte.dirty
    assert not m.page(old).locked
    m.check([mig, wr])
    m.finish(wr)
    assert wr.faults == 1                                # the retried access needs no fault
    assert p.pte(a).pfn == old and p.pte(a).dirty and p.pte(a).young
    m.finish(mig)
    assert mig.result == 1 and [s for _, _, s, _ in mig.pm] == [-EAGAIN]
    pg = p.page(a)
    assert (pg.pfn, pg.node, pg.count, pg.mapcount, pg.lru, pg.locked) == (old, 0, 2, 1, True, False)
    assert p.read(a, 6) == b"Winned"
    m.check()
    m.put_user_pages(pin)
    m.check()


# -- S11: an extra reference -----------------------------------------------------------------

def test_s11_pinned_page_fails_ten_passes_and_is_put_back_unchanged():
    """
        p: [ rw anon ]  pte rw D
        pfn O node 0  c=2 (pte + get_user_pages pin) m=1
        each pass: entry in, count 2 != 1 -> -EAGAIN, entry back to O (rw), unlock
        after pass 10: ret 1, status -EAGAIN, O on the LRU, c=2 m=1
    """
    m = machine()
    p, a = anon_page(m, b"gup")
    old = p.pte(a).pfn
    pin = m.get_user_pages(p, a)
    t0 = len(m.trace)
    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert list(st) == [-EAGAIN] and st.ret == 1
    c = m.last_call
    assert (c["migrate_passes"], c["migrate_retries"], c["migrate_count_mismatch"]) == (10, 10, 10)
    assert (c["pgmigrate_success"], c["pgmigrate_fail"], c["page_copies"]) == (0, 1, 0)
    assert c["pgalloc"] == c["pgfree"] == 10              # a new page per pass, freed again
    assert len(events(m, "set_migration_pte", t0)) == 10
    assert all(e.pfn == old and e.writable for _, _, e in event_ptes(m, "remove_migration_pte", t0))
    pg, pte = p.page(a), p.pte(a)
    assert (pg.pfn, pg.node, pg.count, pg.mapcount, pg.lru, pg.locked) == (old, 0, 2, 1, True, False)
    assert pte.writable and not pte.young and not pte.dirty and pg.dirty
    assert p.read(a, 3) == b"gup"
    m.check()
    m.put_user_pages(pin)
    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert list(st) == [1] and st.ret == 0 and freed(m, old)
    m.check()


# -- S13, S14: mlock and the young bit ----------------------------------------------------------

def test_s13_mlocked_page_is_migrated_by_move_pages_but_not_reclaimed():
    """
        p: [ rw anon VM_LOCKED ]  pte rw D Y
        pfn O node 0  c=1 m=1
        try_to_unmap(O, migration=0): SWAP_FAIL, pte untouched
        move_pages: migrates anyway ("allow migration of mlocked pages")  -> pfn N node 1
    """
    m = machine()
    p, a = anon_page(m, b"locked")
    p.mlock(a, P)
    old = p.pte(a).pfn
    page = m.k.pages[old]
    page.flags |= 1                                    # lock_page: try_to_unmap's caller holds it
    raw = p.mm.pgtable[a >> 12]
    assert try_to_unmap(m.k, page, False) == SWAP_FAIL
    page.flags &= ~1
    assert p.mm.pgtable[a >> 12] == raw and p.page(a).mapcount == 1
    m.check()
    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert list(st) == [1] and st.ret == 0
    assert p.page(a).node == 1 and p.pte(a).writable and freed(m, old)
    assert p.read(a, 6) == b"locked"
    m.check()


def test_s13_verified_migrate_pages_syscall_skips_mlocked_vmas():
    """
        p: [ rw anon VM_LOCKED ] pfn A node 0     [ rw anon ] pfn B node 0
        migrate_pages(p, {0}, {1}): vma_migratable() leaves the mlocked vma out
        -> A stays on node 0, B moves; the call reports 0 (A was never a candidate)
    """
    m = machine()
    p, a = anon_page(m, b"L")
    p.mlock(a, P)
    _, b = anon_page(m, b"U", proc=p)
    assert m.migrate_pages(p, {0}, {1}) == 0
    assert p.page(a).node == 0 and p.page(b).node == 1
    assert m.last_call["pgmigrate_success"] == 1
    m.check()


def test_s13_v1_refuses_mlocked_pages_with_eperm():
    """
        rfc-v1: try_to_unmap(migration) still fails on VM_LOCKED -> unmap_and_move -EPERM
        (permanent: one pass, status -EPERM, ret 1, page untouched)
    """
    m = machine("rfc-v1")
    p, a = anon_page(m, b"v1")
    p.mlock(a, P)
    old = p.pte(a).pfn
    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert list(st) == [-EPERM] and st.ret == 1
    assert m.last_call["migrate_passes"] == 1 and m.last_call["pgmigrate_fail"] == 1
    assert p.pte(a).pfn == old and p.pte(a).present and p.page(a).mapcount == 1
    m.check()


def test_s14_young_bit_is_not_carried():
    """
        before: pte rw D Y -> pfn O (PG_referenced clear)
        after:  pte rw (old) -> pfn N (PG_referenced still clear): the young bit is lost
    """
    m = machine()
    p, a = anon_page(m)
    assert p.pte(a).young and not p.page(a).referenced
    m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert not p.pte(a).young and not p.page(a).referenced
    p.read(a, 1)
    assert p.pte(a).young                               # the next access sets it again
    m.check()


# -- S15: a page already in the swap cache ------------------------------------------------------

def test_s15_swapcache_page_gets_real_swap_ptes_and_moves_its_slot():
    """
        swap configured; p wrote, the page went to swap and was read back:
        p: [ rw anon ]  pte ro -> pfn O  c=2 (pte + swap cache) m=1  PG_swapcache  swp 0:1 map=1
        migration: pte := real swap pte 0:1 (swap_map 2, anon_rss 0), no migration entry;
                   swapper_space[0:1] -> N
        after:     pte swp 0:1; pfn N c=1 (cache) m=0 PG_swapcache; O freed
        read:      minor fault finds N in the swap cache: pte -> N, swap_map 1, anon_rss 1
    """
    m = machine(swap_pages=64)
    p, a = anon_page(m, b"swapped")
    assert m.reclaim(p, a)
    assert p.pte(a).is_swap and not p.pte(a).is_migration
    assert p.read(a, 7) == b"swapped"
    old = p.page(a)
    entry_off = m.k.pages[old.pfn].private
    si = m.k.swap_info[0]
    off = swp_offset(entry_off)
    assert old.swapcache and (old.count, old.mapcount) == (2, 1) and old.referenced
    assert si.swap_map[off] == 1 and p.mm.anon_rss == 1
    t0 = len(m.trace)
    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert list(st) == [1] and st.ret == 0
    assert events(m, "set_migration_pte", t0) == [] and events(m, "remove_migration_pte", t0) == []
    pte = p.pte(a)
    assert pte.is_swap and not pte.is_migration and (pte.swp_type, pte.swp_offset) == (0, off)
    assert si.swap_map[off] == 2 and p.mm.anon_rss == 0
    newpfn = m.k.swapper_space.page_tree[entry_off]
    new = m.page(newpfn)
    assert newpfn != old.pfn and new.node == 1 and new.swapcache and new.private == entry_off
    assert (new.count, new.mapcount) == (1, 0) and new.referenced   # PG_referenced copied
    assert freed(m, old.pfn)
    assert m.last_call["radix_updates"] == 1 and m.last_call["swap_slots_taken"] == 0
    m.check()
    before = m.counters.copy()
    assert p.read(a, 7) == b"swapped"
    d = delta(m, before)
    assert d["pgfault"] == 1 and d["pgmajfault"] == 0
    assert p.pte(a).pfn == newpfn and si.swap_map[off] == 1 and p.mm.anon_rss == 1
    assert (p.page(a).count, p.page(a).mapcount) == (2, 1)
    m.check()


# -- S16, S17: file pages --------------------------------------------------------------------------

def test_s16_linear_file_page_gets_entries_and_its_radix_slot_moves():
    """
        f (tmpfs, 1 page)      p: [ rw shared f ]  pte rw D -> pfn O  c=2 (pte + cache) m=1
        radix[0] -> O
        after: pte rw -> pfn N node 1  c=2 m=1 (page_add_file_rmap), radix[0] -> N, O freed
    """
    m = machine()
    f = m.create_file("f", 1)
    p = m.spawn(cap_sys_nice=True)
    a = p.mmap(None, P, RW, 0x01, file=f)
    p.write(a, b"file")
    old = p.page(a)
    assert (old.count, old.mapcount, old.anon) == (2, 1, False)
    t0 = len(m.trace)
    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert list(st) == [1] and st.ret == 0
    new = p.page(a)
    assert (new.node, new.count, new.mapcount, new.anon, new.dirty) == (1, 2, 1, False, True)
    assert f.f_mapping.page_tree[0] == new.pfn and freed(m, old.pfn)
    (mm, ad, e), = event_ptes(m, "set_migration_pte", t0)
    assert (mm, ad) == (p.mm.id, a) and e.is_write_migration and e.swp_offset == old.pfn
    assert events(m, "remove_migration_pte", t0) == [(p.mm.id, a)]
    assert p.pte(a).writable and not p.pte(a).young and not p.pte(a).dirty
    assert m.last_call["radix_updates"] == 1 and (p.mm.anon_rss, p.mm.file_rss) == (0, 1)
    assert p.read(a, 4) == b"file"
    m.check()


def test_s16_v1_drops_file_ptes_and_the_page_refaults_from_the_cache():
    """
        rfc-v1 (file pages had no entries yet; as a nonlinear vma still does in 2.6.18):
        p: [ rw shared f ] pte rw -> pfn O     after: pte none, file_rss 0, radix[0] -> N
        next read: do_no_page maps N from the page cache
    (Nonlinear vmas themselves are not modelled: refmodel raises BUG on pte_file.)
    """
    m = machine("rfc-v1")
    f = m.create_file("f", 1)
    p = m.spawn()
    a = p.mmap(None, P, RW, 0x01, file=f)
    p.write(a, b"file")
    old = p.pte(a).pfn
    t0 = len(m.trace)
    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert list(st) == [1] and st.ret == 0
    assert p.pte(a).none and p.mm.file_rss == 0
    assert events(m, "set_migration_pte", t0) == []
    newpfn = f.f_mapping.page_tree[0]
    assert newpfn != old and m.page(newpfn).node == 1 and (m.page(newpfn).count, m.page(newpfn).mapcount) == (1, 0)
    m.check()
    before = m.counters.copy()
    assert p.read(a, 4) == b"file"
    assert delta(m, before)["pgfault"] == 1 and p.pte(a).pfn == newpfn
    m.check()


def test_s17_dirty_page_without_migratepage_is_written_out_then_migrated():
    """
        diskfs (no ->migratepage): p: [ rw shared f ] pte rw D -> pfn O (dirty)
        pass 1: entry in; fallback_migrate_page: dirty -> writeout(): entries back to O,
                O cleaned, -EAGAIN
        pass 2: entry in; O clean -> migrate_page; pte -> N (clean page)
    """
    m = machine()
    f = m.create_file("d", 1, fs="diskfs")
    p = m.spawn()
    a = p.mmap(None, P, RW, 0x01, file=f)
    p.write(a, b"disk")
    old = p.pte(a).pfn
    t0 = len(m.trace)
    st = m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert list(st) == [1] and st.ret == 0
    c = m.last_call
    assert (c["migrate_passes"], c["migrate_retries"], c["migrate_writeout"]) == (2, 1, 1)
    assert (c["pgmigrate_success"], c["page_copies"]) == (1, 1)
    sets = events(m, "set_migration_pte", t0)
    removes = event_ptes(m, "remove_migration_pte", t0)
    assert sets == [(p.mm.id, a)] * 2 and [(mm, ad) for mm, ad, _ in removes] == [(p.mm.id, a)] * 2
    assert removes[0][2].pfn == old and removes[1][2].pfn != old
    new = p.page(a)
    assert new.node == 1 and not new.dirty and (new.count, new.mapcount) == (2, 1)
    assert f.f_mapping.page_tree[0] == new.pfn and freed(m, old)
    assert p.pte(a).writable and p.read(a, 4) == b"disk"
    m.check()


# -- S18: freed under us ------------------------------------------------------------------------------

def test_s18_page_freed_after_isolation_counts_as_migrated():
    """
        kernel-internal migration isolated O (c=2: pte + iso); then p exits: c=1 (iso only)
        unmap_and_move: count == 1 -> rc 0, no lock, no unmap, newpage freed,
        status = target node; O stays on the list and is freed by the final putback
    """
    m = machine()
    p, a = anon_page(m)
    old = p.pte(a).pfn
    path = kernel_migration(m, [old], 1)
    m.check([path])
    p.exit()
    assert m.page(old).count == 1 and m.page(old).mapcount == 0
    m.check([path])
    before = m.counters.copy()
    path_until(m, path, "unmap_and_move")
    assert m.step(path) == "unmap_and_move"                  # count 1: nothing to do
    newpfn = path.newpage
    assert path.rc == 0 and not m.page(old).locked and path.status == {old: 1}
    assert freed(m, newpfn) and not freed(m, old)          # O waits for the putback
    m.check([path])
    path_until(m, path, "finish")
    assert not freed(m, old)
    m.check([path])
    m.finish(path)
    assert path.result == 0 and dict(path.status) == {old: 1}
    assert freed(m, old)
    d = delta(m, before)
    assert d["pgmigrate_success"] == 1 and d["page_copies"] == 0 and d["rmap_walks"] == 0
    assert d["migration_entries_set"] == 0
    m.check()


# -- S19, S20: the swap-type space and the encoding ---------------------------------------------------

@pytest.mark.parametrize("era, areas", [("2.6.18", 30), ("rfc-v1", 31), ("2.6.17", 32)])
def test_s19_swap_type_exhaustion(era, areas):
    """
        types 0 .. areas-1: swap areas;  2.6.18: 30 = READ, 31 = WRITE;  V1: 31 = MIGRATION
        swapon number areas+1 -> EPERM
    """
    m = machine(era)
    for t in range(areas):
        assert m.swapon(2) == t
    with pytest.raises(OSError) as e:
        m.swapon(2)
    assert e.value.errno == errno.EPERM


@pytest.mark.parametrize("write", [False, True])
def test_s20_encoding_round_trip(write):
    """
        make_migration_entry(P, w) -> swp_entry_to_pte -> pte_to_swp_entry
        type 31 if w else 30, offset P;  make_migration_entry_read keeps P, type 30
    Also checked on a real entry: the pte set by try_to_unmap_one in S1 decodes the same.
    """
    m = machine()
    p, a = anon_page(m)
    page = m.k.pages[p.pte(a).pfn]
    page.flags |= 1                                     # PG_locked: the helper BUGs otherwise
    e = make_migration_entry(page, write)
    back = pte_to_swp_entry(swp_entry_to_pte(e))
    assert back == e and swp_type(back) == (31 if write else 30) and swp_offset(back) == page.pfn
    assert is_migration_entry(back) and is_write_migration_entry(back) == write
    r = make_migration_entry_read(back)
    assert swp_type(r) == 30 and swp_offset(r) == page.pfn and not is_write_migration_entry(r)
    page.flags &= ~1
    with pytest.raises(BUG):
        make_migration_entry(page, write)               # unlocked: BUG_ON(!PageLocked)
    t0 = len(m.trace)
    if not write:
        p.mprotect(a, P, PROT_READ)
    m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    (_, _, pte), = event_ptes(m, "set_migration_pte", t0)
    assert pte.swp_type == (31 if write else 30) and pte.swp_offset == page.pfn
    m.check()


# -- S6, S7, S10, S24: fork while entries are installed --------------------------------------

def test_s6_fork_downgrades_a_write_entry_in_parent_and_child():
    """
        kernel-internal migration of O (no mmap_sem), entries in:
        p: [ rw anon ]  mig W:O            -- fork -->   p: mig R:O   c: mig R:O
        remove walk (p then c, tail order): both ptes ro -> N,  N c=2 m=2
    (With move_pages the fork would wait: it needs p's mmap_sem for write -- checked first.)
    """
    m = machine()
    p, a = anon_page(m, b"fork")
    old = p.pte(a).pfn
    mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
    m.step(mig)                                           # down_read(p's mmap_sem)
    fk, c = m.fork_path(p)
    assert m.step(fk) == "blocked"                        # dup_mmap's down_write waits
    m.finish(mig)
    m.finish(fk)
    assert p.page(a).node == 1 and c.pte(a).pfn == p.pte(a).pfn
    m.check()

    m = machine()
    p, a = anon_page(m, b"fork")
    old = p.pte(a).pfn
    path = kernel_migration(m, [old], 1)
    path_until(m, path, "move_to_new_page")
    assert p.pte(a).is_write_migration and p.pte(a).swp_offset == old
    m.check([path])
    fk, c = m.fork_path(p)
    m.finish(fk)
    for q in (p, c):
        assert q.pte(a).is_migration and not q.pte(a).is_write_migration
        assert q.pte(a).swp_offset == old
    assert m.counters["fork_copied_migration_entry"] == 1
    m.check([path])
    t0 = len(m.trace)
    m.finish(path)
    assert path.result == 0 and dict(path.status) == {old: 1}
    new = p.page(a)
    assert c.pte(a).pfn == new.pfn and (new.node, new.count, new.mapcount) == (1, 2, 2)
    for q in (p, c):
        assert not q.pte(a).writable and not q.pte(a).young and not q.pte(a).dirty
    assert events(m, "remove_migration_pte", t0) == [(p.mm.id, a), (c.mm.id, a)]
    assert freed(m, old)
    m.check()
    before = m.counters.copy()
    c.write(a, b"F")                                      # COW as after any fork
    assert delta(m, before)["cow_copy"] == 1
    assert c.read(a, 4) == b"Fork" and p.read(a, 4) == b"fork"
    m.check()


def _share(m, data=b"race"):
    """A wrote a page and forked B: one page, two READ-only ptes, one anon_vma."""
    A, a = anon_page(m, data)
    B = A.fork()
    return A, B, a


def test_s7_tail_insertion_child_entry_copied_during_remove_walk_is_restored():
    """
        A: [anon] R:O    B (fork of A): [anon] R:O        anon_vma: A, B, C  (tail)
        A migrates O (MOVE_ALL, A's mmap_sem); B forks C meanwhile:
          link C (tail) | lock | walk A (restored) | copy B -> C (B's entry R:O) |
          walk B (restored) | walk C (restored)
        after: A, B, C ro -> N  c=3 m=3
    """
    m = machine()
    A, B, a = _share(m)
    old = A.pte(a).pfn
    mig = m.move_pages_path(A, [a], [1], MPOL_MF_MOVE_ALL)
    sub = sub_until(m, mig, "remove_migration_ptes")
    fk, C = m.fork_path(B)
    assert m.step(fk) == "link_vma" and m.step(fk) == "copy_page_range"
    av = A.mm.mmap[0].anon_vma
    assert [v.vm_mm.id for v in av.head] == [A.mm.id, B.mm.id, C.mm.id]
    t0 = len(m.trace)
    assert m.step(mig) == "migrate" and sub.pc == "remove_migration_pte"   # lock taken, A restored
    assert events(m, "remove_migration_pte", t0) == [(A.mm.id, a)]
    assert m.step(fk) == "link_vma"                      # B's entry copied into C;
    assert m.step(fk) == "copy_page_range"               # then B's stack vma (no pages)
    assert C.pte(a).is_migration and C.pte(a).swp_offset == old
    m.check([mig, fk])
    m.finish(mig)
    m.finish(fk)
    assert events(m, "remove_migration_pte", t0) == [(A.mm.id, a), (B.mm.id, a), (C.mm.id, a)]
    new = A.page(a)
    assert B.pte(a).pfn == C.pte(a).pfn == new.pfn and (new.count, new.mapcount) == (3, 3)
    assert all(not q.pte(a).writable for q in (A, B, C))
    assert C.read(a, 4) == b"race"
    m.check()


def test_s7_head_insertion_leaves_an_orphaned_entry_that_trips_the_lock_check():
    """
        the -mm code before Hugh Dickins' fix: list_add at the HEAD -> anon_vma: C, B, A
          link C | lock | walk C (empty) | copy B -> C (R:O) | walk B | walk A | unlock O
        C keeps an entry naming O after O is unlocked and freed; once pfn O is reused the
        invariant check names it, and C's next touch BUGs in migration_entry_to_page.
    """
    m = machine(anon_vma_insert="head")
    A, B, a = _share(m)
    old = A.pte(a).pfn
    mig = m.move_pages_path(A, [a], [1], MPOL_MF_MOVE_ALL)
    sub_until(m, mig, "remove_migration_ptes")
    fk, C = m.fork_path(B)
    m.step(fk), m.step(fk)
    av = A.mm.mmap[0].anon_vma
    assert [v.vm_mm.id for v in av.head] == [C.mm.id, B.mm.id, A.mm.id]
    t0 = len(m.trace)
    m.step(mig)                                          # lock + walk C: nothing there yet
    assert mig.sub.pc == "remove_migration_pte" and events(m, "remove_migration_pte", t0) == []
    m.step(fk)                                           # copy B's entry into C
    assert C.pte(a).is_migration and C.pte(a).swp_offset == old
    m.check([mig, fk])                                   # still fine: O is locked
    m.finish(mig)
    m.finish(fk)
    assert mig.result == 0
    assert sorted(events(m, "remove_migration_pte", t0)) == sorted([(A.mm.id, a), (B.mm.id, a)])
    assert C.pte(a).is_migration and C.pte(a).swp_offset == old    # orphaned
    assert freed(m, old)
    _, b = anon_page(m, b"reuse", proc=A)                # the frame is handed out again
    assert A.pte(b).pfn == old and not m.page(old).locked
    with pytest.raises(InvariantError, match=r"migration entry at .* for page %d, which is not locked" % old):
        m.check()
    with pytest.raises(BUG, match="not locked"):
        C.read(a, 4)


@pytest.mark.parametrize("insert", ["head", "tail"])
def test_s10_a_pte_missed_by_the_unmap_walk_means_rollback_and_retry(insert):
    """
        A: [anon] ro -> O    B (fork of A): [anon] ro -> O;  B forks C during A's unmap walk
        head (pre-fix) anon_vma: C, B, A:
          link C | walk C (empty) | copy B -> C: C ro -> O (m=3) | walk B, A -> R:O | O still
          mapped (m=1) -> remove_migration_ptes(O, O): A, B ro -> O; -EAGAIN; N freed
          pass 2: all three unmapped -> A, B, C ro -> N  c=3 m=3
        tail (2.6.18) anon_vma: A, B, C: the same interleaving misses nothing: one pass.
    Hugh Dickins: missing a pte while inserting entries is harmless.
    """
    m = machine(anon_vma_insert=insert)
    A, B, a = _share(m)
    old = A.pte(a).pfn
    before = m.counters.copy()
    mig = m.move_pages_path(A, [a], [1], MPOL_MF_MOVE_ALL)
    sub = sub_until(m, mig, "try_to_unmap")
    fk, C = m.fork_path(B)
    m.step(fk), m.step(fk)                               # C linked
    m.step(mig)                                          # lock + the list's first vma
    m.step(fk)                                           # copy B's (present) pte into C
    m.check([mig, fk])
    if insert == "head":
        assert C.pte(a).present and C.pte(a).pfn == old and C.page(a).mapcount == 3
        sub_until(m, mig, "unmap_and_move")               # rolled back, unlocked, N freed
        assert sub.rc == -EAGAIN and sub.pass_ == 0
        for q in (A, B, C):
            assert q.pte(a).present and q.pte(a).pfn == old and not q.pte(a).writable
        assert m.page(old).mapcount == 3 and not m.page(old).locked
        assert freed(m, sub.newpage)
        m.check([mig, fk])
    m.finish(fk)
    m.finish(mig)
    assert mig.result == 0 and [s for _, _, s, _ in mig.pm] == [1]
    d = delta(m, before)
    passes = 2 if insert == "head" else 1
    assert (d["migrate_passes"], d["migrate_retries"], d["pgmigrate_success"]) == (passes, passes - 1, 1)
    new = A.page(a)
    assert B.pte(a).pfn == C.pte(a).pfn == new.pfn and (new.node, new.count, new.mapcount) == (1, 3, 3)
    assert freed(m, old) and C.read(a, 4) == b"race"
    m.check()


@pytest.mark.parametrize("fixed", [False, True])
def test_s24_rss_of_a_child_forked_while_an_entry_is_installed(fixed):
    """
        A, B share O (R:O entries while A migrates it); B forks C: C gets R:O
        2.6.18: copy_one_pte adds nothing to C's anon_rss for the entry;
                restore adds nothing either -> C maps 1 page with anon_rss 0;
                C exits: zap -1 -> anon_rss -1
        rss_fix_3_3 ("mm: fix rss count leakage during migration"): 1, then 0
    """
    m = machine(rss_fix_3_3=fixed)
    A, B, a = _share(m)
    mig = m.move_pages_path(A, [a], [1], MPOL_MF_MOVE_ALL)
    sub_until(m, mig, "move_to_new_page")
    fk, C = m.fork_path(B)
    m.finish(fk)
    assert C.pte(a).is_migration
    assert C.mm.anon_rss == (1 if fixed else 0)
    assert C.mm.rss_drift == ([0, 0] if fixed else [0, -1])
    m.check([mig])
    m.finish(mig)
    assert C.pte(a).present and C.page(a).node == 1
    assert C.mm.anon_rss == (1 if fixed else 0)          # it maps one anonymous page
    assert A.mm.anon_rss == B.mm.anon_rss == 1
    m.check()
    cmm = C.mm
    C.exit()
    assert (cmm.anon_rss, cmm.file_rss) == ((0, 0) if fixed else (-1, 0))
    m.check()


# -- S8, S9: munmap and exit while entries are installed ------------------------------------------

@pytest.mark.parametrize("fixed", [False, True])
def test_s8_munmap_of_one_mapper_makes_its_entry_vanish(fixed):
    """
        A: [anon] R:O    B: [anon] R:O     (swap configured, no slot in use)
        B munmaps while A's migration has the entries in: zap_pte_range drops B's entry,
        free_swap_and_cache ignores it (swap_map untouched)
        after: A ro -> N  c=1 m=1;  B has no vma;  B's anon_rss stays 1 in 2.6.18
    """
    m = machine(swap_pages=16, rss_fix_3_3=fixed)
    A, B, a = _share(m, b"unmap")
    old = A.pte(a).pfn
    swap_map = dict(m.k.swap_info[0].swap_map)
    mig = m.move_pages_path(A, [a], [1], MPOL_MF_MOVE_ALL)
    sub_until(m, mig, "move_to_new_page")
    t0 = len(m.trace)
    assert B.pte(a).is_migration and B.mm.anon_rss == 1
    mu = m.munmap_path(B, a, P)
    m.finish(mu)
    assert B.pte(a).none and [v for v in B.vmas() if v[0] <= a < v[1]] == []
    assert m.k.swap_info[0].swap_map == swap_map
    assert B.mm.anon_rss == (0 if fixed else 1)
    m.check([mig])
    m.finish(mig)
    assert mig.result == 0
    assert events(m, "remove_migration_pte", t0) == [(A.mm.id, a)]
    new = A.page(a)
    assert (new.node, new.count, new.mapcount) == (1, 1, 1) and freed(m, old)
    assert m.k.swap_info[0].swap_map == swap_map and m.counters["swap_slots_taken"] == 0
    assert A.read(a, 5) == b"unmap"
    m.check()


def test_s9_other_mapper_exits_anon_vma_kept_alive_by_the_callers_mm():
    """
        A: [anon] R:O  (A's mmap_sem held by move_pages)   B: [anon] R:O
        B exits mid-migration: B's entry zapped, B's vma leaves the anon_vma;
        A's vma keeps the anon_vma alive -> remove walk works: A ro -> N  c=1 m=1
    """
    m = machine()
    A, B, a = _share(m, b"exit")
    old = A.pte(a).pfn
    av = A.mm.mmap[0].anon_vma
    mig = m.move_pages_path(A, [a], [1], MPOL_MF_MOVE_ALL)
    sub_until(m, mig, "move_to_new_page")
    B.exit()
    assert not av.freed and [v.vm_mm.id for v in av.head] == [A.mm.id]
    m.check([mig])
    m.finish(mig)
    assert mig.result == 0 and [s for _, _, s, _ in mig.pm] == [1]
    new = A.page(a)
    assert (new.node, new.count, new.mapcount) == (1, 1, 1) and freed(m, old)
    assert A.read(a, 4) == b"exit"
    m.check()


def test_s9_kernel_internal_migration_without_mmap_sem_uses_a_freed_anon_vma():
    """
        kernel-internal migration (no mmap_sem) of O, mapped only by p; entries in;
        p exits: entry zapped, vma gone, anon_vma freed;  O c=1 (iso) m=0
        move_to_new_page copies; remove_migration_ptes(O, N) takes N->mapping's anon_vma:
        use after free (the pre-2.6.35 hazard) -> the model BUGs
    """
    m = machine()
    p, a = anon_page(m)
    old = p.pte(a).pfn
    av = p.mm.mmap[0].anon_vma
    path = kernel_migration(m, [old], 1)
    path_until(m, path, "move_to_new_page")
    p.exit()
    assert av.freed and m.page(old).count == 1 and m.page(old).mapcount == 0
    with pytest.raises(BUG, match="after free"):
        m.finish(path)


# -- S12: mprotect while a WRITE entry is installed -------------------------------------------------

def test_s12_mprotect_downgrades_the_entry_and_never_upgrades_it():
    """
        kernel-internal migration of O; entries in:  p: [ rw anon ]  mig W:O
        mprotect(PROT_READ):  mig R:O       mprotect(PROT_READ|PROT_WRITE):  still R:O
        after: p ro -> N;  next write: one write fault, page reused (no COW copy) -> rw
    (move_pages would hold p's mmap_sem: the mprotect would wait -- checked first.)
    """
    m = machine()
    p, a = anon_page(m, b"prot")
    mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
    m.step(mig)
    mp = m.mprotect_path(p, a, P, PROT_READ)
    assert m.step(mp) == "blocked"
    m.finish(mig)
    m.finish(mp)
    assert not p.pte(a).writable and p.page(a).node == 1
    m.check()

    m = machine()
    p, a = anon_page(m, b"prot")
    old = p.pte(a).pfn
    path = kernel_migration(m, [old], 1)
    path_until(m, path, "move_to_new_page")
    assert p.pte(a).is_write_migration
    m.finish(m.mprotect_path(p, a, P, PROT_READ))
    assert p.pte(a).is_migration and not p.pte(a).is_write_migration
    assert p.pte(a).swp_offset == old
    m.finish(m.mprotect_path(p, a, P, RW))
    assert p.pte(a).is_migration and not p.pte(a).is_write_migration
    m.check([path])
    m.finish(path)
    assert path.result == 0
    pte = p.pte(a)
    assert pte.present and not pte.writable and p.page(a).node == 1
    new = p.pte(a).pfn
    before = m.counters.copy()
    p.write(a, b"P")
    d = delta(m, before)
    assert d["pgfault"] == 1 and d["cow_reuse"] == 1 and d["cow_copy"] == 0
    assert p.pte(a).writable and p.pte(a).pfn == new and p.read(a, 4) == b"Prot"
    m.check()


# -- S22: V2's yield() ----------------------------------------------------------------------------

def _fault_on_entry(era):
    """Migration stopped with the entry in (before the count check); a reader faults on it."""
    m = machine(era)
    p, a = anon_page(m, b"spin")
    old = p.pte(a).pfn
    mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
    sub_until(m, mig, "move_to_new_page")
    rd = m.access_path(p, a, write=False, length=4)
    return m, p, a, old, mig, rd


def test_s22_v2_yield_busy_polls_without_sleeping():
    """
        v2-yield: p: [anon] mig:O (O locked, c=1 iso: yield takes no reference)
        reader: access -> do_page_fault -> yield, return -> access -> do_page_fault -> ...
                never "blocked"; migration_yield +1 per round
        migration is not disturbed (no -EAGAIN), then the reader reads N (ro: no write bit)
    """
    m, p, a, old, mig, rd = _fault_on_entry("v2-yield")
    assert p.mm.anon_rss == 0                            # V2 took the entry out of anon_rss
    for n in range(1, 4):
        assert m.step(rd) == "do_page_fault"
        assert m.step(rd) == "access"                    # yielded and returned
        assert m.counters["migration_yield"] == n and m.counters["pgfault"] - 0 >= n
        assert m.page(old).locked and m.page(old).count == 1
        m.check([mig, rd])
    assert m.counters["migration_entry_waits"] == 0 and events(m, "migration_entry_wait") == []
    before = m.counters.copy()
    m.finish(mig)
    assert mig.result == 0 and delta(m, before)["migrate_retries"] == 0
    assert p.mm.anon_rss == 1
    m.finish(rd)
    assert rd.result == b"spin" and rd.faults == 3
    assert p.page(a).node == 1 and not p.pte(a).writable and freed(m, old)
    m.check()


def test_s22_2618_fault_sleeps_in_migration_entry_wait_and_never_yields():
    """
        2.6.18: the same reader takes one fault and sleeps (blocked) until O is unlocked;
        it stays blocked however often it is stepped; no yields.
    """
    m, p, a, old, mig, rd = _fault_on_entry("2.6.18")
    assert p.mm.anon_rss == 1
    assert m.step(rd) == "do_page_fault" and m.step(rd) == "migration_entry_wait"
    for _ in range(3):
        assert m.step(rd) == "blocked"
    assert m.counters["migration_yield"] == 0 and rd.faults == 1
    assert events(m, "migration_entry_wait") == [(p.mm.id, a)]
    m.check([mig, rd])


# -- S23: 2.6.17, migration through the swap cache ---------------------------------------------------

def test_s23_2617_without_swap_nothing_migrates():
    """
        2.6.17, no swap: migrate_prep() -> -ENODEV; migrate_to_node ignores check_range's
        error, so migrate_pages(2) returns 0 having moved nothing.  move_pages(2) does not
        exist before 2.6.18 (ENOSYS).
    """
    m = machine("2.6.17")
    p, a = anon_page(m)
    old = p.pte(a).pfn
    assert m.migrate_pages(p, {0}, {1}) == 0
    assert p.pte(a).pfn == old and p.page(a).node == 0 and sum(m.last_call.values()) == 0
    with pytest.raises(OSError) as e:
        m.move_pages(p, [a], [1], MPOL_MF_MOVE)
    assert e.value.errno == errno.ENOSYS
    m.check()


def test_s23_2617_with_swap_a_slot_is_taken_and_released():
    """
        2.6.17, swap: add_to_swap: O gets slot 0:1 and enters the swap cache;
        try_to_unmap: pte := real swap pte; radix slot -> N; copy;
        remove_from_swap: pte ro -> N (vm_page_prot, like unuse_pte), slot freed
        after: no swap in use, no migration entries ever, first write faults (no write bit)
    """
    m = machine("2.6.17", swap_pages=64)
    p, a = anon_page(m, b"2617")
    old = p.pte(a).pfn
    t0 = len(m.trace)
    assert m.migrate_pages(p, {0}, {1}) == 0
    c = m.last_call
    assert c["swap_slots_taken"] == 1 and c["swapcache_add"] == 1 and c["swapcache_del"] == 1
    assert c["pgmigrate_success"] == 1 and c["page_copies"] == 1
    si = m.k.swap_info[0]
    assert si.inuse_pages == 0 and set(si.swap_map) == {0}     # only the header slot
    assert m.k.swapper_space.page_tree == {}
    assert events(m, "set_migration_pte", t0) == []
    pte, new = p.pte(a), p.page(a)
    assert pte.present and not pte.writable and not pte.young
    assert (new.node, new.count, new.mapcount, new.swapcache) == (1, 1, 1, False)
    assert freed(m, old) and p.mm.anon_rss == 1
    m.check()
    before = m.counters.copy()
    p.write(a, b"W")
    assert delta(m, before)["pgfault"] == 1 and p.read(a, 4) == b"W617"
    m.check()


def test_s23_2617_a_fault_holding_a_swap_cache_reference_forces_retries():
    """
        2.6.17, swap: p and q share S (after swap-out p read it back: p ro -> S, q swp 0:1,
        S in the swap cache).  q's fault found S by lookup_swap_cache (reference) and is
        about to lock it.  migrate_pages(2) of p: mapcount 1 + 2 != count 4 -> -EAGAIN
        every pass: S is not moved.  Once q's fault is done it moves.
    """
    m = machine("2.6.17", swap_pages=64)
    p, a = anon_page(m, b"swap")
    q = p.fork()
    assert m.reclaim(p, a)
    assert p.pte(a).is_swap and q.pte(a).is_swap
    assert p.read(a, 4) == b"swap"
    s = p.pte(a).pfn
    rd = m.access_path(q, a, write=False, length=4)
    assert m.run_until(rd, "do_swap_page_lock") == "do_swap_page_lock"
    assert m.page(s).count == 3                          # p's pte + swap cache + q's fault
    m.check([rd])
    left = m.migrate_pages(p, {0}, {1})
    assert left == 1 and m.last_call["migrate_retries"] >= 1 and m.last_call["pgmigrate_success"] == 0
    assert p.pte(a).pfn == s and m.page(s).node == 0
    m.check([rd])
    m.finish(rd)
    assert rd.result == b"swap" and q.pte(a).pfn == s
    m.check()


# -- S25: two migrations at once -----------------------------------------------------------------

def test_s25_two_pages_of_one_mm_restoring_one_leaves_the_other_alone():
    """
        p: [ rw anon, 2 pages ]   a: mig W:X (X locked)   a+P: mig W:Y (Y locked)
        migration 1 (X) finishes first: a rw -> X', a+P still mig W:Y, Y still locked
    """
    m = machine()
    p = m.spawn(cap_sys_nice=True)
    a = p.mmap(None, 2 * P, RW, ANON)
    p.write(a, b"X")
    p.write(a + P, b"Y")
    x, y = p.pte(a).pfn, p.pte(a + P).pfn
    m1 = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
    m2 = m.move_pages_path(p, [a + P], [1], MPOL_MF_MOVE)
    sub_until(m, m1, "move_to_new_page")
    sub_until(m, m2, "move_to_new_page")
    assert p.pte(a).swp_offset == x and p.pte(a + P).swp_offset == y
    m.check([m1, m2])
    t0 = len(m.trace)
    m.finish(m1)
    assert events(m, "remove_migration_pte", t0) == [(p.mm.id, a)]
    assert p.pte(a).present and p.page(a).node == 1 and p.pte(a).writable
    assert p.pte(a + P).is_write_migration and p.pte(a + P).swp_offset == y
    assert m.page(y).locked
    m.check([m2])
    m.finish(m2)
    assert p.page(a + P).node == 1 and p.read(a, 1) == b"X" and p.read(a + P, 1) == b"Y"
    m.check()


def test_s25_same_address_same_anon_vma_the_pfn_check_protects_the_other_entry():
    """
        p: [anon] a: mig W:X        c (fork of p, then wrote: its own page X'): [anon] a: mig W:X'
        one anon_vma, one index: restoring X visits c's vma at the same address and finds an
        entry -- for X', not X: remove_migration_pte leaves it alone
    """
    m = machine()
    p, a = anon_page(m, b"parent")
    c = p.fork()
    c.write(a, b"CHILD!")
    x, x2 = p.pte(a).pfn, c.pte(a).pfn
    assert x != x2 and p.mm.mmap[0].anon_vma is c.mm.mmap[0].anon_vma
    m1 = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
    m2 = m.move_pages_path(c, [a], [1], MPOL_MF_MOVE)
    sub_until(m, m1, "move_to_new_page")
    sub_until(m, m2, "move_to_new_page")
    assert p.pte(a).swp_offset == x and c.pte(a).swp_offset == x2
    t0 = len(m.trace)
    m.finish(m1)
    assert events(m, "remove_migration_pte", t0) == [(p.mm.id, a)]
    assert c.pte(a).is_migration and c.pte(a).swp_offset == x2 and m.page(x2).locked
    m.check([m2])
    m.finish(m2)
    assert p.read(a, 6) == b"parent" and c.read(a, 6) == b"CHILD!"
    assert p.page(a).node == c.page(a).node == 1 and p.pte(a).pfn != c.pte(a).pfn
    m.check()


# -- further interleavings ------------------------------------------------------------------------

def test_v1_fault_takes_a_swap_cache_style_reference_and_sleeps_in_lock_page():
    """
        rfc-v1, entry in (after the unmap walk):  p: [anon] mig:O   O (L) c=1 iso
        reader: do_swap_page reads the entry; then (a step of its own: no pte lock)
                V1's lookup_swap_cache returns O with a reference (c=2), lock_page(O) sleeps
        V1 6/6 checked the count before unmapping only: the migration still succeeds
        reader wakes, locks O, sees the pte changed, backs out (put_page frees O), retries:
        pte ro -> N (V1: no write bit)
    """
    m = machine("rfc-v1")
    p, a = anon_page(m, b"v1v1")
    old = p.pte(a).pfn
    mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
    sub_until(m, mig, "move_to_new_page")
    rd = m.access_path(p, a, write=False, length=4)
    assert [m.step(rd) for _ in range(4)] == ["do_page_fault", "v1_lookup_swap_cache",
                                              "do_swap_page_lock", "blocked"]
    assert m.page(old).count == 2 and m.counters["migration_entry_waits"] == 0
    m.check([mig, rd])
    m.finish(mig)
    assert mig.result == 0 and [s for _, _, s, _ in mig.pm] == [1]
    assert m.page(old).count == 1 and not freed(m, old)         # the reader's reference
    m.check([rd])
    assert m.step(rd) == "access" and freed(m, old)
    m.finish(rd)
    assert rd.result == b"v1v1" and rd.faults == 1
    assert p.pte(a).present and not p.pte(a).writable and p.page(a).node == 1
    m.check()


def test_write_to_a_restored_pte_while_the_walk_goes_on_copies_the_locked_new_page():
    """
        A, B share O (R entries); remove walk has restored A (ro -> N), not yet B; N locked
        A writes: do_wp_page cannot lock N (migration holds it) -> copy, even though N's
        mapcount is 1 at that moment; then B is restored to N.  A and B stay apart.
    """
    m = machine()
    A, B, a = _share(m, b"walk")
    mig = m.move_pages_path(A, [a], [1], MPOL_MF_MOVE_ALL)
    sub = sub_until(m, mig, "remove_migration_ptes")
    m.step(mig)                                          # lock + A's vma
    new = sub.newpage
    assert A.pte(a).pfn == new and B.pte(a).is_migration
    assert m.page(new).locked and m.page(new).mapcount == 1
    before = m.counters.copy()
    m.finish(m.access_path(A, a, write=True, data=b"W"))
    d = delta(m, before)
    assert d["cow_copy"] == 1 and d["cow_reuse"] == 0 and A.pte(a).pfn != new
    m.check([mig])
    m.finish(mig)
    assert B.pte(a).pfn == new and m.page(new).mapcount == 1
    assert A.read(a, 4) == b"Walk" and B.read(a, 4) == b"walk"
    m.check()


def test_fork_during_migration_does_not_copy_a_shared_vma_without_anon_vma():
    """
        p: [ rw shared anon ] mig W:O  (kernel-internal migration, entries in)
        fork: copy_page_range skips the vma (no anon_vma): the child has no pte, no entry
        after: p rw -> N; the child faults N in from the page cache
    (verified-facts G10: S6 applies to anon/COW vmas only)
    """
    m = machine()
    p = m.spawn()
    a = p.mmap(None, P, RW, SHANON)
    p.write(a, b"shm")
    old = p.pte(a).pfn
    path = kernel_migration(m, [old], 1)
    path_until(m, path, "move_to_new_page")
    assert p.pte(a).is_write_migration
    fk, c = m.fork_path(p)
    m.finish(fk)
    assert c.pte(a).none and m.counters["fork_copied_migration_entry"] == 0
    m.check([path])
    m.finish(path)
    assert path.result == 0 and p.pte(a).writable and p.page(a).node == 1
    assert c.read(a, 3) == b"shm" and c.pte(a).pfn == p.pte(a).pfn
    m.check()


# -- rss across fork and munmap in each era ----------------------------------------------------

@pytest.mark.parametrize("era", ["rfc-v1", "v2-yield", "2.6.18"])
def test_fork_and_munmap_of_an_entry_keep_rss_as_each_era_did(era):
    """
        entries in:  p: mig W:O   -- fork -->  c: mig :O   -- munmap p --   c restored
    2.6.18 (and V1) leave rss alone at unmap and restore, so the child's copy and the
    parent's zap drift until 3.3's fix; V2 took the entry out of anon_rss at unmap and put
    it back at restore, so nothing drifts (and the checker must not expect a drift).
    """
    m = machine(era)
    p, a = anon_page(m, b"rss")
    old = p.pte(a).pfn
    path = kernel_migration(m, [old], 1)
    path_until(m, path, "move_to_new_page")
    fk, c = m.fork_path(p)
    m.finish(fk)
    m.check([path])
    m.finish(m.munmap_path(p, a, P))
    m.check([path])
    m.finish(path)
    m.check()
    drift = era != "v2-yield"
    assert (c.mm.rss_drift != [0, 0]) == drift and (p.mm.rss_drift != [0, 0]) == drift
    assert c.mm.anon_rss == (0 if drift else 1) and c.read(a, 3) == b"rss"


@pytest.mark.parametrize("pages, waits", [(1, True), (2, False)])
def test_an_mprotect_that_splits_a_vma_waits_for_the_rmap_walk(pages, waits):
    """
        A: [anon a, 2 pages] written, forked B: one anon_vma, list [A's vma, B's vma]
        A migrates page a (MOVE_ALL): the unmap walk holds anon_vma->lock between vmas
        B mprotects 1 page:  split_vma -> vma_adjust takes anon_vma->lock: waits (2.6.18)
        B mprotects both:    only flags and ptes change, no rmap lock: runs at once
    """
    m = machine()
    p = m.spawn(node=0, cap_sys_nice=True)
    a = p.mmap(None, 2 * P, RW, ANON)
    p.write(a, b"x")
    p.write(a + P, b"y")
    b = p.fork()
    vmas = len(b.mm.mmap)
    av = p.mm.mmap[0].anon_vma
    mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE_ALL)
    for _ in range(50):
        if av.lock is not None:
            break
        m.step(mig)
    assert av.lock is not None and len(av.head) == 2
    prot = m.mprotect_path(b, a, pages * P, PROT_READ)
    assert m.step(prot) == "work"                              # mmap_sem of B: free
    assert (m.step(prot) == "blocked") is waits
    m.finish(mig)
    m.finish(prot)
    assert prot.result == 0 and len(b.mm.mmap) == vmas + (pages == 1)
    m.check()
