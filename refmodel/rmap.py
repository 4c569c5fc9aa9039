"""Reverse mapping: from a page to every pte that maps it (anon_vma and i_mmap walks).

Models mm/rmap.c of Linux 2.6.18: https://elixir.bootlin.com/linux/v2.6.18/source/mm/rmap.c
Anonymous pages point (page->mapping | PAGE_MAPPING_ANON) at an anon_vma, whose list holds
every vma that may map them; file pages point at an address_space, whose i_mmap holds the
vmas mapping the file.  try_to_unmap() here is reclaim's; migration's variant is migrate.py's.
"""

from .mm import VM_LOCKED, VM_NONLINEAR, anon_vma, rss_on_migration
from .page import (PAGE_MAPPING_ANON, Page, PageAnon, PageSwapCache, page_mapcount,
                   page_mapped)
from .pgtable import (PAGE_SHIFT, PAGE_SIZE, pgoff_to_pte, pte_dirty, pte_pfn, pte_present,
                      pte_write, pte_young, pte_mkold)
from .swap import page_cache_release, set_page_dirty
from .swapfile import swap_duplicate
from .swapops import BUG, make_migration_entry, swp_entry_to_pte

SWAP_SUCCESS, SWAP_AGAIN, SWAP_FAIL = 0, 1, 2


# -- anon_vma lifetime ---------------------------------------------------------------

def anon_vma_alloc(k) -> anon_vma:
    """A new, empty anon_vma."""
    av = anon_vma(k.new_id())
    k.anon_vmas[av.id] = av
    return av


def anon_vma_free(k, av: anon_vma) -> None:
    """Free an anon_vma whose list became empty; later use of it is a use-after-free."""
    av.freed = True
    del k.anon_vmas[av.id]
    k.freed_anon_vmas[av.id] = av


def anon_vma_prepare(k, vma) -> None:
    """Give vma an anon_vma before its first anonymous page (the new vma joins at the tail)."""
    if vma.anon_vma is None:
        av = anon_vma_alloc(k)
        vma.anon_vma = av
        av.head.append(vma)


def __anon_vma_link(k, vma) -> None:
    """Add vma to its anon_vma's list; the caller holds the lock (or needs none: new mm)."""
    av = vma.anon_vma
    if av is None:
        return
    if av.freed:
        raise BUG(f"anon_vma {av.id} used after free")
    # Hugh Dickins, 2006-05-24 "fix swapops.h:97 BUG": children go at the TAIL so that an
    # rmap walk that started before fork() still visits them after their parent.
    if k.cfg.anon_vma_insert == "tail":
        av.head.append(vma)
    else:                                  # the -mm code before the fix: list_add at the head
        av.head.insert(0, vma)


def anon_vma_link(k, vma) -> None:
    """__anon_vma_link under the anon_vma lock (fork, split_vma)."""
    __anon_vma_link(k, vma)


def anon_vma_unlink(k, vma) -> None:
    """Remove vma from its anon_vma; free the anon_vma when its list becomes empty."""
    av = vma.anon_vma
    if av is None:
        return
    av.head.remove(vma)
    if not av.head:
        anon_vma_free(k, av)


def page_anon_vma(k, page: Page):
    """The anon_vma an anonymous page points at (None if freed: the caller checks)."""
    return k.anon_vmas.get(page.mapping >> 1)


def page_address_space(k, page: Page):
    """The address_space a file (or swap-cache) page belongs to."""
    return k.mappings.get(page.mapping >> 1) if page.mapping else None


# -- Adding and removing one mapping --------------------------------------------------

def linear_page_index(vma, address: int) -> int:
    """The page's index in its object (file offset in pages, or vpn for anon)."""
    return ((address - vma.vm_start) >> PAGE_SHIFT) + vma.vm_pgoff


def __page_set_anon_rmap(page: Page, vma, address: int) -> None:
    """Point a newly mapped anonymous page at vma's anon_vma and set its index."""
    if vma.anon_vma is None:
        raise BUG("__page_set_anon_rmap: vma has no anon_vma")
    page.mapping = (vma.anon_vma.id << 1) | PAGE_MAPPING_ANON
    page.index = linear_page_index(vma, address)


