"""capture() and Restorer: a live kernel rebuilt from a capture steps exactly like the one
it was taken from, and restoring costs what changed, not the whole object graph."""

import random

from refmodel import MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE, Machine
from refmodel.explore import Explorer, World
from refmodel.sched import BLOCKED, DONE
from refmodel.snapshot import Restorer, capture, capture_path, restore, restore_path

RW = PROT_READ | PROT_WRITE


def busy_machine():
    """Two processes sharing an anonymous page (fork), a shared tmpfs page, swap."""
    m = Machine(nodes=2, pages_per_node=16, swap_pages=8)
    p = m.spawn(node=0, cap_sys_nice=True)
    a = p.mmap(None, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"anon")
    f = m.create_file("f", 1)
    b = p.mmap(None, PAGE_SIZE, RW, MAP_SHARED, file=f)
    p.write(b, b"file")
    c = p.fork()
    c.write(a + PAGE_SIZE, b"child")
    m.reclaim(c, a + PAGE_SIZE)
    return m, p, c, a, b


def test_capture_restore_capture_is_the_identity():
    m, *_ = busy_machine()
    snap = capture(m.k)
    k2 = restore(snap, m.era, 2, 16)
    assert capture(k2) == snap
    assert k2 is not m.k and k2.pages[1] is not m.k.pages[1]


def test_a_restored_kernel_steps_like_the_original():
    """Drive a migration and two faults with the same random schedule on the original and,
    step by step, on kernels restored from captures: the captures agree at every step."""
    for seed in range(5):
        rng = random.Random(seed)
        m, p, c, a, b = busy_machine()
        paths = [m.move_pages_path(p, [a], [1], 4), m.access_path(p, a, True, b"W"),
                 m.access_path(c, a, False, length=4)]
        R = Restorer(m.era, 2, 16)
        for _ in range(500):
            if all(q.finished for q in paths):
                break
            i = rng.choice([j for j, q in enumerate(paths) if not q.finished])
            before = capture(m.k)
            # the same step on a restored copy
            k2 = R.restore(before)
            q2 = restore_path(capture_path(paths[i]), paths[i].tid)
            r2 = getattr(q2, q2.pc)(k2)
            r1 = getattr(paths[i], paths[i].pc)(m.k)
            assert (r1 is BLOCKED) == (r2 is BLOCKED)
            assert capture(m.k) == capture(k2)
            assert capture_path(paths[i]) == capture_path(q2)
            R.sync(capture(k2))
        assert all(q.finished for q in paths)


def test_restore_rebuilds_only_what_differs():
    """Moving between two states that differ in one pte rewrites one mm, not every page."""
    w = World("canonical")
    ex = Explorer(w)
    s = w.init
    out = ex.successor(s, w.names.index("wP"))       # access: faults, changes no kernel state
    assert out[0][0] == s[0]
    n = ex.successor(s, w.names.index("mig"))[0]     # down_read + isolate: one page, one mm
    R = w.R
    R.restore(w.K[s[0]])
    pages_before = dict(R.k.pages)
    R.restore(w.K[n[0]])
    changed = [pfn for pfn, pg in R.k.pages.items() if pages_before.get(pfn) is not pg]
    assert changed == []                             # the same page objects, updated in place


def test_paths_round_trip_with_sub_paths_lists_and_dicts():
    m, p, c, a, b = busy_machine()
    mig = m.move_pages_path(p, [a], [1], 4)
    for _ in range(4):
        m.step(mig)
    t = capture_path(mig)
    q = restore_path(t, mig.tid)
    assert capture_path(q) == t and q.sub is not None and q.sub.tid == mig.tid
    assert isinstance(q.sub.pages, list) and isinstance(q.sub.new_node, dict)
    m.finish(mig)
    assert mig.pc == DONE
