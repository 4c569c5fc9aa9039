"""Faults, fork's pte copy and munmap's pte zap: the core of mm/memory.c.

Models mm/memory.c of Linux 2.6.18: https://elixir.bootlin.com/linux/v2.6.18/source/mm/memory.c
(and the x86-64 do_page_fault of arch/x86_64/mm/fault.c).  A user access is a suspendable
path: it tries the access, takes a fault when the pte does not allow it, and retries; the
fault sleeps where the kernel sleeps (on a page lock, in migration_entry_wait).
"""

import errno

from .mm import (VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, find_vma, is_cow_mapping, rss_fix_3_3,
                 rss_on_migration)
from .page import (PG_uptodate, Page, PageAnon, PageLocked, PageSwapCache,
                   TestSetPageLocked, get_page, unlock_page)
from .mempolicy import alloc_page_vma
from .page_alloc import ZERO_PFN
from .pgtable import (PAGE_SHIFT, PAGE_SIZE, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT,
                      _PAGE_RW, _PAGE_USER, is_swap_pte, mk_pte, pte_dirty, pte_file,
                      pte_mkclean, pte_mkdirty, pte_mkold, pte_mkwrite, pte_mkyoung,
                      pte_none, pte_pfn, pte_present, pte_write, pte_wrprotect, pte_young)
from .rmap import (anon_vma_prepare, linear_page_index, page_add_anon_rmap, page_add_file_rmap,
                   page_add_new_anon_rmap, page_dup_rmap, page_remove_rmap)
from .sched import BLOCKED, KernelPath, StepFacts, down_read, run, step, up_read
from .shmem import shmem_nopage
from .swap import (lru_cache_add_active, mark_page_accessed, page_cache_release,
                   set_page_dirty)
from .swapfile import (can_share_swap_page, free_swap_and_cache, remove_exclusive_swap_page,
                       swap_duplicate, swap_free, vm_swap_full)
from .swapops import (BUG, is_migration_entry, is_write_migration_entry,
                      make_migration_entry_read, migration_entry_to_page, pte_to_swp_entry,
                      swp_entry_to_pte, swp_offset)
from .swap_state import lookup_swap_cache, read_swap_cache_async

VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_MINOR, VM_FAULT_MAJOR = 0, 1, 2, 3


def vm_normal_page(k, vma, addr: int, pte: int) -> Page:
    """The struct page behind a present pte (every pfn the model maps has one)."""
    page = k.pages.get(pte_pfn(pte))
    if page is None:
        raise BUG(f"pte at {addr:#x} in mm {vma.vm_mm.id} maps free pfn {pte_pfn(pte)}")
    return page


def maybe_mkwrite(pte: int, vma) -> int:
    """Writable if the vma allows writes."""
    return pte_mkwrite(pte) if vma.vm_flags & VM_WRITE else pte


# -- Faults -----------------------------------------------------------------------------

def do_anonymous_page(k, mm, vma, address: int, write: bool, node: int) -> int:
    """First touch of private anonymous memory: a zeroed page on write, ZERO_PAGE on read."""
    vpn = address >> PAGE_SHIFT
    if write:
        anon_vma_prepare(k, vma)
        page = alloc_page_vma(k, vma, address, node)   # alloc_zeroed_user_highpage
        page.flags |= 1 << PG_uptodate
        entry = maybe_mkwrite(pte_mkdirty(mk_pte(page, vma.vm_page_prot)), vma)
        if not pte_none(mm.pgtable.get(vpn, 0)):    # a sibling thread was faster
            page_cache_release(k, page)
            return VM_FAULT_MINOR
        mm.anon_rss += 1
        lru_cache_add_active(page)
        page_add_new_anon_rmap(page, vma, address)
    else:
        page = k.pages[ZERO_PFN]
        get_page(page)
        entry = mk_pte(page, vma.vm_page_prot)
        if not pte_none(mm.pgtable.get(vpn, 0)):
            page_cache_release(k, page)
            return VM_FAULT_MINOR
        mm.file_rss += 1
        page_add_file_rmap(page)
    mm.pgtable[vpn] = entry
    return VM_FAULT_MINOR


