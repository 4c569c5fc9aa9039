"""Page migration as merged in Linux 2.6.18: migration entries instead of swap entries.

Models mm/migrate.c of Linux 2.6.18: https://elixir.bootlin.com/linux/v2.6.18/source/mm/migrate.c
migrate_pages() runs up to ten passes of unmap_and_move() over a list of isolated pages:
lock the page, turn every pte into a migration entry (try_to_unmap), move the page cache
slot and the contents to a new page (move_to_new_page), turn the entries back into ptes to
the new page (remove_migration_ptes) -- or, on failure, to the old one -- and unlock.
The whole of migrate_pages is one suspendable path: it stops where the kernel takes or
drops the page lock, the anon_vma lock or i_mmap_lock, so that faults, fork and munmap
can run in between.  Each decision where the series' eras differ is read by one function
(migrate_prep, count_rule, v1_as_posted, migrate_max_passes...).  sys_move_pages, the
CONFIG_NUMA half of the file, is move_pages.py.
"""

import errno
from typing import NamedTuple

from .eras import NotInThisKernel
from .mm import rss_on_migration
from .page import (PG_active, PG_dirty, PG_error, PG_private, PG_referenced, PG_swapcache,
                   PG_uptodate, Page, PageAnon, PageDirty, PagePrivate, PageSwapCache,
                   SetPageSwapCache, TestSetPageLocked, get_page, page_count, page_index,
                   page_mapcount, page_mapped, put_page_testzero, set_page_private, unlock_page)
from .page_alloc import OutOfMemory, alloc_pages_node
from .pgtable import PAGE_SHIFT, is_swap_pte, mk_pte, pte_mkold, pte_mkwrite
from .rmap import (SWAP_FAIL, file_pages_keep_entries, page_add_anon_rmap, page_add_file_rmap,
                   page_address_in_vma, page_address_space, try_to_unmap_one)
from .sched import BLOCKED, KernelPath, StepFacts, spin_trylock, spin_unlock, step
from .swapfile import nr_swap_pages
from .swap import isolate_lru_page as _take_off_lru
from .swap import lru_cache_add, lru_cache_add_active, page_cache_release, set_page_dirty
from .swapops import (BUG, is_migration_entry, is_write_migration_entry,
                      migration_entry_to_page, pte_to_swp_entry)

EAGAIN, ENOMEM, EPERM, EBUSY, ENODEV = errno.EAGAIN, errno.ENOMEM, errno.EPERM, errno.EBUSY, errno.ENODEV


# -- Isolation and putback ------------------------------------------------------------

def migrate_prep(k) -> int:
    """Called before pages are isolated for migration: 0, or -ENODEV.  2.6.17's required a
    swap device, since its migration borrowed swap entries (era decision needs_swap); 2.6.18's
    only drains the per-CPU LRU lists (lru_add_drain_all), which the model does not have."""
    if k.cfg.needs_swap and nr_swap_pages(k) <= 0:
        return -ENODEV
    return 0


def isolate_lru_page(page: Page) -> int:
    """Take page off the LRU for migration, holding a reference: 0, or -EBUSY."""
    return 0 if _take_off_lru(page) else -EBUSY


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
        if rss_on_migration(k, True):               # V2 only; undone before the merge
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


def v1_as_posted(k) -> bool:
    """Does this kernel run V1 4/6 and 6/6 as posted, not as designed (an override of
    rfc-v1: era decision v1_as_posted)?  Both their gaps read it."""
    return k.cfg.v1_as_posted


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
    if v1_as_posted(k):
        return v1_posted_anchor(k, new)
    if not PageAnon(new) and (k.cfg.restore_anon_only or not file_pages_keep_entries(k)):
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
        if count_rule(k).after_unmapping and page_count(page) != 1:
            k.stat("migrate_count_mismatch")
            return -EAGAIN
        return 0
    index = page_index(page)
    if page_count(page) != 2 + (1 if PagePrivate(page) else 0) or \
            mapping.page_tree.get(index) != page.pfn:
        k.stat("migrate_count_mismatch")
        return -EAGAIN
    get_page(newpage)                                 # the cache's reference on newpage
    if PageSwapCache(page):
        SetPageSwapCache(newpage)
        set_page_private(newpage, page.private)
    mapping.page_tree[index] = newpage.pfn
    put_page_testzero(page)                           # __put_page(page): the cache's ref gone (never the last)
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


