"""NUMA memory policies: where pages are allocated (alloc_page_vma), mbind(2) with
MPOL_MF_MOVE, and migrate_pages(2), which moves a process's pages between sets of nodes.

Models alloc_page_vma, get_vma_policy, do_set_mempolicy, do_get_mempolicy, do_mbind,
do_migrate_pages, migrate_to_node, check_range and the shared policy store (sp_node ranges)
of mm/mempolicy.c in Linux 2.6.18:
https://elixir.bootlin.com/linux/v2.6.18/source/mm/mempolicy.c
A policy is (mode, nodes) or None (default_policy).  It lives on a vma (mbind), on a task
(set_mempolicy), or -- for tmpfs and shared anonymous memory -- on the file, by page index
(shmem_set_policy), so that every mapping of the file allocates by it.
Pages are chosen by walking present ptes (check_pte_range): the ZERO_PAGE, pages on other
nodes, mlocked vmas (vma_migratable) and -- without MPOL_MF_MOVE_ALL -- pages mapped more
than once are left where they are.
"""

from . import errno

from .migrate import isolate_lru_page, migrate_pages, migrate_prep, move_to_lru
from .mm import VM_LOCKED, find_vma
from .page import PageReserved, page_mapcount
from .page_alloc import OutOfMemory, alloc_pages_node
from .pgtable import PAGE_SHIFT, pte_present, pte_pfn
from .sched import (BLOCKED, DONE, KernelPath, down_read, down_write, run_sub, step, up_read,
                    up_write)
from .variants import migrate_2_6_17


MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE = 0, 1, 2, 3
MPOL_MAX = MPOL_INTERLEAVE
MPOL_MF_STRICT, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL = 1 << 0, 1 << 1, 1 << 2
MPOL_MF_INVERT = 1 << 3 + 24                     # internal flags in 2.6.18 start at bit 24
MPOL_MF_DISCONTIG_OK = 1 << 2 + 24


# vm_ops->set_policy and ->get_policy, by the file's a_ops: shmem.py enters "shmem" (its
# shmem_vm_ops).  A table, as the kernel's function pointers are, because shmem.c calls
# alloc_page_vma here and this file calls back into shmem.c.
vm_policy_ops: dict = {}


def vma_policy_ops(vma):
    """(set_policy, get_policy) of vma's vm_ops, or None (anonymous or disk-file vmas)."""
    return vm_policy_ops.get(vma.vm_file.f_mapping.a_ops) if vma.vm_file is not None else None


def get_vma_policy(task, vma, addr: int):
    """The policy that applies at addr: vm_ops->get_policy's (shmem: the file's, even if
    none), else the vma's unless default, else the task's; None is default_policy."""
    pol = task.mempolicy if task is not None else None
    if vma is not None:
        ops = vma_policy_ops(vma)
        if ops is not None:
            pol = ops[1](vma, addr)
        elif vma.vm_policy is not None and vma.vm_policy[0] != MPOL_DEFAULT:
            pol = vma.vm_policy
    return pol


def alloc_page_vma(k, vma, addr: int, local_node: int, task=None):
    """Allocate a page for addr in vma as get_vma_policy says (default: the local node).
    current is vma's mm's task, or task for a pseudo-vma (shmem_alloc_page's)."""
    if task is None and vma.vm_mm is not None:
        task = k.tasks.get(vma.vm_mm.owner)
    pol = get_vma_policy(task, vma, addr)
    if pol is None or pol[0] == MPOL_DEFAULT:
        return alloc_pages_node(k, local_node)
    mode, nodes = pol
    if mode == MPOL_PREFERRED:
        return alloc_pages_node(k, nodes[0] if nodes else local_node)
    if mode == MPOL_INTERLEAVE:                    # interleave_nid -> offset_il_node
        off = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)
        return alloc_pages_node(k, nodes[off % len(nodes)])
    for nid in nodes:                              # MPOL_BIND: a zonelist of those nodes only
        try:
            return alloc_pages_node(k, nid, fallback=False)
        except OutOfMemory:
            continue
    raise OutOfMemory(f"MPOL_BIND nodes {nodes} are full")


