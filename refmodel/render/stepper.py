"""Steppers: a row of pictures the reader steps through, in the static book and live.

A Stepper holds frames (a title, a caption, the plain-text picture and the rich SVG/HTML
picture, both from the one renderer).  Its static HTML (_repr_html_) embeds every frame;
book/_static/workbook.js shows one at a time and wires the buttons, without a kernel.
Its widget() is an ipywidgets version that drives the model live: each "next" runs the
model one more step.  show() picks one of the two: the static HTML when the environment
says WORKBOOK_STATIC=1 (the Makefile sets it for the book, `make outputs` and the notebook
tests, so the pages and the stored outputs hold the static form), the widget otherwise
(JupyterLab, JupyterLite).

    Stepper("title", frames).show()             # the book's own: refmodel/steppers.py

A frame may offer choices (label -> another frame): the game's threads, READ/WRITE.
Without JavaScript every frame is shown, one under the other, and no button is.
"""

import os
from html import escape

from .picture import Picture

STATIC_ENV = "WORKBOOK_STATIC"


def static() -> bool:
    """True when outputs must be static HTML (the built book, stored outputs)."""
    return os.environ.get(STATIC_ENV, "").strip().lower() not in ("", "0", "false", "no")


def show(obj):
    """Display obj as its static HTML under WORKBOOK_STATIC=1, else as its live widget
    (falling back to the static form where ipywidgets is missing)."""
    from IPython.display import display
    if static() or not hasattr(obj, "widget"):
        display(obj)
        return
    try:
        w = obj.widget()
    except ImportError:
        display(obj)
        return
    display(w)


class Frame:
    """One picture of a stepper: title, caption (plain text), text picture, rich HTML;
    choices are (label, index of another frame); parent is where "back" goes (for trees)."""

    __slots__ = ("title", "caption", "text", "html", "choices", "parent")

    def __init__(self, title: str, text: str, html: str, caption: str = "", choices=(),
                 parent=None):
        self.title, self.caption, self.text, self.html = title, caption, text, html
        self.choices, self.parent = list(choices), parent

    @classmethod
    def of(cls, title: str, picture: Picture, caption: str = "", **kw) -> "Frame":
        return cls(title, picture.text, picture.rich(), caption, **kw)

    def plain(self, i: int, n: int) -> str:
        head = f"[{i + 1}/{n}] {self.title}"
        body = [head] + ([self.caption] if self.caption else []) + [self.text]
        if self.choices:
            body.append("choices: " + ", ".join(f"{label} -> [{j + 1}]" for label, j in self.choices))
        return "\n".join(body)


