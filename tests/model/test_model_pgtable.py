"""Bit-for-bit tests of refmodel/pgtable.py against the x86-64 port of Linux 2.6.18.

Every constant below was read off include/asm-x86_64/pgtable.h and page.h of 2.6.18:
https://elixir.bootlin.com/linux/v2.6.18/source/include/asm-x86_64/pgtable.h
The tests write the expected values as literals (not as the model's own names), so that a
wrong constant in the model cannot make its own test pass.
"""

from hypothesis import given
from hypothesis import strategies as st

from refmodel import pgtable as pt


# -- hardware bits (pgtable.h#L145-L168) -------------------------------------------------

def test_pte_bits_are_the_x86_64_bits():
    assert pt._PAGE_PRESENT == 1 << 0
    assert pt._PAGE_RW == 1 << 1
    assert pt._PAGE_USER == 1 << 2
    assert pt._PAGE_PWT == 1 << 3
    assert pt._PAGE_PCD == 1 << 4
    assert pt._PAGE_ACCESSED == 1 << 5
    assert pt._PAGE_DIRTY == 1 << 6
    assert pt._PAGE_PSE == 1 << 7
    assert pt._PAGE_GLOBAL == 1 << 8
    assert pt._PAGE_NX == 1 << 63
    # Reused bits in non-present ptes: bit 6 marks a nonlinear file pte, bit 7 PROT_NONE.
    assert pt._PAGE_FILE == 0x40
    assert pt._PAGE_PROTNONE == 0x80


def test_page_size_and_physical_mask():
    assert pt.PAGE_SHIFT == 12 and pt.PAGE_SIZE == 4096
    # __PHYSICAL_MASK_SHIFT is 46 (page.h#L95): PTE_MASK keeps bits 12..45.
    assert pt.PTE_MASK == 0x0000_3FFF_FFFF_F000


def test_protections_are_the_kernels():
    # pgtable.h#L175-L182, written out as bit sums.
    P, RW, U, A, NX = 0x1, 0x2, 0x4, 0x20, 1 << 63
    assert pt.PAGE_NONE == 0x80 | A
    assert pt.PAGE_SHARED == P | RW | U | A | NX
    assert pt.PAGE_SHARED_EXEC == P | RW | U | A
    assert pt.PAGE_COPY == P | U | A | NX
    assert pt.PAGE_COPY_EXEC == P | U | A
    assert pt.PAGE_READONLY == P | U | A | NX
    assert pt.PAGE_READONLY_EXEC == P | U | A


def test_protection_map_is_P000_to_S111():
    # Index = VM_READ(1) | VM_WRITE(2) | VM_EXEC(4) | VM_SHARED(8); __P/__S at pgtable.h#L212.
    P, RW, U, A, NX = 0x1, 0x2, 0x4, 0x20, 1 << 63
    none, ro, ro_x = 0x80 | A, P | U | A | NX, P | U | A
    copy, copy_x = P | U | A | NX, P | U | A
    shared, shared_x = P | RW | U | A | NX, P | RW | U | A
    expected = [none, ro, copy, copy, ro_x, ro_x, copy_x, copy_x,
                none, ro, shared, shared, ro_x, ro_x, shared_x, shared_x]
    assert list(pt.protection_map) == expected
    # The point of the table: a private writable mapping starts read-only (COW) ...
    assert not pt.pte_write(pt.protection_map[1 | 2])
    # ... and a shared writable one is writable at once.
    assert pt.pte_write(pt.protection_map[8 | 1 | 2])


def test_prot_none_pte_counts_as_present_but_not_user():
    pte = pt.pfn_pte(5, pt.PAGE_NONE)
    assert pt.pte_present(pte)                  # pgtable.h#L247: PRESENT | PROTNONE
    assert not pte & pt._PAGE_USER and not pte & pt._PAGE_PRESENT
    assert not pt.is_swap_pte(pte)