def interleave_nodes(task) -> int:
    """Dynamic interleaving by the task: its il_next, which moves on to the next node."""
    nodes = task.mempolicy[1]
    nid = task.il_next
    later = [n for n in nodes if n > nid]
    task.il_next = later[0] if later else nodes[0]
    return nid


def alloc_pages_current(k, task, local_node: int):
    """A page by the task's own policy (page-cache pages of disk files: page_cache_alloc)."""
    pol = task.mempolicy if task is not None else None
    if pol is not None and pol[0] == MPOL_INTERLEAVE:
        return alloc_pages_node(k, interleave_nodes(task))
    if pol is not None and pol[0] == MPOL_PREFERRED and pol[1]:
        return alloc_pages_node(k, pol[1][0])
    if pol is not None and pol[0] == MPOL_BIND:
        for nid in pol[1]:
            try:
                return alloc_pages_node(k, nid, fallback=False)
            except OutOfMemory:
                continue
        raise OutOfMemory(f"MPOL_BIND nodes {pol[1]} are full")
    return alloc_pages_node(k, local_node)


# -- The shared policy of a file (shmem_inode_info->policy) ----------------------------

def mpol_shared_policy_lookup(mapping, idx: int):
    """The policy of the range holding page index idx, or None."""
    for start, end, pol in mapping.policy:
        if start <= idx < end:
            return pol
    return None


def mpol_set_shared_policy(mapping, vma, pol) -> int:
    """Give the vma's page range of the file policy pol (None: remove it), cutting the
    ranges it overlaps (shared_policy_replace).  Returns 0."""
    start, end = vma.vm_pgoff, vma.vm_pgoff + ((vma.vm_end - vma.vm_start) >> PAGE_SHIFT)
    out = []
    for s, e, p in mapping.policy:
        if s < start:
            out.append((s, min(e, start), p))
        if e > end:
            out.append((max(s, end), e, p))
    if pol is not None:
        out.append((start, end, pol))
    mapping.policy = tuple(sorted(out))
    return 0


def policy_vma(vma, policy) -> int:
    """Apply policy to one vma: vm_ops->set_policy first (shmem: the file's), then, if that
    worked, vma->vm_policy (the vma keeps its own reference too).  0 or -errno."""
    ops = vma_policy_ops(vma)
    err = ops[0](vma, policy) if ops is not None else 0
    if not err:
        vma.vm_policy = policy
    return err


# -- set_mempolicy(2) and get_mempolicy(2) -------------------------------------------------

MPOL_F_NODE, MPOL_F_ADDR = 1 << 0, 1 << 1


def do_set_mempolicy(task, mode: int, nodes, online) -> int:
    """The task's own policy: 0, or -EINVAL (contextualize_policy, mpol_check_policy); an
    interleave policy starts at its first node (il_next)."""
    nodes = tuple(sorted(nodes))
    if mpol_check_policy(mode, nodes, online):
        return -errno.EINVAL
    task.mempolicy = None if mode == MPOL_DEFAULT else (mode, nodes)
    if mode == MPOL_INTERLEAVE:
        task.il_next = nodes[0]
    return 0


def get_zonemask(pol, online) -> tuple:
    """The nodes get_mempolicy reports for pol: none for default, BIND's and INTERLEAVE's
    nodes, PREFERRED's node (all online nodes when it means "local")."""
    if pol is None or pol[0] == MPOL_DEFAULT:
        return ()
    mode, nodes = pol
    if mode == MPOL_PREFERRED:
        return tuple(nodes[:1]) if nodes else tuple(online)
    return tuple(nodes)


