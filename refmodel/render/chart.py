"""Bar and line charts as text and SVG from one description, in plain Python.

The book runs in the browser too (Pyodide), where matplotlib is not available offline, and
its charts must also exist as text for screen readers, terminals and tests.  So a chart is
first a neutral description -- a Chart: kind, title, axis labels, x values and named series
of numbers -- and then drawn twice by this module: chart_text() as an aligned table,
chart_svg() as a scalable SVG.  Chart objects show themselves in a notebook (the SVG with
the table folded under it) and print as the table.

    from refmodel.render.chart import bar_chart
    c = bar_chart("Swap slots per migrated page", "era", "slots",
                  ["2.6.17", "2.6.18"], {"slots": [1, 0]})
    print(c)            # the table
    c                   # in a notebook: the picture

Three kinds: grouped bars (bar_chart), lines over numbers (line_chart) and horizontal
stacked bars (stacked_bar_chart: one bar per category, one segment per series, for parts
of a whole such as the kinds of field checked per scenario).
"""

import math
from dataclasses import dataclass
from html import escape

from .figure import (GRID, INK, MUTED, PALETTE, SHAPES, SIZE_LABEL, SIZE_NOTE, SIZE_TICK,
                     SIZE_TITLE, marker, svg_open, text, text_table, text_width, wrap)
from .picture import Picture

WIDTH = 640
NARROW_WIDTH = 360        # the phone layout (see sequence.py): a 390 px screen's column, ~1:1


@dataclass(frozen=True)
class Series:
    """One named row of numbers, one per x value (None: no value there)."""
    name: str
    values: tuple


@dataclass(frozen=True)
class Chart:
    """What a chart shows, independent of how it is drawn."""
    kind: str                    # "bar" (grouped, x are categories), "line" (x are numbers)
                                 # or "stacked" (horizontal, one bar per x, series stacked)
    title: str
    x_label: str
    y_label: str
    x: tuple
    series: tuple                # of Series
    note: str = ""               # a caveat, drawn under the chart and under the table
    x_scale: str = "linear"      # line charts: "linear" or "log2"
    y_format: str = "{:,.0f}"    # how values are written (table, bar labels)

    def __post_init__(self):
        if self.kind not in ("bar", "line", "stacked"):
            raise ValueError(f"unknown chart kind {self.kind!r}: 'bar', 'line' or 'stacked'")
        if not self.series:
            raise ValueError("a chart needs at least one series")
        for s in self.series:
            if len(s.values) != len(self.x):
                raise ValueError(f"series {s.name!r} has {len(s.values)} values for "
                                 f"{len(self.x)} x values")
        if self.x_scale not in ("linear", "log2"):
            raise ValueError(f"unknown x_scale {self.x_scale!r}")
        if self.kind == "line" and self.x_scale == "log2" and any(v <= 0 for v in self.x):
            raise ValueError("a log2 x axis needs positive x values")
        if self.kind == "stacked" and any(v is not None and v < 0
                                          for s in self.series for v in s.values):
            raise ValueError("a stacked bar chart needs values of at least 0")

    def picture(self) -> Picture:
        return Picture(self.title, chart_text(self), chart_svg(self),
                       narrow=chart_svg(self, narrow=True))

    def __str__(self) -> str:
        return chart_text(self)

    def _repr_html_(self) -> str:
        return self.picture()._repr_html_()


def _series(series) -> tuple:
    if isinstance(series, dict):
        return tuple(Series(str(k), tuple(v)) for k, v in series.items())
    return tuple(series)


def bar_chart(title, x_label, y_label, x, series, note="", y_format="{:,.0f}") -> Chart:
    """Grouped bars: one group per x category, one bar per series ({name: values})."""
    return Chart("bar", title, x_label, y_label, tuple(x), _series(series), note,
                 y_format=y_format)


def line_chart(title, x_label, y_label, x, series, note="", x_scale="linear",
               y_format="{:,.0f}") -> Chart:
    """Lines over numeric x: one line per series ({name: values})."""
    return Chart("line", title, x_label, y_label, tuple(x), _series(series), note, x_scale,
                 y_format)


def stacked_bar_chart(title, category_label, value_label, categories, series, note="",
                      y_format="{:,.0f}") -> Chart:
    """Horizontal bars, one per category (top to bottom in the order given), each split
    into one segment per series ({name: values}); the text table adds a total column."""
    return Chart("stacked", title, category_label, value_label, tuple(categories),
                 _series(series), note, y_format=y_format)


