""""Predict, then check": one practice question where the reader commits a guess first.

Two faces of one object, as for the book's other controls (one renderer, two outputs):
  * the static book (WORKBOOK_STATIC=1 when it is built): plain HTML -- the question, the
    choices or a text box, a Check button, and the model's answer in an element with the
    `hidden` attribute.  book/_static/predict.js compares the guess with data-answer,
    says right or wrong, shows the answer and disables the inputs.  No inline script.
  * a live notebook (JupyterLab, JupyterLite): an ipywidgets control doing the same in
    Python with Question.check.  Without ipywidgets, the text of the question shows, and
    Predict.check(guess) answers in the notebook.
"""

import os
from html import escape

STATIC_ENV = "WORKBOOK_STATIC"


def static_build() -> bool:
    """Is this the book's static build (WORKBOOK_STATIC set, and not to "0")?"""
    return os.environ.get(STATIC_ENV, "") not in ("", "0")


class Verdict:
    """The result of checking a guess: right or not, and the model's answer."""

    def __init__(self, question, guess, right: bool | None):
        self.question, self.guess, self.right = question, guess, right

    @property
    def headline(self) -> str:
        if self.right is None:
            return "Commit to a prediction first."
        return "Right: the model agrees." if self.right else "Not what the model says."

    def __repr__(self) -> str:
        if self.right is None:
            return self.headline
        return f"{self.headline}\nThe model: {self.question.answer_text()}"

    def _repr_html_(self) -> str:
        if self.right is None:
            return f"<p>{escape(self.headline)}</p>"
        return _verdict_html(self.question, self.right)


def _verdict_html(q, right: bool) -> str:
    cls = "predict-right" if right else "predict-wrong"
    says = "Right: the model agrees." if right else "Not what the model says."
    return f'<p class="predict-verdict {cls}">{escape(says)}</p>' + _answer_html(q)


def _answer_html(q) -> str:
    return (f'<p class="predict-summary"><strong>The model:</strong> {escape(q.summary)}</p>'
            f'<pre class="predict-details">{escape(q.details)}</pre>')


class Predict:
    """One question; shows itself as static HTML or as a widget (see the module's doc)."""

    def __init__(self, question):
        self.question = question

    def check(self, guess) -> Verdict:
        """Compare a guess (a choice's letter, index or text; or numbers) with the model."""
        q = self.question
        if guess is None or str(guess).strip() == "":
            return Verdict(q, guess, None)
        return Verdict(q, guess, q.check(guess))

    def __repr__(self) -> str:
        q = self.question
        how = "a letter" if q.kind == "choice" else q.hint
        return f"Predict, then check: {q.title}\n{q.text()}\n(.check(guess) with {how})"

    # -- the static book ----------------------------------------------------------------
    def static_html(self) -> str:
        """The HTML predict.js brings to life; the answer is in a hidden element."""
        q = self.question
        if q.kind == "choice":
            want = str(q.answer)
            items = "".join(
                f'<label class="predict-choice"><input type="radio" name="guess" value="{i}"> '
                f'{chr(ord("a") + i)}) {escape(c)}</label>' for i, c in enumerate(q.choices))
            guess = (f'<fieldset class="predict-choices"><legend>Your prediction</legend>'
                     f'{items}</fieldset>')
        else:
            want = ",".join(str(x) for x in q.answer)
            guess = (f'<label class="predict-numbers">Your prediction ({escape(q.hint)}): '
                     f'<input type="text" name="guess" autocomplete="off" spellcheck="false"></label>')
        return (f'<form class="predict" data-kind="{q.kind}" data-answer="{escape(want)}" '
                f'aria-label="Predict, then check: {escape(q.title)}">'
                f'<p class="predict-head"><strong>Predict, then check</strong> '
                f'<span class="predict-id">{escape(q.title)}</span></p>'
                f'<pre class="predict-setting">{escape(q.setting)}</pre>'
                f'<p class="predict-ask">{escape(q.ask)}</p>'
                f'{guess}'
                f'<p><button type="button" class="predict-check">Check</button></p>'
                f'<p class="predict-verdict" role="status" aria-live="polite"></p>'
                f'<div class="predict-answer" hidden>{_answer_html(q)}</div>'
                f'</form>')

    # -- a live notebook ----------------------------------------------------------------
    def widget(self):
        """An ipywidgets control: the question, the choices or a text box, Check, answer."""
        import ipywidgets as W
        q = self.question
        head = W.HTML(f'<p><strong>Predict, then check</strong> <small>{escape(q.title)}</small></p>'
                      f'<pre>{escape(q.setting)}</pre><p>{escape(q.ask)}</p>')
        if q.kind == "choice":
            guess = W.RadioButtons(options=[(f"{chr(ord('a') + i)}) {c}", i)
                                            for i, c in enumerate(q.choices)],
                                   value=None, layout=W.Layout(width="auto"))
        else:
            guess = W.Text(placeholder=q.hint, description="Prediction:")
        button = W.Button(description="Check", button_style="primary")
        result = W.HTML()

        def on_check(_):
            v = self.check(guess.value)
            result.value = v._repr_html_()
            if v.right is not None:
                guess.disabled = button.disabled = True

        button.on_click(on_check)
        return W.VBox([head, guess, button, result])

    def _repr_mimebundle_(self, include=None, exclude=None):
        text = repr(self)
        if static_build():
            return {"text/plain": text, "text/html": self.static_html()}
        try:
            bundle = self.widget()._repr_mimebundle_()
        except ImportError:                       # no ipywidgets (a bare Pyodide, say)
            return {"text/plain": text}
        bundle["text/plain"] = text
        return bundle
