"""Sequence diagrams of kernel paths run side by side: one lane per task (each on its own
CPU), one row per step, made from the model as it runs.

A Recorder drives paths the public way -- Machine.step(path) -- and writes down, for every
step, which lane ran, which step it was (the path's pc: the kernel function or the point in
it), whether the task went to sleep or finished, the trace events the step emitted
(set_migration_pte, migration_entry_wait, remove_migration_pte, ...) and what a watch
function says about the state afterwards (a pte and a page's counts, say).  The diagram is
then drawn as a plain-text table and as an SVG with a lifeline per lane.

    rec = Recorder(m, watch=page_watch(m, proc, addr))
    mig = rec.lane("CPU 0: move_pages()", m.move_pages_path(proc, [addr], [1], MPOL_MF_MOVE_ALL))
    rd = rec.lane("CPU 1: read", m.access_path(proc, addr))
    rec.run(mig, until=lambda m: proc.pte(addr).is_migration)
    rec.run(rd)                      # until it sleeps
    rec.run(mig); rec.run(rd)        # both to the end
    rec.diagram("One migration with a faulting reader")

Repeated identical steps (a task that polls, a migration that retries pass after pass) are
folded into one row with a count, so that a diagram stays readable.
"""

from dataclasses import dataclass, field

from ..mempolicy import MPOL_MF_MOVE_ALL
from ..mmap import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from ..pgtable import PAGE_SIZE

from .figure import (INK, MUTED, PALETTE, SIZE_LABEL, SIZE_NOTE, SIZE_TICK, SIZE_TITLE,
                     svg_open, text, text_table, wrap)
from .picture import Picture

BLOCKED, DONE = "blocked", "done"
WIDTH = 640
NARROW_WIDTH = 360        # the phone layout: a 390 px screen's column, at about 1:1


@dataclass
class Row:
    """One step (or a run of identical steps) of one lane."""
    lane: int
    step: str                  # the step that ran: the path's pc before it ran
    outcome: str               # "ran", "sleeps", "wakes", "done"
    events: tuple = ()         # trace event names emitted by the step
    state: str = ""            # what the watch function said afterwards
    changed: bool = False      # did the watched state change in this step?
    repeat: int = 1            # identical consecutive steps folded into this row


@dataclass
class SequenceDiagram:
    """Lanes and rows: what a sequence diagram shows, independent of drawing."""
    title: str
    lanes: list
    rows: list
    note: str = ""
    state_label: str = "state after the step"

    def picture(self) -> Picture:
        return Picture(self.title, sequence_text(self), sequence_svg(self),
                       narrow=sequence_svg(self, narrow=True))

    def __str__(self) -> str:
        return sequence_text(self)

    def _repr_html_(self) -> str:
        return self.picture()._repr_html_()


GENERIC = ("start", "finish", "work")   # step names that need their path's name


def step_name(path) -> str:
    """The step a path is about to run: its pc, or the pc of a sub-path it is running
    (generic names such as "start" get the path's name in front: "migrate_pages start")."""
    inner = path
    sub = getattr(path, "sub", None)
    while sub is not None and getattr(sub, "pc", None) not in (None, DONE):
        inner = sub
        sub = getattr(sub, "sub", None)
    name = str(getattr(inner, "pc", "?"))
    if name in GENERIC:
        name = f"{type(inner).__name__} {name}"
    return name


