"""Wrong answers that learners really write, per exercise: each must lose points on the
public cases (tests/grading/test_exercises.py).  Each entry: name -> (student cells, what
is wrong).  Built from the right answers in submissions.py by one realistic change."""

import submissions as S

R1a, R1b = S.EX1_RIGHT
R2, R3, R4 = S.EX2_RIGHT[0], S.EX3_RIGHT[0], S.EX4_RIGHT[0]


def _sub(src, old, new):
    assert old in src, old
    return src.replace(old, new)


EX1 = {
    "no-offset-mask": (S.EX1_NO_MASK, "swp_entry does not mask the offset"),
    "mask-one-bit-short": ((_sub(_sub(R1a, "(offset & SWP_OFFSET_MASK)", "(offset & ((1 << (SWP_TYPE_SHIFT - 1)) - 1))"),
                                 "return entry & SWP_OFFSET_MASK", "return entry & ((1 << (SWP_TYPE_SHIFT - 1)) - 1)"), R1b),
                           "the offset mask is one bit short (bit 58 lost)"),
    "ignores-types": ((R1a, _sub(_sub(_sub(R1b,
        "return swp_type(entry) in (types.migration_read, types.migration_write)",
        "return swp_type(entry) in (SWP_MIGRATION_READ, SWP_MIGRATION_WRITE)"),
        "return types.migration_write is not None and swp_type(entry) == types.migration_write",
        "return swp_type(entry) == SWP_MIGRATION_WRITE"),
        "return swp_entry(types.migration_read, swp_offset(entry))",
        "return swp_entry(SWP_MIGRATION_READ, swp_offset(entry))")),
        "2.6.18's numbering hard-coded: the types argument is ignored"),
    "range-test": ((R1a, _sub(R1b, "return swp_type(entry) in (types.migration_read, types.migration_write)",
                              "return swp_type(entry) >= types.migration_read")),
                   "is_migration_entry as 'type >= SWP_MIGRATION_READ'"),
    "read-type-only": ((R1a, _sub(R1b, "return swp_type(entry) in (types.migration_read, types.migration_write)",
                                  "return swp_type(entry) == types.migration_read")),
                       "is_migration_entry knows only the READ type"),
    "bit-trick-read": ((R1a, _sub(R1b, "return swp_entry(types.migration_read, swp_offset(entry))",
                                  "return entry & ~(1 << SWP_TYPE_SHIFT)")),
                       "make_migration_entry_read clears the type's low bit (31 -> 30: right for 2.6.18 only)"),
    "type-four-bits": ((_sub(R1a, "return entry >> SWP_TYPE_SHIFT", "return (entry >> SWP_TYPE_SHIFT) & 0xF"), R1b),
                       "swp_type keeps four bits of a five-bit field"),
}

EX2 = {
    "no-write-bit": (S.EX2_NO_WRITE_BIT, "a WRITE entry does not give the write bit back"),
    "no-old-check": ((_sub(R2, " or migration_entry_to_page(k.pages, entry) is not old", ""),),
                     "does not check that the entry names old (another page's entry is replaced)"),
    "checks-nothing": ((_sub(_sub(R2, "    if not is_swap_pte(pte):\n        return\n", ""),
                             "    if not is_migration_entry(entry, k.swp_types) or migration_entry_to_page(k.pages, entry) is not old:\n        return\n", ""),),
                       "installs the pte whatever is there"),
    "no-get-page": ((_sub(R2, "    get_page(new)\n", ""),), "takes no reference on new for the pte"),
    "always-anon-rmap": ((_sub(R2, "    if PageAnon(new):\n        page_add_anon_rmap(new, vma, address)\n    else:\n        page_add_file_rmap(new)\n",
                               "    page_add_anon_rmap(new, vma, address)\n"),), "file pages get an anon rmap"),
    "young-pte": ((_sub(R2, "pte = pte_mkold(mk_pte(new, vma.vm_page_prot))", "pte = mk_pte(new, vma.vm_page_prot)"),),
                  "the restored pte is young (not marked old)"),
    "always-writable": ((_sub(R2, "    if is_write_migration_entry(entry, k.swp_types):\n        pte = pte_mkwrite(pte)\n",
                              "    pte = pte_mkwrite(pte)\n"),), "every restored pte is writable, READ entries too"),
}

