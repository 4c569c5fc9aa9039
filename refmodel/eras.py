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
    count_rule: str                        # "v1" (patch 6/6) | "2.6.18" (migrate_page_move_mapping)
    restore_anon_only: bool                # V1/V2 remove_migration_ptes handled anon pages only


ERAS = {
    "2.6.17": Era("2.6.17", "swap-based migration: borrows swap entries and the swap cache",
                  NO_MIGRATION, "swapcache", "none", True, False, False, "drop_ptes",
                  "tail", False, True, False, "none", "2.6.18", False),
    "rfc-v1": Era("rfc-v1", "Swapless Page Migration V1 (RFC, April 2006)",
                  MIGRATION_RFC_V1, "entries", "lookup_swap_cache", False, False, False,
                  "drop_ptes", "tail", False, False, False, "none", "v1", True),
    "v2-yield": Era("v2-yield", "Swapless V2: do_swap_page yields and re-faults",
                    MIGRATION_RFC_V1, "entries", "yield", False, False, False,
                    "drop_ptes", "tail", False, False, False, "incdec", "2.6.18", True),
    "2.6.18": Era("2.6.18", "as merged in Linux 2.6.18",
                  MIGRATION_2_6_18, "entries", "migration_entry_wait", True, True, True,
                  "entries", "tail", False, False, True, "none", "2.6.18", False),
}

def get_era(name: str, **overrides) -> Era:
    """The preset named name, with any decision points overridden (e.g. rss_fix_3_3=True)."""
    try:
        era = ERAS[name]
    except KeyError:
        raise ValueError(f"unknown era {name!r}; choose one of {', '.join(ERAS)}") from None
    return replace(era, **overrides) if overrides else era