@dataclass
class Recorder:
    """Step paths of one Machine by hand and record every step as a row."""
    machine: object
    watch: object = None                    # machine -> str, called after every step
    counters: tuple = ()                    # Machine.counters names shown when they go up
    lanes: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    _asleep: set = field(default_factory=set)

    def __post_init__(self):
        self._trace_seen = len(self.machine.trace)
        self._counts = {c: self.machine.counters[c] for c in self.counters}
        self._state = self.watch(self.machine) if self.watch else ""

    def lane(self, title: str, path) -> int:
        """Add a lane that runs path; returns its number (for step and run)."""
        self.lanes.append(title)
        self.paths.append(path)
        return len(self.lanes) - 1

    def _new_events(self) -> tuple:
        trace = self.machine.trace
        new = tuple(e.name for e in trace[self._trace_seen:])
        self._trace_seen = len(trace)
        now = {c: self.machine.counters[c] for c in self.counters}
        bumped = tuple(c for c in self.counters if now[c] > self._counts.get(c, 0))
        self._counts = now
        return new + bumped

    def step(self, lane: int) -> str:
        """Run one step of lane; returns what Machine.step returned ("blocked", a pc, "done")."""
        path = self.paths[lane]
        if path.finished:
            return DONE
        name = step_name(path)
        result = self.machine.step(path)
        events = self._new_events()
        state = self.watch(self.machine) if self.watch else ""
        changed = state != self._state
        self._state = state
        if result == BLOCKED:
            if lane in self._asleep and not events and not changed:
                return result                       # still asleep: nothing new to draw
            self._asleep.add(lane)
            outcome = "sleeps"
        else:
            outcome = "wakes" if lane in self._asleep else "ran"
            self._asleep.discard(lane)
            if path.finished:
                outcome = DONE if outcome == "ran" else outcome
        self._add(Row(lane, name, outcome, events, state, changed))
        if path.finished and outcome != DONE:
            self._add(Row(lane, name, DONE, (), state, False))
        return result

    def _add(self, row: Row) -> None:
        last = self.rows[-1] if self.rows else None
        if (last is not None and last.lane == row.lane and last.step == row.step
                and last.outcome == row.outcome and last.events == row.events
                and last.state == row.state and not row.changed):
            last.repeat += 1
            return
        self.rows.append(row)

    def run(self, lane: int, until=None, limit: int = 10_000) -> str:
        """Step lane until until(machine) holds, it sleeps or it finishes; returns why it
        stopped: "until", "blocked" or "done"."""
        for _ in range(limit):
            if self.paths[lane].finished:
                return DONE
            if until is not None and until(self.machine):
                return "until"
            if self.step(lane) == BLOCKED:
                return BLOCKED
        raise RuntimeError(f"lane {self.lanes[lane]!r} did not stop within {limit} steps")

    def run_all(self, order=None, limit: int = 100_000) -> None:
        """Round-robin over the lanes (in order) until every path is done; a sleeping lane
        is retried on its next turn.  Raises RuntimeError if every lane sleeps."""
        order = list(range(len(self.lanes))) if order is None else list(order)
        for _ in range(limit):
            live = [i for i in order if not self.paths[i].finished]
            if not live:
                return
            progress = False
            for i in live:
                if self.step(i) != BLOCKED:
                    progress = True
            if not progress:
                raise RuntimeError("every lane sleeps: the paths wait for each other")
        raise RuntimeError(f"the paths did not finish within {limit} rounds")

    def diagram(self, title: str, note: str = "", state_label: str = "state after the step"):
        """The rows so far as a SequenceDiagram."""
        return SequenceDiagram(title, list(self.lanes), [Row(**vars(r)) for r in self.rows],
                               note, state_label)


# -- watch functions ----------------------------------------------------------------------

def page_watch(machine, proc, addr: int):
    """A watch function: the pte at addr and the counts of the page it names.

    Uses the public views only (Process.pte, Machine.page).  Kernels with a single
    migration type (the RFC's SWP_TYPE_MIGRATION) show no READ/WRITE."""
    types = getattr(getattr(machine, "era", None), "swap_types", None)
    single = types is not None and getattr(types, "migration_write", 0) is None

    def watch(m) -> str:
        pte = proc.pte(addr)
        if pte.none:
            return "pte none"
        if pte.present:
            pfn, kind = pte.pfn, f"pte -> pfn {pte.pfn} {'rw' if pte.writable else 'ro'}"
        elif pte.is_migration:
            pfn = pte.swp_offset
            w = "" if single else (" W" if pte.is_write_migration else " R")
            kind = f"pte = migration entry{w}, pfn {pfn}"
        else:
            return f"pte = swap entry {pte.swp_type}:{pte.swp_offset}"
        page = m.page(pfn)
        lock = ", locked" if page.locked else ""
        return f"{kind}; page {pfn}: count {page.count}, map {page.mapcount}{lock}"
    return watch


# -- text ---------------------------------------------------------------------------------

def _cell(row: Row) -> str:
    what = {"ran": row.step, "sleeps": f"{row.step}: sleeps", "wakes": f"{row.step}: wakes",
            DONE: "done"}[row.outcome]
    if row.repeat > 1:
        what += f" (x{row.repeat})"
    return what


def sequence_text(d: SequenceDiagram) -> str:
    """The diagram as a table: one row per step, the step in its lane's column."""
    header = ["#"] + d.lanes + [d.state_label]
    rows = []
    for n, r in enumerate(d.rows, 1):
        cells = [""] * len(d.lanes)
        cells[r.lane] = _cell(r)
        state = r.state + ("  *" if r.changed else "")
        if r.events:
            state = f"[{', '.join(r.events)}] {state}"
        rows.append([str(n)] + cells + [state])
    out = [d.title, "", text_table(header, rows, ["<"] * len(header)), "",
           "(* = the watched state changed in this step; [..] = trace events the step emitted;"
           " (xN) = N identical steps in a row)"]
    if d.note:
        out += ["", d.note]
    return "\n".join(out)