# -- text ---------------------------------------------------------------------------------

def _fmt(chart: Chart, v) -> str:
    if v is None:
        return "-"
    return chart.y_format.format(v)


def chart_text(chart: Chart) -> str:
    """The chart as a table: one row per x value, one column per series."""
    header = [chart.x_label] + [s.name for s in chart.series]
    rows = [[str(x)] + [_fmt(chart, s.values[i]) for s in chart.series]
            for i, x in enumerate(chart.x)]
    if chart.kind == "stacked":
        header.append("total")
        for row, total in zip(rows, _totals(chart)):
            row.append(_fmt(chart, total))
    out = [chart.title, f"({chart.y_label} by {chart.x_label})", "", text_table(header, rows)]
    if chart.note:
        out += ["", chart.note]
    return "\n".join(out)


# -- SVG ----------------------------------------------------------------------------------

def nice_ticks(top: float, count: int = 5) -> list:
    """Round tick values from 0 to at least top (1, 2 or 5 times a power of ten apart)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _tick_label(v: float) -> str:
    if v == int(v):
        v = int(v)
        if abs(v) >= 10_000 and v % 1000 == 0:
            return f"{v // 1000:,}k"
        return f"{v:,}"
    return f"{v:g}"


def _title_lines(chart: Chart, width: int) -> list:
    """The title, wrapped to the drawing's width (one line at 640 units for the book's titles)."""
    return wrap(chart.title, SIZE_TITLE, width - 32) or [""]


def _legend_layout(names: list, width: int = WIDTH) -> tuple:
    """Legend rows above the plot: items side by side while they fit, a long name wrapped
    over several lines of its own.  Returns (rows of (series index, lines), height)."""
    avail = width - 32
    legend_rows, row, row_w = [], [], 0.0
    for i, name in enumerate(names):
        lines = wrap(name, SIZE_TICK, avail - 30)
        w = 30 + max(text_width(x, SIZE_TICK) for x in lines) + 18
        if row and (row_w + w > avail or len(lines) > 1):
            legend_rows.append(row)
            row, row_w = [], 0.0
        row.append((i, lines))
        row_w += w
        if len(lines) > 1:
            legend_rows.append(row)
            row, row_w = [], 0.0
    if row:
        legend_rows.append(row)
    return legend_rows, sum(20 * max(len(lines) for _, lines in r) + 2 for r in legend_rows)


def _legend(chart: Chart, legend_rows: list, title_h: float = 0) -> list:
    """The legend drawn under the title (title_h: the height of title lines after the
    first): a line and marker per line series, a swatch per bar series."""
    parts = []
    ly = 26 + 24 + title_h
    for row in legend_rows:
        lx = 16
        for i, lines in row:
            colour = PALETTE[i % len(PALETTE)]
            if chart.kind == "line":
                dash = ' stroke-dasharray="6 4"' if i % 2 else ""
                parts.append(f'<line x1="{lx:.1f}" y1="{ly - 4:.1f}" x2="{lx + 22:.1f}" '
                             f'y2="{ly - 4:.1f}" stroke="{colour}" stroke-width="2.5"{dash}/>')
                parts.append(marker(SHAPES[i % len(SHAPES)], lx + 11, ly - 4, 4.5, colour))
            else:
                parts.append(f'<rect x="{lx:.1f}" y="{ly - 12:.1f}" width="22" height="14" '
                             f'fill="{colour}"/>')
            for j, line in enumerate(lines):
                parts.append(text(lx + 30, ly + 20 * j, line, SIZE_TICK))
            lx += 30 + max(text_width(x, SIZE_TICK) for x in lines) + 18
        ly += 20 * max(len(lines) for _, lines in row) + 2
    return parts


def _totals(chart: Chart) -> list:
    """Per x value, the sum of the series' values (None counts as 0)."""
    return [sum(s.values[i] or 0 for s in chart.series) for i in range(len(chart.x))]


def _title(title_lines: list) -> list:
    return [text(16, 26 + 22 * i, line, SIZE_TITLE, weight="bold")
            for i, line in enumerate(title_lines)]


