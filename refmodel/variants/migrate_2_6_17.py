"""Page migration before the series (Linux 2.6.17): every page borrows a swap entry.

Models migrate_pages(), migrate_page_remove_references(), migrate_page() and
remove_from_swap() of Linux 2.6.17 (mm/migrate.c and mm/rmap.c):
https://elixir.bootlin.com/linux/v2.6.17/source/mm/migrate.c
An anonymous page is first given a swap slot and put in the swap cache (add_to_swap), so
that try_to_unmap() can replace its ptes by ordinary swap ptes and the "move the radix
slot" logic of file pages applies to it too.  After the copy, remove_from_swap() turns the
swap ptes back into ptes to the new page and the slot is released.  Without swap space
none of this works: migrate_prep() refuses with -ENODEV (migrate.migrate_prep, era decision
needs_swap).

The step granularity is coarser than for 2.6.18: the unmap, count check, copy and
remove_from_swap walk of one page run as one step under the page lock.  Details that come
from the V1 patches' context rather than a 2.6.17 tree are marked [context].
"""

import errno

from ..migrate import (migrate_max_passes, migrate_page_copy, move_to_lru, page_mapping,
                       rmap_anchor)
from ..migrate import migrate_prep  # noqa: F401  2.6.17's is 2.6.18's with needs_swap (eras.py)
from ..page import (PG_swapcache, PageAnon, PageSwapCache, TestSetPageLocked, get_page,
                    page_count, page_mapcount, page_mapped, unlock_page)
from ..page_alloc import OutOfMemory, alloc_pages_node
from ..pgtable import PAGE_SHIFT, mk_pte, pte_mkold
from ..rmap import SWAP_FAIL, page_add_anon_rmap, try_to_unmap, vma_address
from ..sched import BLOCKED, KernelPath, step
from ..swap_state import add_to_swap, delete_from_swap_cache
from ..swapfile import swap_free
from ..swapops import swp_entry_to_pte

EAGAIN, ENOMEM, EPERM = errno.EAGAIN, errno.ENOMEM, errno.EPERM


def check_era(machine) -> None:
    """move_pages(2) arrived with 2.6.18: in 2.6.17 there is no such system call."""
    raise OSError(errno.ENOSYS, "move_pages: not in Linux 2.6.17 (added in 2.6.18)")


def remove_from_swap(k, page) -> None:
    """Turn every swap pte for page's slot back into a pte to page, then leave the cache:
    remove_vma_swap() for each vma of the page's anon_vma."""
    anchor = rmap_anchor(k, page)
    k.stat("rmap_walks")                         # the anon_vma walk (remove_vma_swap per vma)
    if anchor is not None:
        for vma in list(anchor[2]):
            remove_vma_swap(k, vma, page)
    delete_from_swap_cache(k, page)


def remove_vma_swap(k, vma, page) -> None:
    """In one vma, the swap pte for page's slot (if vma maps one where the page belongs)
    becomes a pte to page again, and the slot loses that use (mm/swapfile.c: unuse_vma()
    then unuse_pte(), as swapoff does).

    The pte comes from vm_page_prot, old: a private writable mapping gets it read-only,
    like any swapped-in page.  (The kernel returns whether it found the pte; nobody reads it.)"""
    entry = page.private
    addr = vma_address(page, vma)
    if addr is None:
        return
    mm = vma.vm_mm
    vpn = addr >> PAGE_SHIFT
    if mm.pgtable.get(vpn) != swp_entry_to_pte(entry):
        return
    mm.anon_rss += 1
    get_page(page)
    mm.pgtable[vpn] = pte_mkold(mk_pte(page, vma.vm_page_prot))
    k.stat("pte_writes")
    page_add_anon_rmap(page, vma, addr)
    swap_free(k, entry)


def migrate_page_remove_references(k, newpage, page, nr_refs: int) -> int:
    """Unmap page and move its radix slot to newpage, if nobody else holds it.

    Before unmapping, count must be mapcount + nr_refs; after, exactly nr_refs.  A
    VM_LOCKED vma makes try_to_unmap fail: -EPERM, permanently.  Nothing is restored on
    failure: the ptes stay swap ptes and the page stays in the swap cache.
    """
    mapping = page_mapping(k, page)
    if mapping is None:
        return -EAGAIN
    if page_mapcount(page) + nr_refs != page_count(page):
        k.stat("migrate_count_mismatch")
        return -EAGAIN
    if try_to_unmap(k, page, True) == SWAP_FAIL:
        return -EPERM
    if page_mapped(page):
        return -EAGAIN
    index = page.private if mapping.id == 0 else page.index
    if page_count(page) != nr_refs or mapping.page_tree.get(index) != page.pfn:
        k.stat("migrate_count_mismatch")
        return -EAGAIN
    newpage._count += 1
    newpage.index, newpage.mapping = page.index, page.mapping
    if PageSwapCache(page):
        newpage.flags |= 1 << PG_swapcache
        newpage.private = page.private
    mapping.page_tree[index] = newpage.pfn
    page._count -= 1
    k.stat("radix_updates")
    return 0


