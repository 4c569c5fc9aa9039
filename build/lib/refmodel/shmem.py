"""In-memory files (tmpfs) and shared anonymous memory: their page cache and nopage.

Models the parts of mm/shmem.c and mm/filemap.c (add_to_page_cache) of Linux 2.6.18 that
faults and migration meet: https://elixir.bootlin.com/linux/v2.6.18/source/mm/shmem.c
A tmpfs page lives in its file's radix tree (one reference held by the cache) until the
file goes away; MAP_SHARED|MAP_ANONYMOUS memory is a tmpfs file nobody can name.
Not modelled: tmpfs swap-out (shmem_writepage), truncation, and holes on read (a read of an
untouched page allocates it, as shmem_getpage does).
"""

from .mm import File, address_space
from .page import PG_uptodate, Page, get_page
from .page_alloc import alloc_pages_node
from .rmap import linear_page_index
from .swap import lru_cache_add


def shmem_file_setup(k, name: str, npages: int, unlinked: bool = False) -> File:
    """A new tmpfs file of npages (all holes until touched); unlinked for shared anonymous
    memory (shmem_zero_setup), whose pages go when its last mapping does."""
    mapping = address_space(k.new_id(), name, "shmem")
    k.mappings[mapping.id] = mapping
    return File(name, npages, mapping, unlinked)


def truncate_inode_pages(k, mapping) -> None:
    """Drop every page of the file from its page cache (the cache's reference with it)."""
    from .swap import page_cache_release
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


def shmem_getpage(k, file: File, index: int, node: int) -> Page:
    """The page at index, allocated zeroed on first use; returned with a reference."""
    mapping = file.f_mapping
    pfn = mapping.page_tree.get(index)
    if pfn is not None:
        page = k.pages[pfn]
        get_page(page)
        return page
    page = alloc_pages_node(k, node)
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
    return shmem_getpage(k, file, index, node)
