"""The swap half of a fault: do_swap_page, and what a fault does on a migration entry.

Models the do_swap_page part of mm/memory.c of Linux 2.6.18 (and its 2.6.17 and V1 forms):
https://elixir.bootlin.com/linux/v2.6.18/source/mm/memory.c#L1920, with migration_entry_wait
of https://elixir.bootlin.com/linux/v2.6.18/source/mm/migrate.c#L258.  A base class of
memory.user_access, split out of memory.py for length only: its steps are the user access's
steps, and they use its helpers (_return, _up_read, fail, do_wp_page).
"""

from .page import PageLocked, PageSwapCache, TestSetPageLocked, get_page, unlock_page
from .pgtable import PAGE_SHIFT, is_swap_pte, mk_pte, pte_mkdirty, pte_mkwrite
from .mm import VM_WRITE, find_vma
from .rmap import page_add_anon_rmap
from .sched import BLOCKED, KernelPath, step
from .swap import mark_page_accessed, page_cache_release
from .swapfile import can_share_swap_page, remove_exclusive_swap_page, swap_free, vm_swap_full
from .swapops import (BUG, is_migration_entry, migration_entry_to_page, pte_to_swp_entry,
                      swp_offset)
from .swap_state import lookup_swap_cache, read_swap_cache_async


def maybe_mkwrite(pte: int, vma) -> int:
    """Writable if the vma allows writes."""
    return pte_mkwrite(pte) if vma.vm_flags & VM_WRITE else pte


