"""The history of the series as a timeline: text and SVG from one list of events.

The events are data (refmodel/data/timeline.json): a date, a title, one sentence, a kind
(mail, commit, merge) and the sources that date them (lore Message-IDs, mainline commits).
timeline() reads them; timeline_picture() draws a vertical timeline -- one row per event,
so that it reflows on a narrow screen instead of shrinking -- with a break mark where years
pass between two events, and the same rows as text.

    from refmodel.render.timeline import timeline
    timeline()                       # everything, in a notebook: the picture
    print(timeline(part="series"))   # the series only, as text
"""

import json
from dataclasses import dataclass
from datetime import date
from html import escape
from importlib import resources

from .figure import (INK, MUTED, PALETTE, SIZE_LABEL, SIZE_NOTE, SIZE_TICK, SIZE_TITLE,
                     marker, svg_open, text, wrap)
from .picture import Picture

WIDTH = 640
NARROW_WIDTH = 360        # the phone layout (see sequence.py)
KINDS = {"mail": ("circle", PALETTE[0], "posted on a mailing list"),
         "commit": ("square", PALETTE[2], "a mainline commit"),
         "merge": ("diamond", PALETTE[5], "merged into mainline")}


@dataclass(frozen=True)
class Event:
    """One dated step in the history, with the sources that date it."""
    date: date
    part: str
    kind: str
    title: str
    detail: str
    sources: tuple          # ({"lore": id, "list": ...} | {"commit": hash}, ...)

    def links(self) -> list:
        """(label, url) of each source: lore for mail, git.kernel.org for commits."""
        out = []
        for s in self.sources:
            if "lore" in s:
                out.append((f"mail <{s['lore']}>",
                            f"https://lore.kernel.org/{s.get('list', 'all')}/{s['lore']}/"))
            else:
                out.append((f"commit {s['commit'][:12]}",
                            "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git"
                            f"/commit/?id={s['commit']}"))
        return out


def load_events(path=None) -> tuple:
    """The events of refmodel/data/timeline.json (or of path), oldest first."""
    if path is None:
        raw = resources.files("refmodel").joinpath("data/timeline.json").read_text()
    else:
        with open(path, encoding="utf-8") as f:
            raw = f.read()
    data = json.loads(raw)
    events = []
    for e in data["events"]:
        if e["kind"] not in KINDS:
            raise ValueError(f"unknown event kind {e['kind']!r} for {e['title']!r}")
        events.append(Event(date.fromisoformat(e["date"]), e["part"], e["kind"], e["title"],
                            e["detail"], tuple(e["sources"])))
    events.sort(key=lambda e: e.date)
    return tuple(events), data.get("parts", {})


@dataclass(frozen=True)
class Timeline:
    """A titled run of events; shows itself as a picture in a notebook."""
    title: str
    events: tuple

    def picture(self) -> Picture:
        return Picture(self.title, timeline_text(self), timeline_svg(self),
                       narrow=timeline_svg(self, narrow=True))

    def __str__(self) -> str:
        return timeline_text(self)

    def _repr_html_(self) -> str:
        return self.picture()._repr_html_()


def timeline(part: str | None = None, title: str | None = None, path=None) -> Timeline:
    """The timeline of one part ("series", "later") or of everything."""
    events, parts = load_events(path)
    if part is not None:
        if part not in parts:
            raise ValueError(f"unknown part {part!r}; choose from {', '.join(parts)}")
        events = tuple(e for e in events if e.part == part)
    default = parts.get(part, "Migration entries: the series and what came later")
    return Timeline(title or default, events)


def _date(d: date) -> str:
    return f"{d.day} {d.strftime('%b')} {d.year}"


def _gap(a: date, b: date) -> bool:
    """Is there a long quiet stretch (more than a year) between two events?"""
    return (b - a).days > 365


def _gap_label(a: date, b: date) -> str:
    """How long the quiet stretch was, to the half year."""
    years = round((b - a).days / 365.25 * 2) / 2
    return f"{years:g} years later"


def timeline_text(t: Timeline) -> str:
    """One block per event: date, title, sentence, sources; a line marks long gaps."""
    out = [t.title, ""]
    prev = None
    for e in t.events:
        if prev is not None and _gap(prev.date, e.date):
            out += [f"   ... {_gap_label(prev.date, e.date)} ...", ""]
        out.append(f"{e.date.isoformat()}  {e.title}  [{e.kind}]")
        out.append(f"            {e.detail}")
        for label, url in e.links():
            out.append(f"            {label}: {url}")
        out.append("")
        prev = e
    return "\n".join(out).rstrip()


