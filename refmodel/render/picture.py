"""Picture: a drawing that knows how to show itself as text and as SVG/HTML."""

from html import escape


class Picture:
    """A rendered view: str() gives the text form, Jupyter shows the SVG form.

    svg is one SVG document (image/svg+xml); blocks, when given, are the same drawing cut
    into narrow pieces that the HTML form lets the page set side by side or one under the
    other (workbook.css, .refmodel-blocks)."""

    __slots__ = ("title", "text", "svg", "blocks")

    def __init__(self, title: str, text: str, svg: str, blocks=None):
        self.title, self.text, self.svg = title, text, svg
        self.blocks = list(blocks) if blocks else None

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Picture {self.title!r}>\n{self.text}"

    def _repr_svg_(self) -> str:
        return self.svg

    def rich(self) -> str:
        """The drawing as HTML: the blocks in a wrapping row, or the single SVG."""
        if self.blocks:
            return '<div class="refmodel-blocks">' + "".join(self.blocks) + "</div>"
        return self.svg

    def _repr_html_(self) -> str:
        # The text form rides along for screen readers and for copy-and-paste.
        return (f'<figure class="refmodel-picture" role="group" aria-label="{escape(self.title)}">'
                f'{self.rich()}<details><summary>text</summary><pre>{escape(self.text)}</pre>'
                f'</details></figure>')