EX3 = {
    "no-downgrade": (S.EX3_NO_DOWNGRADE, "present ptes only: WRITE entries stay WRITE"),
    "end-inclusive": ((_sub(R3, "range(start >> PAGE_SHIFT, end >> PAGE_SHIFT)",
                            "range(start >> PAGE_SHIFT, (end >> PAGE_SHIFT) + 1)"),),
                      "[start, end] instead of [start, end): the page at end is changed too"),
    "downgrade-if-write-removed": ((_sub(R3, "if is_write_migration_entry(entry, k.swp_types):",
                                         "if is_write_migration_entry(entry, k.swp_types) and not newprot & 0x2:  # _PAGE_RW"),),
                                   "downgrades only when the new protection takes write away"),
    "loses-accessed-dirty": ((_sub(R3, "mm.pgtable[vpn] = pte_modify(pte, newprot)",
                                   "mm.pgtable[vpn] = (pte >> PAGE_SHIFT << PAGE_SHIFT) | newprot"),),
                             "the new pte loses its accessed and dirty bits"),
    "downgrades-swap-entries": ((_sub(R3, "            if is_write_migration_entry(entry, k.swp_types):\n                mm.pgtable[vpn]",
                                      "            if True:\n                mm.pgtable[vpn]"),),
                                "every swap entry is rewritten as a READ migration entry"),
    "creates-ptes": (("""
def change_pte_range(k, mm, start, end, newprot):
    for vpn in range(start >> PAGE_SHIFT, end >> PAGE_SHIFT):
        pte = mm.pgtable.get(vpn, 0)
        if is_swap_pte(pte):
            entry = pte_to_swp_entry(pte)
            if is_write_migration_entry(entry, k.swp_types):
                mm.pgtable[vpn] = swp_entry_to_pte(make_migration_entry_read(entry, k.swp_types))
        else:
            mm.pgtable[vpn] = pte_modify(pte, newprot)
""",), "an empty slot gets a pte too"),
}

EX4 = {
    "locked-refuses": (S.EX4_LOCKED_REFUSES, "2.6.17's rule: VM_LOCKED refuses migration too"),
    "no-write-entry": (S.EX4_NO_WRITE_ENTRY, "every entry READ (V1's single type)"),
    "no-refusals": ((_sub(_sub(R4, "    if vma.vm_flags & VM_LOCKED and not migration:\n        return SWAP_FAIL\n", ""),
                          "    if not migration and pte_young(pte):\n        mm.pgtable[vpn] = pte_mkold(pte)\n        return SWAP_FAIL\n", ""),),
                    "reclaim's refusal rules left out"),
    "no-file-branch": ((_sub(R4, "    elif PageAnon(page):\n        BUG_ON(not migration)\n    else:\n        mm.file_rss -= 1\n", ""),),
                       "no branch for reclaim of a file page (or an anonymous page outside the swap cache)"),
    "no-page-cache-release": ((_sub(R4, "    page_cache_release(k, page)\n", ""),), "the pte's reference on the page is kept"),
    "no-swap-duplicate": ((_sub(R4, "        swap_duplicate(k, page.private)\n", ""),), "the swap pte takes no reference on its slot"),
    "young-refuses-migration": ((_sub(R4, "    if not migration and pte_young(pte):", "    if pte_young(pte):"),),
                                "a young pte refuses migration too"),
    "no-rss": ((_sub(_sub(R4, "        mm.anon_rss -= 1\n", ""), "        mm.file_rss -= 1\n", "        pass\n"),),
               "rss counters are not updated"),
}

# -- ex5..ex8 (issue #13) ----------------------------------------------------------------

R5, R6, R7, R8 = S.RIGHT["ex5"][0], S.RIGHT["ex6"][0], S.RIGHT["ex7"][0], S.RIGHT["ex8"][0]