def do_no_page(k, mm, vma, address: int, write: bool, node: int) -> int:
    """First touch of a file mapping: find or create the page-cache page (shmem_nopage),
    then map it, or for a private write map a private copy at once (early COW break)."""
    vpn = address >> PAGE_SHIFT
    new_page = shmem_nopage(k, vma, address, node)
    if new_page is None:
        return VM_FAULT_SIGBUS
    anon = False
    if write and not vma.vm_flags & VM_SHARED:
        anon_vma_prepare(k, vma)
        page = alloc_page_vma(k, vma, address, node)
        page.data = new_page.data                  # copy_user_highpage
        page.flags |= 1 << PG_uptodate
        k.stat("page_copies")
        page_cache_release(k, new_page)
        new_page, anon = page, True
    if not pte_none(mm.pgtable.get(vpn, 0)):
        page_cache_release(k, new_page)
        return VM_FAULT_MINOR
    entry = mk_pte(new_page, vma.vm_page_prot)
    if write:
        entry = maybe_mkwrite(pte_mkdirty(entry), vma)
    mm.pgtable[vpn] = entry
    if anon:
        mm.anon_rss += 1
        lru_cache_add_active(new_page)
        page_add_new_anon_rmap(new_page, vma, address)
    else:
        mm.file_rss += 1
        page_add_file_rmap(new_page)
    return VM_FAULT_MINOR


