"""Eras as a decision table: every point where the 2006 series (and its review) changed
behaviour is one named field, and each era is a preset of the table.

Kernel layer.  Each decision is read by one kernel function -- named after it where the
decision is taken in several places (migrate.count_rule, mm.rss_on_migration, ...) -- with
a comment naming the patch; the field's `read_by` says which function, and
tests/model/test_eras.py holds every field to it.  Presets are written with keywords; a
later kernel is one more preset (and, where its code replaces a whole function, a module in
variants/).
"""

from dataclasses import dataclass, field, fields, replace

from .swapops import MIGRATION_2_6_18, NO_MIGRATION, SwapTypes

# V1 RFC, patch 2/6: one type, SWP_TYPE_MIGRATION = MAX_SWAPFILES = 31.
MIGRATION_RFC_V1 = SwapTypes(31, 31, None)


def decision(read_by: str, doc: str, **default):
    """A field of the table: what it decides, and the one function that reads it."""
    return field(metadata={"read_by": read_by, "doc": doc}, **default)


def about(doc: str):
    """A field that names the era (not a decision: read anywhere)."""
    return field(metadata={"doc": doc})


@dataclass(frozen=True)
class Era:
    """One kernel's answers at each decision point (the table is below)."""
    name: str = about("the era's name: 2.6.17, rfc-v1, v2-yield, 2.6.18, rfc-v1[1..k]")
    description: str = about("one line about it")
    swap_types: SwapTypes = decision(
        "refmodel.kernel.Kernel.__init__",
        "how swap types are numbered, migration types included: patch 2/6 takes one type "
        "(SWP_TYPE_MIGRATION), the R/W entries (0697212a) two")
    migration: str = decision(
        "refmodel.mempolicy.migration_through_swapcache",
        '"swapcache": 2.6.17 migrates through the swap cache (variants/); "entries": the '
        "series' migration entries (patches 5/6 and 6/6)")
    fault_on_migration_entry: str = decision(
        "refmodel.memory.user_access.fault_on_migration_entry",
        'what a fault does on a migration entry: "none" (2.6.17 has none), '
        '"lookup_swap_cache" (V1 2/6), "yield" (V2 2/5), "migration_entry_wait" (2.6.18)')
    restore_write_bit: bool = decision(
        "refmodel.migrate.remove_migration_pte",
        "a WRITE entry is restored writable (0697212a, R/W migration entries)")
    fork_downgrades_write_entry: bool = decision(
        "refmodel.memory.copy_one_pte",
        "copy_one_pte makes a WRITE entry READ in a COW mapping (0697212a, Hugh Dickins' fix)")
    mprotect_downgrades_write_entry: bool = decision(
        "refmodel.mprotect.change_pte_range",
        "change_pte_range makes WRITE entries READ (0697212a)")
    file_pages: str = decision(
        "refmodel.rmap.file_pages_keep_entries",
        '"drop_ptes" (V1, V2: unmapping a file page drops its ptes) | "entries" (04e62a29)')
    anon_vma_insert: str = decision(
        "refmodel.rmap.__anon_vma_link",
        '"tail" (Hugh Dickins\' fix, 2006-05-24) | "head" (-mm before it)')
    rss_fix_3_3: bool = decision(
        "refmodel.mm.rss_fix_3_3",
        "fork and zap count a migration entry in rss (3.3's rss leak fix)")
    needs_swap: bool = decision(
        "refmodel.migrate.migrate_prep",
        "migrate_prep() refuses without a swap device (2.6.17)")
    migrate_mlocked: bool = decision(
        "refmodel.rmap.try_to_unmap_one",
        '"allow migration of mlocked pages" (2.6.18): VM_LOCKED no longer stops migration')
    rss_on_migration: str = decision(
        "refmodel.mm.rss_on_migration",
        '"none" | "incdec" (V2 took an anonymous entry out of anon_rss; undone by "do not '
        'inc/dec rss counters")')
    count_rule: str = decision(
        "refmodel.migrate.count_rule",
        'where the reference count is checked: "v1" (before unmapping, patch 6/6) | "v2" '
        '(before and after, V2 5/5) | "2.6.18" (after, migrate_page_move_mapping)')
    restore_anon_only: bool = decision(
        "refmodel.migrate.remove_anchor",
        "V1/V2's remove_migration_ptes restored anonymous pages only")
    unmap_makes_migration_entries: bool = decision(
        "refmodel.rmap.try_to_unmap_one",
        "patch 3/6: try_to_unmap_one writes a migration entry for an anonymous page")
    has_remove_migration_ptes: bool = decision(
        "refmodel.migrate.remove_anchor",
        "patch 4/6: remove_migration_ptes() exists")
    # V1 4/6 + 6/6 as posted, not as designed (an override of rfc-v1, off by default):
    # 6/6 gives the new page its mapping only for pages with one, and 4/6 restores only to
    # an anonymous page found through page_lock_anon_vma, which refuses an unmapped page.
    v1_as_posted: bool = decision(
        "refmodel.migrate.v1_as_posted",
        "V1 4/6 + 6/6 as posted rather than as designed", default=False)
    # migrate_pages' passes: 2.6.17's loop (`if (retry && pass++ < 10) goto redo`, 11 passes)
    # survived V1 and V2 (the `redo:` label in the hunk headers of V1 6/6 and V2 5/5); 2.6.18's
    # `for (pass = 0; pass < 10 && retry; pass++)` came with "page migration: simplify
    # migrate_pages" in -mm.
    max_passes: int = decision(
        "refmodel.migrate.migrate_max_passes",
        "how many passes migrate_pages makes: 11 (2.6.17, V1, V2) | 10 (2.6.18)", default=10)