EX5 = {
    "dup-no-migration-check": ((_sub(R5, "    if is_migration_entry(entry, k.swp_types):\n        return 1\n", ""),),
                               "swap_duplicate as before the series: a migration entry is a bad swap entry (and the kernel log says so at every fork)"),
    "free-no-migration-check": ((_sub(R5, "    if is_migration_entry(entry, k.swp_types):\n        return\n", ""),),
                                "free_swap_and_cache as before the series: munmap of a migration entry complains in the kernel log"),
    "dup-returns-0": ((_sub(R5, "    if is_migration_entry(entry, k.swp_types):\n        return 1\n",
                            "    if is_migration_entry(entry, k.swp_types):\n        return 0\n"),),
                      "a migration entry 'is not duplicated': 0, the answer for a bad entry (fork ignores it; the contract does not)"),
    "dup-counts-migration-entry": ((_sub(R5, "    if is_migration_entry(entry, k.swp_types):\n        return 1\n", "")
                                    .replace("    if type_ >= nr_swapfiles(k):", "    if type_ >= nr_swapfiles(k) and False:"),),
                                   "no type check at all: swap_info[30] of a machine with one swap area"),
    "dup-no-slot-check": ((_sub(R5, "    if offset < si.max and si.swap_map.get(offset, 0):", "    if offset < si.max:"),),
                          "swap_duplicate revives a free slot (no check that it is in use)"),
    "free-always-drops-cache": ((_sub(R5, "(one_user or vm_swap_full(k))", "True"),),
                                "the swap-cache page is dropped even while another process maps it"),
    "free-never-drops-cache": ((_sub(R5, "    if si is not None and swap_entry_free(k, si, swp_offset(entry)) == 1:",
                                     "    if si is not None and swap_entry_free(k, si, swp_offset(entry)) == 1 and False:"),),
                               "the last swap pte goes, yet the page stays in the swap cache, unused"),
    "free-count-zero": ((_sub(R5, "swap_entry_free(k, si, swp_offset(entry)) == 1", "swap_entry_free(k, si, swp_offset(entry)) == 0"),),
                        "looks for the cache page when the count reaches 0 (it is 1: the cache's own use)"),
}

EX6 = {
    "prep-never-needs-swap": ((_sub(R6, "    if migration_through_swapcache(k) and nr_swap_pages(k) <= 0:\n        return -ENODEV\n", ""),),
                              "2.6.18's migrate_prep in 2.6.17: without swap, every page fails add_to_swap instead of a clean -ENODEV"),
    "prep-always-needs-swap": ((_sub(R6, "    if migration_through_swapcache(k) and nr_swap_pages(k) <= 0:",
                                     "    if nr_swap_pages(k) <= 0:"),),
                               "2.6.17's migrate_prep kept in 2.6.18: no migration without a swap device"),
    "gives-write-back": ((_sub(R6, "mm.pgtable[vpn] = pte_mkold(mk_pte(page, vma.vm_page_prot))",
                               "mm.pgtable[vpn] = pte_mkold(mk_pte(page, vma.vm_page_prot)) | (2 if vma.vm_flags & 2 else 0)"),),
                         "the restored pte is writable in a writable vma (2.6.17 could not know: a swap pte has no write bit)"),
    "no-swap-free": ((_sub(R6, "    swap_free(k, entry)\n", ""),), "the slot keeps the use of the pte it no longer has"),
    "no-rss": ((_sub(R6, "    mm.anon_rss += 1\n", ""),), "anon_rss not given back (try_to_unmap took it)"),
    "no-pte-check": ((_sub(R6, "    if mm.pgtable.get(vpn) != swp_entry_to_pte(entry):\n        return\n", ""),),
                     "replaces whatever pte is there (the child's own copy too)"),
    "young-pte": ((_sub(R6, "pte_mkold(mk_pte(page, vma.vm_page_prot))", "mk_pte(page, vma.vm_page_prot)"),),
                  "the restored pte is young"),
}

EX7 = {
    "anon-count-2": ((_sub(R7, "        if page_count(page) != 1:", "        if page_count(page) != 2:"),),
                     "an anonymous page expected at count 2, as if a mapping held it"),
    "anon-no-check": ((_sub(R7, "        if page_count(page) != 1:\n            return -EAGAIN\n", ""),),
                      "no count check for anonymous pages: a page get_user_pages holds moves under it"),
    "file-count-1": ((_sub(R7, "    expected = 2 + (1 if PagePrivate(page) else 0)", "    expected = 1 + (1 if PagePrivate(page) else 0)"),),
                     "the page cache's own reference forgotten: a page-cache page is expected at count 1"),
    "file-count-at-least": ((_sub(R7, "page_count(page) != expected", "page_count(page) < expected"),),
                            "'at least 2': a pinned page-cache page moves under its pin"),
    "no-get-newpage": ((_sub(R7, "    get_page(newpage)\n", ""),), "the radix tree's reference on the new page is not taken"),
    "no-put-page": ((_sub(R7, "    put_page_testzero(page)\n", ""),), "the radix tree's reference on the old page is not dropped"),
    "index-not-swap-aware": ((_sub(R7, "    index = page_index(page)", "    index = page.index"),),
                             "page->index for a swap-cache page (its slot is its swap entry)"),
    "no-swapcache-handover": ((_sub(R7, "    if PageSwapCache(page):\n        SetPageSwapCache(newpage)\n        set_page_private(newpage, page.private)\n", ""),),
                              "the new page is not marked as the swap cache's, nor given the swap entry"),
}

