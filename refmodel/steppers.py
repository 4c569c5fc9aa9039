"""The book's steppers: one migration a frame per stage, a migration entry bit by bit, and
the scheduler game with its branches precomputed (render/stepper.py draws and shows them).

Teaching layer: these drive the façade and the explorer, which the renderer must not import.

    migration_stepper(era="2.6.18").show()      # one migration, a frame per stage
    game_stepper("orphan").show()               # be the scheduler, precomputed branches
    entry_stepper().show()                      # a migration entry for a few pfns, R/W
"""

from contextlib import contextmanager
from html import escape

from . import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Machine
from .migrate import isolate_lru_page, migrate_page, move_to_lru, remove_migration_ptes
from .overrides import kernel_function, override
from .page import PageAnon, TestSetPageLocked, flag_names, page_count, page_mapcount, unlock_page
from .page_alloc import alloc_pages_node
from .render.pte import pte_picture
from .render.state import process_rows, rows_picture, swap_rows
from .render.stepper import Frame, Stepper, static
from .rmap import try_to_unmap
from .scheduler_game import SchedulerGame
from .swapops import SWP_MIGRATION_READ, SWP_MIGRATION_WRITE, swp_entry, swp_entry_to_pte


# -- one migration, a frame per stage --------------------------------------------------

def _page_row(k, pfn: int, role: str) -> tuple:
    """(kind, text) of one page of interest, also once it is free."""
    page = k.pages.get(pfn)
    if page is None or page_count(page) == 0:
        return "page", f"pfn {pfn} ({role}): free"
    if PageAnon(page):
        what = "anon"
    elif page.mapping:
        what = "file"
    else:
        what = "no mapping"
    return "page", (f"pfn {pfn} ({role}) node{page.node} count={page_count(page)} "
                    f"map={page_mapcount(page)} {what} [{flag_names(page.flags)}]")


def _lock_row(machine) -> tuple:
    """Who holds which lock the migration takes (page locks are in the pages' flags)."""
    k = machine.k
    held = []
    for aid, av in sorted(k.anon_vmas.items()):
        if getattr(av, "lock", None) is not None:
            held.append(f"anon_vma {aid}")
    for mid, mp in sorted(k.mappings.items()):
        if getattr(mp, "i_mmap_lock", None) is not None:
            held.append(f"i_mmap_lock {mid}")
    for pid, mm in sorted(k.mms.items()):
        sem = mm.mmap_sem
        if sem.writer is not None or sem.readers:
            held.append(f"mmap_sem of mm {pid} ({'write' if sem.writer is not None else 'read'})")
    return "lock", "spinlocks and mmap_sem held: " + (", ".join(held) or "none")


def state_rows(machine, pages: dict) -> list:
    """The neutral description of one frame: [(key, kind, text)].  pages maps pfn -> role
    ("old", "new") for the pages shown even when nothing maps them."""
    k = machine.k
    rows = []
    for proc in machine.processes.values():
        if not proc.alive:
            continue
        for kind, text in process_rows(machine, proc):
            word = "head" if kind == "mm" else text.split()[0]
            rows.append(((proc.pid, word), kind, text))
    rows.append((("pages", "head"), "head", "pages under migration, and locks"))
    for pfn, role in pages.items():
        kind, text = _page_row(k, pfn, role)
        rows.append((("page", pfn), kind, text))
    kind, text = _lock_row(machine)
    rows.append((("locks",), kind, text))
    sw = swap_rows(machine)
    if sw:
        rows.append((("swap", "head"), "head", "swap"))
        rows += [(("swap", text.split(":")[0]), kind, text) for kind, text in sw]
    return rows


def _pte_part(text: str) -> str:
    """The pte itself (what a pte row says before ' -> page ...')."""
    return text.split(" -> ")[0].split(None, 1)[-1]


def changes(before: list, after: list) -> tuple:
    """(indexes of changed rows in after, phrases saying what changed)."""
    old = {key: (kind, text) for key, kind, text in before}
    changed, said = [], []
    for i, (key, kind, text) in enumerate(after):
        was = old.get(key)
        if was is not None and was[1] == text:
            continue
        changed.append(i)
        if key[-1] == "head" or kind == "vma":
            continue
        if isinstance(key[0], int):                              # a pte of process key[0]
            where = f"process {key[0]}'s pte at {key[1]}"
            if was is None:
                said.append(f"{where}: {_pte_part(text)}")
            elif _pte_part(was[1]) != _pte_part(text):
                said.append(f"{where}: {_pte_part(was[1])} => {_pte_part(text)}")
        elif key[0] == "page":
            if was is None:
                said.append(text)
            else:
                said.append(_page_change(was[1], text))
        elif key[0] == "swap" or key[0] == "locks":
            said.append(text)
    for key, kind, text in before:                               # rows that went away
        if key not in {k for k, _, _ in after} and isinstance(key[0], int) and kind != "vma":
            said.append(f"process {key[0]}'s pte at {key[1]}: gone")
    return changed, said


