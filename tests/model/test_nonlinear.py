"""Nonlinear file vmas (remap_file_pages, mm/fremap.c) and what migration does to them
(issue #11, verified-facts K/M4): 2.6.18's file-page entries are for linear vmas only;
try_to_unmap_cluster clears a nonlinear vma's ptes (a file pte where the page is not at its
linear place), skips young ones, and the next access faults the page in by its offset.
"""

import errno

import pytest

from refmodel import (MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MPOL_MF_MOVE, PAGE_SIZE, PROT_READ,
                      PROT_WRITE, Machine)
from refmodel.mm import VM_NONLINEAR
from refmodel.page import TestSetPageLocked, get_page, unlock_page
from refmodel.rmap import SWAP_AGAIN, SWAP_SUCCESS, try_to_unmap
from refmodel.swap import page_cache_release

P, RW = PAGE_SIZE, PROT_READ | PROT_WRITE


def setup(pages=4):
    """A tmpfs file of `pages` pages, written "F0".."F3", mapped shared by p."""
    m = Machine(nodes=2, pages_per_node=32)
    p = m.spawn(node=0, cap_sys_nice=True)
    f = m.create_file("f", pages)
    a = p.mmap(None, pages * P, RW, MAP_SHARED, file=f)
    for i in range(pages):
        p.write(a + i * P, b"F%d" % i)
    return m, p, a


def test_remap_file_pages_makes_the_vma_nonlinear():
    """
        vma a..a+4p, file pages 0 1 2 3  ->  remap page 0 to file page 3:  3 1 2 3
        the vma leaves the prio tree for i_mmap_nonlinear (the model's i_mmap tail)
    """
    m, p, a = setup()
    vma = p.mm.mmap[0]
    assert p.remap_file_pages(a, P, 3) == 0
    assert vma.vm_flags & VM_NONLINEAR
    assert p.read(a, 2) == b"F3" and p.read(a + P, 2) == b"F1"
    assert p.pte(a).pfn == p.pte(a + 3 * P).pfn and p.page(a).mapcount == 2
    assert p.mm.file_rss == 4                      # install_page replaced a mapped pte
    m.check()


@pytest.mark.parametrize("call, err", [
    (lambda p, a, b: p.remap_file_pages(a, P, 0, prot=PROT_READ), errno.EINVAL),
    (lambda p, a, b: p.remap_file_pages(b, P, 0), errno.EINVAL),          # private anon
    (lambda p, a, b: p.remap_file_pages(a + 3 * P, 2 * P, 0), errno.EINVAL),  # past the vma
    (lambda p, a, b: p.remap_file_pages(a, P, 4), errno.EINVAL),          # past the file
])
def test_remap_file_pages_refuses(call, err):
    m, p, a = setup()
    b = p.mmap(None, P, RW, MAP_PRIVATE | MAP_ANONYMOUS)
    with pytest.raises(OSError) as e:
        call(p, a, b)
    assert e.value.errno == err
    m.check()


def test_migration_drops_nonlinear_ptes_and_the_page_faults_back_by_its_offset():
    """
        vma: 3 1 2 3 (page 0 remapped to file page 3);  move_pages(file page 1 -> node 1)
        the nonlinear scan clears every old pte in the cluster (young ones first lose their
        young bit and survive one pass): slot 0 keeps file offset 3 (file pte), slots 1..3 are
        at their linear place (none); no migration entry anywhere; file_rss 4 -> 0
        next accesses: do_file_page (slot 0, offset 3), do_no_page (slot 1, the new page)
    """
    m, p, a = setup()
    p.remap_file_pages(a, P, 3)
    st = m.move_pages(p, [a + P], [1], MPOL_MF_MOVE)
    assert list(st) == [1]
    kinds = [p.pte(a + i * P).kind for i in range(4)]
    assert kinds == ["file", "none", "none", "none"]
    assert p.mm.file_rss == 0 and m.counters["migration_entries_set"] == 0
    assert p.read(a, 2) == b"F3" and p.pte(a).present
    assert p.read(a + P, 2) == b"F1" and p.page(a + P).node == 1
    m.check()


def test_a_young_nonlinear_pte_survives_one_scan():
    """
        try_to_unmap on file page 1 (vma nonlinear, all ptes young):
        1st call: every young bit cleared, nothing unmapped (SWAP_AGAIN)
        2nd call: every pte in the cluster cleared, page 1 unmapped (SWAP_SUCCESS)
    """
    m, p, a = setup()
    p.remap_file_pages(a, P, 3)
    for i in range(4):
        p.read(a + i * P, 1)                       # all young again
    page = m.k.pages[p.pte(a + P).pfn]
    get_page(page)
    assert TestSetPageLocked(page) is False
    assert try_to_unmap(m.k, page, True) == SWAP_AGAIN and p.pte(a + P).present
    assert not p.pte(a + P).young
    assert try_to_unmap(m.k, page, True) == SWAP_SUCCESS and p.pte(a + P).kind == "none"
    unlock_page(page)
    page_cache_release(m.k, page)
    m.check()


def test_fork_copies_a_nonlinear_vma_and_munmap_drops_file_ptes():
    """
        p: 3 1 2 3 nonlinear, slot 0 turned into a file pte (offset 3) by a scan
        fork: the child gets the same ptes (a shared vma without anon_vma is copied only
        because it is nonlinear); munmap in the child: the file pte just goes
    """
    m, p, a = setup()
    p.remap_file_pages(a, P, 3)
    m.move_pages(p, [a + P], [1], MPOL_MF_MOVE)        # slot 0 becomes a file pte
    c = p.fork()
    assert c.pte(a).kind == "file" and c.read(a, 2) == b"F3"
    assert c.munmap(a, 4 * P) == 0
    m.check()
