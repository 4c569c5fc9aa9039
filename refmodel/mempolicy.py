"""migrate_pages(2): move a process's pages from one set of nodes to another.

Models sys_migrate_pages, do_migrate_pages, migrate_to_node and check_range of
mm/mempolicy.c in Linux 2.6.18: https://elixir.bootlin.com/linux/v2.6.18/source/mm/mempolicy.c
Pages are chosen by walking present ptes (check_pte_range): the ZERO_PAGE, pages on other
nodes, mlocked vmas (vma_migratable) and -- without MPOL_MF_MOVE_ALL -- pages mapped more
than once are left where they are.
"""

from .migrate import (MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, isolate_lru_page, migrate_pages,
                      run_sub)
from .mm import VM_LOCKED
from .page import PageReserved, page_mapcount
from .pgtable import PAGE_SHIFT, pte_present, pte_pfn
from .sched import BLOCKED, DONE, KernelPath, down_read, up_read


def vma_migratable(vma) -> bool:
    """VM_LOCKED (and I/O, hugetlb, pfn-map) vmas are not migrated by mempolicy code."""
    return not vma.vm_flags & VM_LOCKED


def check_range(k, mm, source: int, flags: int) -> list:
    """Isolate every present page of mm on node source that may move; returns their pfns."""
    pagelist = []
    for vma in mm.mmap:
        if not vma_migratable(vma):
            continue
        for vpn in vma.pages():
            pte = mm.pgtable.get(vpn, 0)
            if not pte_present(pte):
                continue
            page = k.pages[pte_pfn(pte)]
            if PageReserved(page) or page.node != source:
                continue
            # migrate_page_add: "avoid migrating a page that is shared with others"
            if (flags & MPOL_MF_MOVE_ALL or page_mapcount(page) == 1) and \
                    isolate_lru_page(page) == 0:
                pagelist.append(page.pfn)
    return pagelist


def node_remap(s: int, from_nodes, to_nodes) -> int:
    """The node in to_nodes at the same rank as s in from_nodes (modulo |to_nodes|)."""
    f, t = sorted(from_nodes), sorted(to_nodes)
    if s not in f or not t:
        return s
    return t[f.index(s) % len(t)]


class do_migrate_pages(KernelPath):
    """Move mm's pages node by node, choosing pairs so a destination is emptied first."""

    __slots__ = ("mm", "from_nodes", "to_nodes", "flags", "tmp", "busy", "sub")

    def __init__(self, tid, mm_id, from_nodes, to_nodes, flags):
        super().__init__(tid)
        self.mm, self.flags = mm_id, flags
        self.from_nodes, self.to_nodes = tuple(sorted(from_nodes)), tuple(sorted(to_nodes))
        self.tmp, self.busy, self.sub = self.from_nodes, 0, None

    def held_refs(self) -> dict:
        return self.sub.held_refs() if self.sub is not None and self.pc == "migrate" else {}

    def start(self, k):
        if not down_read(k.mms[self.mm].mmap_sem, self.tid):
            return BLOCKED
        self.pc = "next_pair"
        return None

    def next_pair(self, k):
        """Pick <source, dest>, preferring a dest that is not itself still to be emptied."""
        source, dest = -1, 0
        for s in self.tmp:
            d = node_remap(s, self.from_nodes, self.to_nodes)
            if s == d:
                continue
            source, dest = s, d
            if d not in self.tmp:
                break
        if source == -1:
            self.result = self.busy
            self.pc = "finish"
            return None
        self.tmp = tuple(n for n in self.tmp if n != source)
        self.migrate_to_node(k, source, dest)
        return None

    def migrate_to_node(self, k, source: int, dest: int) -> None:
        """Isolate source's pages and start migrating them to dest."""
        if k.cfg.migration == "swapcache":
            # 2.6.17: check_range() starts with migrate_prep(), which fails without swap;
            # migrate_to_node() ignores check_range's result [context: 2006 -mm patches],
            # so migrate_pages(2) then returns 0 having moved nothing.
            from .history import migrate_2_6_17 as old
            if old.migrate_prep(k):
                return
            pagelist = check_range(k, k.mms[self.mm], source, self.flags)
            if pagelist:
                self.sub = old.migrate_pages(self.tid, pagelist, dest)
                self.pc = "migrate"
            return
        pagelist = check_range(k, k.mms[self.mm], source, self.flags)
        if pagelist:
            self.sub = migrate_pages(self.tid, pagelist, dest)
            self.pc = "migrate"

    def migrate(self, k):
        if self.sub.pc != DONE and run_sub(k, self) is BLOCKED:
            return BLOCKED
        if self.sub.pc == DONE:
            err = self.sub.result
            self.sub = None
            if err < 0:
                self.result = err
                self.pc = "finish"
            else:
                self.busy += err
                self.pc = "next_pair" if self.tmp else "finish"
                self.result = self.busy
        return None

    def finish(self, k):
        up_read(k.mms[self.mm].mmap_sem, self.tid)
        self.pc = DONE
        return None
