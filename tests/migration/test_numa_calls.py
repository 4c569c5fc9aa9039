"""The NUMA system calls as a user-space test program makes them: another process's pages
(move_pages and migrate_pages with a pid), credentials and their rules, get_mempolicy and
set_mempolicy, and the shared policy of tmpfs and shared anonymous memory.

Sources (2.6.18 at 4ba3a12d; verified-facts K W5, W6, F1): sys_move_pages mm/migrate.c#L862,
sys_migrate_pages mm/mempolicy.c#L898, do_get_mempolicy #L519, get_vma_policy #L1068,
policy_vma #L374, shmem_set_policy / shmem_get_policy / shmem_alloc_page mm/shmem.c#L1285,
#L1292, #L960; sys_setuid / sys_setresuid kernel/sys.c#L990, #L1030; cap_emulate_setxuid
security/commoncap.c#L243.
"""

import pytest

from refmodel import (MAP_ANONYMOUS, MAP_SHARED, MPOL_BIND, MPOL_DEFAULT, MPOL_INTERLEAVE,
                      MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, MPOL_PREFERRED, PROT_NONE, errno)
from refmodel.mempolicy import MPOL_F_ADDR, MPOL_F_NODE

from migtools import ANON, P, RW, SHANON, anon_page, machine


def _raises(err, fn, *args, **kw):
    with pytest.raises(OSError) as e:
        fn(*args, **kw)
    assert e.value.errno == err, e.value
    return e.value


# -- the order of sys_move_pages' checks (K/W6) ----------------------------------------------

def test_move_pages_checks_flags_then_capability_then_the_target():
    """
        B has exited.  A call on B's pid:
          unknown flags                      -> EINVAL   (before the pid is looked up)
          MOVE_ALL, caller without CAP_SYS_NICE -> EPERM
          valid flags                        -> ESRCH    (find_task_by_pid finds nothing)
        the same when B's own (last) call is asked of the façade: m.move_pages(b, ...)
    """
    m = machine()
    a = m.spawn()
    b, addr = anon_page(m, cap=False)
    b.exit()
    for caller in (a, None):
        kw = {"caller": caller} if caller else {}
        _raises(errno.EINVAL, m.move_pages, b, [addr], [1], 1 << 5, **kw)
        _raises(errno.EPERM, m.move_pages, b, [addr], [1], MPOL_MF_MOVE_ALL, **kw)
        _raises(errno.ESRCH, m.move_pages, b, [addr], [1], MPOL_MF_MOVE, **kw)
    _raises(errno.EINVAL, a.move_pages, b.pid, [addr], [1], 1 << 5)
    _raises(errno.EPERM, a.move_pages, b.pid, [addr], [1], MPOL_MF_MOVE_ALL)
    _raises(errno.ESRCH, a.move_pages, b.pid, [addr], [1], MPOL_MF_MOVE)
    _raises(errno.ESRCH, a.migrate_pages, b.pid, {0}, {1})


# -- another process's pages ---------------------------------------------------------------------

def test_move_pages_of_another_process_by_the_uid_rule():
    """
        B (uid 1000): [ rw anon ] pfn X node 0
        A (uid 1000)                          move_pages(B, X -> 1)   ok (same uid)
        C (uid 1001, no CAP_SYS_NICE)         move_pages(B, ...)      EPERM, query too
        N (uid 1001, CAP_SYS_NICE)            move_pages(B, X -> 0)   ok
        S (uid 1001, suid 1000)               seteuid(1000) allowed (its saved uid);
                                              its euid now matches B's uid: ok
    """
    m = machine()
    b, x = anon_page(m, b"B's", cap=False)
    a, c = m.spawn(), m.spawn(uid=1001)
    n = m.spawn(uid=1001, cap_sys_nice=True)
    assert list(a.move_pages(b.pid, [x], [1])) == [1] and b.page(x).node == 1
    _raises(errno.EPERM, c.move_pages, b.pid, [x], [0])
    _raises(errno.EPERM, c.move_pages, b.pid, [x])
    assert list(n.move_pages(b.pid, [x], [0], MPOL_MF_MOVE_ALL)) == [0] and b.page(x).node == 0
    s = m.spawn(uid=1001, suid=1000)
    _raises(errno.EPERM, s.move_pages, b.pid, [x], [1])
    _raises(errno.EPERM, s.seteuid, 1002)
    assert s.seteuid(1000) == 0 and (s.uid, s.euid, s.suid) == (1001, 1000, 1000)
    assert list(s.move_pages(b.pid, [x], [1])) == [1]
    assert b.read(x, 3) == b"B's"
    m.check()