class swapin_fault(KernelPath):
    """The steps of a user access that met a swap or migration entry (see user_access)."""

    __slots__ = ()

    def do_swap_page(self, k, mm, vma, pte):
        """A non-present pte with a swap entry: a migration entry, or a page to swap in."""
        entry = pte_to_swp_entry(pte)
        self.orig_pte, self.entry = pte, entry
        if is_migration_entry(entry, k.swp_types):
            return self.fault_on_migration_entry(k, mm)
        return self.swapin_lookup(k, mm)

    def swapin_lookup(self, k, mm):
        """lookup_swap_cache, else read the page in; then go and lock it."""
        page = lookup_swap_cache(k, self.entry)
        if page is None:
            page = read_swap_cache_async(k, self.entry, self.node)
            if page is None:
                # The slot was freed under us: back out if the pte changed, else OOM.
                if mm.pgtable.get(self.addr >> PAGE_SHIFT, 0) == self.orig_pte:
                    self._up_read(k)
                    return self.fail("OOM")
                return self._return(k)
            k.stat("pgmajfault")
        mark_page_accessed(page)
        self.pfn = page.pfn
        self.pc = "do_swap_page_lock"
        return None

    def fault_on_migration_entry(self, k, mm):
        """What a fault does when it meets a migration entry: the decision point of the series."""
        how = k.cfg.fault_on_migration_entry
        if how == "migration_entry_wait":
            # 0697212a (2.6.18): pin the page under the pte lock, then sleep on its lock.
            return self.migration_entry_wait_start(k, mm)
        if how == "yield":
            # Swapless V2 2/5: yield() and return; the access faults again (busy polling).
            k.stat("migration_yield")
            return self._return(k)
        if how == "lookup_swap_cache":
            # V1 RFC 2/6: lookup_swap_cache() hands back the entry's page with a reference;
            # the ordinary swap-in path then sleeps in lock_page() and, the pte having
            # changed by the time it gets the lock, backs out and retries.  The pte was read
            # without the pte lock: the lookup is a step of its own (v1_lookup_swap_cache).
            self.pc = "v1_lookup_swap_cache"
            return None
        raise BUG(f"era {k.cfg.name} has no migration entries")

    @step(dead=("pfn",))
    def v1_lookup_swap_cache(self, k):
        """V1 2/6's lookup_swap_cache for a migration entry: pfn_to_page(swp_offset) and
        get_page, with no lock that proves the entry read a step ago is still in the pte.

        Migration may have finished in between (ptes restored, old page unlocked and freed):
        then get_page lands on a free page, a use after free.  A freed pfn handed out again
        before this step would be a worse case the model does not detect (no configuration
        allocates between the two steps)."""
        pfn = swp_offset(self.entry)
        page = k.pages.get(pfn)
        if page is None or page._count == 0:
            raise BUG(f"lookup_swap_cache: get_page on free pfn {pfn}: a use after free "
                      f"(V1 2/6 takes the reference without the pte lock)")
        get_page(page)
        self.pfn = page.pfn
        self.pc = "do_swap_page_lock"
        return None

    def migration_entry_wait_start(self, k, mm):
        """migration_entry_wait(), under the pte lock: still an entry?  get_page() on it."""
        pte = mm.pgtable.get(self.addr >> PAGE_SHIFT, 0)
        if not is_swap_pte(pte) or not is_migration_entry(pte_to_swp_entry(pte), k.swp_types):
            return self._return(k)
        page = migration_entry_to_page(k.pages, pte_to_swp_entry(pte))
        get_page(page)
        self.pfn = page.pfn
        k.trace_event("migration_entry_wait", mm.id, self.addr, page.pfn)
        k.stat("migration_entry_waits")
        self.pc = "migration_entry_wait"

    @step(sleeps_on="page_lock", page="pfn", doing="sleeps in migration_entry_wait on",
          holds=("pfn",), dead=("orig_pte", "entry"))
    def migration_entry_wait(self, k):
        """wait_on_page_locked() then put_page(): sleeps until migration unlocks the page."""
        page = k.pages.get(self.pfn)
        if page is None:
            raise BUG(f"migration_entry_wait: page {self.pfn} freed under a waiter")
        if PageLocked(page):
            return BLOCKED
        page_cache_release(k, page)
        self._return(k)
        return None

    @step(sleeps_on="page_lock", page="pfn", doing="sleeps in lock_page on", holds=("pfn",))
    def do_swap_page_lock(self, k):
        """lock_page() the swap-cache page, then map it under the pte lock if the pte is unchanged."""
        page = k.pages[self.pfn]
        if TestSetPageLocked(page):
            return BLOCKED
        if self.swapin_recheck(k, page):
            return None
        mm = k.mms[self.mm]
        vpn = self.addr >> PAGE_SHIFT
        if mm.pgtable.get(vpn, 0) != self.orig_pte:     # someone else faulted it in
            unlock_page(page)
            page_cache_release(k, page)
            self._return(k)
            return None
        vma = find_vma(mm, self.addr)
        mm.anon_rss += 1
        pte = mk_pte(page, vma.vm_page_prot)
        write = self.write
        if write and can_share_swap_page(k, page):
            pte = maybe_mkwrite(pte_mkdirty(pte), vma)
            write = False
        mm.pgtable[vpn] = pte
        page_add_anon_rmap(page, vma, self.addr)
        swap_free(k, self.entry)
        if vm_swap_full(k):
            remove_exclusive_swap_page(k, page)
        unlock_page(page)
        if write:
            return self.do_wp_page(k, mm, vma, pte)
        self._return(k)
        return None

    def swapin_recheck(self, k, page) -> bool:
        """After lock_page: has the page left the swap cache (migrated) meanwhile?  True if
        the fault gave it up (unlocked and released) and goes on elsewhere."""
        how = k.cfg.swapin_recheck
        if how == "none" or PageSwapCache(page):
            return False          # 2.6.18: Hugh Dickins' review removed the test (pte_same)
        unlock_page(page)
        page_cache_release(k, page)
        if how == "again":
            # 2.6.17: "page migration has occurred": look the saved entry up again.
            k.stat("swapin_again")
            self.pc = "swapin_again"
        else:
            # "redo": Lameter's "make do_swap_page redo the fault" (-mm, 2006): the access
            # faults again and reads the pte anew.
            self._return(k)
        return True

    @step(dead=("pfn",))
    def swapin_again(self, k):
        """2.6.17's `goto again`: the lookup once more, on the entry read before (the pte is
        not read again): a V1 migration entry's page is never in the swap cache, so a fault
        on one goes round this loop for as long as the entry's page lives."""
        mm = k.mms[self.mm]
        if is_migration_entry(self.entry, k.swp_types):
            return self.v1_lookup_swap_cache(k)
        return self.swapin_lookup(k, mm)
