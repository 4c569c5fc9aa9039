"""Page migration as merged in Linux 2.6.18: migration entries instead of swap entries.

Models mm/migrate.c of Linux 2.6.18: https://elixir.bootlin.com/linux/v2.6.18/source/mm/migrate.c
migrate_pages() runs up to ten passes of unmap_and_move() over a list of isolated pages:
lock the page, turn every pte into a migration entry (try_to_unmap), move the page cache
slot and the contents to a new page (move_to_new_page), turn the entries back into ptes to
the new page (remove_migration_ptes) -- or, on failure, to the old one -- and unlock.
The whole of migrate_pages is one suspendable path: it stops where the kernel takes or
drops the page lock, the anon_vma lock or i_mmap_lock, so that faults, fork and munmap
can run in between.  Each place where the series' eras differ reads k.cfg once.
"""

from .page import (PG_active, PG_dirty, PG_error, PG_private, PG_referenced, PG_swapcache,
                   PG_uptodate, Page, PageAnon, PageDirty, PagePrivate, PageSwapCache,
                   TestSetPageLocked, page_count, page_mapcount, page_mapped, unlock_page)
from .eras import NotInThisKernel
from .page_alloc import OutOfMemory, alloc_pages_node
from .pgtable import PAGE_SHIFT, is_swap_pte, pte_mkold, pte_mkwrite, pte_pfn, pte_present
from .rmap import (SWAP_FAIL, page_add_anon_rmap, page_add_file_rmap, page_address_in_vma,
                   page_address_space, try_to_unmap_one)
from .sched import BLOCKED, DONE, KernelPath, down_read, spin_trylock, spin_unlock, up_read
from .swap import isolate_lru_page as _take_off_lru
from .swap import lru_cache_add, lru_cache_add_active, page_cache_release, set_page_dirty
from .swapops import (BUG, is_migration_entry, is_write_migration_entry,
                      migration_entry_to_page, pte_to_swp_entry)
from .memory import find_vma, mk_pte
from .page import PageReserved

EAGAIN, ENOMEM, EIO, EINVAL, ENOENT, EFAULT, EACCES, EPERM, ENODEV = 11, 12, 5, 22, 2, 14, 13, 1, 19


# -- Isolation and putback ------------------------------------------------------------

def isolate_lru_page(page: Page) -> int:
    """Take page off the LRU for migration, holding a reference: 0, or -EBUSY."""
    return 0 if _take_off_lru(page) else -16


def move_to_lru(k, page: Page) -> None:
    """Put page back on its LRU list and drop our reference (the last one frees it)."""
    if page.flags & (1 << PG_active):
        lru_cache_add_active(page)
    else:
        lru_cache_add(page)
    page_cache_release(k, page)


# -- Restoring ptes ---------------------------------------------------------------------

def _no_remove_migration_ptes(k) -> None:
    raise NotInThisKernel(f"remove_migration_ptes() does not exist in {k.cfg.name}: "
                          f"V1 patch 4/6 adds it")


def remove_migration_pte(k, vma, old: Page, new: Page) -> None:
    """If vma maps a migration entry for old where new belongs, make it a pte to new."""
    addr = page_address_in_vma(k, new, vma)
    if addr is None:
        return
    mm = vma.vm_mm
    vpn = addr >> PAGE_SHIFT
    pte = mm.pgtable.get(vpn, 0)
    if not is_swap_pte(pte):
        return
    entry = pte_to_swp_entry(pte)
    if not is_migration_entry(entry, k.swp_types) or migration_entry_to_page(k.pages, entry) is not old:
        return
    new._count += 1                                   # get_page(new)
    pte = pte_mkold(mk_pte(new, vma.vm_page_prot))
    # 0697212a "add R/W migration entries": a WRITE entry restores the write bit.
    # V1 rebuilt every pte from vm_page_prot alone, so the first write faulted again.
    if k.cfg.restore_write_bit and is_write_migration_entry(entry, k.swp_types):
        pte = pte_mkwrite(pte)
    mm.pgtable[vpn] = pte
    k.stat("pte_writes")
    k.trace_event("remove_migration_pte", mm.id, addr, pte)
    if PageAnon(new):
        page_add_anon_rmap(new, vma, addr)
        if k.cfg.rss_on_migration == "incdec":      # V2 only; undone before the merge
            mm.anon_rss += 1
    else:
        page_add_file_rmap(new)