def do_get_mempolicy(task, mm, addr: int, flags: int, online, lookup_node):
    """get_mempolicy(2) for current (task, mm): (0, mode or node, nodes) or (-errno, None, ()).

    MPOL_F_ADDR: the policy at addr (vm_ops->get_policy or the vma's own, never the task's);
    MPOL_F_NODE with it: the node of the page at addr, faulted in by a read
    (lookup_node(addr): a node or -EFAULT; get_user_pages is the caller's, since memory.py
    imports this file); MPOL_F_NODE alone: the task's next interleave node."""
    if flags & ~(MPOL_F_NODE | MPOL_F_ADDR):
        return -errno.EINVAL, None, ()
    pol, vma = task.mempolicy, None
    if flags & MPOL_F_ADDR:
        vma = find_vma(mm, addr)                   # find_vma_intersection(mm, addr, addr+1)
        if vma is None or vma.vm_start > addr:
            return -errno.EFAULT, None, ()
        ops = vma_policy_ops(vma)
        pol = ops[1](vma, addr) if ops is not None else vma.vm_policy
    elif addr:
        return -errno.EINVAL, None, ()
    if flags & MPOL_F_NODE:
        if flags & MPOL_F_ADDR:
            value = lookup_node(addr)
            if value < 0:
                return value, None, ()
        elif pol is not None and pol is task.mempolicy and pol[0] == MPOL_INTERLEAVE:
            value = task.il_next
        else:
            return -errno.EINVAL, None, ()
    else:
        value = MPOL_DEFAULT if pol is None else pol[0]
    return 0, value, get_zonemask(pol, online)


def migration_through_swapcache(k) -> bool:
    """Does this kernel migrate pages through the swap cache (2.6.17's migrate_pages, in
    variants/), rather than with migration entries?  The series' whole point: patch 5/6
    rips the swap-based code out and 6/6 puts the migration-entry code in its place."""
    return k.cfg.migration == "swapcache"


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

    @step(sleeps_on="mmap_sem")
    def start(self, k):
        if not down_read(k.mms[self.mm].mmap_sem, self.tid):
            return BLOCKED
        self.pc = "next_pair"
        return None

    @step()
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
        """Isolate source's pages (check_range, which starts with migrate_prep()) and start
        migrating them to dest.  migrate_to_node() ignores check_range's error [context:
        2006 -mm patches]: 2.6.17 without swap returns 0, having moved nothing."""
        if migrate_prep(k):
            return
        pagelist = check_range(k, k.mms[self.mm], source, self.flags)
        if pagelist:
            core = migrate_2_6_17.migrate_pages if migration_through_swapcache(k) else migrate_pages
            self.sub = core(self.tid, pagelist, dest)
            self.pc = "migrate"

    @step(runs="sub")
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

    @step()
    def finish(self, k):
        up_read(k.mms[self.mm].mmap_sem, self.tid)
        self.pc = DONE
        return None


# -- mbind(2) ------------------------------------------------------------------------------

def mpol_check_policy(mode: int, nodes, online) -> int:
    """0, or -EINVAL: DEFAULT takes no nodes, BIND and INTERLEAVE need some, all online."""
    if mode == MPOL_DEFAULT and nodes:
        return -errno.EINVAL
    if mode in (MPOL_BIND, MPOL_INTERLEAVE) and not nodes:
        return -errno.EINVAL
    return 0 if set(nodes) <= set(online) else -errno.EINVAL


def check_range_mbind(k, mm, start: int, end: int, nodes, flags: int):
    """check_range for mbind: -EFAULT for holes (unless DISCONTIG_OK), -EIO for a misplaced
    page under MPOL_MF_STRICT without MOVE; else isolate pages NOT on nodes (INVERT)."""
    if flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
        err = migrate_prep(k)
        if err:
            return err, []
    first = find_vma(mm, start)
    if first is None:
        return -errno.EFAULT, []
    pagelist, prev = [], None
    for vma in [v for v in mm.mmap if v.vm_start >= first.vm_start and v.vm_start < end]:
        if not flags & MPOL_MF_DISCONTIG_OK:
            if vma is mm.mmap[-1] and vma.vm_end < end:
                return -errno.EFAULT, pagelist
            if prev is not None and prev.vm_end < vma.vm_start:
                return -errno.EFAULT, pagelist
        if flags & MPOL_MF_STRICT or (flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) and vma_migratable(vma)):
            for vpn in range(max(start, vma.vm_start) >> PAGE_SHIFT, min(end, vma.vm_end) >> PAGE_SHIFT):
                pte = mm.pgtable.get(vpn, 0)
                if not pte_present(pte):
                    continue
                page = k.pages[pte_pfn(pte)]
                if PageReserved(page) or page.node in nodes:
                    continue
                if flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
                    if (flags & MPOL_MF_MOVE_ALL or page_mapcount(page) == 1) and \
                            isolate_lru_page(page) == 0:
                        pagelist.append(page.pfn)
                else:
                    return -errno.EIO, pagelist
        prev = vma
    return 0, pagelist


