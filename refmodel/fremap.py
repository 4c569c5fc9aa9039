"""remap_file_pages(2): nonlinear file mappings, whose ptes do not follow the file's order.

Models mm/fremap.c of Linux 2.6.18: https://elixir.bootlin.com/linux/v2.6.18/source/mm/fremap.c
(and tmpfs's ->populate, shmem_populate of mm/shmem.c, the only one the model needs: every
file is tmpfs).  The first remap of a vma to other than its linear offsets marks it
VM_NONLINEAR and moves it to the file's i_mmap_nonlinear list (the tail of the model's
i_mmap); its pages are then installed at once.  A nonlinear vma is never made linear again.
Reclaim and migration reach its ptes only by try_to_unmap_cluster's scan (rmap.py).
"""

from . import errno
from .mm import VM_NONLINEAR, VM_SHARED, find_vma
from .page import Page
from .pgtable import (PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, mk_pte, pgoff_to_pte, pte_dirty,
                      pte_file, pte_none, pte_present, pte_pfn)
from .rmap import linear_page_index, page_add_file_rmap, page_remove_rmap
from .shmem import shmem_getpage
from .swap import mark_page_accessed, page_cache_release, set_page_dirty
from .swapfile import free_swap_and_cache
from .swapops import pte_to_swp_entry


def zap_pte(k, mm, vma, addr: int) -> bool:
    """Clear the pte at addr; True if it mapped a page (which loses a mapping and a ref)."""
    vpn = addr >> PAGE_SHIFT
    pte = mm.pgtable.pop(vpn, 0)
    if pte_present(pte):
        page = k.pages[pte_pfn(pte)]
        if pte_dirty(pte):
            set_page_dirty(page)
        page_remove_rmap(page)
        page_cache_release(k, page)
        return True
    if not pte_file(pte):
        free_swap_and_cache(k, pte_to_swp_entry(pte))
    return False


def install_page(k, mm, vma, addr: int, page: Page, prot: int) -> int:
    """Map page at addr (replacing what was there); -EINVAL if it was truncated."""
    if not page.mapping or page.index >= vma.vm_file.npages:
        return -errno.EINVAL
    vpn = addr >> PAGE_SHIFT
    if pte_none(mm.pgtable.get(vpn, 0)) or not zap_pte(k, mm, vma, addr):
        mm.file_rss += 1
    mm.pgtable[vpn] = mk_pte(page, prot)
    k.stat("pte_writes")
    page_add_file_rmap(page)
    return 0


def install_file_pte(k, mm, vma, addr: int, pgoff: int) -> int:
    """Put a file pte for offset pgoff at addr (a page to fault in later)."""
    vpn = addr >> PAGE_SHIFT
    if not pte_none(mm.pgtable.get(vpn, 0)) and zap_pte(k, mm, vma, addr):
        mm.file_rss -= 1
    mm.pgtable[vpn] = pgoff_to_pte(pgoff)
    k.stat("pte_writes")
    return 0


def shmem_populate(k, vma, addr: int, length: int, prot: int, pgoff: int) -> int:
    """tmpfs's ->populate (SGP_CACHE: never nonblocking here): map the file's pages pgoff..
    at addr.., allocating any not yet in the page cache; -EINVAL past the end of the file."""
    file = vma.vm_file
    if pgoff >= file.npages or pgoff + (length >> PAGE_SHIFT) > file.npages:
        return -errno.EINVAL
    mm = vma.vm_mm
    while length > 0:
        page = shmem_getpage(k, file, pgoff, k.mm_node(mm), k.tasks.get(mm.owner))
        mark_page_accessed(page)
        err = install_page(k, mm, vma, addr, page, prot)
        if err:
            page_cache_release(k, page)
            return err
        length -= PAGE_SIZE
        addr += PAGE_SIZE
        pgoff += 1
    return 0


def sys_remap_file_pages(k, mm, start: int, size: int, prot: int, pgoff: int,
                         flags: int = 0) -> int:
    """remap_file_pages(2) (the caller holds mmap_sem for write: the model does not drop to
    read): map the file pages pgoff.. at start.. of one shared tmpfs vma."""
    if prot:
        raise OSError(errno.EINVAL, "remap_file_pages: prot must be 0")
    start &= PAGE_MASK
    size &= PAGE_MASK
    end = start + size
    if end <= start:
        raise OSError(errno.EINVAL, "remap_file_pages: empty or wrapping range")
    vma = find_vma(mm, start)
    if vma is None or not vma.vm_flags & VM_SHARED or vma.vm_file is None or \
            start < vma.vm_start or end > vma.vm_end:
        raise OSError(errno.EINVAL, "remap_file_pages: not inside one shared file mapping")
    if pgoff != linear_page_index(vma, start) and not vma.vm_flags & VM_NONLINEAR:
        # Under i_mmap_lock: off the prio tree, onto i_mmap_nonlinear.
        imm = vma.vm_file.f_mapping.i_mmap
        imm.remove(vma)
        vma.vm_flags |= VM_NONLINEAR
        imm.append(vma)
        k.stat("vma_made_nonlinear")
    err = shmem_populate(k, vma, start, size, vma.vm_page_prot, pgoff)
    if err:
        raise OSError(-err, "remap_file_pages: populate failed")
    return 0


__all__ = ["zap_pte", "install_page", "install_file_pte", "shmem_populate",
           "sys_remap_file_pages"]
