"""Mutants for the interleaving explorer: the 2.6.18 design with one step removed.

Each mutant is a subclass of a kernel path that overrides one step method (or the era
table overrides one decision point: see explore_configs.json).  The kernel code itself is
untouched; the explorer runs a mutant class wherever the kernel would run the real one.
Subclasses add no slots, so the explorer can also swap the class of a path the kernel
created itself (do_move_pages creates its migrate_pages).
"""

from .fork import dup_mmap
from .memory import user_access
from .migrate import migrate_pages, move_to_lru, rmap_anchor
from .page import PageAnon, PageLocked, unlock_page
from .pgtable import PAGE_SHIFT, is_swap_pte
from .rmap import page_address_in_vma
from .sched import BLOCKED, spin_unlock
from .swap import page_cache_release
from .swapops import (BUG, is_migration_entry, migration_entry_to_page, pte_to_swp_entry,
                      swp_entry, swp_entry_to_pte, swp_offset)


def _entry_pfn(k, pte):
    """The pfn a migration-entry pte names, or None."""
    if is_swap_pte(pte) and is_migration_entry(pte_to_swp_entry(pte), k.swp_types):
        return swp_offset(pte_to_swp_entry(pte))
    return None


# -- migrate_pages mutants ---------------------------------------------------------------

class NoMigrationEntry(migrate_pages):
    """try_to_unmap clears the pte instead of leaving a migration entry."""
    __slots__ = ()

    def walk_vma(self, k, anchor=None):
        if self.walk == "remove":
            return super().walk_vma(k, anchor)
        old = k.pages[self.walk_old]
        vma = (anchor or rmap_anchor(k, old))[2][self.walk_i]
        addr = page_address_in_vma(k, old, vma)
        anon = PageAnon(old)
        r = super().walk_vma(k, anchor)
        if addr is not None:
            mm = vma.vm_mm
            vpn = addr >> PAGE_SHIFT
            if _entry_pfn(k, mm.pgtable.get(vpn, 0)) == old.pfn:
                del mm.pgtable[vpn]                     # MUTANT: pte_none, not an entry
                if anon:
                    mm.anon_rss -= 1
                else:
                    mm.file_rss -= 1
        return r


class IncompleteRemoveWalk(migrate_pages):
    """remove_migration_ptes stops before the last vma of the list."""
    __slots__ = ()

    def walk_vma(self, k, anchor=None):
        if self.walk == "remove":
            obj, attr, vmas = anchor or rmap_anchor(k, k.pages[self.walk_new])
            if len(vmas) > 1 and self.walk_i == len(vmas) - 1:
                self.walk_i += 1                        # MUTANT: the last vma is skipped
                spin_unlock(obj, attr, self.tid)
                return getattr(self, self.walk_then)(k)
        return super().walk_vma(k, anchor)


class NoRollback(migrate_pages):
    """On failure the page is unlocked without remove_migration_ptes(page, page)."""
    __slots__ = ()

    def after_unmap(self, k):
        if PageLocked(k.pages[self.cur]) and k.pages[self.cur]._mapcount >= 0:
            return self.unlock(k)                       # MUTANT: still mapped, no rollback
        return super().after_unmap(k)

    def move_to_new_page_done(self, k):
        if self.rc:
            unlock_page(k.pages[self.newpfn])
            return self.unlock(k)                       # MUTANT: no rollback walk
        return super().move_to_new_page_done(k)


class UnlockBeforeRemove(migrate_pages):
    """The old page is unlocked as soon as it has moved, before its entries are removed."""
    __slots__ = ()

    def move_to_new_page(self, k):
        r = super().move_to_new_page(k)
        if self.rc == 0 and self.walk == "remove":
            unlock_page(k.pages[self.cur])              # MUTANT: unlocked too early
        return r

    def unlock(self, k):
        page = k.pages[self.cur]
        if PageLocked(page):
            unlock_page(page)
        k.migrating.pop(page.pfn, None)
        if self.rc != -11:
            move_to_lru(k, page)
        return self.move_newpage(k)


class NoPageLock(migrate_pages):
    """try_to_unmap runs without the page lock."""
    __slots__ = ()

    def lock_page(self, k):
        page = k.pages[self.cur]
        self.begin_walk(k, "unmap", page, page, "after_unmap")   # MUTANT: no TestSetPageLocked
        return None


# -- fault mutants -----------------------------------------------------------------------

class NoWait(user_access):
    """migration_entry_wait returns at once instead of sleeping on the page lock."""
    __slots__ = ()

    def migration_entry_wait(self, k):
        page = k.pages.get(self.pfn)
        if page is None:
            raise BUG(f"migration_entry_wait: page {self.pfn} freed under a waiter")
        page_cache_release(k, page)                     # MUTANT: no wait_on_page_locked
        self._return(k)
        return None


class NoRefBeforeWait(user_access):
    """migration_entry_wait sleeps on the page without taking a reference first."""
    __slots__ = ()

    def held_refs(self) -> dict:
        if self.pc in ("do_swap_page_lock", "do_wp_page_copy"):
            return {self.pfn: 1}
        return {}                                       # the waiter holds nothing

    def migration_entry_wait_start(self, k, mm):
        pte = mm.pgtable.get(self.addr >> PAGE_SHIFT, 0)
        if _entry_pfn(k, pte) is None:
            return self._return(k)
        page = migration_entry_to_page(k.pages, pte_to_swp_entry(pte))
        self.pfn = page.pfn                             # MUTANT: no get_page(page)
        self.pc = "migration_entry_wait"

    def migration_entry_wait(self, k):
        page = k.pages.get(self.pfn)
        if page is None:
            raise BUG(f"migration_entry_wait: page {self.pfn} freed under a waiter")
        if PageLocked(page):
            return BLOCKED
        self._return(k)                                 # and no put_page either
        return None


# -- fork ----------------------------------------------------------------------------------

class ForkMakesWriteEntries(dup_mmap):
    """copy_one_pte as in the R/W patch before Hugh Dickins' fix: every migration entry in
    a COW mapping is rebuilt as make_migration_entry(page, SWP_MIGRATION_READ), and since
    the second argument is the boolean 'write', that is a WRITE entry, in parent and child."""
    __slots__ = ()

    def copy_page_range(self, k):
        from .mm import is_cow_mapping
        oldmm, mm = k.mms[self.oldmm], k.mms[self.mm]
        vma = oldmm.mmap[self.i]
        r = super().copy_page_range(k)
        if vma.anon_vma is not None and is_cow_mapping(vma.vm_flags):
            for vpn in vma.pages():
                pfn = _entry_pfn(k, oldmm.pgtable.get(vpn, 0))
                if pfn is not None:
                    write = swp_entry_to_pte(swp_entry(k.swp_types.migration_write, pfn))
                    oldmm.pgtable[vpn] = mm.pgtable[vpn] = write   # BUG: READ became WRITE
        return r


CLASSES = {c.__name__: c for c in (NoMigrationEntry, IncompleteRemoveWalk, NoRollback,
                                   UnlockBeforeRemove, NoPageLock, NoWait, NoRefBeforeWait,
                                   ForkMakesWriteEntries)}
