"""Bit-field pictures of a single x86-64 pte (present page, swap entry or migration entry)."""

from html import escape

from ..pgtable import (_PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW,
                       _PAGE_USER, __swp_offset, __swp_type, pte_none, pte_present, pte_pfn)
from ..swapops import MIGRATION_2_6_18, SwapTypes
from .picture import Picture


def _type_name(t: int, types: SwapTypes) -> str:
    if t == types.migration_write:
        return "SWP_MIGRATION_WRITE"
    if t == types.migration_read:
        return "SWP_MIGRATION_READ" if types.migration_write is not None else "SWP_TYPE_MIGRATION"
    return f"swap area {t}"


def pte_fields(pte: int, types: SwapTypes = MIGRATION_2_6_18):
    """The neutral description: (kind, [(name, hi_bit, lo_bit, value, meaning), ...])."""
    if pte_none(pte):
        return "none", [("(empty)", 63, 0, 0, "pte_none: nothing mapped here")]
    if pte_present(pte):
        flag = lambda bit, name, yes, no: (name, bit.bit_length() - 1, bit.bit_length() - 1,
                                             int(bool(pte & bit)), yes if pte & bit else no)
        return "present", [
            ("NX", 63, 63, pte >> 63, "no-execute"),
            ("pfn", 45, 12, pte_pfn(pte), f"page frame {pte_pfn(pte)}"),
            flag(_PAGE_DIRTY, "D", "dirty", "clean"),
            flag(_PAGE_ACCESSED, "A", "young (accessed)", "old"),
            flag(_PAGE_USER, "U", "user", "kernel"),
            flag(_PAGE_RW, "RW", "writable", "read-only"),
            ("P", 0, 0, pte & _PAGE_PRESENT,
             "present" if pte & _PAGE_PRESENT else "PROT_NONE (bit 7 set)"),
        ]
    t, off = __swp_type(pte), __swp_offset(pte)
    migration = t in (types.migration_read, types.migration_write)
    kind = "migration" if migration else "swap"
    return kind, [
        ("offset", 63, 8, off, f"pfn {off} of the page under migration" if migration
         else f"slot {off} in the swap area"),
        ("PN", 7, 7, (pte & _PAGE_PROTNONE) >> 7, "_PAGE_PROTNONE: 0, else a PROT_NONE page"),
        ("type", 6, 1, t, _type_name(t, types) + " (bit 6 is _PAGE_FILE, so types stay below 32)"),
        ("P", 0, 0, 0, "not present: the CPU faults"),
    ]


_KIND_TITLE = {"none": "empty pte", "present": "present pte", "swap": "swap entry",
               "migration": "migration entry"}
_KIND_COLOUR = {"none": "#eeeeee", "present": "#cfe8cf", "swap": "#d7e3f4", "migration": "#f8d9b0"}


def pte_picture(pte: int, types: SwapTypes = MIGRATION_2_6_18) -> Picture:
    """A labelled picture of a raw pte value: text table and SVG bar of its fields."""
    kind, fields = pte_fields(pte, types)
    title = f"{_KIND_TITLE[kind]} 0x{pte:016x}"
    rows = [f"{title}", f"{'bits':>7}  {'field':<7} {'value':>12}  meaning"]
    for name, hi, lo, val, meaning in fields:
        bits = f"{hi}" if hi == lo else f"{hi}..{lo}"
        rows.append(f"{bits:>7}  {name:<7} {val:>#12x}  {meaning}")
    text = "\n".join(rows)

    # SVG: 64 bit cells, bit 63 at the left, fields outlined and labelled underneath.
    cell, left, top = 11, 10, 28
    width = left * 2 + 64 * cell
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="120" '
             f'viewBox="0 0 {width} 120" role="img" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="16" font-family="monospace" font-size="13">{escape(title)}</text>']
    for bit in range(64):
        x = left + (63 - bit) * cell
        on = (pte >> bit) & 1
        parts.append(f'<rect x="{x}" y="{top}" width="{cell}" height="22" '
                     f'fill="{"#444" if on else "#fff"}" stroke="#999" stroke-width="0.5"/>')
    for name, hi, lo, val, meaning in fields:
        x0, x1 = left + (63 - hi) * cell, left + (64 - lo) * cell
        parts.append(f'<rect x="{x0}" y="{top - 2}" width="{x1 - x0}" height="26" fill="none" '
                     f'stroke="#c05000" stroke-width="1.5"/>')
        parts.append(f'<rect x="{x0}" y="{top + 28}" width="{x1 - x0}" height="18" '
                     f'fill="{_KIND_COLOUR[kind]}" stroke="#c05000" stroke-width="0.5"/>')
        label = name if x1 - x0 < 60 else f"{name}={val:#x}"
        parts.append(f'<text x="{(x0 + x1) / 2}" y="{top + 41}" text-anchor="middle" '
                     f'font-family="monospace" font-size="10">{escape(label)}</text>')
    # The meanings, wrapped to the picture's width (about 7 px per character at 11 px).
    lines, line = [], ""
    for item in (f"{n}: {m}" for n, _, _, _, m in fields if n not in ("PN",)):
        if line and len(line) + len(item) + 2 > (width - 2 * left) // 6:
            lines.append(line)
            line = item
        else:
            line = f"{line}; {item}" if line else item
    lines.append(line)
    for i, text_line in enumerate(lines):
        parts.append(f'<text x="{left}" y="{top + 66 + 14 * i}" font-family="sans-serif" '
                     f'font-size="11">{escape(text_line)}</text>')
    height = top + 66 + 14 * len(lines)
    parts[0] = parts[0].replace('height="120"', f'height="{height}"').replace(
        f'0 0 {width} 120', f'0 0 {width} {height}')
    parts.append("</svg>")
    return Picture(title, text, "".join(parts))