def test_the_target_is_reachable_by_its_saved_uid_too():
    """
        T (uid 1002, suid 1000): a caller whose uid is 1000 may act on it (task->suid)
    """
    m = machine()
    t = m.spawn(uid=1002, suid=1000)
    _, x = anon_page(m, proc=t)
    assert list(m.spawn(uid=1000).move_pages(t.pid, [x], [1])) == [1]
    _raises(errno.EPERM, m.spawn(uid=1003).move_pages, t.pid, [x], [0])
    m.check()


def test_migrate_pages_of_another_process_moves_shared_pages_iff_the_caller_may():
    """
        B (uid 1000): [ anon ] S shared with its child (mapcount 2)   [ anon ] M (B only)
        C (uid 1001)                 migrate_pages(B, {0}, {1})   EPERM
        A (uid 1000, no CAP)         migrate_pages(B, {0}, {1})   MOVE: M moves, S stays
        R (uid 0: CAP_SYS_NICE)      migrate_pages(B, {0}, {1})   MOVE_ALL: S moves too
        MPOL_MF_MOVE_ALL follows the caller's capability, not the target's (B has none)
    """
    m = machine()
    b, s = anon_page(m, b"S", cap=False)
    kid = b.fork()
    _, mine = anon_page(m, b"M", proc=b)
    _raises(errno.EPERM, m.spawn(uid=1001).migrate_pages, b.pid, {0}, {1})
    assert m.spawn().migrate_pages(b.pid, {0}, {1}) == 0
    assert b.page(mine).node == 1 and b.page(s).node == 0
    root = m.spawn(uid=0)
    assert root.cap_sys_nice and root.migrate_pages(b.pid, {0}, {1}) == 0
    assert b.page(s).node == 1 and kid.page(s).pfn == b.page(s).pfn
    m.check()


def test_pid_zero_is_the_caller_and_an_unknown_pid_is_esrch():
    m = machine()
    p, a = anon_page(m, cap=False)
    assert list(p.move_pages(0, [a])) == list(m.move_pages(p, [a])) == [0]
    assert list(p.move_pages(0, [a], [1])) == [1]
    assert p.migrate_pages(0, {1}, {0}) == 0 and p.page(a).node == 0
    _raises(errno.ESRCH, p.move_pages, 99, [a])
    _raises(errno.ESRCH, p.migrate_pages, 99, {0}, {1})


# -- credentials ------------------------------------------------------------------------------

def test_setuid_with_and_without_cap_setuid():
    """
        R (uid 0: CAP_SETUID, CAP_SYS_NICE)  setuid(1000): uid = euid = suid = 1000, and
                                              leaving uid 0 everywhere drops every capability
        U (uid 1000, euid 1000, suid 1001)    setuid(1002): EPERM; setuid(1001): only euid
    """
    m = machine()
    r = m.spawn(uid=0)
    assert r.capabilities == {7, 23}
    assert r.setuid(1000) == 0 and (r.uid, r.euid, r.suid) == (1000, 1000, 1000)
    assert not r.cap_sys_nice and r.capabilities == set()
    _raises(errno.EPERM, r.setuid, 0)                   # no CAP_SETUID any more
    u = m.spawn(uid=1000, suid=1001)
    _raises(errno.EPERM, u.setuid, 1002)
    assert u.setuid(1001) == 0 and (u.uid, u.euid, u.suid) == (1000, 1001, 1001)