class Stepper:
    """Frames to step through.  frames may be a generator: widget() pulls from it one
    frame at a time (the model runs as the reader clicks), the static forms take all.

    mode "linear": back/next walk the list; "tree": the choices lead on and back goes
    to the frame's parent.  live, if given, is a function returning the ipywidgets
    control to use instead of the built-in one (e.g. a slider that builds any entry)."""

    def __init__(self, frames, title: str = "", mode: str = "linear", live=None, note: str = ""):
        if mode not in ("linear", "tree"):
            raise ValueError(f"mode must be 'linear' or 'tree', not {mode!r}")
        self._source = iter(frames)
        self._frames: list = []
        self._done = False
        self.title, self.mode, self.live, self.note = title, mode, live, note

    # -- frames -------------------------------------------------------------------------
    def _pull(self) -> bool:
        """Take one more frame from the source; False when there is none."""
        if self._done:
            return False
        try:
            self._frames.append(next(self._source))
            return True
        except StopIteration:
            self._done = True
            return False

    @property
    def frames(self) -> list:
        while self._pull():
            pass
        return self._frames

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i) -> Frame:
        return self.frames[i]

    # -- text ---------------------------------------------------------------------------
    def text(self) -> str:
        frames = self.frames
        head = [self.title] if self.title else []
        return "\n\n".join(head + [f.plain(i, len(frames)) for i, f in enumerate(frames)])

    __str__ = text

    def __repr__(self) -> str:
        return self.text()

    # -- static HTML --------------------------------------------------------------------
    def _repr_html_(self) -> str:
        frames = self.frames
        n = len(frames)
        out = [f'<div class="wb-stepper" data-wb-mode="{self.mode}" data-wb-frames="{n}">']
        if self.title:
            out.append(f'<p class="wb-stepper-title">{escape(self.title)}</p>')
        if self.note:
            out.append(f'<p class="wb-stepper-note">{escape(self.note)}</p>')
        # Controls stay hidden unless workbook.js runs (a control that cannot work is not shown).
        out.append('<div class="wb-controls" hidden>'
                   '<button type="button" class="wb-first" title="back to the start">start</button>'
                   '<button type="button" class="wb-prev" title="one step back">&#x25C0; back</button>'
                   f'<span class="wb-pos" aria-live="polite">1 / {n}</span>'
                   + ('<button type="button" class="wb-next" title="one step on">next &#x25B6;</button>'
                      if self.mode == "linear" else "") +
                   '</div>')
        out.append('<ol class="wb-frames">')
        for i, f in enumerate(frames):
            parent = "" if f.parent is None else f' data-wb-parent="{f.parent}"'
            out.append(f'<li class="wb-frame" data-wb-index="{i}"{parent}>')
            out.append(f'<p class="wb-frame-title"><span class="wb-frame-no">{i + 1}/{n}</span> '
                       f'{escape(f.title)}</p>')
            if f.caption:
                out.append(f'<p class="wb-caption">{escape(f.caption)}</p>')
            if f.choices:
                out.append('<div class="wb-choices" hidden>' + "".join(
                    f'<button type="button" data-wb-goto="{j}">{escape(label)}</button>'
                    for label, j in f.choices) + "</div>")
            out.append(f'<figure class="refmodel-picture">{f.html}<details><summary>text'
                       f'</summary><pre>{escape(f.text)}</pre></details></figure>')
            out.append("</li>")
        out.append("</ol></div>")
        return "".join(out)

    # -- live ---------------------------------------------------------------------------
    def widget(self):
        """ipywidgets: back/next (pulling frames from the model as it runs), the choices
        of the frame shown, and the picture."""
        if self.live is not None:
            return self.live()
        import ipywidgets as W
        from IPython.display import HTML, display

        pos = {"i": 0, "trail": [0]}
        title = W.HTML()
        out = W.Output()
        first, back = W.Button(description="start"), W.Button(description="back")
        nxt = W.Button(description="next")
        choices = W.HBox()
        self._pull()

        def go(i, remember=True):
            pos["i"] = i
            if remember:
                pos["trail"].append(i)
            draw()

        def draw():
            i = pos["i"]
            f = self._frames[i]
            known = f"{len(self._frames)}" + ("" if self._done else "+")
            title.value = (f"<b>{i + 1}/{known}</b> {escape(f.title)}"
                           + (f"<br>{escape(f.caption)}" if f.caption else ""))
            first.disabled = back.disabled = i == 0
            nxt.disabled = self.mode != "linear" or (self._done and i + 1 >= len(self._frames))
            buttons = []
            for label, j in f.choices:
                b = W.Button(description=label, layout=W.Layout(width="auto"))
                b.on_click(lambda _, j=j: go(j))
                buttons.append(b)
            choices.children = buttons
            out.clear_output(wait=True)
            with out:
                display(HTML(f'<figure class="refmodel-picture">{f.html}</figure>'))

        def on_next(_):
            i = pos["i"] + 1
            if i >= len(self._frames) and not self._pull():
                draw()
                return
            go(i)

        def on_back(_):
            if self.mode == "tree":
                parent = self._frames[pos["i"]].parent
                go(parent if parent is not None else 0)
            else:
                go(max(0, pos["i"] - 1))

        nxt.on_click(on_next)
        back.on_click(on_back)
        first.on_click(lambda _: go(0))
        draw()
        return W.VBox([W.HBox([first, back, nxt]), title, choices, out])

    def show(self):
        show(self)