def page_add_anon_rmap(page: Page, vma, address: int) -> None:
    """One more pte maps this anonymous page (caller holds the pte lock)."""
    page._mapcount += 1
    if page._mapcount == 0:
        __page_set_anon_rmap(page, vma, address)


def page_add_new_anon_rmap(page: Page, vma, address: int) -> None:
    """First mapping of a brand-new anonymous page."""
    page._mapcount = 0
    __page_set_anon_rmap(page, vma, address)


def page_add_file_rmap(page: Page) -> None:
    """One more pte maps this file page (or the ZERO_PAGE)."""
    page._mapcount += 1


def page_dup_rmap(page: Page) -> None:
    """fork() copied a pte: one more mapping, nothing else changes."""
    page._mapcount += 1


def page_remove_rmap(page: Page) -> None:
    """One pte fewer maps the page; BUG if the map count goes negative."""
    page._mapcount -= 1
    if page._mapcount < -1:
        raise BUG(f"page_remove_rmap: mapcount of page {page.pfn} went negative")


# -- Finding the pte for a page in a vma ----------------------------------------------

def vma_address(page: Page, vma) -> int | None:
    """Where page would be mapped in vma, or None (-EFAULT) if vma does not cover it."""
    address = vma.vm_start + ((page.index - vma.vm_pgoff) << PAGE_SHIFT)
    if address < vma.vm_start or address >= vma.vm_end:
        return None
    return address


def page_address_in_vma(k, page: Page, vma) -> int | None:
    """vma_address(), after checking that vma belongs to the page's anon_vma or file."""
    if PageAnon(page):
        if vma.anon_vma is None or (vma.anon_vma.id << 1 | PAGE_MAPPING_ANON) != page.mapping:
            return None
    elif vma.vm_file is None or (vma.vm_file.f_mapping.id << 1) != page.mapping or \
            vma.vm_flags & VM_NONLINEAR:             # a nonlinear vma has no such address
        return None
    return vma_address(page, vma)


def page_check_address(page: Page, mm, address: int) -> int | None:
    """The pte at address if it is present and maps page; else None."""
    pte = mm.pgtable.get(address >> PAGE_SHIFT, 0)
    if pte_present(pte) and pte_pfn(pte) == page.pfn:
        return pte
    return None


def rmap_vmas(k, page: Page) -> list:
    """The vmas an rmap walk visits for this page, in walk order (anon list or i_mmap).

    For an anonymous page this is anon_vma->head; the caller must check for a freed anon_vma.
    """
    if PageAnon(page):
        av = page_anon_vma(k, page)
        return list(av.head) if av is not None else []
    mapping = page_address_space(k, page)
    return list(mapping.i_mmap) if mapping is not None else []


def is_nonlinear(vma) -> bool:
    """A vma remap_file_pages made nonlinear: on i_mmap_nonlinear, which the model keeps
    as the tail of i_mmap (every linear vma comes first, as the prio tree's walk does)."""
    return bool(vma.vm_flags & VM_NONLINEAR)


def page_referenced(k, page: Page) -> int:
    """Count and clear the young bits of the ptes mapping page (a VM_LOCKED vma counts too)."""
    referenced = 0
    if not page_mapped(page):
        return 0
    for vma in rmap_vmas(k, page):
        address = None if is_nonlinear(vma) else vma_address(page, vma)   # prio tree only
        if address is None or page_check_address(page, vma.vm_mm, address) is None:
            continue
        mm = vma.vm_mm
        pte = mm.pgtable[address >> PAGE_SHIFT]
        if vma.vm_flags & VM_LOCKED:
            referenced += 1
        if pte_young(pte):
            mm.pgtable[address >> PAGE_SHIFT] = pte_mkold(pte)
            referenced += 1
    return referenced


# -- Unmapping for reclaim ------------------------------------------------------------

