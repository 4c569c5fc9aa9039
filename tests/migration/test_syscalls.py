"""move_pages(2) and migrate_pages(2) as Linux 2.6.18 has them: argument errors, per-page
status codes, return values.

Sources: sys_move_pages / do_move_pages / do_pages_stat, mm/migrate.c#L752-#L960, and
sys_migrate_pages / do_migrate_pages / check_range / migrate_page_add, mm/mempolicy.c
(verified-facts A17, A18, G7, G8).  Pictures as in test_scenarios.py.
"""

import errno

import pytest

from refmodel import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL

from refmodel.mmap import MAX_ARG_PAGES, STACK_TOP

from migtools import (ANON, EACCES, EAGAIN, EFAULT, ENOENT, P, RW, anon_page, machine,
                      sub_until)

EBUSY = 16


def _layout(m, cap=False):
    """
        lo          hole       hi         hi+P       hi+2P       hi+3P      ...  [ stack ] top
        [ 1 page ]  (2 pages)  [ rw anon, 4 pages ....................... ]     [ 32 p  ] (nothing)
                               pte rw D   pte ro     pte ro      (none)
                               pfn M      ZERO       pfn S c=2 m=2
                               (p only)              (shared with child c)
    """
    p = m.spawn(cap_sys_nice=cap)
    lo = p.mmap(None, P, RW, ANON)
    hi = p.mmap(lo + 3 * P, 4 * P, RW, ANON)
    assert hi == lo + 3 * P
    p.read(hi + P, 1)                                  # the ZERO_PAGE
    p.write(hi + 2 * P, b"shared")
    c = p.fork()
    p.write(hi, b"mine")                               # after the fork: p's alone
    addrs = dict(top=STACK_TOP, untouched=hi + 3 * P, zero=hi + P, hole=lo + P,
                 shared=hi + 2 * P, mine=hi)
    return p, c, addrs


def test_status_codes_of_one_call():
    """
        move_pages(p, [top, untouched, zero, hole, shared, mine], all -> node 1, MOVE):
          top        STACK_TOP: no vma at or above it -EFAULT
          untouched  vma, no pte                      -ENOENT
          zero       ZERO_PAGE (PageReserved)         -ENOENT
          hole       below hi: find_vma gives hi's vma, no vm_start check, no pte: -ENOENT
          shared     mapcount 2 without MOVE_ALL      -EACCES
          mine       isolated and migrated            1
        the call returns 0 (every isolated page moved); the query afterwards agrees
    """
    m = machine()
    p, c, ad = _layout(m)
    order = ["top", "untouched", "zero", "hole", "shared", "mine"]
    addrs = [ad[k] for k in order]
    assert list(m.move_pages(p, addrs)) == [-EFAULT, -ENOENT, -ENOENT, -ENOENT, 0, 0]
    shared = p.page(ad["shared"])
    st = m.move_pages(p, addrs, [1] * 6, MPOL_MF_MOVE)
    assert list(st) == [-EFAULT, -ENOENT, -ENOENT, -ENOENT, -EACCES, 1] and st.ret == 0
    assert m.last_call["pgmigrate_success"] == 1 and m.last_call["migrate_passes"] == 1
    assert p.page(ad["shared"]).pfn == shared.pfn and p.page(ad["shared"]).node == 0
    assert (shared.count, shared.mapcount) == (2, 2) and p.page(ad["shared"]).lru
    assert list(m.move_pages(p, addrs)) == [-EFAULT, -ENOENT, -ENOENT, -ENOENT, 0, 1]
    assert p.read(ad["mine"], 4) == b"mine" and c.read(ad["shared"], 6) == b"shared"
    m.check()


def test_above_the_last_mapping_is_below_the_stack():
    """
        hi [ rw anon, 4 pages ]   ...hole...   [ stack: 32 pages, untouched ]   STACK_TOP
        hi + 16P: find_vma finds the stack vma (no vm_start check), no pte  -> -ENOENT
        the stack's own pages: vma, no pte                                   -> -ENOENT
        STACK_TOP and above (TASK_SIZE): no vma at or above                  -> -EFAULT
        (a process without a stack vma would say -EFAULT for all three: K/M8)
    """
    m = machine()
    p, c, ad = _layout(m)
    stack = STACK_TOP - MAX_ARG_PAGES * P
    assert p.vmas()[-1][:2] == (stack, STACK_TOP)
    st = m.move_pages(p, [ad["mine"] + 16 * P, stack + P, STACK_TOP, STACK_TOP + 4 * P])
    assert list(st) == [-ENOENT, -ENOENT, -EFAULT, -EFAULT]
    st = m.move_pages(p, [ad["mine"], ad["mine"] + 16 * P, STACK_TOP], [1, 1, 1], MPOL_MF_MOVE)
    assert list(st) == [1, -ENOENT, -EFAULT]
    m.check()


