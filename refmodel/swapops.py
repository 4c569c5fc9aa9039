"""Swap entries, bit for bit: the arch-independent swp_entry_t and migration entries.

Models include/linux/swapops.h and the type numbering of include/linux/swap.h, Linux 2.6.18:
https://elixir.bootlin.com/linux/v2.6.18/source/include/linux/swapops.h
https://elixir.bootlin.com/linux/v2.6.18/source/include/linux/swap.h
A swp_entry_t is an unsigned long: the type in the top MAX_SWAPFILES_SHIFT bits, the offset
(a swap slot, or for a migration entry the pfn of the page being migrated) below it.
"""

from typing import NamedTuple

from .pgtable import (Pte, __pte_to_swp_entry, __swp_entry, __swp_entry_to_pte,
                      __swp_offset, __swp_type, pte_file, pte_none, pte_present)

SwpEntry = int                       # swp_entry_t.val
BITS_PER_LONG = 64
MAX_SWAPFILES_SHIFT = 5
SWP_TYPE_SHIFT = BITS_PER_LONG - MAX_SWAPFILES_SHIFT
SWP_OFFSET_MASK = (1 << SWP_TYPE_SHIFT) - 1

# include/linux/swap.h with CONFIG_MIGRATION (2.6.18): the last two types are for migration.
MAX_SWAPFILES = (1 << MAX_SWAPFILES_SHIFT) - 2      # 30
SWP_MIGRATION_READ = MAX_SWAPFILES                  # 30
SWP_MIGRATION_WRITE = MAX_SWAPFILES + 1             # 31


class SwapTypes(NamedTuple):
    """How a kernel build numbers its swap types.

    In C these are compile-time constants; here each Machine carries the set of its era
    (see eras.py), and the helpers below take it as an optional last argument.
    """
    max_swapfiles: int            # MAX_SWAPFILES: types 0..max_swapfiles-1 are swap areas
    migration_read: int | None    # SWP_MIGRATION_READ (or V1's single SWP_TYPE_MIGRATION)
    migration_write: int | None   # SWP_MIGRATION_WRITE (None where there is no write bit)


# Linux 2.6.18 with CONFIG_MIGRATION=y: READ = 30, WRITE = 31.
MIGRATION_2_6_18 = SwapTypes(MAX_SWAPFILES, SWP_MIGRATION_READ, SWP_MIGRATION_WRITE)
# Without CONFIG_MIGRATION (and in 2.6.17, where migration borrowed real swap entries).
NO_MIGRATION = SwapTypes(1 << MAX_SWAPFILES_SHIFT, None, None)


def swp_entry(type_: int, offset: int) -> SwpEntry:
    """Pack a type and an offset into the arch-independent format."""
    return (type_ << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK)


def swp_type(entry: SwpEntry) -> int:
    """The type: a swap area's index, or a migration type."""
    return entry >> SWP_TYPE_SHIFT


def swp_offset(entry: SwpEntry) -> int:
    """The offset: a slot in the swap area, or the pfn of a migration entry."""
    return entry & SWP_OFFSET_MASK


class BUG(AssertionError):
    """A kernel BUG_ON() fired: the model reached a state the real kernel would oops on."""


def pte_to_swp_entry(pte: Pte) -> SwpEntry:
    """Decode a non-present pte into a swp_entry_t (BUG on a nonlinear file pte)."""
    if pte_file(pte):
        raise BUG("pte_to_swp_entry: pte_file(pte)")
    arch = __pte_to_swp_entry(pte)
    return swp_entry(__swp_type(arch), __swp_offset(arch))


def swp_entry_to_pte(entry: SwpEntry) -> Pte:
    """Encode a swp_entry_t as a non-present pte (BUG if it would look like a file pte)."""
    arch = __swp_entry(swp_type(entry), swp_offset(entry))
    pte = __swp_entry_to_pte(arch)
    if pte_file(pte):
        raise BUG("swp_entry_to_pte: pte_file(pte)")
    return pte


# -- Migration entries (CONFIG_MIGRATION) ---------------------------------------------

def make_migration_entry(page, write: bool, types: SwapTypes = MIGRATION_2_6_18) -> SwpEntry:
    """An entry naming page's pfn; the page must be locked (BUG_ON(!PageLocked(page)))."""
    if not page.locked:
        raise BUG(f"make_migration_entry: page {page.pfn} is not locked")
    t = types.migration_write if (write and types.migration_write is not None) else types.migration_read
    if t is None:
        raise BUG("make_migration_entry: this kernel has no migration entries")
    return swp_entry(t, page.pfn)


def is_migration_entry(entry: SwpEntry, types: SwapTypes = MIGRATION_2_6_18) -> bool:
    """True if the entry's type is a migration type (always False without CONFIG_MIGRATION)."""
    t = swp_type(entry)
    return t is not None and (t == types.migration_read or t == types.migration_write)


def is_write_migration_entry(entry: SwpEntry, types: SwapTypes = MIGRATION_2_6_18) -> bool:
    """True for SWP_MIGRATION_WRITE: the pte it replaced was writable."""
    return types.migration_write is not None and swp_type(entry) == types.migration_write


def make_migration_entry_read(entry: SwpEntry, types: SwapTypes = MIGRATION_2_6_18) -> SwpEntry:
    """The same entry downgraded to READ (the kernel rewrites *entry in place)."""
    return swp_entry(types.migration_read, swp_offset(entry))


def migration_entry_to_pfn(entry: SwpEntry) -> int:
    """The pfn a migration entry names (pfn_to_page(swp_offset(entry)) without the page)."""
    return swp_offset(entry)


def migration_entry_to_page(pages, entry: SwpEntry):
    """The struct page named by a migration entry; BUG if that page is not locked.

    pages maps pfn -> page (the model's mem_map).  Any use of a migration entry is
    only legal while its page is locked: this is the check behind the "swapops.h BUG".
    """
    p = pages[swp_offset(entry)]
    if not p.locked:
        raise BUG(f"migration_entry_to_page: page {p.pfn} is not locked")
    return p


# -- What a pte holds -----------------------------------------------------------------

PTE_KINDS = ("none", "present", "swap", "migration", "migration_read", "migration_write", "file")


def pte_kind(pte: Pte, types: SwapTypes = MIGRATION_2_6_18) -> str:
    """What kind of entry a pte holds, for everything that prints one: "none", "present",
    "swap" (a swap slot), "migration_read" / "migration_write" (2.6.18's two types),
    "migration" (V1 and V2's single type, which has no write bit), or "file" (a nonlinear
    file pte: remap_file_pages, try_to_unmap_cluster)."""
    if pte_none(pte):
        return "none"
    if pte_present(pte):
        return "present"
    if pte_file(pte):
        return "file"
    t = swp_type(pte_to_swp_entry(pte))
    if types.migration_write is not None and t == types.migration_write:
        return "migration_write"
    if t == types.migration_read:
        return "migration" if types.migration_write is None else "migration_read"
    return "swap"