def file_pages_keep_entries(k) -> bool:
    """Does migration replace a file page's ptes by migration entries (04e62a29 "use
    migration entries for file pages"), rather than dropping them for the page to be
    faulted in again, as V1 and V2 did (era decision file_pages)?"""
    return k.cfg.file_pages == "entries"


def try_to_unmap_one(k, page: Page, vma, migration: bool) -> int:
    """Replace the pte mapping page in vma: by a swap pte (swap-cache anon), a migration
    entry (migration), or nothing (file pages under reclaim)."""
    mm = vma.vm_mm
    address = vma_address(page, vma)
    if address is None:
        return SWAP_AGAIN
    pteval = page_check_address(page, mm, address)
    if pteval is None:
        return SWAP_AGAIN
    vpn = address >> PAGE_SHIFT
    # Reclaim leaves mlocked and recently referenced pages alone; migration ignores the
    # young bit, and since "allow migration of mlocked pages" (2.6.18) VM_LOCKED too.
    if vma.vm_flags & VM_LOCKED and not (migration and k.cfg.migrate_mlocked):
        return SWAP_FAIL
    if not migration and pte_young(pteval):
        mm.pgtable[vpn] = pte_mkold(pteval)            # ptep_clear_flush_young
        return SWAP_FAIL
    del mm.pgtable[vpn]                                # ptep_clear_flush
    k.stat("pte_writes")
    if pte_dirty(pteval):
        set_page_dirty(page)
    mm.hiwater_rss = max(mm.hiwater_rss, mm.file_rss + mm.anon_rss)
    if PageAnon(page):
        if PageSwapCache(page):
            entry = page.private                   # the swap slot it is cached for
            swap_duplicate(k, entry)
            mm.on_mmlist = True
            mm.anon_rss -= 1
        else:
            # patch 3/6: under migration, an anonymous page outside the swap cache gets a
            # migration entry holding its pfn (V2 counted it out of anon_rss; 2.6.18 leaves
            # rss alone).  Before it, every anonymous page here had to be in the swap cache.
            if not migration or not k.cfg.unmap_makes_migration_entries:
                raise BUG(f"try_to_unmap_one: anonymous page {page.pfn} is not in the swap cache"
                          + ("" if migration else " (reclaim)"))
            entry = make_migration_entry(page, pte_write(pteval), k.swp_types)
            k.stat("migration_entries_set")
            if rss_on_migration(k, True):
                mm.anon_rss -= 1
        mm.pgtable[vpn] = swp_entry_to_pte(entry)
        if not PageSwapCache(page):
            k.trace_event("set_migration_pte", mm.id, address, mm.pgtable[vpn])
    elif migration and file_pages_keep_entries(k):
        # 04e62a29 "use migration entries for file pages": linear file mappings keep an
        # entry too, instead of losing the pte (V1 dropped it and the page re-faulted).
        entry = make_migration_entry(page, pte_write(pteval), k.swp_types)
        mm.pgtable[vpn] = swp_entry_to_pte(entry)
        k.trace_event("set_migration_pte", mm.id, address, mm.pgtable[vpn])
        k.stat("migration_entries_set")
    else:
        mm.file_rss -= 1
    page_remove_rmap(page)
    page_cache_release(k, page)
    return SWAP_AGAIN


def try_to_unmap(k, page: Page, migration: bool = False) -> int:
    """Unmap page from every pte: SWAP_SUCCESS if none is left, SWAP_AGAIN or SWAP_FAIL."""
    if not page.locked:                               # BUG_ON(!PageLocked(page))
        raise BUG(f"try_to_unmap: page {page.pfn} is not locked")
    k.stat("rmap_walks")
    ret = SWAP_AGAIN
    if PageAnon(page):
        av = page_anon_vma(k, page)
        if av is None and page_mapped(page):
            raise BUG(f"try_to_unmap: anon_vma of mapped page {page.pfn} was freed")
    vmas = rmap_vmas(k, page)
    for i, vma in enumerate(vmas):
        if is_nonlinear(vma):
            ret = try_to_unmap_nonlinear(k, page, vmas[i:], migration)
            break
        ret = try_to_unmap_one(k, page, vma, migration)
        if ret == SWAP_FAIL or not page_mapped(page):
            break
    if not page_mapped(page):
        ret = SWAP_SUCCESS
    return ret