# -- unmap_and_move() and migrate_pages() as one suspendable path ------------------------
#
# The kernel's unmap_and_move() migrates one page; migrate_pages() calls it for each page of
# each pass.  Here unmap_and_move is a class holding the steps of one page, and the
# migrate_pages path is that class plus the pass loop (a subclass): one path object carries
# both the list and the page in hand, as cheap to snapshot as the kernel's stack frame.
# Steps end only where unmap_and_move takes (and may sleep on) the page lock, the anon_vma
# lock or i_mmap_lock, or finishes one pte-lock section of an rmap walk.

# Locals of the page in hand, all dead between two pages (see @step's dead).
_PAGE = ("page", "newpage", "rc", "walk_i", "restore_to")


class unmap_and_move(KernelPath):
    """unmap_and_move(): lock one isolated page, replace its ptes by migration entries
    (try_to_unmap), move it to a new page (move_to_new_page), replace the entries by ptes to
    the new page -- or, on failure, to the old one (remove_migration_ptes) -- and unlock it.

    Locals (pfns): page, the page being migrated; newpage, its new page; rc, the result so
    far; walk_i, the next vma of the rmap walk in progress; restore_to, the page that walk's
    remove_migration_ptes(page, restore_to) makes ptes to (newpage, or page on failure).
    Never run alone: the pass loop around it is migrate_pages (below), which supplies the
    list and what its steps' facts name besides these (remaining, moved), and force,
    nomem(), keep_listed(), set_status() and page_done().
    """

    __slots__ = _PAGE

    @property
    def force(self) -> bool:
        """pass > 2: sleep in lock_page() instead of giving up on a locked page."""
        return self.pass_ > 2

    def begin(self, k, pfn: int, newpage) -> None:
        """The first lines of unmap_and_move(page): newpage from get_new_page() (None:
        -ENOMEM); a page with only our reference left was freed under us (rc 0)."""
        self.page = pfn
        if newpage is None:
            self.rc = -ENOMEM
            return self.nomem(k)
        self.newpage = newpage.pfn
        if page_count(k.pages[pfn]) == 1:
            self.rc = 0                              # "page was freed from under us": done,
            self.keep_listed(pfn)                    # but it stays listed until putback
            return self.move_newpage(k)
        self.rc = -EAGAIN
        self.pc = "lock_page"

    @step(sleeps_on="page_lock", holds=("remaining", "newpage"),
          dead=("moved", "walk_i", "restore_to"))
    def lock_page(self, k):
        """TestSetPageLocked; from pass 3 on (force) sleep in lock_page() instead of giving up."""
        page = k.pages[self.page]
        if TestSetPageLocked(page):
            if not self.force:
                return self.move_newpage(k)
            return BLOCKED
        # V1 patch 6/6 (and V2 5/5) checked the count before unmapping (mapcount + 1, +1 with
        # a mapping); 2.6.18 checks only after, in migrate_page_move_mapping (V2 both).
        if count_rule(k).before_unmapping:
            extra = 1 if page_mapping(k, page) is not None else 0
            if not page.mapping or page_count(page) != page_mapcount(page) + 1 + extra:
                k.stat("migrate_count_mismatch")
                return self.unlock(k)
        self.pc = "try_to_unmap"
        return None

    # -- try_to_unmap(page, 1): the lock, then one vma (one pte-lock section) per step ---
    @step(sleeps_on="rmap_lock", holds=("remaining", "newpage"),
          dead=("moved", "walk_i", "restore_to"))
    def try_to_unmap(self, k):
        """Take the anon_vma lock (or i_mmap_lock) and unmap the page in the first vma."""
        k.stat("rmap_walks")
        page = k.pages[self.page]
        anchor = rmap_anchor(k, page) if page_mapped(page) else None   # page_lock_anon_vma
        if anchor is None or not anchor[2]:
            return self.move_to_new_page(k)
        if not spin_trylock(anchor[0], anchor[1], self.tid):
            return BLOCKED
        self.walk_i = 0
        return self.try_to_unmap_one(k, anchor)

    @step(holds=("remaining", "newpage"), dead=("moved", "restore_to"), walk="unmap")
    def try_to_unmap_one(self, k, anchor=None):
        """try_to_unmap_one() on the walk's next vma; the last one drops the walk's lock.
        A VM_LOCKED vma that refuses (before 2.6.18's "allow migration of mlocked pages")
        ends the walk with -EPERM."""
        obj, attr, vmas = anchor or rmap_anchor(k, k.pages[self.page])
        vma = vmas[self.walk_i]
        self.walk_i += 1
        page = k.pages[self.page]
        failed = try_to_unmap_one(k, page, vma, True) == SWAP_FAIL
        if failed:
            self.rc = -EPERM                         # the 2.6.17 code's answer to VM_LOCKED
        if not (failed or not page_mapped(page) or self.walk_i >= len(vmas)):
            self.pc = "try_to_unmap_one"
            return None
        spin_unlock(obj, attr, self.tid)
        # The pte and anon_vma locks are dropped here and move_to_new_page's count check
        # comes later: a fault can pin the page in between (then -EAGAIN).
        self.pc = "move_to_new_page"
        return None

    # -- move_to_new_page(newpage, page) -------------------------------------------------
    @step(holds=("remaining", "newpage"), dead=("moved", "walk_i", "restore_to"))
    def move_to_new_page(self, k):
        """`if (!page_mapped(page)) rc = move_to_new_page(newpage, page)`: lock newpage, give
        it page's mapping and index, and let the mapping move the page; then put the ptes
        back, to newpage if that worked, else (or if the page is still mapped) to page."""
        page = k.pages[self.page]
        if page_mapped(page):
            return self.rollback(k)
        newpage = k.pages[self.newpage]
        if TestSetPageLocked(newpage):
            raise BUG("move_to_new_page: new page already locked")
        mapping = page_mapping(k, page)
        # V1 6/6 as posted returned for an anonymous page without a mapping before the two
        # lines that copy index and mapping (V2 5/5 added them to that branch).
        if not (v1_as_posted(k) and mapping is None):
            newpage.index, newpage.mapping = page.index, page.mapping
        if mapping is None or mapping.a_ops in ("shmem", "swap"):
            rc = migrate_page(k, mapping, newpage, page)
        else:
            rc = self.fallback_migrate_page(k, mapping, newpage, page)
        self.rc = rc
        if rc == 0:
            k.migrating[page.pfn] = newpage.pfn
            return self.remove_migration_ptes_begin(k, newpage.pfn)
        newpage.mapping = 0
        unlock_page(newpage)
        return self.rollback(k)

    def fallback_migrate_page(self, k, mapping, newpage, page) -> int:
        """No ->migratepage: write a dirty page out first (entries removed before the
        write, since writepage may drop the page lock: 04e62a29), and try again later."""
        if PageDirty(page):
            remove_migration_ptes(k, page, page)     # writeout(): before ->writepage
            page.flags &= ~(1 << PG_dirty)           # clear_page_dirty_for_io + the write
            k.stat("migrate_writeout")
            return -EAGAIN
        return migrate_page(k, mapping, newpage, page)

    def rollback(self, k):
        """`if (rc) remove_migration_ptes(page, page)`: the entries go back to the old page."""
        return self.remove_migration_ptes_begin(k, self.page)

    # -- remove_migration_ptes(page, restore_to): the lock, then one vma per step ---------
    def remove_migration_ptes_begin(self, k, restore_to: int) -> None:
        self.restore_to = restore_to
        self.pc = "remove_migration_ptes"

    @step(sleeps_on="rmap_lock", holds=("remaining", "newpage"), dead=("moved", "walk_i"))
    def remove_migration_ptes(self, k):
        """Take the anon_vma lock (or i_mmap_lock) of restore_to and restore the first vma."""
        k.stat("rmap_walks")
        anchor = remove_anchor(k, k.pages[self.restore_to])
        if anchor is None or not anchor[2]:
            return self.remove_migration_ptes_done(k)
        if not spin_trylock(anchor[0], anchor[1], self.tid):
            return BLOCKED
        self.walk_i = 0
        return self.remove_migration_pte(k, anchor)

    @step(holds=("remaining", "newpage"), dead=("moved",), walk="remove")
    def remove_migration_pte(self, k, anchor=None):
        """remove_migration_pte() in the walk's next vma; the last one drops the walk's lock."""
        obj, attr, vmas = anchor or rmap_anchor(k, k.pages[self.restore_to])
        vma = vmas[self.walk_i]
        self.walk_i += 1
        remove_migration_pte(k, vma, k.pages[self.page], k.pages[self.restore_to])
        if self.walk_i < len(vmas):
            self.pc = "remove_migration_pte"
            return None
        spin_unlock(obj, attr, self.tid)
        return self.remove_migration_ptes_done(k)

    def remove_migration_ptes_done(self, k):
        """The walk is over: move_to_new_page ends with unlock_page(newpage); then unlock."""
        if self.restore_to != self.page:
            unlock_page(k.pages[self.newpage])
        return self.unlock(k)

    # -- unlock: and move_newpage: -------------------------------------------------------
    def unlock(self, k):
        """Unlock the old page; unless we will retry it, take it off the list and put it back."""
        page = k.pages[self.page]
        unlock_page(page)
        k.migrating.pop(page.pfn, None)
        if self.rc != -EAGAIN:
            move_to_lru(k, page)                     # list_del; on success the last ref
        return self.move_newpage(k)

    def move_newpage(self, k):
        """Put the new page on the LRU (freeing it if unused), record the result, go on."""
        newpage = k.pages[self.newpage]
        node = newpage.node
        move_to_lru(k, newpage)
        self.set_status(k, node)
        return self.page_done(k)