# -- SVG ----------------------------------------------------------------------------------

def sequence_svg(d: SequenceDiagram, narrow: bool = False) -> str:
    """Lifelines per lane, a box per step; the state after the step on the right, or, when
    narrow (NARROW_WIDTH units, for a phone's column), under the step across the width."""
    width = NARROW_WIDTH if narrow else WIDTH
    nl = max(len(d.lanes), 1)
    num_w = 28
    if narrow:
        lane_w = min(180.0, (width - num_w - 16) / nl)
        state_x = num_w + 8
    else:
        lane_w = min(180.0, (width - num_w - 16 - 200) / nl)
        state_x = num_w + 8 + lane_w * nl + 10
    state_w = width - state_x - 12
    title_lines = wrap(d.title, SIZE_TITLE, width - 32)
    head_y = 42 + 20 * (len(title_lines) - 1)
    header_lines = [wrap(t, SIZE_TICK, (lane_w - 14) * 0.9) for t in d.lanes]   # bold
    head_h = 18 * max(len(h) for h in header_lines) + 10
    top = head_y + 4 + head_h
    layout = []
    y = top + 8
    for r in d.rows:
        state = r.state
        if r.events:
            state = f"{', '.join(r.events)}: {state}" if state else ", ".join(r.events)
        # Bold (changed) lines are wider: wrap them to a narrower measure.
        state_lines = wrap(state, SIZE_NOTE - 1, state_w * (0.88 if r.changed else 1.0))[:4]
        h = 30 + 15 * len(state_lines) + 4 if narrow else max(30, 15 * len(state_lines) + 12)
        layout.append((y, h, state_lines))
        y += h
    bottom = y + 6
    note_lines = wrap(d.note, SIZE_NOTE, width - 32) if d.note else []
    height = bottom + 24 + 17 * len(note_lines) + 10
    desc = (f"A sequence diagram with {nl} lanes ({'; '.join(d.lanes)}) and {len(d.rows)} "
            "steps; the same steps are listed in the text that follows the picture.")
    parts = svg_open(width, height, d.title, desc)
    for i, line in enumerate(title_lines):
        parts.append(text(16, 28 + 20 * i, line, SIZE_TITLE, weight="bold"))

    def lane_x(i: int) -> float:
        return num_w + 8 + lane_w * i + lane_w / 2

    def mid_of(ry: float, rh: float) -> float:
        """Where a row's step box sits: centred, or at the top when the state is below."""
        return ry + 15 if narrow else ry + rh / 2

    for i, lines in enumerate(header_lines):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{lane_x(i) - lane_w / 2 + 3:.1f}" y="{head_y}" width="{lane_w - 6:.1f}" '
                     f'height="{head_h - 4}" rx="4" fill="{colour}" fill-opacity="0.15" '
                     f'stroke="{colour}"/>')
        for j, line in enumerate(lines):
            parts.append(text(lane_x(i), head_y + 16 + 18 * j, line, SIZE_TICK, "middle", weight="bold"))
    if not narrow:
        parts.append(text(state_x, head_y + 16, d.state_label, SIZE_TICK, weight="bold", fill=MUTED))
    # Lifelines: solid while a lane runs, dashed while it sleeps, absent once done.
    for i in range(nl):
        asleep, done_at = None, None
        segs = []
        start = top
        for (ry, rh, _), r in zip(layout, d.rows):
            if r.lane != i:
                continue
            mid = mid_of(ry, rh)
            if r.outcome == "sleeps" and asleep is None:
                segs.append((start, mid, False))
                asleep, start = True, mid
            elif r.outcome in ("wakes", "ran", DONE) and asleep:
                segs.append((start, mid, True))
                asleep, start = None, mid
            if r.outcome == DONE:
                done_at = mid
        segs.append((start, done_at if done_at is not None else bottom, bool(asleep)))
        for y1, y2, dashed in segs:
            if y2 <= y1:
                continue
            dash = ' stroke-dasharray="5 5"' if dashed else ""
            parts.append(f'<line x1="{lane_x(i):.1f}" y1="{y1:.1f}" x2="{lane_x(i):.1f}" '
                         f'y2="{y2:.1f}" stroke="{MUTED}" stroke-width="1.5"{dash}/>')
    for n, ((ry, rh, state_lines), r) in enumerate(zip(layout, d.rows), 1):
        colour = PALETTE[r.lane % len(PALETTE)]
        cx = lane_x(r.lane)
        mid = mid_of(ry, rh)
        parts.append(text(8, mid + 4, str(n), SIZE_NOTE - 1, fill=MUTED))
        if r.outcome == DONE:
            parts.append(f'<rect x="{cx - 30:.1f}" y="{mid - 10:.1f}" width="60" height="20" '
                         f'rx="10" fill="{colour}"/>')
            parts.append(text(cx, mid + 4.5, "done", SIZE_NOTE - 1, "middle", fill="#ffffff",
                              weight="bold"))
        else:
            label = r.step + (f" x{r.repeat}" if r.repeat > 1 else "")
            dashed = ' stroke-dasharray="4 3"' if r.outcome == "sleeps" else ""
            bw = lane_w - 12
            parts.append(f'<rect x="{cx - bw / 2:.1f}" y="{mid - 11:.1f}" width="{bw:.1f}" '
                         f'height="22" rx="3" fill="#ffffff" stroke="{colour}" '
                         f'stroke-width="1.8"{dashed}/>')
            label_lines = wrap(label.replace("_", "_\u200b"), SIZE_NOTE - 1, bw - 6, mono=True)
            size = SIZE_NOTE - 1 if len(label_lines) == 1 else SIZE_NOTE - 3
            parts.append(text(cx, mid + 4, label, size, "middle", mono=True))
            if r.outcome in ("sleeps", "wakes"):
                parts.append(text(cx + bw / 2 - 2, mid - 13, r.outcome, SIZE_NOTE - 1, "end",
                                  fill=colour, weight="bold"))
        if narrow and state_lines:           # a card over the lifelines, for the text
            parts.append(f'<rect x="{state_x - 4}" y="{ry + 28:.1f}" width="{width - state_x - 4}" '
                         f'height="{15 * len(state_lines) + 4}" rx="3" fill="#ffffff" '
                         f'fill-opacity="0.92"/>')
        for j, line in enumerate(state_lines):
            if narrow:
                yy = ry + 30 + 11 + 15 * j
            else:
                yy = mid + 4 - 7.5 * (len(state_lines) - 1) + 15 * j
            parts.append(text(state_x, yy, line, SIZE_NOTE - 1,
                              weight="bold" if r.changed else "normal",
                              fill=INK if r.changed else MUTED))
    for i, line in enumerate(note_lines):
        parts.append(text(16, bottom + 22 + 17 * i, line, SIZE_NOTE, fill=MUTED))
    parts.append("</svg>")
    return "".join(parts)