def chart_svg(chart: Chart, narrow: bool = False) -> str:
    """The chart drawn as a scalable SVG (axes, grid, bars or lines, legend, note); narrow:
    laid out in NARROW_WIDTH units for a phone's column, so that its labels keep their size
    instead of shrinking with the drawing."""
    width = NARROW_WIDTH if narrow else WIDTH
    if chart.kind == "stacked":
        return _stacked_svg(chart, width)
    title_lines = _title_lines(chart, width)
    title_h = 22 * (len(title_lines) - 1)
    values = [v for s in chart.series for v in s.values if v is not None]
    ticks = nice_ticks(max(values) if values else 0)
    y_top = ticks[-1]
    tick_w = max(text_width(_tick_label(t), SIZE_TICK) for t in ticks)
    left = 24 + tick_w + 8          # room for the rotated y label and the tick labels
    right = 16
    top = 18 + 24 + title_h         # title
    legend_items = [s.name for s in chart.series]
    legend_rows, legend_h = _legend_layout(legend_items, width)
    top += legend_h + 8
    plot_h = 240
    x_axis_h = 24 + 22              # tick labels + axis label
    note_lines = wrap(chart.note, SIZE_NOTE, width - 32) if chart.note else []
    height = top + plot_h + x_axis_h + 18 * len(note_lines) + 14
    plot_w = width - left - right
    y0 = top + plot_h

    def ypos(v: float) -> float:
        return y0 - (v / y_top) * plot_h if y_top else y0

    desc = (f"{'Bar' if chart.kind == 'bar' else 'Line'} chart of {chart.y_label} by "
            f"{chart.x_label} for {', '.join(legend_items)}. The same data is in the text "
            f"table that follows the picture.")
    parts = svg_open(width, height, chart.title, desc)
    parts += _title(title_lines)
    parts += _legend(chart, legend_rows, title_h)
    # Grid and y axis.
    for t in ticks:
        y = ypos(t)
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" '
                     f'y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(text(left - 8, y + 4.5, _tick_label(t), SIZE_TICK, "end", fill=MUTED))
    parts.append(text(18, top + plot_h / 2, chart.y_label, SIZE_LABEL, "middle",
                      extra=f' transform="rotate(-90 18 {top + plot_h / 2:.1f})"'))
    parts.append(f'<line x1="{left:.1f}" y1="{y0:.1f}" x2="{left + plot_w:.1f}" y2="{y0:.1f}" '
                 f'stroke="{INK}" stroke-width="1.2"/>')
    if chart.kind == "bar":
        parts += _bars(chart, left, plot_w, y0, ypos)
    else:
        parts += _lines(chart, left, plot_w, y0, ypos)
    parts.append(text(left + plot_w / 2, y0 + 42, chart.x_label, SIZE_LABEL, "middle"))
    for i, line in enumerate(note_lines):
        parts.append(text(16, y0 + x_axis_h + 18 + 18 * i, line, SIZE_NOTE, fill=MUTED))
    parts.append("</svg>")
    return "".join(parts)


def _bars(chart, left, plot_w, y0, ypos) -> list:
    parts = []
    groups = len(chart.x)
    nser = len(chart.series)
    slot = plot_w / groups
    bar_w = min(48.0, slot * 0.8 / nser)
    label_values = bar_w >= 22            # value labels only where they fit
    for g, xv in enumerate(chart.x):
        gx = left + slot * g + (slot - bar_w * nser) / 2
        for i, s in enumerate(chart.series):
            v = s.values[g]
            if v is None:
                continue
            x = gx + bar_w * i
            y = ypos(v)
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" '
                         f'height="{max(y0 - y, 0):.1f}" fill="{PALETTE[i % len(PALETTE)]}">'
                         f'<title>{escape(f"{s.name}, {xv}: {_fmt(chart, v)}")}</title></rect>')
            if label_values:
                parts.append(text(x + (bar_w - 2) / 2, y - 4, _fmt(chart, v), SIZE_TICK - 1,
                                  "middle", fill=INK))
        label = str(xv)
        for j, line in enumerate(wrap(label, SIZE_TICK, slot - 4)[:2]):
            parts.append(text(left + slot * g + slot / 2, y0 + 18 + 15 * j, line, SIZE_TICK,
                              "middle"))
    return parts