def test_seteuid_away_from_root_and_back():
    """
        R (uid 0)  seteuid(1000): the effective set is cleared, the permitted set kept;
                   MOVE_ALL is refused; seteuid(0) (its uid) brings the effective set back
        a fork inherits the credentials as they are
    """
    m = machine()
    r = m.spawn(uid=0)
    _, a = anon_page(m, proc=r)
    assert r.seteuid(1000) == 0 and (r.uid, r.euid, r.suid) == (0, 1000, 0)
    assert not r.cap_sys_nice
    _raises(errno.EPERM, r.move_pages, 0, [a], [1], MPOL_MF_MOVE_ALL)
    kid = r.fork()
    assert (kid.uid, kid.euid, kid.suid, kid.cap_sys_nice) == (0, 1000, 0, False)
    assert r.seteuid(0) == 0 and r.cap_sys_nice
    assert list(r.move_pages(0, [a], [1], MPOL_MF_MOVE_ALL)) == [1]


# -- set_mempolicy and get_mempolicy ----------------------------------------------------------

def test_set_mempolicy_places_faults_where_no_vma_policy_applies():
    """
        P: set_mempolicy(BIND {1}); [ rw anon ] touched: node 1; a child inherits it;
        a vma with its own policy (mbind PREFERRED {0}) wins over the task's
    """
    m = machine()
    p = m.spawn()
    assert p.set_mempolicy(MPOL_BIND, {1}) == 0
    _, a = anon_page(m, proc=p)
    assert p.page(a).node == 1
    kid = p.fork()
    _, b = anon_page(m, proc=kid)
    assert kid.page(b).node == 1
    c = p.mmap(None, P, RW, ANON)
    p.mbind(c, P, MPOL_PREFERRED, {0})
    p.write(c, b"c")
    assert p.page(c).node == 0
    _raises(errno.EINVAL, p.set_mempolicy, MPOL_BIND, ())
    _raises(errno.EINVAL, p.set_mempolicy, MPOL_BIND, {2})
    _raises(errno.EINVAL, p.set_mempolicy, 7, {0})
    assert p.set_mempolicy(MPOL_DEFAULT) == 0 and p.get_mempolicy() == (MPOL_DEFAULT, set())
    m.check()


