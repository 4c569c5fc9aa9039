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
                     text_table, wrap)
from .picture import Picture

WIDTH = 640
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


def swap_types_svg(data: dict) -> str:
    """A row of 32 type cells per kernel, coloured by kind, the offset's meaning below."""
    left, cell = 124, (WIDTH - 124 - 16) / 32
    y = 56
    title = "A non-present pte is a tagged union: the type field is the tag"
    rows = []
    for layout in data["layouts"]:
        special = [r for r in layout["ranges"] if r["kind"] != "swap"]
        names = ", ".join(f"{r['first']} {r['name'].replace('SWP_', '')}" for r in special)
        name_lines = wrap(names, SIZE_NOTE - 2, (WIDTH - left - 24) * 0.92)
        rows.append((y, layout, name_lines))
        y += 58 + 14 * len(name_lines)
    kinds = [k for k in data["kinds"] if any(r["kind"] == k for l in data["layouts"]
                                                  for r in l["ranges"])]
    legend_y = y + 4
    height = legend_y + 24 * len(kinds) + 34
    parts = svg_open(WIDTH, height, title,
                     "Two rows of 32 cells, one per kernel, coloured by what each swap type "
                     "number means; the text that follows the picture lists the same.")
    parts.append(text(16, 28, title, SIZE_TITLE, weight="bold"))
    for t in range(0, 32, 2):
        parts.append(text(left + cell * (t + 0.5), 50, str(t), SIZE_TICK - 2, "middle",
                          fill=MUTED))
    for ry, layout, name_lines in rows:
        label = wrap(layout["name"], SIZE_TICK, (left - 24) * 0.9)
        for j, line in enumerate(label[:2]):
            parts.append(text(16, ry + 28 - 8 * (len(label[:2]) - 1) + 16 * j, line, SIZE_TICK,
                              weight="bold"))
        for r in layout["ranges"]:
            x0 = left + cell * r["first"]
            w = cell * (r["last"] - r["first"] + 1)
            colour = COLOURS[r["kind"]]
            parts.append(f'<rect x="{x0:.1f}" y="{ry + 8}" width="{w - 1:.1f}" height="30" '
                         f'fill="{colour}" stroke="#ffffff"><title>{escape(str(r["first"]))}'
                         f'{"" if r["first"] == r["last"] else "-" + str(r["last"])}: '
                         f'{escape(r["name"])}</title></rect>')
            if r["kind"] == "swap":
                parts.append(text(x0 + w / 2, ry + 28, r["name"], SIZE_TICK - 1, "middle",
                                  fill=INK))
        # The names of the reserved types, rotated would be unreadable: list them under.
        for j, line in enumerate(name_lines):
            parts.append(text(left, ry + 54 + 14 * j, line, SIZE_NOTE - 2, fill=MUTED))
    for i, k in enumerate(kinds):
        ky = legend_y + 24 * i
        parts.append(f'<rect x="16" y="{ky}" width="18" height="16" fill="{COLOURS[k]}"/>')
        parts.append(text(42, ky + 13, data["kinds"][k]["label"], SIZE_TICK))
    parts.append(text(16, legend_y + 24 * len(kinds) + 14,
                      "The offset is the payload: what it holds depends on the tag.",
                      SIZE_NOTE, fill=MUTED))
    parts.append("</svg>")
    return "".join(parts)


class SwapTypes:
    """The picture and table of swap type layouts; shows itself in a notebook."""

    def __init__(self, path=None):
        self.data = load(path)

    def picture(self) -> Picture:
        return Picture("swap types", swap_types_text(self.data), swap_types_svg(self.data))

    def __str__(self) -> str:
        return swap_types_text(self.data)

    def _repr_html_(self) -> str:
        return self.picture()._repr_html_()


def swap_types_picture(path=None) -> SwapTypes:
    """The tagged-union picture of refmodel/data/swap_types.json."""
    return SwapTypes(path)
