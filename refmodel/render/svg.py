"""Drawing helpers shared by the SVG pictures: text metrics, wrapping and the <svg> shell.

Every picture is drawn at its natural size in CSS pixels and carries a viewBox, so the page
can scale it to the text column (workbook.css: max-width 100%, height auto).  Pictures are
kept narrow (about 45 columns of 13 px monospace, 360 px) so that on a phone they shrink
little or not at all; where a picture has more to say it gets more rows, not more width.
"""

from html import escape

FONT = 13                     # px: the smallest label size at 1:1 (the book's text is 16 px)
CHAR = 0.62 * FONT            # advance of one monospace character (DejaVu Sans Mono: 0.602 em)
LINE = 17                     # px between baselines
COLUMNS = 44                  # characters per line before a row wraps


def wrap(text: str, columns: int = COLUMNS) -> list:
    """Break a row of text at spaces into lines of at most `columns` characters; a
    continuation line keeps the row's indentation plus four spaces.  A word longer than
    a line is cut."""
    indent = len(text) - len(text.lstrip(" "))
    lines, line = [], ""
    first = True
    for word in text.split():
        lead = " " * (indent if first else indent + 4)
        room = columns - len(lead)
        while len(word) > room:                      # a word wider than the line: cut it,
            if line:                                 # after a comma if there is one
                lines.append(line)
                line, first = "", False
                lead = " " * (indent + 4)
                room = columns - len(lead)
            cut = word.rfind(",", 0, room) + 1 or room
            lines.append(lead + word[:cut])
            word = word[cut:]
            first = False
            lead = " " * (indent + 4)
            room = columns - len(lead)
        if not line:
            line = lead + word
        elif len(line) + 1 + len(word) <= columns:
            line += " " + word
        else:
            lines.append(line)
            first = False
            line = " " * (indent + 4) + word
    if line or not lines:
        lines.append(line)
    return lines


def text_width(columns: int) -> float:
    """Width in px of `columns` monospace characters at FONT."""
    return columns * CHAR


def svg_open(width: float, height: float, title: str) -> str:
    """The <svg> element: natural size in px, the same viewBox, an accessible title."""
    w, h = round(width), round(height)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}" role="img" aria-label="{escape(title)}" '
            f'class="refmodel-svg"><title>{escape(title)}</title>')


def mono(x: float, y: float, text: str, weight: str = "normal") -> str:
    """One line of monospace text at FONT, spaces kept."""
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return (f'<text x="{x:g}" y="{y:g}" font-family="monospace" font-size="{FONT}"{bold} '
            f'xml:space="preserve">{escape(text)}</text>')