def mbind_range(k, mm, start: int, end: int, policy) -> None:
    """Split vmas at start and end and give each the new policy."""
    from .mmap import split_vma      # mm/mmap.c calls into mm/memory.c, which calls alloc_page_vma
    addr = start
    while addr < end:
        vma = find_vma(mm, addr)
        if vma is None or vma.vm_start >= end:
            return
        if vma.vm_start < addr:
            split_vma(k, mm, vma, addr, new_below=True)
        if vma.vm_end > end:
            split_vma(k, mm, vma, end, new_below=False)
        policy_vma(vma, policy)                    # shmem's set_policy cannot fail here
        addr = vma.vm_end


class do_mbind(KernelPath):
    """mbind(2): set a policy on a range and, with MPOL_MF_MOVE, move misplaced pages.

    Holds mmap_sem for write throughout, as the kernel does.  New pages come from
    new_vma_page: the vma's new policy decides their node.  result: 0 or -errno.
    """

    __slots__ = ("mm", "range_start", "range_end", "mode", "nodes", "flags", "sub", "err")

    def __init__(self, tid, mm_id, start, end, mode, nodes, flags):
        super().__init__(tid)
        self.mm, self.range_start, self.range_end = mm_id, start, end
        self.mode, self.nodes, self.flags = mode, tuple(sorted(nodes)), flags
        self.sub, self.err = None, 0

    @step(sleeps_on="mmap_sem")
    def start(self, k):
        mm = k.mms[self.mm]
        if not down_write(mm.mmap_sem, self.tid):
            return BLOCKED
        policy = None if self.mode == MPOL_DEFAULT else (self.mode, self.nodes)
        flags = self.flags | MPOL_MF_INVERT | (MPOL_MF_DISCONTIG_OK if policy is None else 0)
        err, pagelist = check_range_mbind(k, mm, self.range_start, self.range_end, self.nodes, flags)
        if err:
            for pfn in pagelist:
                move_to_lru(k, k.pages[pfn])
            self.err = err
            self.pc = "finish"
            return None
        mbind_range(k, mm, self.range_start, self.range_end, policy)
        if pagelist:
            # new_vma_page: allocate as the policy now says; model: the first node of the
            # policy for BIND/PREFERRED, interleaved or local otherwise (per page, below).
            targets = {}
            for pfn in pagelist:
                page = k.pages[pfn]
                targets[pfn] = self._node_for(k, mm, page)
            self.sub = migrate_pages(self.tid, pagelist, targets)
            self.pc = "migrate"
        else:
            self.pc = "finish"
        return None

    def _node_for(self, k, mm, page) -> int:
        """The node alloc_page_vma would pick for this page's address under the new policy."""
        if self.mode in (MPOL_BIND, MPOL_PREFERRED) and self.nodes:
            return self.nodes[0]
        if self.mode == MPOL_INTERLEAVE and self.nodes:
            return self.nodes[page.index % len(self.nodes)]
        return k.node_of_pid.get(mm.owner, 0)

    @step(runs="sub")
    def migrate(self, k):
        if self.sub.pc != DONE and run_sub(k, self) is BLOCKED:
            return BLOCKED
        if self.sub.pc == DONE:
            nr_failed = self.sub.result
            if nr_failed and self.flags & MPOL_MF_STRICT:
                self.err = -errno.EIO
            self.pc = "finish"
        return None

    @step()
    def finish(self, k):
        up_write(k.mms[self.mm].mmap_sem, self.tid)
        self.done(self.err)
        return None
