"""Picture: a drawing that knows how to show itself as text and as SVG/HTML."""

import os
from html import escape


def _static() -> bool:
    """The book's static build (WORKBOOK_STATIC set; see render/stepper.py)?"""
    return os.environ.get("WORKBOOK_STATIC", "").strip().lower() not in ("", "0", "false", "no")


class Picture:
    """A rendered view: str() gives the text form, Jupyter shows the SVG form.

    svg is one SVG document (image/svg+xml); blocks, when given, are the same drawing cut
    into narrow pieces that the HTML form lets the page set side by side or one under the
    other (workbook.css, .refmodel-blocks).  narrow, when given, is the same drawing laid
    out for a phone's column: the static book (WORKBOOK_STATIC=1) carries both and its
    stylesheet shows one of them by the width of the screen (workbook.css,
    .refmodel-wide / .refmodel-narrow); a live notebook shows svg."""

    __slots__ = ("title", "text", "svg", "blocks", "narrow")

    def __init__(self, title: str, text: str, svg: str, blocks=None, narrow=None):
        self.title, self.text, self.svg = title, text, svg
        self.blocks = list(blocks) if blocks else None
        self.narrow = narrow

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Picture {self.title!r}>\n{self.text}"

    def _repr_svg_(self) -> str:
        return self.svg

    def rich(self) -> str:
        """The drawing as HTML: the blocks in a wrapping row, the wide and the narrow
        layout (static book only), or the single SVG."""
        if self.blocks:
            return '<div class="refmodel-blocks">' + "".join(self.blocks) + "</div>"
        if self.narrow and _static():
            return (f'<div class="refmodel-wide">{self.svg}</div>'
                    f'<div class="refmodel-narrow">{self.narrow}</div>')
        return self.svg

    def _repr_html_(self) -> str:
        # The text form rides along for screen readers and for copy-and-paste.
        return (f'<figure class="refmodel-picture" role="group" aria-label="{escape(self.title)}">'
                f'{self.rich()}<details><summary>text</summary><pre>{escape(self.text)}</pre>'
                f'</details></figure>')