def rmap_anchor(k, page: Page):
    """(object, lock attribute, vmas) an rmap walk of page uses, or None if it has none.

    For an anonymous page this is the anon_vma its ->mapping names, used without
    page_lock_anon_vma(): 2.6.18 relies on the caller's mmap_sem to keep it alive, and the
    model reports a use-after-free if it was freed (before 2.6.34 that could happen).
    """
    if not page.mapping:
        return None
    if PageAnon(page):
        av = k.anon_vmas.get(page.mapping >> 1)
        if av is None:
            raise BUG(f"anon_vma {page.mapping >> 1} of page {page.pfn} used after free")
        return av, "lock", av.head
    mapping = page_address_space(k, page)
    return mapping, "i_mmap_lock", mapping.i_mmap


def v1_posted_anchor(k, new: Page):
    """V1 4/6's remove_migration_ptes as posted: nothing for a page that is not anonymous,
    else page_lock_anon_vma(new) -- NULL, and BUG_ON, when no present pte maps new."""
    if not PageAnon(new):
        return None
    if not page_mapped(new):
        raise BUG(f"remove_migration_ptes: page_lock_anon_vma(page {new.pfn}) is NULL: "
                  f"no present pte maps it (V1 4/6 as posted)")
    return rmap_anchor(k, new)


def remove_anchor(k, new: Page):
    """What remove_migration_ptes(old, new) walks: (object, lock attribute, vmas) of new's
    reverse map, or None if this kernel restores nothing for new.  Both the façade's fast
    path and migrate_pages' step path start their walk here."""
    if not k.cfg.has_remove_migration_ptes:                 # patch 4/6
        _no_remove_migration_ptes(k)
    if k.cfg.v1_as_posted:
        return v1_posted_anchor(k, new)
    if not PageAnon(new) and (k.cfg.restore_anon_only or k.cfg.file_pages != "entries"):
        return None                                 # V1/V2: file ptes were dropped instead
    return rmap_anchor(k, new)


def remove_migration_ptes(k, old: Page, new: Page) -> None:
    """Run the whole remove walk at once (the façade's fast path; paths use the steps)."""
    anchor = remove_anchor(k, new)
    for vma in list(anchor[2]) if anchor else ():
        remove_migration_pte(k, vma, old, new)


# -- Moving the page ----------------------------------------------------------------------

def migrate_page_move_mapping(k, mapping, newpage: Page, page: Page) -> int:
    """Check that nobody else holds the page and switch its page-cache slot to newpage.

    Expected count: 1 for an anonymous page (our isolation reference), else 2 (+1 with
    buffers: PagePrivate) -- isolation plus the radix tree.  Anything else is -EAGAIN.
    """
    if mapping is None:
        # patch 6/6 (V1) checked the count before unmapping and not after; V2 5/5 and 2.6.18 here.
        if k.cfg.count_rule in ("2.6.18", "v2") and page_count(page) != 1:
            k.stat("migrate_count_mismatch")
            return -EAGAIN
        return 0
    index = page.private if mapping.id == 0 else page.index
    if page_count(page) != 2 + (1 if PagePrivate(page) else 0) or \
            mapping.page_tree.get(index) != page.pfn:
        k.stat("migrate_count_mismatch")
        return -EAGAIN
    newpage._count += 1                               # get_page(newpage): the cache's ref
    if PageSwapCache(page):
        newpage.flags |= 1 << PG_swapcache
        newpage.private = page.private
    mapping.page_tree[index] = newpage.pfn
    page._count -= 1                                  # __put_page(page): cache ref gone
    k.stat("radix_updates")
    return 0


def migrate_page_copy(k, newpage: Page, page: Page) -> None:
    """Copy contents and state flags to newpage; strip the old page of its identity."""
    newpage.data = page.data
    k.stat("page_copies")
    for bit in (PG_error, PG_referenced, PG_uptodate, PG_active):
        if page.flags >> bit & 1:
            newpage.flags |= 1 << bit
    if PageDirty(page):
        page.flags &= ~(1 << PG_dirty)                # clear_page_dirty_for_io
        set_page_dirty(newpage)
    page.flags &= ~((1 << PG_swapcache) | (1 << PG_active) | (1 << PG_private))
    page.private = 0
    page.mapping = 0