def _page_change(was: str, now: str) -> str:
    """'pfn 1 (old): count 2 => 1, map 1 => 0, +locked' from two page rows."""
    head = now.split(")")[0] + ")"
    if now.endswith(": free"):
        return f"{head}: freed"
    a, b = was.split(), now.split()
    parts = []
    fields = dict(x.split("=") for x in a if "=" in x), dict(x.split("=") for x in b if "=" in x)
    for name in ("count", "map"):
        if fields[0].get(name) != fields[1].get(name):
            parts.append(f"{name} {fields[0].get(name, '-')} => {fields[1].get(name, '-')}")
    fa = set(was[was.rfind("[") + 1:-1].split(",")) if "[" in was else set()
    fb = set(now[now.rfind("[") + 1:-1].split(",")) if "[" in now else set()
    parts += [f"+{f}" for f in sorted(fb - fa) if f and f != "-"]
    parts += [f"-{f}" for f in sorted(fa - fb) if f and f != "-"]
    node_a = next((x for x in a if x.startswith("node")), None)
    node_b = next((x for x in b if x.startswith("node")), None)
    if node_a != node_b:
        parts.append(f"{node_a} => {node_b}")
    for what in ("anon", "file", "no mapping"):
        if (f" {what} " in was) != (f" {what} " in now) and f" {what} " in now:
            parts.append(f"now {what}")
    return f"{head}: " + (", ".join(parts) or "changed")


class _Recorder:
    """Takes a frame whenever the machine's picture differs from the last frame."""

    def __init__(self, machine, pages: dict, title: str):
        self.m, self.pages = machine, pages
        self.rows = state_rows(machine, pages)
        self.pending = []            # frames taken but not yet handed out
        self.step = ""               # the model step running now ("" outside a step)
        self.title = title
        self.known = set(machine.k.pages)          # pages in use before: not shown
        self.pending.append(self._frame("before", [], ["the state before the migration starts"]))

    def _frame(self, title, changed, said):
        rows = [(kind, text) for _, kind, text in self.rows]
        pic = rows_picture(f"{self.title}: {title}", rows, changed)
        caption = "; ".join(said) if said else "nothing visible changed"
        return Frame.of(title, pic, caption)

    def note_new_pages(self):
        for pfn in sorted(self.m.k.pages):
            if pfn not in self.pages and pfn not in self.known:
                self.pages[pfn] = "new"

    def snap(self, name: str, force: bool = False):
        """After `name` ran (a kernel function inside the current step, or the step
        itself): a frame if anything changed since the last one (or force)."""
        self.note_new_pages()
        rows = state_rows(self.m, self.pages)
        changed, said = changes(self.rows, rows)
        if not changed and not force:
            return
        self.rows = rows
        frame = self._frame(name, changed, said)
        if self.step and name != self.step:
            frame.caption += f" (inside the model's step {self.step})"
        self.pending.append(frame)

    def take(self) -> list:
        out, self.pending = self.pending, []
        return out


# The kernel functions of a migration, by their kernel names.  While the stepper runs a
# step, each of these that the model defines is wrapped (refmodel.overrides, the same
# registry the exercises use) so that a frame is taken when it returns: a single model
# step that does several of them (2.6.17 moves a page in one step) still shows each.
TAPS = ("add_to_swap", "try_to_unmap", "try_to_unmap_one", "migrate_page_remove_references",
        "migrate_page_move_mapping", "migrate_page_copy", "remove_from_swap",
        "remove_migration_pte", "remove_migration_ptes", "TestSetPageLocked", "unlock_page",
        "move_to_lru", "alloc_pages_node")


@contextmanager
def _tapped(rec: _Recorder):
    """Within the block, each TAPS function the model defines takes a frame on return
    (only for calls on this machine's kernel or its pages)."""
    k = rec.m.k

    def wrap(name, fn):
        def tap(*args, **kw):
            result = fn(*args, **kw)
            first = args[0] if args else None
            ours = first is k or (getattr(first, "pfn", None) is not None
                                  and k.pages.get(first.pfn) is first)
            if ours:
                rec.snap(name)
            return result
        return tap

    wrappers = {}
    for name in TAPS:
        try:
            _, fn = kernel_function(name)
        except KeyError:
            continue                     # not in this model (renamed or not modelled)
        wrappers[name] = wrap(name, fn)
    with override(**wrappers):
        yield


