"""The page allocator: NUMA nodes, their free lists, and the zonelist fallback.

Models the parts of mm/page_alloc.c that the migration series relies on, Linux 2.6.18:
https://elixir.bootlin.com/linux/v2.6.18/source/mm/page_alloc.c
Each node owns a contiguous range of pfns.  Only pages in use have a struct page in the
model (k.pages); a free pfn is either on its node's free list or has never been used.
"""

from .page import PAGE_MAPPING_ANON, Page, page_mapcount
from .swapops import BUG

ZERO_PFN = 0     # the ZERO_PAGE lives at pfn 0 of node 0 and is never freed


class Node:
    """pglist_data, reduced to a pfn range and a free list."""

    __slots__ = ("nid", "start_pfn", "end_pfn", "next_unused", "free")

    def __init__(self, nid: int, start_pfn: int, npages: int):
        self.nid, self.start_pfn, self.end_pfn = nid, start_pfn, start_pfn + npages
        self.next_unused = start_pfn      # pfns >= this were never handed out
        self.free: list = []              # freed pfns, reused last-in first-out

    def nr_free(self) -> int:
        return len(self.free) + self.end_pfn - self.next_unused

    def snapshot(self) -> tuple:
        return (self.next_unused, tuple(self.free))


class OutOfMemory(Exception):
    """No node in the zonelist has a free page."""


def zonelist(k, nid: int) -> list:
    """Nodes to try, preferred first then by distance (here: by node number)."""
    return [nid] + [n for n in range(len(k.nodes)) if n != nid]


def alloc_pages_node(k, nid: int, fallback: bool = True) -> Page:
    """Allocate one page, preferring node nid; count 1, nothing else set (__alloc_pages).

    With fallback=False only nid is tried (GFP_THISNODE, as migration's new_page_node uses).
    """
    for n in ((nid,) if not fallback or k.nodes[nid].nr_free() else zonelist(k, nid)):
        node = k.nodes[n]
        if node.free:
            pfn = node.free.pop()
        elif node.next_unused < node.end_pfn:
            pfn = node.next_unused
            node.next_unused += 1
        else:
            continue
        page = Page(pfn, n)
        page._count = 1
        k.pages[pfn] = page
        k.stat("pgalloc")
        return page
    raise OutOfMemory(f"no free page on nodes {zonelist(k, nid)}")


def free_hot_cold_page(k, page: Page) -> None:
    """Return a page whose count reached zero to its node's free list.

    free_pages_check() in the kernel reports a "bad page" if it is still mapped or locked.
    """
    if page_mapcount(page) != 0 or page.locked or page.flags & (1 << 15):
        raise BUG(f"bad page state while freeing: {page!r}")
    if page.mapping & PAGE_MAPPING_ANON:
        page.mapping = 0
    if page.mapping:
        raise BUG(f"freeing page {page.pfn} still in a page cache")
    del k.pages[page.pfn]
    k.nodes[page.node].free.append(page.pfn)
    k.stat("pgfree")


def node_of_pfn(k, pfn: int) -> int:
    """pfn_to_nid()."""
    for node in k.nodes:
        if node.start_pfn <= pfn < node.end_pfn:
            return node.nid
    raise ValueError(f"pfn {pfn} is outside memory")