def test_pfn_pte_and_pte_pfn():
    pte = pt.pfn_pte(0x12345, pt.PAGE_SHARED)
    assert pte == (0x12345 << 12) | pt.PAGE_SHARED
    assert pt.pte_pfn(pte) == 0x12345           # NX (bit 63) is outside __PHYSICAL_MASK
    assert pt.pte_present(pte) and pt.pte_write(pte)
    assert not pt.pte_dirty(pte)
    assert pt.pte_young(pte)                    # protections carry _PAGE_ACCESSED


def test_bit_helpers_touch_only_their_bit():
    base = pt.pfn_pte(7, pt.PAGE_COPY)
    assert pt.pte_mkwrite(base) == base | 0x2
    assert pt.pte_wrprotect(pt.pte_mkwrite(base)) == base
    assert pt.pte_mkdirty(base) == base | 0x40
    assert pt.pte_mkclean(pt.pte_mkdirty(base)) == base
    assert pt.pte_mkold(base) == base & ~0x20
    assert pt.pte_mkyoung(pt.pte_mkold(base)) == base


pfns = st.integers(min_value=0, max_value=(1 << 34) - 1)          # 46 physical bits - 12
prots = st.sampled_from(list(pt.protection_map))


@given(pfns, prots, st.booleans(), st.booleans(), prots)
def test_pte_modify_keeps_pfn_accessed_dirty(pfn, prot, young, dirty, newprot):
    """pte_modify: _PAGE_CHG_MASK = PTE_MASK | ACCESSED | DIRTY survive, the rest is newprot."""
    pte = pt.pfn_pte(pfn, prot & ~0x60)
    pte = pt.pte_mkyoung(pte) if young else pt.pte_mkold(pte)
    pte = pt.pte_mkdirty(pte) if dirty else pte
    new = pt.pte_modify(pte, newprot)
    assert pt.pte_pfn(new) == pfn
    assert pt.pte_dirty(new) == (dirty or bool(newprot & 0x40))
    assert pt.pte_young(new) == (young or bool(newprot & 0x20))
    assert pt.pte_write(new) == bool(newprot & 0x2)
    assert new & (1 << 63) == newprot & (1 << 63)
    assert new & 0x1 == newprot & 0x1


def test_pte_modify_to_read_only_keeps_dirty():
    dirty_rw = pt.pte_mkdirty(pt.pfn_pte(9, pt.PAGE_SHARED))
    ro = pt.pte_modify(dirty_rw, pt.PAGE_READONLY)
    assert pt.pte_pfn(ro) == 9 and pt.pte_dirty(ro) and not pt.pte_write(ro)


def test_pte_none_present_file_swap_classification():
    assert pt.pte_none(0) and not pt.pte_present(0) and not pt.is_swap_pte(0)
    swap = pt.__swp_entry(3, 100)
    assert not pt.pte_none(swap) and not pt.pte_present(swap) and pt.is_swap_pte(swap)
    filepte = 0x40 | (5 << 12)
    assert pt.pte_file(filepte) and not pt.is_swap_pte(filepte)


def test_arch_swap_entry_layout():
    # pgtable.h#L411-L415: type in bits 1..6, offset from bit 8, pte value == arch entry.
    assert pt.__swp_entry(1, 0) == 0b10
    assert pt.__swp_entry(0, 1) == 0x100
    assert pt.__swp_entry(31, 0x1234) == (31 << 1) | (0x1234 << 8)
    assert pt.__swp_type(pt.__swp_entry(31, 0x1234)) == 31
    assert pt.__swp_offset(pt.__swp_entry(31, 0x1234)) == 0x1234
    assert pt.__swp_type(0x7E) == 0x3F                       # the mask is 6 bits wide
    # Bit 0 (present) and bit 7 (PROTNONE) stay clear for every 5-bit type:
    for t in range(32):
        e = pt.__swp_entry(t, 1)
        assert not e & 0x1 and not e & 0x80 and not pt.pte_present(e)
        assert not pt.pte_file(e)                             # bit 6 is only reached by type 32+
