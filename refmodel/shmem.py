"""In-memory files (tmpfs) and shared anonymous memory: their page cache and nopage.

Models the parts of mm/shmem.c and mm/filemap.c (add_to_page_cache) of Linux 2.6.18 that
faults and migration meet: https://elixir.bootlin.com/linux/v2.6.18/source/mm/shmem.c
A tmpfs page lives in its file's radix tree (one reference held by the cache) until the
file goes away; MAP_SHARED|MAP_ANONYMOUS memory is a tmpfs file nobody can name.
A NUMA policy given to a tmpfs or shared anonymous mapping (mbind) is the file's: its
pages are allocated by it whoever faults them (shmem_set_policy, shmem_alloc_page).
Not modelled: tmpfs swap-out (shmem_writepage), truncation, the mount's mpol= option, and
holes on read (a read of an untouched page allocates it, as shmem_getpage does).  A disk
file's pages come from the faulting task's own policy (page_cache_alloc).
"""

from .mempolicy import (alloc_page_vma, alloc_pages_current, mpol_set_shared_policy,
                        mpol_shared_policy_lookup, vm_policy_ops)
from .mm import File, address_space, vm_area_struct
from .page import PG_uptodate, Page, get_page
from .pgtable import PAGE_SHIFT, PAGE_SIZE
from .rmap import linear_page_index
from .swap import lru_cache_add, page_cache_release


def shmem_file_setup(k, name: str, npages: int, unlinked: bool = False) -> File:
    """A new tmpfs file of npages (all holes until touched); unlinked for shared anonymous
    memory (shmem_zero_setup), whose pages go when its last mapping does."""
    mapping = address_space(k.new_id(), name, "shmem")
    k.mappings[mapping.id] = mapping
    return File(name, npages, mapping, unlinked)


def truncate_inode_pages(k, mapping) -> None:
    """Drop every page of the file from its page cache (the cache's reference with it)."""
    for index, pfn in sorted(mapping.page_tree.items()):
        page = k.pages[pfn]
        del mapping.page_tree[index]
        mapping.nrpages -= 1
        page.mapping = 0
        k.stat("radix_updates")
        page_cache_release(k, page)


def shmem_release(k, file: File) -> None:
    """The last mapping of a file went (fput): an unlinked file is deleted, pages and all
    (shmem_delete_inode -> truncate)."""
    if file.unlinked and not file.f_mapping.i_mmap:
        truncate_inode_pages(k, file.f_mapping)
        k.mappings.pop(file.f_mapping.id, None)


def add_to_page_cache(k, page: Page, mapping, index: int) -> None:
    """Insert page at index: the cache takes a reference and sets mapping/index."""
    mapping.page_tree[index] = page.pfn
    mapping.nrpages += 1
    get_page(page)
    page.mapping = mapping.id << 1
    page.index = index
    k.stat("radix_updates")


def shmem_set_policy(vma, policy) -> int:
    """vm_ops->set_policy: the policy goes to the file, for the vma's range of pages."""
    return mpol_set_shared_policy(vma.vm_file.f_mapping, vma, policy)


def shmem_get_policy(vma, addr: int):
    """vm_ops->get_policy: the file's policy for the page at addr (None: default)."""
    idx = ((addr - vma.vm_start) >> PAGE_SHIFT) + vma.vm_pgoff
    return mpol_shared_policy_lookup(vma.vm_file.f_mapping, idx)


# shmem_vm_ops' policy methods; looked up by name when called, so an override applies.
vm_policy_ops["shmem"] = (lambda vma, pol: shmem_set_policy(vma, pol),
                          lambda vma, addr: shmem_get_policy(vma, addr))


def shmem_alloc_page(k, file: File, index: int, node: int, task) -> Page:
    """A new page for index, by the file's policy for it: alloc_page_vma on a pseudo-vma
    whose policy is that one and whose offset is index (interleave goes by page index);
    no file policy there: the task's own, else the local node."""
    pvma = vm_area_struct(0, None, 0, PAGE_SIZE, 0, 0, pgoff=index)
    pvma.vm_policy = mpol_shared_policy_lookup(file.f_mapping, index)
    return alloc_page_vma(k, pvma, 0, node, task)


def shmem_getpage(k, file: File, index: int, node: int, task=None) -> Page:
    """The page at index, allocated zeroed on first use; returned with a reference.  task:
    the faulting task (current), whose policy applies where the file has none."""
    mapping = file.f_mapping
    pfn = mapping.page_tree.get(index)
    if pfn is not None:
        page = k.pages[pfn]
        get_page(page)
        return page
    if mapping.a_ops == "shmem":
        page = shmem_alloc_page(k, file, index, node, task)
    else:
        page = alloc_pages_current(k, task, node)
    page.flags |= 1 << PG_uptodate
    add_to_page_cache(k, page, mapping, index)
    lru_cache_add(page)
    return page


def shmem_nopage(k, vma, address: int, node: int) -> Page | None:
    """->nopage for tmpfs: the page for address with a reference, or None (SIGBUS) past EOF."""
    file = vma.vm_file
    index = linear_page_index(vma, address)
    if index >= file.npages:
        return None
    return shmem_getpage(k, file, index, node, k.tasks.get(vma.vm_mm.owner))