def _scenario(era: str, upto_patch, fork: bool, swap_pages: int):
    """A two-node machine where one process has written one private anonymous page on
    node 0 (and, with fork, a child maps it too)."""
    kw = {"upto_patch": upto_patch} if upto_patch is not None else {}
    m = Machine(era=era, nodes=2, pages_per_node=16, swap_pages=swap_pages, **kw)
    p = m.spawn(node=0, cap_sys_nice=True)
    a = p.mmap(None, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"hello")
    if fork:
        p.fork()
    return m, p, a


def migration_stepper(era: str = "2.6.18", upto_patch: int | None = None, fork: bool = False,
                      swap_pages: int | None = None) -> Stepper:
    """One page migrated from node 0 to node 1, a frame per stage: the ptes, the page
    counts and map counts, the swap cache, the rmap, the locks.

    The era's own path runs under m.step (migrate_pages(2) for the swap-based kernels,
    the kernel's migrate_pages for the entry-based ones), with a frame after each step
    and after each kernel function of TAPS inside a step.  V1 after patch 3 or 4 has the
    new functions but its migrate_pages never calls them (it is still 2.6.17's): there the
    stepper calls them in the order patch 6 will, as the chapters do by hand.
    """
    if swap_pages is None:
        swap_pages = 8 if (era == "2.6.17" or upto_patch is not None and upto_patch < 3) else 0
    what = era if upto_patch is None else f"{era} after patch {upto_patch}"
    title = f"one migration in {what}" + (" (page shared after fork)" if fork else "")
    return Stepper(_migration_frames(era, upto_patch, fork, swap_pages, title), title=title)


def _migration_frames(era, upto_patch, fork, swap_pages, title):
    m, p, a = _scenario(era, upto_patch, fork, swap_pages)
    pfn = p.pte(a).pfn
    rec = _Recorder(m, {pfn: "old"}, title)
    yield from rec.take()
    if upto_patch in (3, 4):
        yield from _by_hand(m, rec, pfn, upto_patch)
        return
    with _tapped(rec):
        if m.era.migration == "swapcache":
            path = m.migrate_pages_path(p, {0}, {1})
        else:
            path = m.kernel_migrate_path([pfn], 1)
        rec.snap("isolate_lru_page")
    yield from rec.take()
    guard = 0
    while not path.finished:
        rec.step = name = path.pc
        with _tapped(rec):
            r = m.step(path)
        if r == "blocked":
            raise RuntimeError(f"the migration sleeps at {name}: nobody else runs here")
        rec.snap(name)
        rec.step = ""
        yield from rec.take()
        guard += 1
        if guard > 500:
            raise RuntimeError("the migration did not finish in 500 steps")
    m.check()
    rec.snap("done", force=True)
    last = rec.take()
    last[-1].caption = (f"migrate_pages returned {path.result} (pages not migrated); "
                        + _outcome(p, a))
    yield from last


def _outcome(p, a) -> str:
    where = p.page(a)
    return (f"the process's pte is {p.pte(a)!r}" +
            (f", its page on node {where.node}" if where is not None else ""))


def _by_hand(m, rec, pfn, upto_patch):
    """V1 after patch 3 (entries made) or 4 (and removed): the new functions, called in
    the order patch 6's migrate_pages will call them, as the chapters do by hand."""
    k = m.k
    page = k.pages[pfn]

    def call(name, fn, *args):
        with _tapped(rec):
            result = fn(*args)
        rec.snap(name)
        return result

    if call("isolate_lru_page", isolate_lru_page, page) != 0:
        raise RuntimeError("the page is not on an LRU list")
    call("TestSetPageLocked", TestSetPageLocked, page)
    call("try_to_unmap(page, migration=1)", try_to_unmap, k, page, True)
    yield from rec.take()
    p = next(iter(m.processes.values()))
    if upto_patch == 3:
        rec.snap("the end, for now: no function turns the entry back into a pte before "
                 "patch 4", force=True)
        yield from rec.take()
        return
    new = call("alloc_pages_node", alloc_pages_node, k, 1)
    call("TestSetPageLocked", TestSetPageLocked, new)
    new.index, new.mapping = page.index, page.mapping      # as V2 5/5 (and 2.6.18) do
    rc = call("migrate_page", migrate_page, k, None, new, page)
    if rc != 0:
        raise RuntimeError(f"migrate_page returned {rc}")
    yield from rec.take()
    call("remove_migration_ptes", remove_migration_ptes, k, page, new)
    call("unlock_page", unlock_page, new)
    call("unlock_page", unlock_page, page)
    call("move_to_lru", move_to_lru, k, page)
    call("move_to_lru", move_to_lru, k, new)
    yield from rec.take()
    m.check()
    rec.snap("done", force=True)
    last = rec.take()
    last[-1].caption = _outcome(p, p.vmas()[0][0])
    yield from last


# -- a migration entry for a few pfns, READ or WRITE (the anatomy chapter) -------------

