"""Invariants of the memory manager, checked over the whole machine.

Each check names what it verifies in plain words; a failure raises InvariantError whose
message lists every violation and a text picture of the processes involved.
Transient references held by kernel paths in flight (a waiter's get_page, an isolation
reference) are passed in as extra_refs by callers that interleave paths.
"""

from collections import Counter

from .page import PAGE_MAPPING_ANON, PageAnon, PageLocked, PageSwapCache, page_count, page_mapcount
from .mm import VM_NONLINEAR, rss_on_migration
from .migrate import v1_as_posted
from .page_alloc import ZERO_PFN
from .pgtable import PAGE_SHIFT, PAGE_SIZE, is_swap_pte, pte_pfn, pte_present
from .render.state import machine_text
from .rmap import vma_address
from .swapops import is_migration_entry, pte_to_swp_entry, swp_offset, swp_type


class InvariantError(AssertionError):
    """The model reached a state that breaks one of its invariants."""

    def __init__(self, problems, picture: str = ""):
        self.problems = list(problems)
        super().__init__("\n".join(["invariants violated:"] + [f"  - {p}" for p in self.problems]
                                   + ([picture] if picture else [])))


def kernel_problems(k, extra_refs: Counter | None = None) -> list:
    """Every invariant violation in the kernel state (an empty list if all is well)."""
    problems = []
    extra_refs = extra_refs or Counter()
    ptes_of = Counter()                   # pfn -> present ptes mapping it
    entries_of = Counter()                # pfn -> migration entries naming it
    swap_users = Counter()                # (type, offset) -> swap ptes
    live_vmas = set()
    for mm in k.mms.values():
        anon = file = 0
        for vma in mm.mmap:
            live_vmas.add(vma.id)
            av = vma.anon_vma
            if av is not None:
                if av.freed:
                    problems.append(f"{vma!r} points at freed anon_vma {av.id}")
                elif sum(1 for v in av.head if v is vma) != 1:
                    problems.append(f"{vma!r} is not exactly once on its anon_vma's list")
            if vma.vm_file is not None and vma not in vma.vm_file.f_mapping.i_mmap:
                problems.append(f"{vma!r} is missing from its file's i_mmap")
        for vpn, pte in mm.pgtable.items():
            addr = vpn << PAGE_SHIFT
            vma = next((v for v in mm.mmap if v.vm_start <= addr < v.vm_end), None)
            if vma is None:
                problems.append(f"mm {mm.id}: pte at {addr:#x} outside every vma")
                continue
            if pte_present(pte):
                pfn = pte_pfn(pte)
                page = k.pages.get(pfn)
                if page is None:
                    problems.append(f"mm {mm.id}: pte at {addr:#x} maps free pfn {pfn}")
                    continue
                ptes_of[pfn] += 1
                if PageAnon(page):
                    anon += 1
                else:
                    file += 1
                if pfn != ZERO_PFN and vma.vm_flags & VM_NONLINEAR:
                    pass                     # no rmap finds it: try_to_unmap_cluster scans
                elif pfn != ZERO_PFN and vma_address(page, vma) != addr:
                    problems.append(f"mm {mm.id}: rmap cannot find the pte at {addr:#x} "
                                    f"(page {pfn} index {page.index})")
                elif pfn != ZERO_PFN and PageAnon(page):
                    if vma.anon_vma is None or (vma.anon_vma.id << 1 | PAGE_MAPPING_ANON) != page.mapping:
                        problems.append(f"mm {mm.id}: anon page {pfn} at {addr:#x} is not in "
                                        f"the vma's anon_vma")
                elif pfn != ZERO_PFN:
                    if vma.vm_file is None or vma.vm_file.f_mapping.id << 1 != page.mapping:
                        problems.append(f"mm {mm.id}: file page {pfn} at {addr:#x} belongs "
                                        f"to another file")
            elif is_swap_pte(pte):
                entry = pte_to_swp_entry(pte)
                if is_migration_entry(entry, k.swp_types):
                    pfn = swp_offset(entry)
                    entries_of[pfn] += 1
                    page = k.pages.get(pfn)
                    if page is None:
                        problems.append(f"mm {mm.id}: migration entry at {addr:#x} names free pfn {pfn}")
                    elif not PageLocked(page):
                        problems.append(f"mm {mm.id}: migration entry at {addr:#x} for page "
                                        f"{pfn}, which is not locked")
                    elif rss_on_migration(k, k.entry_page_anon(pfn)):
                        pass                 # V2 took the entry out of anon_rss
                    elif k.entry_page_anon(pfn):
                        anon += 1            # 2.6.18: migration leaves rss alone
                    else:
                        file += 1
                else:
                    swap_users[(swp_type(entry), swp_offset(entry))] += 1
        if (mm.anon_rss, mm.file_rss) != (anon + mm.rss_drift[1], file + mm.rss_drift[0]):
            problems.append(f"mm {mm.id}: rss anon={mm.anon_rss} file={mm.file_rss} but the "
                            f"ptes say anon={anon} file={file}"
                            + (f" (known 2.6.18 drift {mm.rss_drift})" if any(mm.rss_drift) else ""))
    cache_refs = Counter()
    for mapping in k.mappings.values():
        for index, pfn in mapping.page_tree.items():
            page = k.pages.get(pfn)
            if page is None:
                problems.append(f"{mapping!r}: slot {index:#x} holds free pfn {pfn}")
                continue
            cache_refs[pfn] += 1
            if mapping.id == 0:
                if not PageSwapCache(page) or page.private != index:
                    problems.append(f"swap cache slot {index:#x}: page {pfn} does not know it")
                else:
                    swap_users[(swp_type(index), swp_offset(index))] += 1
            elif page.mapping != mapping.id << 1 or page.index != index:
                problems.append(f"{mapping!r}: page {pfn} has mapping/index "
                                f"{page.mapping}/{page.index}, expected {mapping.id << 1}/{index}")
        for v in mapping.i_mmap:
            if v.id not in live_vmas:
                problems.append(f"{mapping!r}: i_mmap holds dead {v!r}")
    for av in k.anon_vmas.values():
        for v in av.head:
            if v.id not in live_vmas:
                problems.append(f"anon_vma {av.id} lists dead {v!r}")
    for pfn, page in k.pages.items():
        if pfn == ZERO_PFN:
            continue
        if page_mapcount(page) != ptes_of[pfn]:
            problems.append(f"page {pfn}: mapcount {page_mapcount(page)} but {ptes_of[pfn]} ptes map it"
                            + (" (V1 6/6 restored a present pte)" if v1_as_posted(k) and
                               page_mapcount(page) > ptes_of[pfn] else ""))
        expected = ptes_of[pfn] + cache_refs[pfn] + extra_refs[pfn]
        if page_count(page) != expected:
            problems.append(f"page {pfn}: count {page_count(page)} but {ptes_of[pfn]} ptes + "
                            f"{cache_refs[pfn]} cache + {extra_refs[pfn]} in-flight refs = {expected}")
        if PageSwapCache(page) and k.swapper_space.page_tree.get(page.private) != pfn:
            problems.append(f"page {pfn}: PG_swapcache but not in the swap cache")
        if PageAnon(page) and page_mapcount(page) and (page.mapping >> 1) not in k.anon_vmas:
            problems.append(f"page {pfn}: mapped anonymous page with a freed anon_vma")
    zero = k.pages[ZERO_PFN]
    if page_mapcount(zero) != ptes_of[ZERO_PFN] or page_count(zero) != 1 + ptes_of[ZERO_PFN] + extra_refs[ZERO_PFN]:
        problems.append(f"ZERO_PAGE: count {page_count(zero)} mapcount {page_mapcount(zero)} "
                        f"but {ptes_of[ZERO_PFN]} ptes map it")
    for si in k.swap_info:
        for offset, count in si.swap_map.items():
            if offset == 0:
                continue
            if count != swap_users[(si.type, offset)]:
                problems.append(f"swap {si.type}:{offset}: swap_map {count} but "
                                f"{swap_users[(si.type, offset)]} ptes + cache use it")
        for (t, off), n in swap_users.items():
            if t == si.type and off not in si.swap_map:
                problems.append(f"swap {t}:{off}: used by {n} but free in swap_map")
    for node in k.nodes:
        for pfn in node.free:
            if pfn in k.pages:
                problems.append(f"pfn {pfn} is both free and in use")
    return problems


def contents_problems(machine) -> list:
    """Does every process read back what it last wrote (shared writes shared, COW private)?"""
    problems = []
    for pid, proc in machine.processes.items():
        if not proc.alive:
            continue
        for vpn, expected in machine.shadow_pages(proc):
            actual = machine.peek(proc, vpn << PAGE_SHIFT)
            if actual is not None and actual != expected:
                first = next(i for i in range(PAGE_SIZE) if actual[i] != expected[i])
                problems.append(f"process {pid}: page at {vpn << PAGE_SHIFT:#x} holds "
                                f"{actual[first:first + 8]!r}... at +{first}, expected "
                                f"{expected[first:first + 8]!r}")
    return problems


def check_machine(machine, paths=(), pins=None) -> None:
    """Raise InvariantError if the kernel state or any process's memory contents are wrong.

    paths are kernel paths still in flight (see Machine.step): their page references count.
    """
    extra = Counter(pins or {})
    for path in paths:
        if not path.finished:
            extra.update(path.held_refs())
    problems = kernel_problems(machine.k, extra) + contents_problems(machine)
    if problems:
        raise InvariantError(problems, machine_text(machine))