# -- nonlinear vmas: try_to_unmap_file's second half ----------------------------------------

CLUSTER_SIZE = 32 * PAGE_SIZE                     # min(32 pages, PMD_SIZE)
CLUSTER_MASK = ~(CLUSTER_SIZE - 1)


def try_to_unmap_cluster(k, cursor: int, mapcount: list, vma) -> None:
    """Unmap every present, not recently used pte in one CLUSTER_SIZE window of a nonlinear
    vma, whatever page it maps (the rmap cannot find a page in such a vma: this ages them).
    A pte not at its page's linear place keeps the file offset (a file pte); no migration
    entry is ever made here, even for migration (2.6.18's "file pages" patch is for linear
    vmas only).  mapcount[0] counts down once per pte cleared."""
    mm = vma.vm_mm
    address = max((vma.vm_start + cursor) & CLUSTER_MASK, vma.vm_start)
    end = min(address + CLUSTER_SIZE, vma.vm_end)
    mm.hiwater_rss = max(mm.hiwater_rss, mm.file_rss + mm.anon_rss)
    for addr in range(address, end, PAGE_SIZE):
        vpn = addr >> PAGE_SHIFT
        pte = mm.pgtable.get(vpn, 0)
        if not pte_present(pte):
            continue
        page = k.pages.get(pte_pfn(pte))
        if page is None or PageAnon(page):
            raise BUG(f"try_to_unmap_cluster: pte at {addr:#x} maps no file page")
        if pte_young(pte):                        # ptep_clear_flush_young: skip it this time
            mm.pgtable[vpn] = pte_mkold(pte)
            continue
        del mm.pgtable[vpn]                       # ptep_clear_flush
        k.stat("pte_writes")
        if page.index != linear_page_index(vma, addr):
            mm.pgtable[vpn] = pgoff_to_pte(page.index)
        if pte_dirty(pte):
            set_page_dirty(page)
        page_remove_rmap(page)
        page_cache_release(k, page)
        mm.file_rss -= 1
        mapcount[0] -= 1


def try_to_unmap_nonlinear(k, page: Page, vmas: list, migration: bool) -> int:
    """The nonlinear vmas of page's file (the tail of i_mmap): scan them cluster by cluster,
    from each vma's cursor (vm_private_data), until as many ptes went as page had mappings
    or every vma is scanned; VM_LOCKED vmas are skipped unless for migration.  SWAP_FAIL if
    every nonlinear vma is locked."""
    usable = [v for v in vmas if not (v.vm_flags & VM_LOCKED and not migration)]
    max_nl_cursor = max((v.vm_private_data for v in usable), default=0)
    max_nl_size = max((v.vm_end - v.vm_start for v in usable), default=0)
    if max_nl_size == 0:
        return SWAP_FAIL
    mapcount = [page_mapcount(page)]
    if not mapcount[0]:
        return SWAP_AGAIN
    max_nl_size = (max_nl_size + CLUSTER_SIZE - 1) & CLUSTER_MASK
    max_nl_cursor = max_nl_cursor or CLUSTER_SIZE
    while max_nl_cursor <= max_nl_size:
        for vma in usable:
            cursor = vma.vm_private_data
            while cursor < max_nl_cursor and cursor < vma.vm_end - vma.vm_start:
                try_to_unmap_cluster(k, cursor, mapcount, vma)
                cursor += CLUSTER_SIZE
                vma.vm_private_data = cursor
                if mapcount[0] <= 0:
                    return SWAP_AGAIN
            vma.vm_private_data = max_nl_cursor
        max_nl_cursor += CLUSTER_SIZE
    for vma in vmas:                              # don't loop forever: start again next time
        vma.vm_private_data = 0
    return SWAP_AGAIN
