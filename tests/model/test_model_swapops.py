"""Bit-for-bit tests of refmodel/swapops.py: swp_entry_t, migration entries, swap types.

Kernel: include/linux/swapops.h and include/linux/swap.h of Linux 2.6.18,
https://elixir.bootlin.com/linux/v2.6.18/source/include/linux/swapops.h
https://elixir.bootlin.com/linux/v2.6.18/source/include/linux/swap.h#L30
kernel-facts §3.1 (encoding) and scenario S20 (round trip of a migration entry).
"""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from refmodel import BUG
from refmodel import swapops as so
from refmodel.page import Page
from refmodel.pgtable import PAGE_SIZE, is_swap_pte, pte_present

types = st.integers(min_value=0, max_value=31)
# The arch pte keeps offsets in bits 8..63: 56 bits round-trip through a pte.
offsets = st.integers(min_value=0, max_value=(1 << 56) - 1)


def locked_page(pfn: int) -> Page:
    page = Page(pfn, 0)
    page._count = 1
    page.flags |= 1                        # PG_locked
    return page


# -- constants (swap.h#L30-L37) ---------------------------------------------------------

def test_type_numbering_with_config_migration():
    assert so.MAX_SWAPFILES_SHIFT == 5
    assert so.MAX_SWAPFILES == 30
    assert so.SWP_MIGRATION_READ == 30
    assert so.SWP_MIGRATION_WRITE == 31
    assert so.MIGRATION_2_6_18 == (30, 30, 31)
    assert so.NO_MIGRATION == (32, None, None)       # without CONFIG_MIGRATION: 32 types


def test_swp_entry_layout_type_in_top_five_bits():
    # SWP_TYPE_SHIFT(e) = BITS_PER_LONG - MAX_SWAPFILES_SHIFT = 59 on 64-bit.
    assert so.SWP_TYPE_SHIFT == 59
    assert so.swp_entry(1, 0) == 1 << 59
    assert so.swp_entry(31, 0) == 31 << 59
    assert so.swp_entry(0, 5) == 5
    assert so.swp_entry(3, (1 << 59) + 7) == (3 << 59) | 7     # offset masked to 59 bits


# -- round trips --------------------------------------------------------------------------

@given(types, st.integers(min_value=0, max_value=(1 << 59) - 1))
@example(0, 0)
@example(29, 1)
@example(30, 12345)
@example(31, (1 << 59) - 1)
def test_swp_entry_type_offset_round_trip(t, off):
    e = so.swp_entry(t, off)
    assert so.swp_type(e) == t
    assert so.swp_offset(e) == off
    assert 0 <= e < 1 << 64


@given(types, offsets)
@example(0, 0)
@example(29, 1)
@example(30, 7)
@example(31, (1 << 56) - 1)
@example(0, 1 << 40)
def test_pte_round_trip_and_arch_layout(t, off):
    """pte_to_swp_entry(swp_entry_to_pte(e)) == e, and the pte is type<<1 | offset<<8."""
    e = so.swp_entry(t, off)
    pte = so.swp_entry_to_pte(e)
    assert pte == (t << 1) | (off << 8)
    assert so.pte_to_swp_entry(pte) == e
    assert is_swap_pte(pte) or (t == 0 and off == 0)   # swp_entry(0,0) is the empty pte
    assert not pte_present(pte)


def test_pte_to_swp_entry_bugs_on_a_file_pte():
    with pytest.raises(BUG):
        so.pte_to_swp_entry(0x40 | (3 << 12))


# -- migration entries (swapops.h, CONFIG_MIGRATION) --------------------------------------

def test_make_migration_entry_bugs_on_an_unlocked_page():
    page = Page(42, 0)
    page._count = 1
    with pytest.raises(BUG):
        so.make_migration_entry(page, True)
    with pytest.raises(BUG):
        so.make_migration_entry(page, False)


@given(st.integers(min_value=1, max_value=(1 << 34) - 1), st.booleans())
@example(1, True)
@example((1 << 34) - 1, False)
def test_S20_migration_entry_round_trip(pfn, write):
    """kernel-facts S20: type 31 if write else 30, offset = pfn, through a pte and back."""
    e = so.make_migration_entry(locked_page(pfn), write)
    back = so.pte_to_swp_entry(so.swp_entry_to_pte(e))
    assert back == e
    assert so.swp_type(back) == (31 if write else 30)
    assert so.swp_offset(back) == pfn
    assert so.is_migration_entry(back)
    assert so.is_write_migration_entry(back) == write
    assert so.migration_entry_to_pfn(back) == pfn
    r = so.make_migration_entry_read(back)
    assert so.swp_type(r) == 30 and so.swp_offset(r) == pfn
    assert so.is_migration_entry(r) and not so.is_write_migration_entry(r)


@pytest.mark.parametrize("t", [0, 1, 29])
def test_real_swap_types_are_not_migration_entries(t):
    e = so.swp_entry(t, 99)
    assert not so.is_migration_entry(e)
    assert not so.is_write_migration_entry(e)


def test_without_config_migration_types_30_31_are_swap():
    for t in (30, 31):
        assert not so.is_migration_entry(so.swp_entry(t, 1), so.NO_MIGRATION)
    with pytest.raises(BUG):
        so.make_migration_entry(locked_page(3), True, so.NO_MIGRATION)


def test_migration_entry_to_page_bugs_unless_locked():
    """The "swapops.h BUG": using an entry is only legal while its page is locked."""
    page = locked_page(17)
    e = so.make_migration_entry(page, False)
    assert so.migration_entry_to_page({17: page}, e) is page
    page.flags &= ~1
    with pytest.raises(BUG):
        so.migration_entry_to_page({17: page}, e)


def test_migration_entry_offsets_are_pfns_not_byte_addresses():
    e = so.make_migration_entry(locked_page(5), True)
    assert so.swp_offset(e) == 5 != 5 * PAGE_SIZE
