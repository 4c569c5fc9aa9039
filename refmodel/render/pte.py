"""Bit-field pictures of a single x86-64 pte (present page, swap entry or migration entry)."""

from html import escape

from ..pgtable import (_PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW,
                       _PAGE_USER, __swp_offset, __swp_type, pte_pfn)
from ..swapops import MIGRATION_2_6_18, SwapTypes, pte_kind
from .picture import Picture
from .svg import CHAR, FONT, mono, svg_open, wrap


def _type_name(t: int, types: SwapTypes) -> str:
    if t == types.migration_write:
        return "SWP_MIGRATION_WRITE"
    if t == types.migration_read:
        return "SWP_MIGRATION_READ" if types.migration_write is not None else "SWP_TYPE_MIGRATION"
    return f"swap area {t}"


def pte_fields(pte: int, types: SwapTypes = MIGRATION_2_6_18):
    """The neutral description: (kind, [(name, hi_bit, lo_bit, value, meaning), ...])."""
    kind = pte_kind(pte, types)
    if kind == "none":
        return "none", [("(empty)", 63, 0, 0, "pte_none: nothing mapped here")]
    if kind == "present":
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
    migration = kind.startswith("migration")     # a nonlinear file pte shows its swap bits
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
    """A labelled picture of a raw pte value: text table and SVG bar of its fields.

    The SVG draws the 64 bits as two rows of 32 (63..32 above 31..0), so that it stays
    about 370 px wide and its 13 px labels stay readable when a phone scales it."""
    kind, fields = pte_fields(pte, types)
    title = f"{_KIND_TITLE[kind]} 0x{pte:016x}"
    rows = [f"{title}", f"{'bits':>7}  {'field':<7} {'value':>12}  meaning"]
    for name, hi, lo, val, meaning in fields:
        bits = f"{hi}" if hi == lo else f"{hi}..{lo}"
        rows.append(f"{bits:>7}  {name:<7} {val:>#12x}  {meaning}")
    text = "\n".join(rows)
    return Picture(title, text, _pte_svg(pte, title, kind, fields))


_CELL, _LEFT = 11, 10                 # px per bit, margin
_ROW_H = 20                           # height of a row of bit cells
_LABEL_LINE = 15                      # px between staggered label lines


def _pte_svg(pte: int, title: str, kind: str, fields: list) -> str:
    width = 2 * _LEFT + 32 * _CELL
    parts = [mono(_LEFT, 16, title)]
    y = 26
    shortened = set()                                # fields whose label lost its value
    for row_hi in (63, 31):                          # bits row_hi..row_hi-31
        row_lo = row_hi - 31
        x_of = lambda bit: _LEFT + (row_hi - bit) * _CELL      # noqa: E731 (left edge of bit)
        parts.append(f'<text x="{_LEFT}" y="{y + 11}" font-family="monospace" font-size="12" '
                     f'fill="#555">{row_hi}</text>')
        parts.append(f'<text x="{_LEFT + 32 * _CELL}" y="{y + 11}" font-family="monospace" '
                     f'font-size="12" fill="#555" text-anchor="end">{row_lo}</text>')
        top = y + 15
        for bit in range(row_hi, row_lo - 1, -1):
            on = (pte >> bit) & 1
            parts.append(f'<rect x="{x_of(bit)}" y="{top}" width="{_CELL}" height="{_ROW_H}" '
                         f'fill="{"#444" if on else "#fff"}" stroke="#999" stroke-width="0.5"/>')
        # Fields (or the part of a field) in this row: outline, coloured bar, label.
        ends = []                                    # right edge of the last label per line
        label_rows = 1
        for name, hi, lo, val, _ in fields:
            h, lo_ = min(hi, row_hi), max(lo, row_lo)
            if h < lo_:
                continue
            x0, x1 = x_of(h), x_of(lo_) + _CELL
            parts.append(f'<rect x="{x0}" y="{top - 2}" width="{x1 - x0}" height="{_ROW_H + 4}" '
                         f'fill="none" stroke="#c05000" stroke-width="1.5"/>')
            parts.append(f'<rect x="{x0}" y="{top + _ROW_H + 4}" width="{x1 - x0}" height="6" '
                         f'fill="{_KIND_COLOUR[kind]}" stroke="#c05000" stroke-width="0.5"/>')
            split = hi > row_hi or lo < row_lo
            label = f"{name}={val:#x}"
            if split and (hi - lo + 1) - (h - lo_ + 1) > (h - lo_ + 1):
                label = name                          # the wider part carries the value
            if len(label) * CHAR > x1 - x0 + 2:
                label = name
                if not split:
                    shortened.add(name)
            w = len(label) * CHAR
            cx = (x0 + x1) / 2
            lx = max(_LEFT - 4, min(cx - w / 2, width - w))
            line = 0
            while line < len(ends) and ends[line] > lx - 3:
                line += 1
            if line == len(ends):
                ends.append(0)
            ends[line] = lx + w
            label_rows = max(label_rows, line + 1)
            ly = top + _ROW_H + 10 + _LABEL_LINE * (line + 1) - 2
            if line:                                  # a leader from the label to its field
                parts.append(f'<line x1="{cx}" y1="{top + _ROW_H + 10}" x2="{cx}" '
                             f'y2="{ly - 11}" stroke="#c05000" stroke-width="0.75"/>')
            parts.append(mono(lx, ly, label))
        y = top + _ROW_H + 10 + _LABEL_LINE * label_rows + 8
    # The meanings, one field a line, wrapped to the picture's width (13 px sans-serif:
    # at most about 7.4 px a character).
    lines = []
    for n, hi, lo, v, m in fields:
        if n != "PN":
            value = f" = {v:#x}" if n in shortened and hi > lo else ""
            lines += wrap(f"{n}{value}: {m}", int((width - 2 * _LEFT) // 7.4))
    for i, text_line in enumerate(lines):
        parts.append(f'<text x="{_LEFT}" y="{y + 8 + 17 * i}" font-family="sans-serif" '
                     f'font-size="{FONT}" xml:space="preserve">{escape(text_line)}</text>')
    height = y + 8 + 17 * len(lines)
    return svg_open(width, height, title) + "".join(parts) + "</svg>"