DECISIONS = tuple(f.name for f in fields(Era) if "read_by" in f.metadata)
Era.__doc__ += "\n\n" + "\n".join(
    f"    {f.name}: {f.metadata['doc']} [read by {f.metadata.get('read_by', 'anyone')}]"
    for f in fields(Era))


ERAS = {
    "2.6.17": Era(
        name="2.6.17", description="swap-based migration: borrows swap entries and the swap cache",
        swap_types=NO_MIGRATION, migration="swapcache", fault_on_migration_entry="none",
        restore_write_bit=False, fork_downgrades_write_entry=False,
        mprotect_downgrades_write_entry=False, file_pages="drop_ptes", anon_vma_insert="tail",
        rss_fix_3_3=False, needs_swap=True, migrate_mlocked=False, rss_on_migration="none",
        count_rule="2.6.18", restore_anon_only=False, unmap_makes_migration_entries=False,
        has_remove_migration_ptes=False, max_passes=11),
    "rfc-v1": Era(
        name="rfc-v1", description="Swapless Page Migration V1 (RFC, April 2006)",
        swap_types=MIGRATION_RFC_V1, migration="entries",
        fault_on_migration_entry="lookup_swap_cache", restore_write_bit=False,
        fork_downgrades_write_entry=False, mprotect_downgrades_write_entry=False,
        file_pages="drop_ptes", anon_vma_insert="tail", rss_fix_3_3=False, needs_swap=False,
        migrate_mlocked=False, rss_on_migration="none", count_rule="v1",
        restore_anon_only=True, unmap_makes_migration_entries=True,
        has_remove_migration_ptes=True, max_passes=11),
    # V2 differs from the merged code where its patches are verified to (docs/verified-facts.md
    # C1, C2): yield() on a fault, one entry type without a write bit, anon_rss inc/dec, file
    # ptes dropped, V1's count check before unmapping and the merged one after it (V2 5/5),
    # and 2.6.17's eleven passes.
    "v2-yield": Era(
        name="v2-yield", description="Swapless V2: do_swap_page yields and re-faults",
        swap_types=MIGRATION_RFC_V1, migration="entries", fault_on_migration_entry="yield",
        restore_write_bit=False, fork_downgrades_write_entry=False,
        mprotect_downgrades_write_entry=False, file_pages="drop_ptes", anon_vma_insert="tail",
        rss_fix_3_3=False, needs_swap=False, migrate_mlocked=False, rss_on_migration="incdec",
        count_rule="v2", restore_anon_only=True, unmap_makes_migration_entries=True,
        has_remove_migration_ptes=True, max_passes=11),
    "2.6.18": Era(
        name="2.6.18", description="as merged in Linux 2.6.18",
        swap_types=MIGRATION_2_6_18, migration="entries",
        fault_on_migration_entry="migration_entry_wait", restore_write_bit=True,
        fork_downgrades_write_entry=True, mprotect_downgrades_write_entry=True,
        file_pages="entries", anon_vma_insert="tail", rss_fix_3_3=False, needs_swap=False,
        migrate_mlocked=True, rss_on_migration="none", count_rule="2.6.18",
        restore_anon_only=False, unmap_makes_migration_entries=True,
        has_remove_migration_ptes=True, max_passes=10),
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