class migrate_pages(unmap_and_move):
    """migrate_pages(): up to ten passes of unmap_and_move() over a list of isolated pages
    (force from pass 3 on).  Models mm/migrate.c of 2.6.18, line by line:

        for(pass = 0; pass < 10 && retry; pass++)         start, next_pass (max_passes)
          list_for_each_entry_safe(page, ...)              migrate_pages.unmap_and_move
            unmap_and_move(get_new_page, private, page, pass > 2):
              newpage = get_new_page(page, private, &result)   migrate_pages.unmap_and_move
              if (page_count(page) == 1) goto move_newpage      (the same step)
              TestSetPageLocked / lock_page(page)          unmap_and_move.lock_page
              try_to_unmap(page, 1)                        unmap_and_move.try_to_unmap (the
                                                           rmap lock, vma 0), .try_to_unmap_one
              if (!page_mapped(page))
                rc = move_to_new_page(newpage, page)       unmap_and_move.move_to_new_page
                  remove_migration_ptes(page, newpage)     .remove_migration_ptes, then
                                                           .remove_migration_pte per vma
                  unlock_page(newpage)                     (the walk's last step)
              if (rc) remove_migration_ptes(page, page)    .remove_migration_ptes (rollback)
            unlock: unlock_page(page); move_to_lru(page)   (the walk's last step: unlock)
            move_newpage: move_to_lru(newpage); *result    (the same step: move_newpage)
            switch (rc): -ENOMEM: goto out; -EAGAIN: retry++; default: nr_failed++
        out: putback_lru_pages(from)                       migrate_pages.finish
        return nr_failed + retry (or rc)

    new_node is an int (every page to that node: new_node_page) or a tuple of (pfn, node)
    pairs (sys_move_pages' new_page_node).  result: pages not migrated (nr_failed + retry)
    or -ENOMEM; status maps pfn -> node or -errno, as *result does.
    """

    __slots__ = ("pages", "keep", "new_node", "pass_", "retry", "nr_failed", "i", "status",
                 "moved")
    first = "start"
    migrates = ("page", "remaining")         # the pages this path is migrating (invariants)
    at_done = StepFacts(dead=("moved",) + _PAGE)

    def __init__(self, tid, pages, new_node):
        super().__init__(tid)
        # The kernel's list: this pass walks `pages`; pages to retry go to `keep`, which
        # becomes the list of the next pass (list_del of the others, without O(n) deletes).
        self.pages, self.keep = list(pages), []
        self.new_node = new_node if isinstance(new_node, int) else dict(new_node)
        self.pass_ = self.retry = self.nr_failed = self.i = 0
        self.status = {}
        self.moved = 0
        self.page = self.newpage = self.rc = self.walk_i = self.restore_to = 0

    @property
    def remaining(self) -> list:
        """Pages still on the kernel's list (kept for a retry, or not yet visited)."""
        return self.keep + self.pages[self.i:]

    @step(holds=("remaining",), dead=("moved",) + _PAGE)
    def start(self, k):
        self.retry = 1
        self.next_pass(k)

    def next_pass(self, k):
        """for (pass = 0; pass < 10 && retry; pass++): a new pass over the remaining list."""
        if self.pass_ < migrate_max_passes(k) and self.retry:
            k.stat("migrate_passes")
            self.retry, self.i = 0, 0
            self.pc = "unmap_and_move"
        else:
            self.rc = 0
            self.pc = "finish"

    def target_node(self, pfn: int) -> int | None:
        if isinstance(self.new_node, int):
            return self.new_node
        return self.new_node.get(pfn)

    @step(holds=("remaining",), dead=("moved",) + _PAGE)
    def unmap_and_move(self, k):
        """The next page of the pass (or the next pass) goes through unmap_and_move(): its
        new page is allocated (get_new_page) in this step."""
        if self.i >= len(self.pages):
            self.pass_ += 1
            self.pages, self.keep, self.i = self.keep, [], 0
            return self.next_pass(k)
        pfn = self.pages[self.i]
        node = self.target_node(pfn)
        try:
            newpage = None if node is None else alloc_pages_node(k, node)
        except OutOfMemory:
            newpage = None
        return self.begin(k, pfn, newpage)

    def nomem(self, k):
        """-ENOMEM from get_new_page: goto out (the page stays listed for putback)."""
        self.keep_listed(self.page)
        self.i += 1
        self.pc = "finish"

    def keep_listed(self, pfn: int) -> None:
        """The page stays on the list: visited again in the next pass, put back at the end."""
        self.keep.append(pfn)

    def set_status(self, k, node):
        """*result = rc or the new page's node (only for callers that asked)."""
        if isinstance(self.new_node, int):
            return
        self.status[self.page] = self.rc if self.rc else node

    def page_done(self, k):
        """The switch on unmap_and_move's rc, then on to the next page."""
        if self.rc == -EAGAIN:
            self.retry += 1
            self.keep_listed(self.page)              # stays on the list for the next pass
            k.stat("migrate_retries")
        elif self.rc == 0:
            self.moved += 1
            k.stat("pgmigrate_success")
        else:
            self.nr_failed += 1
            k.stat("pgmigrate_fail")
        self.i += 1
        self.pc = "unmap_and_move"
        return None

    @step(holds=("remaining",), dead=("moved", "page", "newpage", "walk_i", "restore_to"))
    def finish(self, k):
        """putback_lru_pages() on whatever is left; return nr_failed + retry (or -ENOMEM)."""
        for pfn in self.remaining:
            move_to_lru(k, k.pages[pfn])
        if self.rc == 0 and self.retry:
            k.stat("pgmigrate_fail", self.retry)
        self.pages, self.keep, self.i = [], [], 0
        self.done(self.rc if self.rc else self.nr_failed + self.retry)
        return None


class CountRule(NamedTuple):
    """Where migration checks the page's references."""
    before_unmapping: bool        # V1 6/6: mapcount + 1 (+ 1 with a mapping), page locked
    after_unmapping: bool         # 2.6.18, in migrate_page_move_mapping: 1 for an anon page


_COUNT_RULES = {"v1": CountRule(True, False), "v2": CountRule(True, True),
                "2.6.18": CountRule(False, True)}


def count_rule(k) -> CountRule:
    """Where this kernel checks the count (era decision count_rule): V1 before unmapping,
    2.6.18 after, V2 5/5 both."""
    return _COUNT_RULES[k.cfg.count_rule]


def migrate_max_passes(k) -> int:
    """How many passes migrate_pages makes (era decision max_passes): 2.6.17's loop
    (`if (retry && pass++ < 10) goto redo`, 11 passes) survived V1 and V2; 2.6.18's
    `for (pass = 0; pass < 10 && retry; pass++)` came with "page migration: simplify
    migrate_pages" in -mm."""
    return k.cfg.max_passes
