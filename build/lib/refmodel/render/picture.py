"""Picture: a drawing that knows how to show itself as text and as SVG/HTML."""

from html import escape


class Picture:
    """A rendered view: str() gives the text form, Jupyter shows the SVG form."""

    __slots__ = ("title", "text", "svg")

    def __init__(self, title: str, text: str, svg: str):
        self.title, self.text, self.svg = title, text, svg

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Picture {self.title!r}>\n{self.text}"

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_html_(self) -> str:
        # The text form rides along for screen readers and for copy-and-paste.
        return (f'<figure class="refmodel-picture" role="group" aria-label="{escape(self.title)}">'
                f'{self.svg}<details><summary>text</summary><pre>{escape(self.text)}</pre>'
                f'</details></figure>')