def timeline_svg(t: Timeline, narrow: bool = False) -> str:
    """A vertical timeline: date on the left, a marker on the line, title and sentence.
    narrow (NARROW_WIDTH units, for a phone's column): the date above the title instead."""
    width = NARROW_WIDTH if narrow else WIDTH
    axis_x = 22 if narrow else 118
    body_x = axis_x + 18
    body_w = width - body_x - 16
    date_h = 17 if narrow else 0     # narrow: a line for the date above the title
    rows = []                        # (kind, y, payload)
    heading = wrap(t.title, SIZE_TITLE, width - 32)
    y = 62 + 20 * (len(heading) - 1)
    prev = None
    for e in t.events:
        if prev is not None and _gap(prev.date, e.date):
            rows.append(("gap", y, _gap_label(prev.date, e.date)))
            y += 34
        title_lines = wrap(e.title, SIZE_LABEL, body_w * (0.9 if narrow else 1.0))   # bold
        detail_lines = wrap(e.detail, SIZE_TICK, body_w)
        rows.append(("event", y, (e, title_lines, detail_lines)))
        y += date_h + 18 * len(title_lines) + 17 * len(detail_lines) + 16
        prev = e
    legend = []                      # (kind, x, y): the legend wraps on a narrow picture
    lx, ly = 16, y + 8
    for kind, (shape, colour, label) in KINDS.items():
        if not any(e.kind == kind for e in t.events):
            continue
        w = 18 + len(label) * SIZE_NOTE * 0.56 + 22
        if lx > 16 and lx + w - 22 > width - 8:
            lx, ly = 16, ly + 22
        legend.append((kind, lx, ly))
        lx += w
    legend_y = y + 8
    height = ly + 28
    desc = (f"A timeline of {len(t.events)} events from {_date(t.events[0].date)} to "
            f"{_date(t.events[-1].date)}; the same events are listed in the text that "
            "follows the picture." if t.events else "An empty timeline.")
    parts = svg_open(width, height, t.title, desc)
    for i, line in enumerate(heading):
        parts.append(text(16, 28 + 20 * i, line, SIZE_TITLE, weight="bold"))
    top, bottom = 48 + 20 * (len(heading) - 1), legend_y - 14
    parts.append(f'<line x1="{axis_x}" y1="{top}" x2="{axis_x}" y2="{bottom:.1f}" '
                 f'stroke="{MUTED}" stroke-width="2"/>')
    for kind, ry, payload in rows:
        if kind == "gap":
            parts.append(f'<rect x="{axis_x - 8}" y="{ry - 10}" width="16" height="14" '
                         f'fill="#ffffff"/>')
            parts.append(f'<path d="M{axis_x - 8},{ry - 6} l16,-6 M{axis_x - 8},{ry + 2} l16,-6" '
                         f'stroke="{MUTED}" stroke-width="2" fill="none"/>')
            parts.append(text(body_x, ry, payload, SIZE_NOTE, fill=MUTED,
                              extra=' font-style="italic"'))
            continue
        e, title_lines, detail_lines = payload
        shape, colour, _ = KINDS[e.kind]
        if narrow:
            parts.append(text(body_x, ry, _date(e.date), SIZE_TICK, fill=MUTED))
        else:
            parts.append(text(axis_x - 14, ry, _date(e.date), SIZE_TICK, "end", fill=MUTED))
        parts.append(marker(shape, axis_x, ry - 5, 6, colour))
        href = e.links()[0][1] if e.sources else None
        ty = ry + date_h
        for i, line in enumerate(title_lines):
            t_el = text(body_x, ty + 18 * i, line, SIZE_LABEL, weight="bold")
            parts.append(f'<a href="{escape(href)}">{t_el}</a>' if href else t_el)
        dy = ty + 18 * len(title_lines)
        for i, line in enumerate(detail_lines):
            parts.append(text(body_x, dy + 17 * i, line, SIZE_TICK, fill=INK))
    for kind, x, yy in legend:
        shape, colour, label = KINDS[kind]
        parts.append(marker(shape, x + 6, yy + 4, 6, colour))
        parts.append(text(x + 18, yy + 9, label, SIZE_NOTE, fill=MUTED))
    parts.append("</svg>")
    return "".join(parts)