def test_get_mempolicy_every_branch():
    """
        P: [ rw anon, mbind INTERLEAVE {0,1}, page 0 written ]  [ rw anon, none ]  [ PROT_NONE ]
        flags 0:                      the task's policy (default, then BIND {1})
        MPOL_F_ADDR:                  the vma's policy; none on the vma -> MPOL_DEFAULT even
                                      though the task has BIND (do_get_mempolicy has no
                                      fallback to the task there); no vma -> EFAULT
        MPOL_F_NODE|MPOL_F_ADDR:      the node of the page there; an untouched anonymous
                                      page is read in: the ZERO_PAGE, node 0
        MPOL_F_NODE alone:            the task's next interleave node, else EINVAL
        bad flags, or addr without MPOL_F_ADDR: EINVAL; PREFERRED "local": every online node
    """
    m = machine()
    p = m.spawn()
    il = p.mmap(None, 2 * P, RW, ANON)
    plain = p.mmap(None, P, RW, ANON)
    none = p.mmap(None, P, PROT_NONE, ANON)
    p.mbind(il, 2 * P, MPOL_INTERLEAVE, {0, 1})
    p.write(il + P, b"x")
    assert p.get_mempolicy() == (MPOL_DEFAULT, set())
    p.set_mempolicy(MPOL_BIND, {1})
    assert p.get_mempolicy() == (MPOL_BIND, {1})
    assert p.get_mempolicy(il, MPOL_F_ADDR) == (MPOL_INTERLEAVE, {0, 1})
    assert p.get_mempolicy(plain, MPOL_F_ADDR) == (MPOL_DEFAULT, set())
    _raises(errno.EFAULT, p.get_mempolicy, none + 64 * P, MPOL_F_ADDR)
    assert p.get_mempolicy(il + P, MPOL_F_ADDR | MPOL_F_NODE) == (p.page(il + P).node, {0, 1})
    assert p.page(plain) is None
    assert p.get_mempolicy(plain, MPOL_F_ADDR | MPOL_F_NODE) == (0, set())
    assert p.page(plain).pfn == 0                       # read in: the ZERO_PAGE
    _raises(errno.EFAULT, p.get_mempolicy, none, MPOL_F_ADDR | MPOL_F_NODE)
    _raises(errno.EINVAL, p.get_mempolicy, 0, MPOL_F_NODE)          # task policy is BIND
    p.set_mempolicy(MPOL_INTERLEAVE, {0, 1})
    assert p.get_mempolicy(0, MPOL_F_NODE) == (0, {0, 1})
    _raises(errno.EINVAL, p.get_mempolicy, 0, 1 << 2)
    _raises(errno.EINVAL, p.get_mempolicy, il, 0)
    p.set_mempolicy(MPOL_PREFERRED, ())
    assert p.get_mempolicy() == (MPOL_PREFERRED, {0, 1})
    m.check()


# -- the shared policy of tmpfs and shared anonymous memory (K/W5) ------------------------------

def test_shared_anonymous_mbind_places_every_page():
    """
        P (node 0): [ MAP_SHARED|MAP_ANONYMOUS, 4 pages ] mbind BIND {1} before any touch
        writes: all four pages on node 1 (shmem_alloc_page by the file's policy), and
        move_pages' query says 1 for each; get_mempolicy(addr) is the file's
    """
    m = machine()
    p = m.spawn(node=0)
    s = p.mmap(None, 4 * P, RW, SHANON)
    assert p.mbind(s, 4 * P, MPOL_BIND, {1}) == 0
    for i in range(4):
        p.write(s + i * P, b"s")
    assert [p.page(s + i * P).node for i in range(4)] == [1, 1, 1, 1]
    assert list(p.move_pages(0, [s + i * P for i in range(4)])) == [1, 1, 1, 1]
    assert p.get_mempolicy(s + 2 * P, MPOL_F_ADDR) == (MPOL_BIND, {1})
    m.check()


def test_a_tmpfs_policy_is_the_files_for_every_process():
    """
        file F (tmpfs, 4 pages), mapped MAP_SHARED by A and by B (both on node 0)
        A: mbind(F's pages 1..2, BIND {1})         -> F's policy: [1, 3) BIND {1}
        B faults page 2: node 1 (A's mbind, through the file); page 0: node 0
        B's get_mempolicy(page 1, MPOL_F_ADDR) sees BIND {1}, page 3 default
    """
    m = machine()
    f = m.create_file("F", 4)
    a, b = m.spawn(node=0), m.spawn(node=0)
    fa = a.mmap(None, 4 * P, RW, MAP_SHARED, f, 0)
    fb = b.mmap(None, 4 * P, RW, MAP_SHARED, f, 0)
    assert a.mbind(fa + P, 2 * P, MPOL_BIND, {1}) == 0
    b.write(fb + 2 * P, b"two")
    b.write(fb, b"zero")
    assert b.page(fb + 2 * P).node == 1 and b.page(fb).node == 0
    assert b.get_mempolicy(fb + P, MPOL_F_ADDR) == (MPOL_BIND, {1})
    assert b.get_mempolicy(fb + 3 * P, MPOL_F_ADDR) == (MPOL_DEFAULT, set())
    assert a.read(fa + 2 * P, 3) == b"two"
    m.check()


