"""m.check() can fail: each test builds a healthy state, checks it passes, then corrupts one
thing behind the kernel's back and requires InvariantError naming that problem.

The invariants are those of refmodel/check.py and kernel-facts §6 (I1: a migration entry
only exists while its page is locked; counts and mapcounts agree with the ptes; rss agrees
with the ptes; swap_map agrees with the swap ptes and the swap cache).
"""

import pytest

from refmodel import (MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE,
                      InvariantError, Machine)
from refmodel.pgtable import PAGE_SHIFT
from refmodel.swapops import make_migration_entry, swp_entry_to_pte

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
P = PAGE_SIZE


@pytest.fixture
def world():
    """
        p: [ rw anon, 2 pages ]  pte rw D -> pfn N "alpha"   pte rw D -> pfn M "beta"
        c (forked):               pte ro   -> pfn N           pte ro   -> pfn M
    """
    m = Machine()
    p = m.spawn()
    a = p.mmap(None, 2 * P, RW, ANON)
    p.write(a, b"alpha")
    p.write(a + P, b"beta")
    c = p.fork()
    m.check()                                 # healthy before we break it
    return m, p, c, a


def problems(m):
    with pytest.raises(InvariantError) as e:
        m.check()
    return e.value.problems


def test_extra_page_reference_is_caught(world):
    m, p, c, a = world
    pfn = p.pte(a).pfn
    m.k.pages[pfn]._count += 1
    ps = problems(m)
    assert any(f"page {pfn}: count 3" in s for s in ps), ps


def test_pte_deleted_behind_the_kernels_back_is_caught(world):
    m, p, c, a = world
    pfn = c.pte(a).pfn
    del c.mm.pgtable[a >> PAGE_SHIFT]
    ps = problems(m)
    assert any(f"page {pfn}: mapcount 2 but 1 ptes" in s for s in ps), ps
    assert any(f"mm {c.mm.id}: rss anon=2" in s for s in ps), ps


def test_page_data_changed_behind_the_shadow_is_caught(world):
    m, p, c, a = world
    page = m.k.pages[p.pte(a + P).pfn]
    page.data = b"BETA" + page.data[4:]
    ps = problems(m)
    # both processes map the page, so both read the wrong bytes
    assert any(f"process {p.pid}: page at {a + P:#x}" in s for s in ps), ps
    assert any(f"process {c.pid}: page at {a + P:#x}" in s for s in ps), ps


def test_migration_entry_for_an_unlocked_page_is_caught(world):
    """I1: an entry exists only while its page is locked (swapops.h BUG otherwise)."""
    m, p, c, a = world
    page = m.k.pages[c.pte(a).pfn]
    page.flags |= 1                                        # lock it to make the entry ...
    entry = make_migration_entry(page, False)
    page.flags &= ~1                                       # ... and unlock it too early
    # Replace the child's pte by the entry, keeping counts as try_to_unmap_one would.
    c.mm.pgtable[a >> PAGE_SHIFT] = swp_entry_to_pte(entry)
    page._mapcount -= 1
    page._count -= 1
    ps = problems(m)
    assert any(f"migration entry at {a:#x} for page {page.pfn}, which is not locked" in s
               for s in ps), ps
    page.flags |= 1                                        # locked: that state is legal
    m.check()


def test_rss_counter_drift_is_caught(world):
    m, p, c, a = world
    p.mm.file_rss += 1
    ps = problems(m)
    assert any(f"mm {p.mm.id}: rss anon=2 file=1 but the ptes say anon=2 file=0" in s
               for s in ps), ps


def test_pte_to_a_freed_page_is_caught():
    # shadow=False: the content check's peek() cannot yet read through such a pte (it
    # raises KeyError, reported as a model bug), so only the kernel-state check runs here.
    m = Machine(shadow=False)
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"x")
    m.check()
    free_pfn = max(m.k.pages) + 1                          # never allocated
    pte = p.mm.pgtable[a >> PAGE_SHIFT]
    p.mm.pgtable[a >> PAGE_SHIFT] = (pte & 0xFFF) | (free_pfn << PAGE_SHIFT)
    ps = problems(m)
    assert any(f"pte at {a:#x} maps free pfn {free_pfn}" in s for s in ps), ps


def test_pte_outside_every_vma_is_caught(world):
    m, p, c, a = world
    pte = p.mm.pgtable[a >> PAGE_SHIFT]
    p.mm.pgtable[(a >> PAGE_SHIFT) + 100] = pte
    ps = problems(m)
    assert any(f"pte at {a + 100 * P:#x} outside every vma" in s for s in ps), ps


def test_swap_map_count_mismatch_is_caught():
    """
        p: pte swp 0:1     swap_map[1] = 1   -> bumped to 2 behind the kernel's back
    """
    m = Machine()
    m.swapon(16)
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"x")
    assert m.reclaim(p, a)
    m.check()
    off = p.pte(a).swp_offset
    m.k.swap_info[0].swap_map[off] += 1
    ps = problems(m)
    assert any(f"swap 0:{off}: swap_map 2 but 1 ptes" in s for s in ps), ps


def test_swap_pte_to_a_free_slot_is_caught():
    m = Machine()
    m.swapon(16)
    p = m.spawn()
    a = p.mmap(None, P, RW, ANON)
    p.write(a, b"x")
    assert m.reclaim(p, a)
    off = p.pte(a).swp_offset
    del m.k.swap_info[0].swap_map[off]
    ps = problems(m)
    assert any(f"swap 0:{off}: used by 1 but free in swap_map" in s for s in ps), ps


def test_page_both_free_and_in_use_is_caught(world):
    m, p, c, a = world
    pfn = p.pte(a).pfn
    m.k.nodes[0].free.append(pfn)
    ps = problems(m)
    assert any(f"pfn {pfn} is both free and in use" in s for s in ps), ps


def test_zero_page_count_is_checked(world):
    m, p, c, a = world
    m.k.pages[0]._count += 1
    ps = problems(m)
    assert any(s.startswith("ZERO_PAGE: count 2") for s in ps), ps


def test_invariant_error_message_carries_a_picture(world):
    m, p, c, a = world
    m.k.pages[p.pte(a).pfn]._mapcount += 1
    with pytest.raises(InvariantError) as e:
        m.check()
    text = str(e.value)
    assert text.startswith("invariants violated:")
    assert f"{a:#x}" in text                                # the picture shows the ptes
