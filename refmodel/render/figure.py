"""Shared drawing helpers for the book's figures (charts, timelines, sequence diagrams).

Every figure is drawn as an SVG with a viewBox, so that it scales down to the width of the
column it sits in, on a white card so that it stays readable in a dark theme, and with a
<title> and <desc> for screen readers.  The same description is also drawn as plain text
by each figure's own module (chart.py, timeline.py, sequence.py): one renderer, two outputs.
"""

from html import escape

# Okabe-Ito colours: distinguishable with the common kinds of colour blindness.  Every
# figure also tells series apart by a second means (marker shape, position or a label).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
INK = "#1a1a1a"          # text and axes
MUTED = "#5a5a5a"        # secondary text (notes, ticks)
GRID = "#d9d9d9"         # grid lines
CARD = "#ffffff"         # figure background
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"

# Font sizes in user units.  Figures are laid out 640 units wide: in a book column of about
# 700 px a 13-unit label is drawn at 13-14 px.
SIZE_TITLE, SIZE_LABEL, SIZE_TICK, SIZE_NOTE = 16, 14, 13, 13


def text_width(s: str, size: float, mono: bool = False) -> float:
    """A rough width of s drawn at size (no font metrics here): good enough to lay out."""
    return len(s) * size * (0.62 if mono else 0.56)


def wrap(s: str, size: float, width: float, mono: bool = False) -> list:
    """Break s into lines that fit width at font size (at word boundaries)."""
    lines, line = [], ""
    for word in s.split():
        cand = f"{line} {word}" if line else word
        if line and text_width(cand, size, mono) > width:
            lines.append(line)
            line = word
        else:
            line = cand
    if line:
        lines.append(line)
    return lines or [""]


def svg_open(width: float, height: float, title: str, desc: str) -> list:
    """The start of a scalable SVG: viewBox, accessible name and description, white card."""
    w, h = round(width), round(height)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="workbook-figure" width="{w}" '
            f'height="{h}" viewBox="0 0 {w} {h}" style="max-width:100%;height:auto" '
            f'role="img" aria-label="{escape(title)}">',
            f'<title>{escape(title)}</title>', f'<desc>{escape(desc)}</desc>',
            f'<rect x="0" y="0" width="{w}" height="{h}" fill="{CARD}" rx="6"/>']


def text(x: float, y: float, s: str, size: float = SIZE_LABEL, anchor: str = "start",
         weight: str = "normal", fill: str = INK, mono: bool = False, extra: str = "") -> str:
    """One <text> element (coordinates rounded, content escaped)."""
    fam = MONO if mono else FONT
    w = f' font-weight="{weight}"' if weight != "normal" else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family="{fam}" font-size="{size}" '
            f'text-anchor="{anchor}" fill="{fill}"{w}{extra}>{escape(s)}</text>')


def marker(shape: str, x: float, y: float, r: float, fill: str) -> str:
    """A point marker: circle, square, triangle or diamond (a second cue beside colour)."""
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" fill="{fill}"/>'
    if shape == "triangle":
        return (f'<polygon points="{x:.1f},{y - r * 1.2:.1f} {x + r * 1.1:.1f},{y + r * 0.8:.1f} '
                f'{x - r * 1.1:.1f},{y + r * 0.8:.1f}" fill="{fill}"/>')
    if shape == "diamond":
        return (f'<polygon points="{x:.1f},{y - r * 1.3:.1f} {x + r * 1.3:.1f},{y:.1f} '
                f'{x:.1f},{y + r * 1.3:.1f} {x - r * 1.3:.1f},{y:.1f}" fill="{fill}"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}"/>'


SHAPES = ("circle", "square", "triangle", "diamond")


def text_table(header: list, rows: list, align: list | None = None) -> str:
    """Rows of strings as an aligned plain-text table (numbers right-aligned by default)."""
    cols = len(header)
    align = align or ["<"] + [">"] * (cols - 1)
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(cols)]

    def line(r):
        return "  ".join(f"{str(c):{a}{w}}" for c, a, w in zip(r, align, widths)).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])