class migrate_pages(KernelPath):
    """2.6.17 migrate_pages(from, to, moved, failed): a first pass over the list, then up
    to ten more while pages ask for a retry (`if (retry && pass++ < 10) goto redo`): 11 in
    all, one more than 2.6.18's loop."""

    __slots__ = ("pages", "dest", "pass_", "retry", "nr_failed", "i", "moved")

    def __init__(self, tid, pages, dest):
        super().__init__(tid)
        self.pages, self.dest = tuple(pages), dest
        self.pass_ = self.retry = self.nr_failed = self.i = self.moved = 0

    @step(holds=("pages",))
    def start(self, k):
        """redo: (pass 0) every page once."""
        k.stat("migrate_passes")
        self.retry, self.i = 0, 0
        self.pc = "next_page"

    @step(holds=("pages",))
    def next_pass(self, k):
        """The end of a pass: `if (retry && pass++ < 10) goto redo`."""
        if self.retry and self.pass_ < migrate_max_passes(k) - 1:    # pass++ < 10: 11 in all
            self.pass_ += 1
            k.stat("migrate_passes")
            self.retry, self.i = 0, 0
            self.pc = "next_page"
        else:
            self.pc = "finish"

    @step(holds=("pages",))
    def next_page(self, k):
        if self.i >= len(self.pages):
            self.pc = "next_pass"
            return None
        page = k.pages[self.pages[self.i]]
        if page_count(page) == 1:                    # freed from under us: "moved"
            self._done_with(k, moved=True)
            return None
        self.pc = "lock_and_move"
        return None

    @step(sleeps_on="page_lock", holds=("pages",))
    def lock_and_move(self, k):
        """Lock (TestSetPageLocked in passes 0-2, lock_page after), then migrate the page."""
        page = k.pages[self.pages[self.i]]
        if TestSetPageLocked(page):
            if self.pass_ <= 2:
                self.retry += 1
                k.stat("migrate_retries")
                self.i += 1
                self.pc = "next_page"
                return None
            return BLOCKED
        rc = 0
        if PageAnon(page) and not PageSwapCache(page):
            k.stat("migrate_add_to_swap")
            if not add_to_swap(k, page):
                rc = -ENOMEM
        newpage = None
        if rc == 0:
            try:
                newpage = alloc_pages_node(k, self.dest)
            except OutOfMemory:
                rc = -ENOMEM
        if rc == 0:
            TestSetPageLocked(newpage)               # lock_page(newpage): nobody else has it
            rc = migrate_page_remove_references(k, newpage, page, 2)
            if rc == 0:
                migrate_page_copy(k, newpage, page)
                if PageSwapCache(newpage):
                    remove_from_swap(k, newpage)
            else:
                newpage.mapping = 0
            unlock_page(newpage)
        unlock_page(page)
        if rc == -EAGAIN:
            self.retry += 1
            k.stat("migrate_retries")
            if newpage is not None:
                move_to_lru(k, newpage)              # unused: freed
            self.i += 1
        elif rc == 0:
            move_to_lru(k, newpage)
            self._done_with(k, moved=True)
        else:
            if newpage is not None:
                move_to_lru(k, newpage)
            self._done_with(k, moved=False)
        self.pc = "next_page"
        return None

    def _done_with(self, k, moved: bool) -> None:
        """Take the current page off the list: to `moved` (freed) or `failed` (back to LRU)."""
        pfn = self.pages[self.i]
        self.pages = self.pages[:self.i] + self.pages[self.i + 1:]
        if moved:
            self.moved += 1
            k.stat("pgmigrate_success")
        else:
            self.nr_failed += 1
            k.stat("pgmigrate_fail")
        move_to_lru(k, k.pages[pfn])

    @step(holds=("pages",))
    def finish(self, k):
        for pfn in self.pages:
            move_to_lru(k, k.pages[pfn])
        if self.retry:
            k.stat("pgmigrate_fail", self.retry)
        self.pages = ()
        self.done(self.nr_failed + self.retry)
        return None