def test_node_already_right_reports_that_node_and_flags_zero_acts_as_move():
    """
        mine on node 0 -> target 0: status 0 (not isolated); shared -> 0 as well.
        With nothing isolated at all, 2.6.18 returns -ENOENT and writes no status.
        flags == 0 is accepted and behaves like MPOL_MF_MOVE.
    """
    m = machine()
    p, c, ad = _layout(m)
    with pytest.raises(OSError) as e:
        m.move_pages(p, [ad["mine"], ad["shared"]], [0, 0], MPOL_MF_MOVE)
    assert e.value.errno == errno.ENOENT
    assert m.last_call["migrate_passes"] == 0
    st = m.move_pages(p, [ad["mine"], ad["shared"]], [1, 0], 0)
    assert list(st) == [1, 0] and st.ret == 0 and p.page(ad["mine"]).node == 1
    # a page already moved: asking again for node 1 isolates nothing -> ENOENT
    with pytest.raises(OSError) as e:
        m.move_pages(p, [ad["mine"]], [1], 0)
    assert e.value.errno == errno.ENOENT
    m.check()


def test_nothing_isolated_is_enoent_even_with_other_errors():
    """
        [top, zero, shared] -> node 1 without MOVE_ALL: nothing isolated -> OSError ENOENT
    """
    m = machine()
    p, c, ad = _layout(m)
    with pytest.raises(OSError) as e:
        m.move_pages(p, [ad["top"], ad["zero"], ad["shared"]], [1, 1, 1], MPOL_MF_MOVE)
    assert e.value.errno == errno.ENOENT
    assert p.page(ad["shared"]).node == 0
    m.check()


def test_argument_errors():
    """
        unknown flag bits            -> EINVAL      (checked first)
        MOVE_ALL without CAP_SYS_NICE -> EPERM
        a node that is not online    -> ENODEV      (nothing moves)
    """
    m = machine()
    p, a = anon_page(m, cap=False)
    for flags in (1, 8, MPOL_MF_MOVE | 1 << 5):        # MPOL_MF_STRICT is not accepted either
        with pytest.raises(OSError) as e:
            m.move_pages(p, [a], [1], flags)
        assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        m.move_pages(p, [a], [1], MPOL_MF_MOVE_ALL | 8)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        m.move_pages(p, [a], [1], MPOL_MF_MOVE_ALL)
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        m.move_pages(p, [a], [2], MPOL_MF_MOVE)
    assert e.value.errno == errno.ENODEV
    assert p.page(a).node == 0
    q, b = anon_page(m, cap=True)
    assert list(m.move_pages(q, [b], [1], MPOL_MF_MOVE_ALL)) == [1]
    m.check()


def test_the_same_page_twice_second_entry_is_ebusy():
    """
        [a, a] -> [1, 1]: the first entry isolates the page (PG_lru cleared), the second's
        isolate_lru_page finds it off the LRU: -EBUSY; the first gets the node.
    """
    m = machine()
    p, a = anon_page(m)
    st = m.move_pages(p, [a, a], [1, 1], MPOL_MF_MOVE)
    assert list(st) == [1, -EBUSY] and st.ret == 0 and p.page(a).node == 1
    m.check()


def test_one_file_page_at_two_addresses_second_entry_reports_where_it_was():
    """
        file F (tmpfs, 3 pages); p maps it twice, MAP_SHARED:
          a [ F 0..2 ]  pte -> page 2 (pfn X, node 0)      b [ F 0..2 ]  pte -> the same X
        move_pages(p, [a+2P, b+2P], [1, 0], MOVE_ALL):
          entry 0: X on node 0, target 1, mapcount 2 (MOVE_ALL): isolated
          entry 1: the same X, still on node 0 == target: status 0, not isolated
          new_page_node: X's target and status slot are entry 0's: X moves to node 1
        status [1, 0]: 2.6.18 reports entry 1 where the page was when do_move_pages looked
        (mm/migrate.c#L752: pp->status is set in the first loop, migrate_pages writes only
        the first matching entry).  The stateful test once read this as a bug.
    """
    from refmodel import MAP_SHARED
    m = machine()
    f = m.create_file("F", 3)
    p = m.spawn(cap_sys_nice=True)
    a = p.mmap(None, 3 * P, RW, MAP_SHARED, f, 0)
    b = p.mmap(None, 3 * P, RW, MAP_SHARED, f, 0)
    p.write(a + 2 * P, b"two")
    assert p.read(b + 2 * P, 3) == b"two"                 # b's pte maps it too
    assert p.page(b + 2 * P).pfn == p.page(a + 2 * P).pfn
    st = m.move_pages(p, [a + 2 * P, b + 2 * P], [1, 0], MPOL_MF_MOVE_ALL)
    assert list(st) == [1, 0] and st.ret == 0
    assert p.page(a + 2 * P).node == 1 and p.page(b + 2 * P).pfn == p.page(a + 2 * P).pfn
    assert list(m.move_pages(p, [a + 2 * P, b + 2 * P])) == [1, 1]
    assert p.read(b + 2 * P, 3) == b"two"
    m.check()