def migrate_page(k, mapping, newpage: Page, page: Page) -> int:
    """The common ->migratepage: move the mapping, then copy.  0 or -EAGAIN."""
    rc = migrate_page_move_mapping(k, mapping, newpage, page)
    if rc:
        return rc
    migrate_page_copy(k, newpage, page)
    return 0


def page_mapping(k, page: Page):
    """The address_space of a page: its file's, swapper_space for swap cache, None for anon."""
    if PageSwapCache(page):
        return k.swapper_space
    if PageAnon(page) or not page.mapping:
        return None
    return page_address_space(k, page)


# -- migrate_pages as a suspendable path -----------------------------------------------

class migrate_pages(KernelPath):
    """Up to ten passes of unmap_and_move() over isolated pages (force after pass 2).

    new_node is an int (every page to that node: new_node_page) or a tuple of
    (pfn, node) pairs (sys_move_pages' new_page_node).  result: pages not migrated
    (nr_failed + retry) or -ENOMEM; status maps pfn -> node or -errno as *result does.
    """

    __slots__ = ("pages", "keep", "new_node", "pass_", "retry", "nr_failed", "i", "rc",
                 "newpfn", "cur", "status", "walk", "walk_i", "walk_old", "walk_new",
                 "walk_then", "moved")
    first = "start"

    def __init__(self, tid, pages, new_node):
        super().__init__(tid)
        # The kernel's list: this pass walks `pages`; pages to retry go to `keep`, which
        # becomes the list of the next pass (list_del of the others, without O(n) deletes).
        self.pages, self.keep = list(pages), []
        self.new_node = new_node if isinstance(new_node, int) else dict(new_node)
        self.pass_ = self.retry = self.nr_failed = self.i = self.rc = self.newpfn = self.cur = 0
        self.status = {}
        self.walk = self.walk_then = None
        self.walk_i = self.walk_old = self.walk_new = 0
        self.moved = 0

    def held_refs(self) -> dict:
        """Isolation references on the listed pages, and the new page's allocation ref."""
        refs = {pfn: 1 for pfn in self.remaining()}
        if self.pc not in ("start", "next_pass", "next_page", "get_new_page", "finish", DONE) \
                and self.newpfn:
            refs[self.newpfn] = refs.get(self.newpfn, 0) + 1
        return refs

    def remaining(self) -> list:
        """Pages still on the kernel's list (kept for a retry, or not yet visited)."""
        return self.keep + self.pages[self.i:]

    # -- passes and pages ---------------------------------------------------------------
    # Steps are fused where the kernel takes no lock in between: a step ends only where
    # unmap_and_move takes (and may sleep on) the page lock, the anon_vma lock or i_mmap_lock,
    # or finishes one pte-lock section of an rmap walk.
    def start(self, k):
        self.retry = 1
        self.next_pass(k)

    def next_pass(self, k):
        """for (pass = 0; pass < 10 && retry; pass++): a new pass over the remaining list."""
        if self.pass_ < k.cfg.max_passes and self.retry:     # 11 before -mm's simplification
            k.stat("migrate_passes")
            self.retry, self.i = 0, 0
            self.pc = "get_new_page"
        else:
            self.rc = 0
            self.pc = "finish"

    @property
    def force(self) -> bool:
        return self.pass_ > 2

    def target_node(self, pfn: int) -> int | None:
        if isinstance(self.new_node, int):
            return self.new_node
        return self.new_node.get(pfn)

    # -- unmap_and_move ------------------------------------------------------------------
    def get_new_page(self, k):
        """Next page of the pass: allocate its target; a page with only our reference left
        was freed under us (rc 0, nothing to do)."""
        if self.i >= len(self.pages):
            self.pass_ += 1
            self.pages, self.keep, self.i = self.keep, [], 0
            return self.next_pass(k)
        page = k.pages[self.pages[self.i]]
        self.cur = page.pfn
        node = self.target_node(page.pfn)
        try:
            newpage = None if node is None else alloc_pages_node(k, node)
        except OutOfMemory:
            newpage = None
        if newpage is None:
            self.rc = -ENOMEM
            self.keep.append(page.pfn)
            self.i += 1
            self.pc = "finish"
            return None
        self.newpfn = newpage.pfn
        if page_count(page) == 1:
            self.rc = 0                              # freed from under us: done, but the
            self.keep.append(page.pfn)               # page stays listed until putback
            return self.move_newpage(k)
        self.rc = -EAGAIN
        self.pc = "lock_page"
        return None

    def lock_page(self, k):
        """TestSetPageLocked; from pass 3 on (force) sleep in lock_page() instead of giving up."""
        page = k.pages[self.cur]
        if TestSetPageLocked(page):
            if not self.force:
                return self.move_newpage(k)
            return BLOCKED
        # V1 patch 6/6 (and V2 5/5) checked the count before unmapping (mapcount + 1, +1 with
        # a mapping); 2.6.18 checks only after, in migrate_page_move_mapping (V2 both).
        if k.cfg.count_rule in ("v1", "v2"):
            extra = 1 if page_mapping(k, page) is not None else 0
            if not page.mapping or page_count(page) != page_mapcount(page) + 1 + extra:
                k.stat("migrate_count_mismatch")
                return self.unlock(k)
        # "allow migration of mlocked pages": before 2.6.18 a VM_LOCKED mapping made
        # try_to_unmap fail for migration too; the 2.6.17 code turned that into -EPERM.
        self.begin_walk(k, "unmap", page, page, "after_unmap")
        return None

    def after_unmap(self, k):
        """try_to_unmap is done: move the page if nothing maps it any more, else roll back."""
        page = k.pages[self.cur]
        if not page_mapped(page):
            return self.move_to_new_page(k)
        if self.walk == "unmap_failed":
            self.rc = -EPERM                         # a VM_LOCKED vma refused (pre-2.6.18)
        self.begin_walk(k, "remove", page, page, "unlock")   # rollback to the old page
        return None

    def move_to_new_page(self, k):
        """Lock newpage, give it page's mapping and index, and let the mapping move it."""
        page, newpage = k.pages[self.cur], k.pages[self.newpfn]
        if TestSetPageLocked(newpage):
            raise BUG("move_to_new_page: new page already locked")
        mapping = page_mapping(k, page)
        # V1 6/6 as posted returned for an anonymous page without a mapping before the two
        # lines that copy index and mapping (V2 5/5 added them to that branch).
        if not (k.cfg.v1_as_posted and mapping is None):
            newpage.index, newpage.mapping = page.index, page.mapping
        if mapping is None or mapping.a_ops in ("shmem", "swap"):
            rc = migrate_page(k, mapping, newpage, page)
        else:
            rc = self.fallback_migrate_page(k, mapping, newpage, page)
        self.rc = rc
        if rc == 0:
            k.migrating[page.pfn] = newpage.pfn
            self.begin_walk(k, "remove", page, newpage, "move_to_new_page_done")
            return None
        newpage.mapping = 0
        return self.move_to_new_page_done(k)

    def fallback_migrate_page(self, k, mapping, newpage, page) -> int:
        """No ->migratepage: write a dirty page out first (entries removed before the
        write, since writepage may drop the page lock: 04e62a29), and try again later."""
        if PageDirty(page):
            remove_migration_ptes(k, page, page)     # writeout(): before ->writepage
            page.flags &= ~(1 << PG_dirty)           # clear_page_dirty_for_io + the write
            k.stat("migrate_writeout")
            return -EAGAIN
        return migrate_page(k, mapping, newpage, page)

    def move_to_new_page_done(self, k):
        """Unlock newpage; on failure put the entries back to the old page."""
        unlock_page(k.pages[self.newpfn])
        if self.rc:
            self.begin_walk(k, "remove", k.pages[self.cur], k.pages[self.cur], "unlock")
            return None
        return self.unlock(k)

    def unlock(self, k):
        """Unlock the old page; unless we will retry it, take it off the list and put it back."""
        page = k.pages[self.cur]
        unlock_page(page)
        k.migrating.pop(page.pfn, None)
        if self.rc != -EAGAIN:
            move_to_lru(k, page)                     # list_del; on success the last ref
        return self.move_newpage(k)

    def move_newpage(self, k):
        """Put the new page on the LRU (freeing it if unused), record the result, go on."""
        newpage = k.pages[self.newpfn]
        node = newpage.node
        move_to_lru(k, newpage)
        self.set_status(k, node)
        if self.rc == -EAGAIN:
            self.retry += 1
            self.keep.append(self.cur)               # stays on the list for the next pass
            k.stat("migrate_retries")
        elif self.rc == 0:
            self.moved += 1
            k.stat("pgmigrate_success")
        else:
            self.nr_failed += 1
            k.stat("pgmigrate_fail")
        self.i += 1
        self.pc = "get_new_page"
        return None

    def set_status(self, k, node):
        """*result = rc or the new page's node (only for callers that asked)."""
        if isinstance(self.new_node, int):
            return
        self.status[self.cur] = self.rc if self.rc else node

    def finish(self, k):
        """putback_lru_pages() on whatever is left; return nr_failed + retry (or -ENOMEM)."""
        for pfn in self.remaining():
            move_to_lru(k, k.pages[pfn])
        if self.rc == 0 and self.retry:
            k.stat("pgmigrate_fail", self.retry)
        self.pages, self.keep, self.i = [], [], 0
        self.done(self.rc if self.rc else self.nr_failed + self.retry)
        return None

    # -- rmap walks: the lock, then one vma (one pte-lock section) per step --------------
    def begin_walk(self, k, kind: str, old: Page, new: Page, then: str) -> None:
        self.walk, self.walk_i, self.walk_then = kind, 0, then
        self.walk_old, self.walk_new = old.pfn, new.pfn
        self.pc = "walk_lock"

    def _anchor(self, k):
        """(object, lock attribute, vmas) of this walk, or None if there is nothing to walk."""
        if self.walk == "remove":
            return remove_anchor(k, k.pages[self.walk_new])
        page = k.pages[self.walk_old]
        if not page_mapped(page):
            return None                             # page_lock_anon_vma: nothing maps it
        return rmap_anchor(k, page)

    def walk_lock(self, k):
        """Take the anon_vma lock (or i_mmap_lock) and do the walk's first vma."""
        k.stat("rmap_walks")
        anchor = self._anchor(k)
        if anchor is None or not anchor[2]:
            return getattr(self, self.walk_then)(k)
        obj, attr, _ = anchor
        if not spin_trylock(obj, attr, self.tid):
            return BLOCKED
        return self.walk_vma(k, anchor)

    def walk_vma(self, k, anchor=None):
        """One vma of the walk, under its pte lock; the last one drops the walk's lock."""
        obj, attr, vmas = anchor or rmap_anchor(
            k, k.pages[self.walk_new if self.walk == "remove" else self.walk_old])
        vma = vmas[self.walk_i]
        self.walk_i += 1
        old = k.pages[self.walk_old]
        if self.walk == "remove":
            remove_migration_pte(k, vma, old, k.pages[self.walk_new])
            last = self.walk_i >= len(vmas)
        else:
            if try_to_unmap_one(k, old, vma, True) == SWAP_FAIL:
                self.walk = "unmap_failed"
            last = self.walk == "unmap_failed" or not page_mapped(old) or self.walk_i >= len(vmas)
        if not last:
            self.pc = "walk_vma"
            return None
        spin_unlock(obj, attr, self.tid)
        if self.walk != "remove":
            # The pte and anon_vma locks are dropped here and move_to_new_page's count
            # check comes later: a fault can pin the page in between (then -EAGAIN).
            self.pc = self.walk_then
            return None
        return getattr(self, self.walk_then)(k)


def run_sub(k, path, sub_attr: str = "sub"):
    """Step a sub-path held by path; returns BLOCKED, or None (its pc tells if it finished)."""
    sub = getattr(path, sub_attr)
    return getattr(sub, sub.pc)(k)


# -- move_pages(2) ------------------------------------------------------------------------

from .mempolicy import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT  # noqa: E402,F401 (re-exported)
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

    def held_refs(self) -> dict:
        return self.sub.held_refs() if self.sub is not None and self.pc == "migrate" else {}

    def start(self, k):
        mm = k.mms[self.mm]
        if not down_read(mm.mmap_sem, self.tid):
            return BLOCKED
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

    def finish(self, k):
        up_read(k.mms[self.mm].mmap_sem, self.tid)
        self.pc = DONE
        return None


def do_pages_stat(k, mm, addrs) -> list:
    """sys_move_pages without nodes: where is each page?  node, -EFAULT or -ENOENT."""
    out = []
    for addr in addrs:
        vma = find_vma(mm, addr)
        if vma is None:
            out.append(-EFAULT)
            continue
        page = follow_page(k, vma, addr)
        out.append(-ENOENT if page is None or PageReserved(page) else page.node)
    return out