class user_access(KernelPath):
    """A user load or store within one page, with every fault it takes.

    Steps: access -> do_page_fault -> (sleeps: migration_entry_wait, do_swap_page_lock,
    or the second half of do_wp_page) -> access again.  A fault holds mmap_sem for read
    from do_page_fault until it returns, sleeping included, as in the kernel.
    """

    __slots__ = ("mm", "addr", "write", "data", "length", "node", "faults",
                 "pfn", "orig_pte", "entry", "gup")
    first = "access"
    history = ("faults",)                    # how many faults it took: history, not state
    at_done = StepFacts(dead=("pfn", "orig_pte", "entry"))

    def __init__(self, tid, mm_id, addr, write, data=b"", length=0, node=0, gup=False):
        super().__init__(tid)
        self.mm, self.addr, self.write = mm_id, addr, write
        self.data, self.length, self.node = data, length, node
        self.faults = 0
        self.pfn = self.orig_pte = self.entry = 0
        # get_user_pages: the caller already holds mmap_sem (mlock holds it for write),
        # so the fault neither takes nor drops it.
        self.gup = gup

    def what(self) -> str:
        """This access in words (sched.describe: what a Livelock report names)."""
        return (f"the {'write' if self.write else 'read'} at {self.addr:#x} by pid {self.mm}, "
                f"which faulted {self.faults} times,")

    # -- the CPU ----------------------------------------------------------------------
    @step(dead=("pfn", "orig_pte", "entry"), effect="access")
    def access(self, k):
        """The MMU: do the access if the pte allows it (setting A/D bits), else fault."""
        mm = k.mms[self.mm]
        vpn = self.addr >> PAGE_SHIFT
        pte = mm.pgtable.get(vpn, 0)
        if pte & (_PAGE_PRESENT | _PAGE_USER) == (_PAGE_PRESENT | _PAGE_USER) and \
                (not self.write or pte & _PAGE_RW):
            page = k.pages.get(pte_pfn(pte))
            if page is None:
                raise BUG(f"access through a pte to freed pfn {pte_pfn(pte)}")
            off = self.addr & (PAGE_SIZE - 1)
            if self.write:
                mm.pgtable[vpn] = pte | _PAGE_ACCESSED | _PAGE_DIRTY
                page.data = page.data[:off] + self.data + page.data[off + len(self.data):]
                self.done(None)
            else:
                mm.pgtable[vpn] = pte | _PAGE_ACCESSED
                self.done(page.data[off:off + self.length])
            return None
        self.faults += 1
        self.pc = "do_page_fault"
        return None

    # -- the fault --------------------------------------------------------------------
    @step(sleeps_on="mmap_sem", dead=("pfn", "orig_pte", "entry"))
    def do_page_fault(self, k):
        """arch do_page_fault + handle_mm_fault: find the vma, check rights, handle the pte."""
        mm = k.mms[self.mm]
        if not self.gup and not down_read(mm.mmap_sem, self.tid):
            return BLOCKED
        k.stat("pgfault")
        vma = find_vma(mm, self.addr)
        if vma is None or vma.vm_start > self.addr:
            return self._bad_area(mm)
        if self.write and not vma.vm_flags & VM_WRITE:
            return self._bad_area(mm)
        if not self.write and not vma.vm_flags & (VM_READ | VM_EXEC):
            return self._bad_area(mm)
        self.handle_pte_fault(k, mm, vma)
        return None

    def _up_read(self, k):
        if not self.gup:
            up_read(k.mms[self.mm].mmap_sem, self.tid)

    def _bad_area(self, mm):
        if not self.gup:
            up_read(mm.mmap_sem, self.tid)
        self.fail("SIGSEGV")

    def _return(self, k):
        """Fault handled: drop mmap_sem and let the CPU retry the access."""
        self._up_read(k)
        self.pc = "access"

    def handle_pte_fault(self, k, mm, vma):
        """Dispatch on the pte: none, swap/migration entry, or present but not writable."""
        vpn = self.addr >> PAGE_SHIFT
        pte = mm.pgtable.get(vpn, 0)
        if not pte_present(pte):
            if pte_none(pte):
                if vma.vm_file is None:
                    do_anonymous_page(k, mm, vma, self.addr, self.write, self.node)
                else:
                    locked = self.find_locked_page(k, vma)
                    if locked is not None:
                        # shmem_getpage -> find_lock_page: pin it and sleep on its lock
                        get_page(locked)
                        self.pfn = locked.pfn
                        self.pc = "find_lock_page"
                        return None
                    if do_no_page(k, mm, vma, self.addr, self.write, self.node) == VM_FAULT_SIGBUS:
                        self._up_read(k)
                        return self.fail("SIGBUS")
                return self._return(k)
            if pte_file(pte):
                raise BUG("nonlinear file ptes are not modelled")
            return self.do_swap_page(k, mm, vma, pte)
        if self.write and not pte_write(pte):
            return self.do_wp_page(k, mm, vma, pte)
        # Spurious fault (another CPU fixed the pte): just mark it young (and dirty).
        mm.pgtable[vpn] = pte_mkyoung(pte_mkdirty(pte) if self.write else pte)
        return self._return(k)

    # -- file pages: find_lock_page ----------------------------------------------------
    def find_locked_page(self, k, vma):
        """The page-cache page for addr if it is there and locked by someone (else None)."""
        pfn = vma.vm_file.f_mapping.page_tree.get(linear_page_index(vma, self.addr))
        if pfn is None or not PageLocked(k.pages[pfn]):
            return None
        return k.pages[pfn]

    @step(sleeps_on="page_lock", page="pfn", doing="sleeps in find_lock_page on",
          holds=("pfn",))
    def find_lock_page(self, k):
        """Sleep until the page is unlocked; if it left the page cache meanwhile (migrated,
        truncated) drop it and look again, else use it (shmem_getpage unlocks it at once)."""
        page = k.pages.get(self.pfn)
        if page is None:
            raise BUG(f"find_lock_page: page {self.pfn} freed under a sleeper")
        if TestSetPageLocked(page):
            return BLOCKED
        unlock_page(page)
        page_cache_release(k, page)
        mm = k.mms[self.mm]
        vma = find_vma(mm, self.addr)
        self.handle_pte_fault(k, mm, vma)      # look the page up again
        return None

    # -- do_swap_page -------------------------------------------------------------------
    def do_swap_page(self, k, mm, vma, pte):
        """A non-present pte with a swap entry: a migration entry, or a page to swap in."""
        entry = pte_to_swp_entry(pte)
        self.orig_pte, self.entry = pte, entry
        if is_migration_entry(entry, k.swp_types):
            return self.fault_on_migration_entry(k, mm)
        page = lookup_swap_cache(k, entry)
        if page is None:
            page = read_swap_cache_async(k, entry, self.node)
            if page is None:
                # The slot was freed under us: back out if the pte changed, else OOM.
                if mm.pgtable.get(self.addr >> PAGE_SHIFT, 0) == pte:
                    self._up_read(k)
                    return self.fail("OOM")
                return self._return(k)
            k.stat("pgmajfault")
        mark_page_accessed(page)
        self.pfn = page.pfn
        self.pc = "do_swap_page_lock"

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
            # changed by the time it gets the lock, backs out and retries.
            page = k.pages.get(swp_offset(self.entry))
            if page is None:                     # only V1 as posted leaves such an entry
                raise BUG(f"lookup_swap_cache: migration entry names free pfn "
                          f"{swp_offset(self.entry)}: a use after free")
            get_page(page)
            self.pfn = page.pfn
            self.pc = "do_swap_page_lock"
            return None
        raise BUG(f"era {k.cfg.name} has no migration entries")

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

    # -- do_wp_page ---------------------------------------------------------------------
    def do_wp_page(self, k, mm, vma, pte):
        """Write to a read-only present pte: reuse the page if we are its only user, else
        take a reference and go copy it (the copy happens with the pte lock dropped)."""
        old = vm_normal_page(k, vma, self.addr, pte)
        if vma.vm_flags & (VM_SHARED | VM_WRITE) == VM_SHARED | VM_WRITE:
            reuse = True                                 # shared writable: no copy, ever
        elif PageAnon(old) and not TestSetPageLocked(old):
            reuse = can_share_swap_page(k, old)
            unlock_page(old)
        else:
            reuse = False
        if reuse:
            mm.pgtable[self.addr >> PAGE_SHIFT] = maybe_mkwrite(pte_mkdirty(pte_mkyoung(pte)), vma)
            k.stat("cow_reuse")
            return self._return(k)
        get_page(old)
        self.pfn, self.orig_pte = old.pfn, pte
        self.pc = "do_wp_page_copy"

    @step(page="pfn", doing="copies (COW) from", holds=("pfn",), dead=("entry",))
    def do_wp_page_copy(self, k):
        """Copy the old page into a new one and, if the pte did not change meanwhile, map it."""
        mm = k.mms[self.mm]
        vma = find_vma(mm, self.addr)
        old = k.pages[self.pfn]
        anon_vma_prepare(k, vma)
        new = alloc_page_vma(k, vma, self.addr, self.node)
        new.data = old.data                              # cow_user_page (or a zeroed page)
        new.flags |= 1 << PG_uptodate
        k.stat("cow_copy")
        vpn = self.addr >> PAGE_SHIFT
        if mm.pgtable.get(vpn, 0) == self.orig_pte:
            page_remove_rmap(old)
            if not PageAnon(old):
                mm.file_rss -= 1
                mm.anon_rss += 1
            mm.pgtable[vpn] = maybe_mkwrite(pte_mkdirty(mk_pte(new, vma.vm_page_prot)), vma)
            lru_cache_add_active(new)
            page_add_new_anon_rmap(new, vma, self.addr)
            page_cache_release(k, old)                   # the reference the old pte held
        else:
            page_cache_release(k, new)
        page_cache_release(k, old)                       # our own reference
        self._return(k)
        return None