def test_query_sees_a_migration_entry_as_no_page():
    """
        while p's page is under migration its pte is an entry: follow_page finds no page,
        so do_pages_stat says -ENOENT for it
    """
    m = machine()
    p, a = anon_page(m)
    mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE)
    sub_until(m, mig, "move_to_new_page")
    assert p.pte(a).is_migration
    assert list(m.move_pages(p, [a])) == [-ENOENT]
    m.finish(mig)
    assert list(m.move_pages(p, [a])) == [1]
    m.check()


def test_move_pages_returns_the_number_not_migrated():
    """
        three pages; the middle one pinned (get_user_pages): [1, -EAGAIN, 1], returns 1
    """
    m = machine()
    p = m.spawn()
    a = p.mmap(None, 3 * P, RW, ANON)
    for i in range(3):
        p.write(a + i * P, bytes([65 + i]))
    pin = m.get_user_pages(p, a + P)
    st = m.move_pages(p, [a, a + P, a + 2 * P], [1, 1, 1], MPOL_MF_MOVE)
    assert list(st) == [1, -EAGAIN, 1] and st.ret == 1
    assert m.last_call["migrate_passes"] == 10 and m.last_call["pgmigrate_success"] == 2
    assert [p.page(a + i * P).node for i in range(3)] == [1, 0, 1]
    m.check()
    m.put_user_pages(pin)
    m.check()


# -- migrate_pages(2) ------------------------------------------------------------------------

def test_migrate_pages_returns_pages_not_migrated():
    """
        p: [ rw anon, 2 pages ] both node 0, the second pinned
        migrate_pages(p, {0}, {1}) -> 1 (the pinned page, after 10 passes); the other moved
    """
    m = machine()
    p = m.spawn()
    a = p.mmap(None, 2 * P, RW, ANON)
    p.write(a, b"A")
    p.write(a + P, b"B")
    pin = m.get_user_pages(p, a + P)
    assert m.migrate_pages(p, {0}, {1}) == 1
    assert p.page(a).node == 1 and p.page(a + P).node == 0
    assert m.last_call["migrate_passes"] == 10
    m.check()
    m.put_user_pages(pin)
    assert m.migrate_pages(p, {0}, {1}) == 0 and p.page(a + P).node == 1
    m.check()


def test_migrate_pages_skips_mlocked_vmas_and_the_zero_page():
    """
        p: [ rw anon VM_LOCKED ] pfn L     [ rw anon ] ZERO     [ rw anon ] pfn U
        migrate_pages(p, {0}, {1}): vma_migratable() excludes L's vma; ZERO is reserved;
        only U moves; 0 returned (L and ZERO were never candidates)
        move_pages still moves L (verified-facts G7)
    """
    m = machine()
    p, l = anon_page(m, b"L", cap=False)
    p.mlock(l, P)
    z = p.mmap(None, P, RW, ANON)
    p.read(z, 1)
    _, u = anon_page(m, b"U", proc=p)
    assert m.migrate_pages(p, {0}, {1}) == 0
    assert (p.page(l).node, p.page(z).pfn, p.page(u).node) == (0, 0, 1)
    assert m.last_call["pgmigrate_success"] == 1
    assert list(m.move_pages(p, [l], [1], MPOL_MF_MOVE)) == [1]
    m.check()


@pytest.mark.parametrize("cap", [False, True])
def test_migrate_pages_moves_shared_pages_only_with_cap_sys_nice(cap):
    """
        p: [ anon ] ro -> S  c=2 m=2  (shared with the child)      [ anon ] rw -> M (p only)
        migrate_pages(p, {0}, {1}):
          without CAP_SYS_NICE: MPOL_MF_MOVE, migrate_page_add skips S (mapcount 2): 0
          with CAP_SYS_NICE:    MPOL_MF_MOVE_ALL: S moves too, child's pte follows
    """
    m = machine()
    p, s = anon_page(m, b"S", cap=cap)
    c = p.fork()
    _, mine = anon_page(m, b"M", proc=p)
    assert m.migrate_pages(p, {0}, {1}) == 0
    assert p.page(mine).node == 1
    assert p.page(s).node == (1 if cap else 0) and c.page(s).pfn == p.page(s).pfn
    assert p.page(s).mapcount == 2
    m.check()


