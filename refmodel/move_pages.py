"""move_pages(2): sys_move_pages, do_move_pages and do_pages_stat, the CONFIG_NUMA half of
mm/migrate.c in Linux 2.6.18 (a file of its own here, so that migrate.py stays readable):
https://elixir.bootlin.com/linux/v2.6.18/source/mm/migrate.c
do_move_pages isolates each page of the list that is not on its target node and hands the
list to migrate_pages (new_page_node: the target of the first entry that names a page);
do_pages_stat reports where each page is.  Both hold mmap_sem for read.
"""

from . import errno

from .migrate import isolate_lru_page, migrate_pages, migrate_prep
from .mm import find_vma
from .page import PageReserved, page_mapcount
from .pgtable import PAGE_SHIFT, pte_pfn, pte_present
from .sched import BLOCKED, DONE, KernelPath, down_read, run_sub, step, up_read

ENOENT, EFAULT, EACCES = errno.ENOENT, errno.EFAULT, errno.EACCES
MAX_NUMNODES = 64                 # x86-64, CONFIG_NODES_SHIFT = 6


def follow_page(k, vma, addr: int):
    """The page a present pte at addr maps, or None (no page, swap or migration entry)."""
    pte = vma.vm_mm.pgtable.get(addr >> PAGE_SHIFT, 0)
    return k.pages[pte_pfn(pte)] if pte_present(pte) else None


class do_move_pages(KernelPath):
    """sys_move_pages with nodes: isolate each page that should move, then migrate_pages.

    pm is a tuple of [addr, node, status] entries; result is migrate_pages' count of pages
    not migrated, or -ENOENT if nothing could be isolated (then no status is reported).
    """

    __slots__ = ("mm", "pm", "migrate_all", "sub")

    def __init__(self, tid, mm_id, pm, migrate_all):
        super().__init__(tid)
        self.mm, self.pm, self.migrate_all, self.sub = mm_id, tuple(pm), migrate_all, None

    @step(sleeps_on="mmap_sem")
    def start(self, k):
        mm = k.mms[self.mm]
        if not down_read(mm.mmap_sem, self.tid):
            return BLOCKED
        migrate_prep(k)                                # its result is ignored, as in 2.6.18
        pm, pagelist = [], []
        first = {}                        # pfn -> index of the first entry naming that page
        for addr, node, _ in self.pm:
            page_pfn = 0                               # ZERO_PAGE(0): matches nothing moved
            vma = find_vma(mm, addr)                   # note: vm_start is not checked
            if vma is None:
                err = -EFAULT
            else:
                page = follow_page(k, vma, addr)
                if page is None:
                    err = -ENOENT
                elif PageReserved(page):
                    err = -ENOENT                      # the ZERO_PAGE
                else:
                    page_pfn = page.pfn                # pp->page: set before any other check
                    first.setdefault(page.pfn, len(pm))
                    err = page.node
                    if err != node:
                        err = -EACCES
                        if page_mapcount(page) <= 1 or self.migrate_all:
                            err = isolate_lru_page(page)
                            if err == 0:
                                pagelist.append(page.pfn)
            pm.append((addr, node, err, page_pfn))
        self.pm = tuple(pm)
        if pagelist:
            # new_page_node: the target and the status slot of a page are those of the
            # FIRST entry that names it, even if a later entry is the one that isolated it.
            targets = {pfn: pm[first[pfn]][1] for pfn in pagelist}
            self.sub = migrate_pages(self.tid, pagelist, targets)
            self.pc = "migrate"
        else:
            self.result = -ENOENT
            self.pc = "finish"
        return None

    @step(runs="sub")
    def migrate(self, k):
        if self.sub.pc != DONE and run_sub(k, self) is BLOCKED:
            return BLOCKED
        if self.sub.pc == DONE:
            status = self.sub.status
            seen = set()
            pm = []
            for addr, node, err, pfn in self.pm:
                if pfn in status and pfn not in seen:
                    err = status[pfn]                  # *result: the first entry for the page
                    seen.add(pfn)
                pm.append((addr, node, err, pfn))
            self.pm = tuple(pm)
            self.result = self.sub.result
            self.pc = "finish"
        return None

    @step(dead=("sub", "pm", "result"))
    def finish(self, k):
        up_read(k.mms[self.mm].mmap_sem, self.tid)
        self.pc = DONE
        return None


class do_pages_stat(KernelPath):
    """sys_move_pages without nodes: where is each page?  Under mmap_sem for read; result:
    a node, -EFAULT or -ENOENT per address."""

    __slots__ = ("mm", "addrs")

    def __init__(self, tid, mm_id, addrs):
        super().__init__(tid)
        self.mm, self.addrs = mm_id, tuple(addrs)

    @step(sleeps_on="mmap_sem")
    def start(self, k):
        mm = k.mms[self.mm]
        if not down_read(mm.mmap_sem, self.tid):
            return BLOCKED
        out = []
        for addr in self.addrs:
            vma = find_vma(mm, addr)
            if vma is None:
                out.append(-EFAULT)
                continue
            page = follow_page(k, vma, addr)
            out.append(-ENOENT if page is None or PageReserved(page) else page.node)
        up_read(mm.mmap_sem, self.tid)
        self.done(out)
        return None
