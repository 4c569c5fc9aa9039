"""A non-present pte is a tagged union: what its 5-bit type field means, kernel by kernel.

The data (refmodel/data/swap_types.json) lists, for 2.6.18 and for a recent mainline tree,
which type numbers are swap areas and which are taken by migration entries, hardware-poison
entries, device entries, pte markers and the swap-in error.  swap_types_picture() draws one
row of 32 cells per kernel (the tag) with a legend saying what the offset (the payload)
holds for each kind, and the same as a text table.
"""

import json
from html import escape
from importlib import resources

from .figure import (INK, MUTED, PALETTE, SIZE_NOTE, SIZE_TICK, SIZE_TITLE, svg_open, text,
                     text_table, text_width, wrap)
from .picture import Picture

WIDTH = 640
NARROW_WIDTH = 360        # the phone layout (see sequence.py)
COLOURS = {"swap": "#d7e3f4", "migration": PALETTE[1], "hwpoison": PALETTE[5],
           "device": PALETTE[2], "marker": PALETTE[3], "error": "#7f7f7f"}


def load(path=None) -> dict:
    """The layouts and kinds of refmodel/data/swap_types.json (or of path)."""
    if path is None:
        raw = resources.files("refmodel").joinpath("data/swap_types.json").read_text()
    else:
        with open(path, encoding="utf-8") as f:
            raw = f.read()
    data = json.loads(raw)
    for layout in data["layouts"]:
        cells = sorted(t for r in layout["ranges"] for t in range(r["first"], r["last"] + 1))
        if cells != list(range(32)):
            raise ValueError(f"layout {layout['name']!r} does not cover types 0..31 once each")
        for r in layout["ranges"]:
            if r["kind"] not in data["kinds"]:
                raise ValueError(f"unknown kind {r['kind']!r} in {layout['name']!r}")
    return data


def type_of(layout: dict, t: int) -> dict:
    """The range of layout that type number t falls in."""
    return next(r for r in layout["ranges"] if r["first"] <= t <= r["last"])


def swap_types_text(data: dict) -> str:
    """One row per distinct meaning: type numbers and name in each kernel."""
    names = [layout["name"] for layout in data["layouts"]]
    rows = []
    for t in range(32):
        cells = []
        for layout in data["layouts"]:
            r = type_of(layout, t)
            cells.append(r["name"] if r["kind"] != "swap" else "swap area")
        if rows and rows[-1][1:] == cells:
            rows[-1][0] = f"{rows[-1][0].split('-')[0]}-{t}"
        else:
            rows.append([str(t)] + cells)
    kinds = [f"  {k}: {v['payload']}" for k, v in data["kinds"].items()]
    return "\n".join(["What the type field of a non-present pte means (x86-64, every option "
                      "on)", "", text_table(["type"] + names, rows, ["<"] * (len(names) + 1)),
                      "", "What the offset field holds, by kind:"] + kinds)


