"""Practice questions in the style of OSTEP's homework simulators, computed by the model.

Each topic builds a small seeded scenario on the model (refmodel.Machine and its processes,
kernel paths stepped by hand where a question stops half way), asks one question about it
and answers it from what the model then shows: pte values, page views, move_pages' status
array, the steps a fault took.  Question and answer come out of the same run, so they
cannot drift apart; nothing in an answer is typed in by hand.

From a shell (`-c` adds the answers; every run first echoes its settings):

    python -m refmodel.practice --list
    python -m refmodel.practice pte -s 3 -n 5
    python -m refmodel.practice fault -s 3 -n 5 -c
    python -m refmodel.practice move -e rfc-v1 -c

In a chapter, "predict, then check" (the reader commits a guess, then sees the model's
answer and how it got there):

    from refmodel.practice import predict
    predict("fault", seed=2)           # one question: topic, seed, index (default 0)

In the static book (built with WORKBOOK_STATIC=1) the cell's output is plain HTML: the
question, choices or an input, a Check button and the answer in a hidden element, which
book/_static/predict.js reveals after comparing the guess (no inline script, no kernel).
In JupyterLab or JupyterLite it is an ipywidgets control that does the same in Python.
predict(...) and questions(...) give the same question for the same topic, seed and index.

Adding a topic: a module in this package with a function make(rng, era) -> Question (see
pte.py, the shortest), listed in TOPICS below with its eras and a one-line description.
"""

import importlib
import random
import re
from dataclasses import dataclass, field, replace

from .cell import Predict

# Every era the model has, in history order (refmodel.eras.ERAS).
ALL_ERAS = ("2.6.17", "rfc-v1", "v2-yield", "2.6.18")


@dataclass(frozen=True)
class Question:
    """One practice question and the model's answer to it.

    kind "choice": the reader picks one of choices and answer is its index;
    kind "numbers": the reader types numbers (hint says which) and answer is a tuple.
    """
    topic: str
    seed: int
    index: int
    era: str
    setting: str                 # the scenario, as the reader sees it
    ask: str                     # the question itself
    kind: str                    # "choice" | "numbers"
    answer: object               # index into choices, or a tuple of ints
    summary: str                 # the answer in one line
    details: str                 # how the model got there (several lines)
    choices: tuple = ()
    hint: str = ""               # for "numbers": what to type, e.g. "count/mapcount"
    facts: dict = field(default_factory=dict, compare=False)   # structured, for tests

    @property
    def title(self) -> str:
        return f"{self.topic} #{self.index + 1} (seed {self.seed}, era {self.era})"

    def text(self) -> str:
        """The question as plain text: scenario, question, choices or the format."""
        lines = [self.setting, "", self.ask]
        if self.kind == "choice":
            lines += [f"  {chr(ord('a') + i)}) {c}" for i, c in enumerate(self.choices)]
        elif self.hint:
            lines.append(f"  (answer as {self.hint})")
        return "\n".join(lines)

    def answer_text(self) -> str:
        """The model's answer: the short form, then the details."""
        return f"{self.summary}\n{self.details}"

    def check(self, guess) -> bool:
        """Is guess right?  A choice by index, letter or text; numbers as any text with them."""
        if self.kind == "choice":
            return parse_choice(guess, self.choices) == self.answer
        return parse_numbers(guess) == tuple(self.answer)


def parse_choice(guess, choices) -> int | None:
    """The index a guess names: an int, a letter "b", "b)" or the choice's own text."""
    if isinstance(guess, int) and not isinstance(guess, bool):
        return guess if 0 <= guess < len(choices) else None
    g = str(guess).strip().lower().rstrip(")").strip()
    if len(g) == 1 and "a" <= g < chr(ord("a") + len(choices)):
        return ord(g) - ord("a")
    for i, c in enumerate(choices):
        if g == c.lower():
            return i
    return None


_INT = re.compile(r"-?\d+")


def parse_numbers(guess) -> tuple:
    """Every integer in the guess, in order ("2/1", "2, 1", "count 2 mapcount 1")."""
    if isinstance(guess, (tuple, list)):
        return tuple(int(x) for x in guess)
    return tuple(int(x) for x in _INT.findall(str(guess)))


@dataclass(frozen=True)
class Topic:
    """A kind of question: its module's make(rng, era), the eras it knows, a description.
    Without -e, a question's era is drawn from eras; the merged kernel counts double."""
    name: str
    module: str
    eras: tuple
    description: str

    def draw_era(self, rng) -> str:
        return rng.choices(self.eras, weights=[2 if e == "2.6.18" else 1 for e in self.eras])[0]


TOPICS = {t.name: t for t in (
    Topic("pte", "pte", ALL_ERAS,
          "decode a raw x86-64 pte bit by bit: none, present (pfn, flags), swap entry "
          "(type, slot) or migration entry (READ/WRITE, pfn) -- in a given era"),
    Topic("counts", "counts", ("rfc-v1", "v2-yield", "2.6.18"),
          "predict a page's count and mapcount (and every pte) after faults, fork, "
          "COW and a migration stopped half way or finished"),
    Topic("move", "move", ALL_ERAS,
          "which step of a migration stops a page, with which errno: move_pages' status "
          "array (2.6.17: migrate_pages(2), which has no status)"),
    Topic("fault", "fault", ALL_ERAS,
          "what a fault on a page under migration does in each era: swap cache and "
          "lock_page, V1's lookup, V2's yield, 2.6.18's migration_entry_wait"),
)}


def rng_for(topic: str, seed: int, index: int) -> random.Random:
    """The generator of question `index` of a run: a function of topic, seed and index only,
    so that predict(topic, seed, index) is the CLI's question index+1 for that seed."""
    return random.Random(f"refmodel.practice/{topic}/{seed}/{index}")


def make_question(topic: str, seed: int = 0, index: int = 0, era: str | None = None) -> Question:
    """Question `index` of topic for seed (era: one of the topic's eras, else chosen by seed)."""
    t = _topic(topic)
    if era is not None and era not in t.eras:
        raise ValueError(f"topic {topic!r} has no questions for era {era!r}; "
                         f"it knows {', '.join(t.eras)}")
    rng = rng_for(topic, seed, index)
    chosen = era if era is not None else t.draw_era(rng)
    mod = importlib.import_module(f".{t.module}", __name__)
    q = mod.make(rng, chosen)
    return _stamp(q, topic, seed, index)


def questions(topic: str, seed: int = 0, n: int = 1, era: str | None = None) -> list:
    """n questions of topic for seed: the same list every time for the same arguments."""
    if n < 0:
        raise ValueError("n must be at least 0")
    return [make_question(topic, seed, i, era) for i in range(n)]


def _topic(name: str) -> Topic:
    try:
        return TOPICS[name]
    except KeyError:
        raise ValueError(f"unknown topic {name!r}; choose one of {', '.join(TOPICS)}") from None


def _stamp(q: Question, topic: str, seed: int, index: int) -> Question:
    return replace(q, topic=topic, seed=seed, index=index)


def predict(topic: str, seed: int = 0, index: int = 0, era: str | None = None):
    """A "predict, then check" cell for question `index` of topic and seed (see above)."""
    return Predict(make_question(topic, seed, index, era))


__all__ = ["Question", "Topic", "TOPICS", "ALL_ERAS", "questions", "make_question", "predict",
           "parse_choice", "parse_numbers"]
