"""The kernel's global state in one object: what every kernel function receives as `k`.

In C this state is spread over globals (mem_map, swap_info[], swapper_space, the task list);
here it is one container so that the whole machine can be snapshotted, hashed and restored
in time proportional to what is in use (the interleaving explorer depends on this).
"""

from collections import Counter

from .eras import Era
from .mm import address_space
from .page import PG_reserved, Page
from .page_alloc import ZERO_PFN, Node


class TraceEvent(tuple):
    """(name, mm id, address, detail): a trace point hit, like the kernel's trace events."""
    __slots__ = ()

    name = property(lambda s: s[0])
    mm = property(lambda s: s[1])
    addr = property(lambda s: s[2])
    detail = property(lambda s: s[3])


class Kernel:
    """Everything the kernel knows: memory, address spaces, rmap anchors, swap, tasks."""

    def __init__(self, cfg: Era, nodes: int, pages_per_node: int):
        self.cfg = cfg
        self.swp_types = cfg.swap_types
        self.nodes = [Node(n, n * pages_per_node, pages_per_node) for n in range(nodes)]
        self.pages: dict = {}                       # pfn -> Page, pages in use only
        self.mms: dict = {}                         # mm id -> mm_struct
        self.anon_vmas: dict = {}                   # id -> anon_vma (live ones)
        self.freed_anon_vmas: dict = {}             # id -> anon_vma freed (kept to catch use-after-free)
        self.mappings: dict = {0: address_space(0, "swapper_space", "swap")}
        self.swap_info: list = []                   # swap_info_struct per type
        # old pfn -> new pfn while a migration has copied the page but not yet finished:
        # the old page has lost its ->mapping, and rss bookkeeping needs to know what it was.
        self.migrating: dict = {}
        self.node_of_pid: dict = {}                 # pid -> preferred node (local node)
        self.next_id = 1                            # ids for vmas, anon_vmas, mms, files
        self.counters = Counter()                   # vmstat-style event counts
        self.trace: list = []                       # (name, mm, addr, detail), oldest first
        self.tracing = True
        self.log: list = []                         # printk(): the kernel log, oldest first
        # ZERO_PAGE: pinned forever, mapped read-only by read faults on anonymous memory.
        zero = Page(ZERO_PFN, 0)
        zero._count = 1
        zero.set(PG_reserved)
        self.pages[ZERO_PFN] = zero
        self.nodes[0].next_unused = ZERO_PFN + 1

    @property
    def swapper_space(self) -> address_space:
        return self.mappings[0]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def stat(self, event: str, n: int = 1) -> None:
        """count_vm_event()."""
        self.counters[event] += n

    def trace_event(self, name: str, mm_id: int, addr: int, detail=None) -> None:
        """Record a trace point, e.g. set_migration_pte / remove_migration_pte."""
        if self.tracing:
            self.trace.append((name, mm_id, addr, detail))     # plain tuples: cheap for the GC

    def mm_node(self, mm) -> int:
        """The node a task of mm allocates from by default (its CPU's node)."""
        return self.node_of_pid.get(mm.owner, 0)

    def entry_page_anon(self, pfn: int) -> bool:
        """Was the page a migration entry names anonymous?  (Asked after its copy too.)"""
        page = self.pages[pfn]
        if not page.mapping and pfn in self.migrating:
            page = self.pages[self.migrating[pfn]]
        # A file page's new page always has its mapping; only V1 as posted leaves an
        # anonymous page's new page without one.
        return bool(page.mapping & 1) or not page.mapping

    def page(self, pfn: int) -> Page:
        """pfn_to_page() for a page in use; KeyError for a free pfn."""
        return self.pages[pfn]


def printk(k: Kernel, text: str) -> None:
    """printk(): a line in the kernel log, k.log (history, not state: kept only while
    tracing, as the explorer's snapshots turn tracing off)."""
    if k.tracing:
        k.log.append(text)