# -- mbind(2) ------------------------------------------------------------------------------------

def test_mbind_move_skips_mlocked_vmas():
    """
        p: [ rw anon VM_LOCKED ] pfn L node 0      [ rw anon ] pfn U node 0
        mbind(each range, MPOL_BIND {1}, MPOL_MF_MOVE): check_range -> vma_migratable()
        leaves the mlocked vma out (no error, nothing moved); U moves to node 1
    """
    from refmodel import MPOL_BIND
    m = machine()
    p, l = anon_page(m, b"L")
    p.mlock(l, P)
    _, u = anon_page(m, b"U", proc=p)
    assert m.mbind(p, l, P, MPOL_BIND, {1}, MPOL_MF_MOVE) == 0
    assert p.page(l).node == 0 and m.last_call["pgmigrate_success"] == 0
    assert m.mbind(p, u, P, MPOL_BIND, {1}, MPOL_MF_MOVE) == 0
    assert p.page(u).node == 1 and m.last_call["pgmigrate_success"] == 1
    assert p.read(l, 1) == b"L" and p.read(u, 1) == b"U"
    m.check()


def test_mbind_strict_reports_pages_left_behind_as_eio():
    """
        p: [ rw anon ] pfn X pinned (get_user_pages)
        mbind(MPOL_BIND {1}, MPOL_MF_MOVE|MPOL_MF_STRICT): X fails 10 passes -> EIO
        MOVE_ALL without CAP_SYS_NICE -> EPERM; unknown flags -> EINVAL
    """
    from refmodel import MPOL_BIND, MPOL_MF_STRICT
    m = machine()
    p, a = anon_page(m, b"X", cap=False)
    pin = m.get_user_pages(p, a)
    with pytest.raises(OSError) as e:
        m.mbind(p, a, P, MPOL_BIND, {1}, MPOL_MF_MOVE | MPOL_MF_STRICT)
    assert e.value.errno == errno.EIO
    assert p.page(a).node == 0 and m.last_call["migrate_passes"] == 10
    with pytest.raises(OSError) as e:
        m.mbind(p, a, P, MPOL_BIND, {1}, MPOL_MF_MOVE_ALL)
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        m.mbind(p, a, P, MPOL_BIND, {1}, 1 << 4)
    assert e.value.errno == errno.EINVAL
    m.check()
    m.put_user_pages(pin)
    m.check()


def test_2_6_17_makes_one_pass_more_than_2_6_18_for_a_page_that_never_moves():
    """
        p: [ rw anon ] pinned (get_user_pages), machine with swap
        2.6.17: pass 0, then `retry && pass++ < 10` -> passes 1..10: 11 passes, 1 not moved
        V1 and V2 kept that loop (`redo:` in the hunk headers of V1 6/6 and V2 5/5)
        2.6.18: `for (pass = 0; pass < 10 && retry; pass++)`: 10 passes
    """
    for era, swap, passes in (("2.6.17", 8, 11), ("rfc-v1", 0, 11), ("v2-yield", 0, 11),
                              ("2.6.18", 0, 10)):
        m = machine(era, swap_pages=swap)
        p = m.spawn()
        a = p.mmap(None, P, RW, ANON)
        p.write(a, b"pinned")
        pin = m.get_user_pages(p, a)
        assert m.migrate_pages(p, {0}, {1}) == 1, era
        assert m.last_call["migrate_passes"] == passes, era
        assert p.page(a).node == 0 and p.read(a, 6) == b"pinned"
        m.put_user_pages(pin)
        m.check()


def test_v2_counts_before_and_after_unmapping():
    """
        p: [ rw anon ] pinned before migration starts
        V1 and V2 (count before unmapping): every pass gives up with the ptes untouched
        2.6.18 (count only after): every pass writes the entry, fails, and puts the pte back
    """
    for era, entries in (("rfc-v1", 0), ("v2-yield", 0), ("2.6.18", 10)):
        m = machine(era)
        p = m.spawn()
        a = p.mmap(None, P, RW, ANON)
        p.write(a, b"pinned")
        pin = m.get_user_pages(p, a)
        assert m.migrate_pages(p, {0}, {1}) == 1, era
        assert m.last_call["migration_entries_set"] == entries, era
        m.put_user_pages(pin)
        m.check()
