"""Page-table entries as the x86-64 port of Linux 2.6.18 lays them out.

A pte is a plain Python int with the hardware bits of include/asm-x86_64/pgtable.h:
https://elixir.bootlin.com/linux/v2.6.18/source/include/asm-x86_64/pgtable.h
Present ptes carry a pfn and permission bits; non-present, non-zero ptes carry a
swap entry in the arch format (__swp_entry: type in bits 1-6, offset from bit 8).
"""

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1)

Pte = int          # pte_t: the raw 64-bit value
Pfn = int          # a page frame number

# Hardware bits (include/asm-x86_64/pgtable.h).
_PAGE_PRESENT = 0x001
_PAGE_RW = 0x002
_PAGE_USER = 0x004
_PAGE_PWT = 0x008
_PAGE_PCD = 0x010
_PAGE_ACCESSED = 0x020
_PAGE_DIRTY = 0x040
_PAGE_PSE = 0x080
_PAGE_FILE = 0x040        # only when not present: a nonlinear file pte
_PAGE_PROTNONE = 0x080    # only when not present: PROT_NONE mapping
_PAGE_GLOBAL = 0x100
_PAGE_BIT_NX = 63
_PAGE_NX = 1 << _PAGE_BIT_NX

__PHYSICAL_MASK_SHIFT = 46
__PHYSICAL_MASK = (1 << __PHYSICAL_MASK_SHIFT) - 1
PTE_MASK = PAGE_MASK & __PHYSICAL_MASK

# Protections (pgprot_t values) used by protection_map in mm/mmap.c.
PAGE_NONE = _PAGE_PROTNONE | _PAGE_ACCESSED
PAGE_SHARED = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX
PAGE_SHARED_EXEC = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED
PAGE_COPY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX
PAGE_COPY_EXEC = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED
PAGE_READONLY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX
PAGE_READONLY_EXEC = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED

# protection_map[VM_READ|VM_WRITE|VM_EXEC|VM_SHARED]: private writable maps get
# PAGE_COPY (read-only: the first write takes a COW fault), shared ones PAGE_SHARED.
protection_map = (
    PAGE_NONE, PAGE_READONLY, PAGE_COPY, PAGE_COPY,
    PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_COPY_EXEC, PAGE_COPY_EXEC,
    PAGE_NONE, PAGE_READONLY, PAGE_SHARED, PAGE_SHARED,
    PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_SHARED_EXEC, PAGE_SHARED_EXEC,
)


def pte_none(pte: Pte) -> bool:
    """True for an empty slot: nothing mapped, no swap entry."""
    return pte == 0


def pte_present(pte: Pte) -> bool:
    """True if the pte maps a page (a PROT_NONE pte counts as present, as on x86-64)."""
    return bool(pte & (_PAGE_PRESENT | _PAGE_PROTNONE))


def pte_file(pte: Pte) -> bool:
    """Non-present pte of a nonlinear file mapping: it holds the file page offset."""
    return bool(pte & _PAGE_FILE)


def pgoff_to_pte(pgoff: int) -> Pte:
    """A file pte for page offset pgoff (remap_file_pages, try_to_unmap_cluster)."""
    return (pgoff << PAGE_SHIFT) | _PAGE_FILE


def pte_to_pgoff(pte: Pte) -> int:
    """The file page offset a file pte holds."""
    return (pte & __PHYSICAL_MASK) >> PAGE_SHIFT


def pte_pfn(pte: Pte) -> Pfn:
    """The page frame a present pte maps."""
    return (pte & __PHYSICAL_MASK) >> PAGE_SHIFT


def pfn_pte(pfn: Pfn, prot: int) -> Pte:
    """A present pte for pfn with protection prot (mk_pte takes a page, this a pfn)."""
    return (pfn << PAGE_SHIFT) | prot


def mk_pte(page, prot: int) -> Pte:
    """A present pte for page (a struct page: its pfn) with protection prot."""
    return pfn_pte(page.pfn, prot)


def pte_write(pte: Pte) -> bool:
    """Writable?"""
    return bool(pte & _PAGE_RW)


def pte_young(pte: Pte) -> bool:
    """Accessed since the bit was last cleared?"""
    return bool(pte & _PAGE_ACCESSED)


def pte_dirty(pte: Pte) -> bool:
    """Written through this pte since the bit was last cleared?"""
    return bool(pte & _PAGE_DIRTY)


def pte_mkwrite(pte: Pte) -> Pte:
    """Set the write bit."""
    return pte | _PAGE_RW


def pte_wrprotect(pte: Pte) -> Pte:
    """Clear the write bit."""
    return pte & ~_PAGE_RW


def pte_mkold(pte: Pte) -> Pte:
    """Clear the accessed (young) bit."""
    return pte & ~_PAGE_ACCESSED


def pte_mkyoung(pte: Pte) -> Pte:
    """Set the accessed (young) bit."""
    return pte | _PAGE_ACCESSED


def pte_mkdirty(pte: Pte) -> Pte:
    """Set the dirty bit."""
    return pte | _PAGE_DIRTY


def pte_mkclean(pte: Pte) -> Pte:
    """Clear the dirty bit."""
    return pte & ~_PAGE_DIRTY


def pte_modify(pte: Pte, newprot: int) -> Pte:
    """Keep pfn, accessed and dirty (_PAGE_CHG_MASK); take every other bit from newprot."""
    chg = PTE_MASK | _PAGE_ACCESSED | _PAGE_DIRTY
    return (pte & chg) | newprot


# The arch half of swap entries: how a swp_entry_t sits in a non-present pte.
def __swp_entry(type_: int, offset: int) -> int:
    """Arch-format swap entry: type in bits 1-6, offset from bit 8; bit 0 (present) clear.
    The pte is 64 bits wide, so offset bits above bit 55 are lost."""
    return ((type_ << 1) | (offset << 8)) & 0xFFFF_FFFF_FFFF_FFFF


def __swp_type(arch_entry: int) -> int:
    """Type field of an arch-format swap entry."""
    return (arch_entry >> 1) & 0x3F


def __swp_offset(arch_entry: int) -> int:
    """Offset field of an arch-format swap entry."""
    return arch_entry >> 8


def __pte_to_swp_entry(pte: Pte) -> int:
    """On x86-64 the arch entry is the pte value itself."""
    return pte


def __swp_entry_to_pte(arch_entry: int) -> Pte:
    """On x86-64 the pte value is the arch entry itself."""
    return arch_entry


def is_swap_pte(pte: Pte) -> bool:
    """A non-empty, non-present pte that is not a nonlinear file pte."""
    return not pte_none(pte) and not pte_present(pte) and not pte_file(pte)