def test_shmem_interleave_goes_by_page_index():
    """
        [ MAP_SHARED|MAP_ANONYMOUS, 4 pages ] INTERLEAVE {0,1}; pages touched 3, 2, 1, 0:
        nodes by index 0,1,0,1 (the pseudo-vma's offset is the page index), not by order
    """
    m = machine()
    p = m.spawn()
    s = p.mmap(None, 4 * P, RW, SHANON)
    p.mbind(s, 4 * P, MPOL_INTERLEAVE, {0, 1})
    for i in (3, 2, 1, 0):
        p.write(s + i * P, b"i")
    assert [p.page(s + i * P).node for i in range(4)] == [0, 1, 0, 1]
    m.check()


def test_mbind_move_on_shared_anonymous_memory_moves_to_the_files_policy():
    """
        pages written on node 0 first; mbind(BIND {1}, MOVE) moves them, and a page touched
        afterwards also lands on node 1; mbind(DEFAULT) removes the file's policy
    """
    m = machine()
    p = m.spawn(node=0)
    s = p.mmap(None, 3 * P, RW, MAP_SHARED | MAP_ANONYMOUS)
    p.write(s, b"a")
    p.write(s + P, b"b")
    assert p.mbind(s, 3 * P, MPOL_BIND, {1}, MPOL_MF_MOVE) == 0
    p.write(s + 2 * P, b"c")
    assert [p.page(s + i * P).node for i in range(3)] == [1, 1, 1]
    assert p.mbind(s, 3 * P, MPOL_DEFAULT) == 0
    assert p.get_mempolicy(s, MPOL_F_ADDR) == (MPOL_DEFAULT, set())
    assert p.read(s, 1) == b"a"
    m.check()


# -- 2.6.17: migrate_prep without free swap (K/M2) --------------------------------------------

def test_2_6_17_mbind_move_without_swap_is_enodev_and_sets_no_policy():
    """
        2.6.17, no swap: P [ rw anon ] written on node 0
        mbind(BIND {1}, MOVE): check_range's migrate_prep fails first -> ENODEV, and
        do_mbind never reaches mbind_range: the vma keeps the default policy
        migrate_pages(2) ignores the same failure: returns 0, nothing moved
        mbind without MOVE still sets the policy
    """
    m = machine("2.6.17")
    p, a = anon_page(m, cap=False)
    _raises(errno.ENODEV, p.mbind, a, P, MPOL_BIND, {1}, MPOL_MF_MOVE)
    assert p.get_mempolicy(a, MPOL_F_ADDR) == (MPOL_DEFAULT, set())
    assert p.migrate_pages(0, {0}, {1}) == 0 and p.page(a).node == 0
    assert p.mbind(a, P, MPOL_BIND, {1}) == 0
    assert p.get_mempolicy(a, MPOL_F_ADDR) == (MPOL_BIND, {1})
    m.check()


def test_2_6_17_full_swap_counts_as_no_swap():
    """
        2.6.17, a swap area of one usable slot (slot 0 is the header), taken by a page
        pushed out (reclaim): nr_swap_pages is 0, so migrate_prep says -ENODEV although
        swap is configured; mbind(MOVE) -> ENODEV, migrate_pages(2) -> 0, nothing moved
    """
    m = machine("2.6.17", swap_pages=2)
    p, out = anon_page(m, b"out", cap=False)
    _, a = anon_page(m, b"stay", proc=p)
    assert m.reclaim(p, out) and p.pte(out).is_swap
    _raises(errno.ENODEV, p.mbind, a, P, MPOL_BIND, {1}, MPOL_MF_MOVE)
    assert p.migrate_pages(0, {0}, {1}) == 0 and p.page(a).node == 0
    assert p.read(out, 3) == b"out"        # swap-in; vm_swap_full: the slot is given back
    assert p.migrate_pages(0, {0}, {1}) == 0 and p.page(a).node == 1
    m.check()