def swap_types_svg(data: dict, narrow: bool = False) -> str:
    """A row of 32 type cells per kernel, coloured by kind, the offset's meaning below.
    narrow (NARROW_WIDTH units, for a phone's column): each kernel's name above its row."""
    width = NARROW_WIDTH if narrow else WIDTH
    left = 16 if narrow else 124
    cell = (width - left - 16) / 32
    title = "A non-present pte is a tagged union: the type field is the tag"
    heading = wrap(title, SIZE_TITLE, width - 32)
    y = 56 + 20 * (len(heading) - 1)
    tick_y = y - 6
    rows = []
    for layout in data["layouts"]:
        special = [r for r in layout["ranges"] if r["kind"] != "swap"]
        names = ", ".join(f"{r['first']} {r['name'].replace('SWP_', '')}" for r in special)
        name_lines = wrap(names, SIZE_NOTE - 1, (width - left - 24) * 0.92)
        label = wrap(layout["name"], SIZE_TICK, (width - 32 if narrow else left - 24) * 0.9)[:2]
        label_h = 18 * len(label) if narrow else 0
        rows.append((y, layout, name_lines, label, label_h))
        y += 58 + label_h + 15 * len(name_lines)
    kinds = [k for k in data["kinds"] if any(r["kind"] == k for l in data["layouts"]
                                                  for r in l["ranges"])]
    legend_y = y + 4
    legend = [(k, wrap(data["kinds"][k]["label"], SIZE_TICK, width - 58)) for k in kinds]
    legend_h = sum(8 + 16 * len(lines) for _, lines in legend)
    foot = wrap("The offset is the payload: what it holds depends on the tag.", SIZE_NOTE,
                width - 32)
    height = legend_y + legend_h + 18 * len(foot) + 16
    parts = svg_open(width, height, title,
                     "Two rows of 32 cells, one per kernel, coloured by what each swap type "
                     "number means; the text that follows the picture lists the same.")
    for i, line in enumerate(heading):
        parts.append(text(16, 28 + 20 * i, line, SIZE_TITLE, weight="bold"))
    for t in range(0, 32, 4 if narrow else 2):
        parts.append(text(left + cell * (t + 0.5), tick_y, str(t), SIZE_TICK - 1, "middle",
                          fill=MUTED))
    for ry, layout, name_lines, label, label_h in rows:
        for j, line in enumerate(label):
            ly = ry + 14 + 16 * j if narrow else ry + 28 - 8 * (len(label) - 1) + 16 * j
            parts.append(text(16, ly, line, SIZE_TICK, weight="bold"))
        ry += label_h
        for r in layout["ranges"]:
            x0 = left + cell * r["first"]
            w = cell * (r["last"] - r["first"] + 1)
            colour = COLOURS[r["kind"]]
            parts.append(f'<rect x="{x0:.1f}" y="{ry + 8}" width="{w - 1:.1f}" height="30" '
                         f'fill="{colour}" stroke="#ffffff"><title>{escape(str(r["first"]))}'
                         f'{"" if r["first"] == r["last"] else "-" + str(r["last"])}: '
                         f'{escape(r["name"])}</title></rect>')
            if r["kind"] == "swap":
                name = r["name"]
                if text_width(name, SIZE_TICK - 1) > w - 8:      # narrow: drop "(MAX_...)"
                    name = name.split(" (")[0]
                parts.append(text(x0 + w / 2, ry + 28, name, SIZE_TICK - 1, "middle",
                                  fill=INK))
        # The names of the reserved types, rotated would be unreadable: list them under.
        for j, line in enumerate(name_lines):
            parts.append(text(left, ry + 54 + 15 * j, line, SIZE_NOTE - 1, fill=MUTED))
    ky = legend_y
    for k, lines in legend:
        parts.append(f'<rect x="16" y="{ky}" width="18" height="16" fill="{COLOURS[k]}"/>')
        for j, line in enumerate(lines):
            parts.append(text(42, ky + 13 + 16 * j, line, SIZE_TICK))
        ky += 8 + 16 * len(lines)
    for i, line in enumerate(foot):
        parts.append(text(16, ky + 14 + 18 * i, line, SIZE_NOTE, fill=MUTED))
    parts.append("</svg>")
    return "".join(parts)


class SwapTypes:
    """The picture and table of swap type layouts; shows itself in a notebook."""

    def __init__(self, path=None):
        self.data = load(path)

    def picture(self) -> Picture:
        return Picture("swap types", swap_types_text(self.data), swap_types_svg(self.data),
                       narrow=swap_types_svg(self.data, narrow=True))

    def __str__(self) -> str:
        return swap_types_text(self.data)

    def _repr_html_(self) -> str:
        return self.picture()._repr_html_()


def swap_types_picture(path=None) -> SwapTypes:
    """The tagged-union picture of refmodel/data/swap_types.json."""
    return SwapTypes(path)