def entry_stepper(pfns=(0x12345, 0x1, 0xFFFFF), kinds=("WRITE", "READ")) -> Stepper:
    """A frame per (pfn, READ/WRITE) migration entry of 2.6.18: the pte's bit picture.
    Back/next walk the pfns; the READ and WRITE buttons switch the type.  Live (widget),
    a slider takes any pfn below 2**20 and the entry is built as the reader moves it."""
    types = {"READ": SWP_MIGRATION_READ, "WRITE": SWP_MIGRATION_WRITE}
    index = {(pfn, kind): i for i, (pfn, kind) in
             enumerate((pfn, kind) for pfn in pfns for kind in kinds)}
    frames = []
    for (pfn, kind), i in index.items():
        pte = swp_entry_to_pte(swp_entry(types[kind], pfn))
        pic = pte_picture(pte)
        frames.append(Frame.of(
            f"{kind} entry for pfn {pfn:#x}", pic,
            f"swp_entry(SWP_MIGRATION_{kind} = {types[kind]}, {pfn:#x}) -> pte {pte:#018x}",
            choices=[(k, index[(pfn, k)]) for k in kinds]))

    def live():
        import ipywidgets as W
        from IPython.display import display
        slider = W.IntSlider(value=pfns[0], min=0, max=(1 << 20) - 1, description="pfn",
                             continuous_update=False, layout=W.Layout(width="32em"))
        kind = W.ToggleButtons(options=[(k, types[k]) for k in ("READ", "WRITE")],
                               value=types[kinds[0]], description="entry")
        picture = W.Output()

        def redraw(change=None):
            """Rebuild the migration entry from the controls and draw its pte."""
            with picture:
                picture.clear_output(wait=True)
                display(pte_picture(swp_entry_to_pte(swp_entry(kind.value, slider.value))))

        slider.observe(redraw, names="value")
        kind.observe(redraw, names="value")
        redraw()
        return W.VBox([slider, kind, picture])

    return Stepper(frames, title="a migration entry, bit by bit", live=live)


# -- be the scheduler, with the branches precomputed (the explorer chapter) -------------

def game_stepper(level: str = "orphan", off_path: int = 1, max_frames: int = 40) -> Stepper:
    """The scheduler game of `level` as a tree of frames: the explorer's shortest winning
    schedule, and at every state on it each other thread the reader may run instead,
    followed `off_path` steps further (at most max_frames frames in all).  Each frame's
    choices are the threads that can run; back undoes a step.  Live (widget), the game
    runs the model on every click and every schedule is open."""
    first = SchedulerGame(level=level)
    solution = tuple(first.solution())
    title = f"be the scheduler: {first.level.get('title', level)}"
    frames: list = []
    built: dict = {}                         # schedule -> frame index
    wanted: dict = {}                        # frame index -> [(label, schedule)]
    queue = [((), None, 0)]                  # (schedule, parent frame, steps off the path)
    while queue and len(frames) < max_frames:
        schedule, parent, off = queue.pop(0)
        g = SchedulerGame(level=level)
        for name in schedule:
            g.step(name)
        i = len(frames)
        built[schedule] = i
        can = g.enabled()
        status = "goal reached!" if g.won else (
            "an invariant broke" if g.rows.violations else "goal not reached yet")
        caption = (f"{status} Can run now: " + (", ".join(f"{n} ({f})" for n, f in can)
                                               or "nobody") + ".")
        if g.won and g.level.get("lesson"):
            caption += " " + g.level["lesson"]
        last = f"after {len(schedule)} steps, {schedule[-1]} last" if schedule else "the start"
        html = (f"<p class='wb-goal'><b>Goal</b>: {escape(g.goal_text)}"
                f"{' &#x2014; <b>reached</b>' if g.won else ''}</p>" + g.html())
        frames.append(Frame(last, g.text(), html, caption, parent=parent))
        if g.won or g.rows.violations:
            continue
        wanted[i] = []
        for name, fn in can:
            nxt = schedule + (name,)
            depth = 0 if off == 0 and solution[:len(nxt)] == nxt else off + 1
            if depth <= off_path:
                wanted[i].append((f"run {name}: {fn}", nxt))
                queue.append((nxt, i, depth))
    for i, choices in wanted.items():
        frames[i].choices = [(label, built[sch]) for label, sch in choices if sch in built]
    for i, f in enumerate(frames):
        ended = f.caption.startswith(("goal reached", "an invariant"))
        if not ended and not f.choices:
            f.caption += " The static page stops here: go back, or play on in the notebook."
    note = ("Every frame was computed by the model when the book was built: the shortest "
            "winning schedule and, at each of its steps, the other threads you could run, "
            f"followed {off_path} step{'s' if off_path != 1 else ''} further. "
            "In a live notebook the game is open everywhere.")
    return Stepper(frames, title=title, mode="tree", note=note,
                   live=lambda: SchedulerGame(level=level).widget())