EX8 = {
    "no-downgrade": ((_sub(R8, "            if is_write_migration_entry(entry, k.swp_types) and is_cow_mapping(vma.vm_flags):\n"
                               "                pte = swp_entry_to_pte(make_migration_entry_read(entry, k.swp_types))\n"
                               "                src_mm.pgtable[vpn] = pte\n", ""),),
                     "the RFC's copy_one_pte: a WRITE entry is copied as it is (parent and child end up sharing a writable page)"),
    "child-only-downgrade": ((_sub(R8, "                src_mm.pgtable[vpn] = pte\n", ""),),
                             "only the child's entry becomes READ; the parent keeps WRITE"),
    "no-swap-duplicate": ((_sub(R8, "            swap_duplicate(k, entry)\n", ""),), "the child's swap pte takes no use of the slot"),
    "parent-stays-writable": ((_sub(R8, "        pte = pte_wrprotect(pte)\n        src_mm.pgtable[vpn] = pte\n",
                                    "        src_mm.pgtable[vpn] = pte\n        pte = pte_wrprotect(pte)\n"),),
                              "only the child's pte is write-protected: the parent writes into the page the child still maps"),
    "all-rss-anon": ((_sub(R8, "rss[1 if PageAnon(page) else 0] += 1", "rss[1] += 1"),), "every page counted as anonymous"),
    "no-page-dup-rmap": ((_sub(R8, "    page_dup_rmap(page)\n", ""),), "the page's mapcount does not count the child's pte"),
    "young-child-pte": ((_sub(R8, "    pte = pte_mkold(pte)\n", ""),), "the child's pte stays young"),
}

WRONG = {"ex1": EX1, "ex2": EX2, "ex3": EX3, "ex4": EX4, "ex5": EX5, "ex6": EX6, "ex7": EX7, "ex8": EX8}


# ex9 (cases) and ex10 (the explorer): the waiting side.  Each must lose points in both.
R9a, R9b = S.EX9_RIGHT
EX9 = {
    "no-recheck": ((_sub(_sub(R9a, "    if not is_swap_pte(pte):\n        return self._return(k)\n", ""),
                         "    if not is_migration_entry(entry, k.swp_types):\n        return self._return(k)\n", ""), R9b),
                   "trusts the fault's unlocked read: takes the entry's page without re-checking the pte"),
    "swap-check-only": ((_sub(R9a, "    if not is_migration_entry(entry, k.swp_types):\n        return self._return(k)\n", ""), R9b),
                        "checks that the pte is a swap pte, not that it is a migration entry"),
    "put-before-wait": ((_sub(R9a, "    get_page(page)\n", "    get_page(page)\n    page_cache_release(k, page)\n"),
                         _sub(R9b, "    page_cache_release(k, page)\n", "")),
                        "drops the reference before sleeping (put_page, then wait_on_page_locked)"),
    "no-get-page": ((_sub(R9a, "    get_page(page)\n", ""), _sub(R9b, "    page_cache_release(k, page)\n", "")),
                    "sleeps on the page without a reference"),
    "no-put-page": ((R9a, _sub(R9b, "    page_cache_release(k, page)\n", "")),
                    "never drops the reference it took (a leak)"),
    "no-wait": ((R9a, _sub(R9b, "    if PageLocked(page):\n        return BLOCKED\n", "")),
                "returns at once instead of sleeping: the access faults again and again (busy polling)"),
    "inverted-wait": ((R9a, _sub(R9b, "if PageLocked(page):", "if not PageLocked(page):")),
                      "sleeps while the page is unlocked, runs on while it is locked"),
}
# The same mistakes, under every interleaving: the explorer finds each one's schedule.
# (swap-check-only is left out: no explorer configuration swaps.)
EX10 = {name: v for name, v in EX9.items() if name != "swap-check-only"}
WRONG.update({"ex9": EX9, "ex10": EX10})