def _lines(chart, left, plot_w, y0, ypos) -> list:
    parts = []
    xs = [float(v) for v in chart.x]
    if chart.x_scale == "log2":
        fx = [math.log2(v) for v in xs]
    else:
        fx = xs
    lo, hi = min(fx), max(fx)
    span = (hi - lo) or 1.0

    def xpos(i: int) -> float:
        return left + 12 + (fx[i] - lo) / span * (plot_w - 24)

    for i, xv in enumerate(chart.x):
        parts.append(f'<line x1="{xpos(i):.1f}" y1="{y0:.1f}" x2="{xpos(i):.1f}" '
                     f'y2="{y0 + 5:.1f}" stroke="{INK}" stroke-width="1"/>')
        parts.append(text(xpos(i), y0 + 20, _tick_label(float(xv)), SIZE_TICK, "middle",
                          fill=MUTED))
    for si, s in enumerate(chart.series):
        colour = PALETTE[si % len(PALETTE)]
        pts = [(xpos(i), ypos(v)) for i, v in enumerate(s.values) if v is not None]
        if len(pts) > 1:
            dash = ' stroke-dasharray="6 4"' if si % 2 else ""
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"{dash} '
                         f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}"/>')
        for i, v in enumerate(s.values):
            if v is None:
                continue
            parts.append(f'<g>{marker(SHAPES[si % len(SHAPES)], xpos(i), ypos(v), 4.5, colour)}'
                         f'<title>{escape(f"{s.name}, {chart.x[i]}: {_fmt(chart, v)}")}</title></g>')
    return parts


def _stacked_svg(chart: Chart, width: int = WIDTH) -> str:
    """Horizontal stacked bars: category labels on the left, values along the bottom
    (narrow: each category's label on a line of its own above its bar)."""
    narrow = width < WIDTH
    title_lines = _title_lines(chart, width)
    title_h = 22 * (len(title_lines) - 1)
    totals = _totals(chart)
    ticks = nice_ticks(max(totals) if totals else 0)
    x_top = ticks[-1]
    names = [str(x) for x in chart.x]
    left = 16 if narrow else 16 + max(text_width(n, SIZE_TICK) for n in names) + 10
    right = 16 + text_width(_fmt(chart, max(totals)), SIZE_TICK) + 8   # room for totals
    legend_items = [s.name for s in chart.series]
    legend_rows, legend_h = _legend_layout(legend_items, width)
    top = 18 + 24 + title_h + legend_h + 8
    label_h = 16 if narrow else 0     # narrow: the category's name above its bar
    bar_h = 24
    row_h = bar_h + label_h
    plot_h = row_h * len(chart.x)
    plot_w = width - left - right
    y0 = top + plot_h
    note_lines = wrap(chart.note, SIZE_NOTE, width - 32) if chart.note else []
    height = y0 + 24 + 22 + 18 * len(note_lines) + 14

    def xpos(v: float) -> float:
        return left + (v / x_top) * plot_w if x_top else left

    desc = (f"Stacked bar chart of {chart.y_label} by {chart.x_label}, split into "
            f"{', '.join(legend_items)}. The same data is in the text table that follows "
            f"the picture.")
    parts = svg_open(width, height, chart.title, desc)
    parts += _title(title_lines)
    parts += _legend(chart, legend_rows, title_h)
    for t in ticks:
        x = xpos(t)
        parts.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{y0:.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(text(x, y0 + 18, _tick_label(t), SIZE_TICK, "middle", fill=MUTED))
    for g, (name, total) in enumerate(zip(names, totals)):
        y = top + row_h * g
        if narrow:
            parts.append(text(left + 6, y + 13, name, SIZE_TICK))
            y += label_h
        else:
            parts.append(text(left - 8, y + row_h / 2 + 4.5, name, SIZE_TICK, "end"))
        acc = 0
        for i, s in enumerate(chart.series):
            v = s.values[g]
            if not v:
                continue
            x = xpos(acc)
            parts.append(f'<rect x="{x:.1f}" y="{y + 3:.1f}" width="{xpos(acc + v) - x:.1f}" '
                         f'height="{bar_h - 6:.1f}" fill="{PALETTE[i % len(PALETTE)]}">'
                         f'<title>{escape(f"{s.name}, {name}: {_fmt(chart, v)}")}</title></rect>')
            acc += v
        parts.append(text(xpos(total) + 4, y + bar_h / 2 + 4.5, _fmt(chart, total),
                          SIZE_TICK - 1, fill=INK))
    parts.append(f'<line x1="{left:.1f}" y1="{top:.1f}" x2="{left:.1f}" y2="{y0:.1f}" '
                 f'stroke="{INK}" stroke-width="1.2"/>')
    parts.append(text(left + plot_w / 2, y0 + 40, chart.y_label, SIZE_LABEL, "middle"))
    for i, line in enumerate(note_lines):
        parts.append(text(16, y0 + 46 + 18 * i, line, SIZE_NOTE, fill=MUTED))
    parts.append("</svg>")
    return "".join(parts)