# -- fork: copying ptes ---------------------------------------------------------------------

def copy_one_pte(k, dst_mm, src_mm, vma, addr: int, rss: dict) -> None:
    """Copy one pte into the child: swap and migration entries as they are (a WRITE
    migration entry in a COW mapping becomes READ in both), present ptes write-protected
    in both if the mapping is COW, and one more reference and mapping for the page
    (rss[0] counts the file pages copied, rss[1] the anonymous ones)."""
    vpn = addr >> PAGE_SHIFT
    pte = src_mm.pgtable[vpn]
    vm_flags = vma.vm_flags
    if not pte_present(pte):
        if not pte_file(pte):            # pragma: no branch -- the model makes no nonlinear ptes
            entry = pte_to_swp_entry(pte)
            swap_duplicate(k, entry)
            dst_mm.on_mmlist = True
            # 0697212a "add R/W migration entries": a WRITE entry in a COW mapping must not
            # let parent and child share a writable page after migration: both become READ.
            if k.cfg.fork_downgrades_write_entry and is_write_migration_entry(entry, k.swp_types) \
                    and is_cow_mapping(vm_flags):
                pte = swp_entry_to_pte(make_migration_entry_read(entry, k.swp_types))
                src_mm.pgtable[vpn] = pte
        dst_mm.pgtable[vpn] = pte
        return
    if is_cow_mapping(vm_flags):
        pte = pte_wrprotect(pte)
        src_mm.pgtable[vpn] = pte
    if vm_flags & VM_SHARED:
        pte = pte_mkclean(pte)
    pte = pte_mkold(pte)
    page = vm_normal_page(k, vma, addr, pte)
    get_page(page)
    page_dup_rmap(page)
    rss[1 if PageAnon(page) else 0] += 1
    dst_mm.pgtable[vpn] = pte


