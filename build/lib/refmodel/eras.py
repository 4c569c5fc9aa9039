"""Eras as a decision table: every point where the 2006 series (and its review) changed
behaviour is one named field, and each era is a preset of the table.

Kernel code reads k.cfg.<field> at exactly one place per field, with a comment naming the
patch.  Reference-model I (this issue) uses the swap-type numbering only; the migration
fields are read by migrate.py and its era variants.
"""

from dataclasses import dataclass, replace

from .swapops import MIGRATION_2_6_18, NO_MIGRATION, SwapTypes

# V1 RFC, patch 2/6: one type, SWP_TYPE_MIGRATION = MAX_SWAPFILES = 31.
MIGRATION_RFC_V1 = SwapTypes(31, 31, None)


@dataclass(frozen=True)
class Era:
    """One kernel's answers at each decision point."""
    name: str
    description: str
    swap_types: SwapTypes                  # patch 2/6, then R/W entries (0697212a)
    migration: str                         # "swapcache" (2.6.17) | "entries"
    fault_on_migration_entry: str          # "none" (2.6.17) | "lookup_swap_cache" (V1) | "yield" (V2) | "migration_entry_wait"
    restore_write_bit: bool                # R/W entries keep the write bit (0697212a)
    fork_downgrades_write_entry: bool      # copy_one_pte makes WRITE entries READ (0697212a)
    mprotect_downgrades_write_entry: bool  # change_pte_range makes WRITE entries READ (0697212a)
    file_pages: str                        # "drop_ptes" (V1) | "entries" (04e62a29)
    anon_vma_insert: str                   # "tail" (Hugh Dickins' fix) | "head"
    rss_fix_3_3: bool                      # count migration entries in rss on fork/zap (3.3)
    needs_swap: bool                       # migrate_prep() refuses without swap (2.6.17)
    migrate_mlocked: bool                  # "allow migration of mlocked pages" (2.6.18)
    rss_on_migration: str                  # "none" | "incdec" (V2, undone by "do not inc/dec rss")
    count_rule: str                        # "v1" (patch 6/6) | "v2" (V2 5/5) | "2.6.18" (migrate_page_move_mapping)
    restore_anon_only: bool                # V1/V2 remove_migration_ptes handled anon pages only
    unmap_makes_migration_entries: bool    # patch 3/6: try_to_unmap_one writes an entry
    has_remove_migration_ptes: bool        # patch 4/6: remove_migration_ptes() exists
    # V1 4/6 + 6/6 as posted, not as designed (an override of rfc-v1, off by default):
    # 6/6 gives the new page its mapping only for pages with one, and 4/6 restores only to
    # an anonymous page found through page_lock_anon_vma, which refuses an unmapped page.
    v1_as_posted: bool = False
    # migrate_pages' passes: 2.6.17's loop (`if (retry && pass++ < 10) goto redo`, 11 passes)
    # survived V1 and V2 (the `redo:` label in the hunk headers of V1 6/6 and V2 5/5); 2.6.18's
    # `for (pass = 0; pass < 10 && retry; pass++)` came with "page migration: simplify
    # migrate_pages" in -mm.
    max_passes: int = 10


ERAS = {
    "2.6.17": Era("2.6.17", "swap-based migration: borrows swap entries and the swap cache",
                  NO_MIGRATION, "swapcache", "none", False, False, False, "drop_ptes",
                  "tail", False, True, False, "none", "2.6.18", False, False, False,
                  max_passes=11),
    "rfc-v1": Era("rfc-v1", "Swapless Page Migration V1 (RFC, April 2006)",
                  MIGRATION_RFC_V1, "entries", "lookup_swap_cache", False, False, False,
                  "drop_ptes", "tail", False, False, False, "none", "v1", True, True, True,
                  max_passes=11),
    # V2 differs from the merged code where its patches are verified to (docs/verified-facts.md
    # C1, C2): yield() on a fault, one entry type without a write bit, anon_rss inc/dec, file
    # ptes dropped, V1's count check before unmapping and the merged one after it (V2 5/5),
    # and 2.6.17's eleven passes.
    "v2-yield": Era("v2-yield", "Swapless V2: do_swap_page yields and re-faults",
                    MIGRATION_RFC_V1, "entries", "yield", False, False, False,
                    "drop_ptes", "tail", False, False, False, "incdec", "v2", True, True, True,
                    max_passes=11),
    "2.6.18": Era("2.6.18", "as merged in Linux 2.6.18",
                  MIGRATION_2_6_18, "entries", "migration_entry_wait", True, True, True,
                  "entries", "tail", False, False, True, "none", "2.6.18", False, True, True),
}

class NotInThisKernel(RuntimeError):
    """A kernel function called in an era whose tree does not have it yet."""


def get_era(name: str, **overrides) -> Era:
    """The preset named name, with any decision points overridden (e.g. rss_fix_3_3=True)."""
    try:
        era = ERAS[name]
    except KeyError:
        raise ValueError(f"unknown era {name!r}; choose one of {', '.join(ERAS)}") from None
    if overrides.get("v1_as_posted") and name != "rfc-v1":
        raise ValueError("v1_as_posted is a variant of era 'rfc-v1' only")
    return replace(era, **overrides) if overrides else era


# The six V1 patches one by one (Machine(era="rfc-v1", upto_patch=k)).
PATCHES = {
    1: "try_to_unmap(): rename ignrefs to \"migration\"",
    2: "add SWP_TYPE_MIGRATION (and the handlers that must ignore it)",
    3: "try_to_unmap(): create migration entries for anonymous pages outside the swap cache",
    4: "remove migration ptes (remove_migration_ptes, modelled on remove_from_swap)",
    5: "rip out the old swap-based migration code",
    6: "revise the main migration code to use migration entries",
}


def era_upto_patch(k: int) -> Era:
    """The kernel after the first k patches of the V1 RFC.

    Patches 1-4 add code that 2.6.17's migrate_pages never reaches: it still puts every
    anonymous page in the swap cache first, so try_to_unmap writes swap ptes, not migration
    entries.  The new code is there all the same, and a caller can reach it directly:
    after patch 2 a fault on a migration entry finds its page through lookup_swap_cache,
    after patch 3 try_to_unmap(page, migration) gives a page outside the swap cache a
    migration entry (before it, that was a BUG), after patch 4 remove_migration_ptes()
    exists.  Patch 5 removes the swap-based path before patch 6 adds the new one, so the
    tree after patch 5 alone cannot migrate anonymous memory at all.
    """
    if not 0 <= k <= 6:
        raise ValueError(f"upto_patch must be 0..6, not {k}")
    if k == 5:
        raise ValueError(
            "rfc-v1 with patches 1-5 is not a meaningful kernel: patch 5/6 rips out the "
            "swap-based migration path and only patch 6/6 puts the migration-entry path in "
            "its place (the series works as a whole); use upto_patch=4 or 6")
    if k == 6:
        return ERAS["rfc-v1"]
    base = ERAS["2.6.17"]
    return replace(
        base, name=f"rfc-v1[1..{k}]" if k else "rfc-v1[none]",
        description=f"2.6.17 with V1 patches 1..{k}: still swap-based migration" if k
        else "2.6.17 as the V1 patches found it",
        swap_types=MIGRATION_RFC_V1 if k >= 2 else NO_MIGRATION,        # patch 2/6
        fault_on_migration_entry="lookup_swap_cache" if k >= 2 else "none",   # patch 2/6
        unmap_makes_migration_entries=k >= 3,                           # patch 3/6
        has_remove_migration_ptes=k >= 4)                               # patch 4/6