# -- a ready-made diagram -----------------------------------------------------------------

def fault_during_migration(era: str = "2.6.18", arrive: str = "late", write: bool = False,
                           **machine_args) -> SequenceDiagram:
    """One page migrated by move_pages(2) while a second task touches it, in era.

    arrive="early": the access starts as soon as the pte is a migration entry (before the
    count check); "late": once the page has been copied.  machine_args go to Machine (for
    example upto_patch=6 with era="rfc-v1").  The kind of diagram a chapter shows for its
    own kernel."""
    from ..machine import Machine            # the façade: a figure builds its own machine
    if arrive not in ("early", "late"):
        raise ValueError(f"arrive must be 'early' or 'late', not {arrive!r}")
    m = Machine(era=era, nodes=2, pages_per_node=64, **machine_args)
    p = m.spawn(node=0, cap_sys_nice=True)
    a = p.mmap(None, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"hello")
    rec = Recorder(m, watch=page_watch(m, p, a),
                   counters=("migrate_count_mismatch", "migration_yield"))
    mig = rec.lane("CPU 0: task A, move_pages() to node 1",
                   m.move_pages_path(p, [a], [1], MPOL_MF_MOVE_ALL))
    toucher = rec.lane(f"CPU 1: task B, {'writes' if write else 'reads'} the page",
                       m.access_path(p, a, write=write, data=b"HELLO"))
    if arrive == "early":
        rec.run(mig, until=lambda m: p.pte(a).is_migration)
    else:
        rec.run(mig, until=lambda m: m.counters["page_copies"] > 0)
    for _ in range(3):                    # B arrives: a few steps, up to where it waits
        if rec.paths[toucher].finished or rec.step(toucher) == BLOCKED:
            break                         # (V2's fault never sleeps: it yields and retries)
    rec.run_all([mig, toucher])
    m.check()
    return rec.diagram(f"A task {'writes' if write else 'reads'} the page while it moves "
                       f"({era}, arriving {arrive})")