def migration_entry_rss(k, dst_mm, entry: int, rss: dict) -> None:
    """The child got a migration entry: does its rss count the entry's page?  2.6.18 does
    not (the model records the drift); 3.3's "mm: fix rss count leakage during migration"
    does, inside copy_one_pte; V2 had the page out of anon_rss while its entry was in place.
    The model asks here, once per entry copied, so that copy_one_pte stays as 2.6.18 wrote it."""
    i = 1 if k.entry_page_anon(swp_offset(entry)) else 0
    if rss_on_migration(k, bool(i)):
        pass                         # V2: the entry is out of anon_rss until its restore
    elif rss_fix_3_3(k):
        rss[i] += 1
    else:
        dst_mm.rss_drift[i] -= 1


def copy_page_range(k, dst_mm, src_mm, vma) -> None:
    """Copy every non-empty pte of vma from the parent to the child (copy_pte_range)."""
    rss = {0: 0, 1: 0}                             # [file, anon], as the kernel's rss[]
    src, dst = src_mm.pgtable, dst_mm.pgtable
    for vpn in range(vma.vm_start >> PAGE_SHIFT, vma.vm_end >> PAGE_SHIFT):
        if vpn in src:
            copy_one_pte(k, dst_mm, src_mm, vma, vpn << PAGE_SHIFT, rss)
            pte = dst.get(vpn, 0)
            if is_swap_pte(pte) and is_migration_entry(pte_to_swp_entry(pte), k.swp_types):
                k.stat("fork_copied_migration_entry")
                migration_entry_rss(k, dst_mm, pte_to_swp_entry(pte), rss)
    dst_mm.file_rss += rss[0]
    dst_mm.anon_rss += rss[1]


# -- munmap and exit: zapping ptes ------------------------------------------------------

def free_page_and_swap_cache(k, page: Page) -> None:
    """tlb_remove_page(): drop the swap-cache copy if we were its last user, then put."""
    if PageSwapCache(page) and not TestSetPageLocked(page):
        remove_exclusive_swap_page(k, page)
        unlock_page(page)
    page_cache_release(k, page)


def zap_pte_range(k, mm, vma, start: int, end: int) -> None:
    """Clear every pte in [start, end): present pages lose a mapping and a reference;
    swap entries lose a slot count; migration entries simply vanish."""
    for vpn in range(start >> PAGE_SHIFT, end >> PAGE_SHIFT):
        pte = mm.pgtable.get(vpn, 0)
        if pte_none(pte):
            continue
        del mm.pgtable[vpn]
        k.stat("pte_writes")
        if pte_present(pte):
            page = vm_normal_page(k, vma, vpn << PAGE_SHIFT, pte)
            if PageAnon(page):
                mm.anon_rss -= 1
            else:
                if pte_dirty(pte):
                    set_page_dirty(page)
                if pte_young(pte):
                    mark_page_accessed(page)
                mm.file_rss -= 1
            page_remove_rmap(page)
            free_page_and_swap_cache(k, page)
            continue
        entry = pte_to_swp_entry(pte)
        # 3.3 "mm: fix rss count leakage during migration": 2.6.18 forgot the entry's page.
        if is_migration_entry(entry, k.swp_types):
            i = 1 if k.entry_page_anon(swp_offset(entry)) else 0
            if rss_on_migration(k, bool(i)):
                pass                 # V2 took it out of anon_rss when it wrote the entry
            elif rss_fix_3_3(k):
                if i:
                    mm.anon_rss -= 1
                else:
                    mm.file_rss -= 1
            else:
                mm.rss_drift[i] += 1
        free_swap_and_cache(k, entry)


def unmap_vmas(k, mm, vmas, start: int, end: int) -> None:
    """zap_pte_range over the part of each vma inside [start, end)."""
    for vma in vmas:
        s, e = max(start, vma.vm_start), min(end, vma.vm_end)
        if s < e:
            zap_pte_range(k, mm, vma, s, e)


# -- make_pages_present: get_user_pages for mlock -----------------------------------------

def make_pages_present(k, mm, start: int, end: int) -> None:
    """Fault every page of [start, end) in, for write if the vma is writable."""
    for addr in range(start, end, PAGE_SIZE):
        vma = find_vma(mm, addr)
        write = bool(vma.vm_flags & VM_WRITE)
        # get_user_pages under the caller's mmap_sem: an empty access that faults as needed.
        path = user_access(-1, mm.id, addr, write, b"", 0, k.mm_node(mm), gup=True)
        run(k, path)
        if path.error is not None:                 # get_user_pages: -EFAULT (VM_LOCKED stays)
            raise OSError(errno.EFAULT, f"mlock: cannot fault in {addr:#x} ({path.error})")
