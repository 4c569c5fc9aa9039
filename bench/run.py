"""How fast is the reference model?  `make bench` runs this file and prints one table.

    .venv/bin/python bench/run.py            the full sizes (one to two minutes)
    .venv/bin/python bench/run.py --quick    small sizes: a smoke test, not a measurement
    .venv/bin/python bench/run.py --only fault,steps

Each benchmark is a function registered under a short name that returns rows; later issues add
theirs (migration, the explorer) with one more @benchmark.  Times are time.perf_counter()
seconds; where a run is cheap to repeat the row is the median of REPEATS runs (its notes say so),
and setup (building the machine the row needs) is never inside the timed part.  Each row's notes
also give the median CPU time of the process (time.process_time): on a shared machine wall time
includes waiting for a core, CPU time does not.
Speed is asserted only here, never in the tests: tests/test_bench_smoke.py just runs --quick.
"""

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))     # run from a fresh clone too

from refmodel import (MAP_ANONYMOUS, MAP_PRIVATE, MPOL_MF_MOVE_ALL, PAGE_SHIFT,  # noqa: E402
                      PAGE_SIZE, PROT_READ, PROT_WRITE, Machine, SegmentationFault)
from refmodel import sched  # noqa: E402
from refmodel.memory import do_anonymous_page, find_vma, user_access  # noqa: E402
from refmodel.mm import VM_WRITE  # noqa: E402
from refmodel.pgtable import _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, pte_none, pte_pfn  # noqa: E402,E501
from refmodel.sched import down_read, up_read  # noqa: E402

REPEATS = 3
FAULT_TARGET_S = 2.0          # issue #3: 100k anonymous write faults through the façade


@dataclass
class Row:
    """One line of the table."""
    benchmark: str
    n: int
    total_s: float               # median wall time, time.perf_counter
    cpu_s: float                 # median CPU time of this process, time.process_time
    notes: str = ""

    @property
    def per_op_us(self) -> float:
        return self.total_s / self.n * 1e6 if self.n else float("nan")


@dataclass
class Sizes:
    """How big each benchmark runs: full for `make bench`, small for --quick."""
    quick: bool
    fault: int
    fork: int
    swap: int
    steps: int
    snapshot: tuple
    migrate: tuple = (10_000, 100_000)    # issue #4: pages shared with a child, MOVE_ALL
    eras: int = 2_000                     # the era table's workload (migrate_pages(2))


FULL = Sizes(False, fault=100_000, fork=100_000, swap=10_000, steps=100_000,
             snapshot=(1_000, 10_000, 100_000))
QUICK = Sizes(True, fault=2_000, fork=2_000, swap=500, steps=2_000, snapshot=(100, 1_000),
              migrate=(500, 2_000), eras=200)

BENCHMARKS: dict = {}         # name -> function(Sizes) -> list[Row], in registration order


def benchmark(name: str):
    """Register a benchmark under name (what --only selects)."""
    def register(fn):
        BENCHMARKS[name] = fn
        return fn
    return register


# -- helpers --------------------------------------------------------------------------

def progress(msg: str) -> None:
    """Long rows say what they are doing on stderr, so the table on stdout stays clean."""
    print(f"  .. {msg}", file=sys.stderr, flush=True)


def timed(run, state) -> tuple:
    """(wall, cpu) seconds run(state) takes.  Garbage from earlier runs (old machines are
    full of reference cycles) is collected first, so that no run pays for its predecessors;
    the collector stays on while timing, as it is when the model is used."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    run(state)
    return time.perf_counter() - t0, time.process_time() - c0


def median(timings: list) -> tuple:
    """(median wall, median cpu) of a list of timed() results."""
    return (statistics.median(t for t, _ in timings), statistics.median(c for _, c in timings))


def median_time(setup, run, repeats: int = REPEATS, label: str = "") -> tuple:
    """Median (wall, cpu) of run(state) over repeats fresh setup() states (setup not timed)."""
    timings = []
    for i in range(repeats):
        state = setup()
        if label:
            progress(f"{label}: run {i + 1}/{repeats}")
        timings.append(timed(run, state))
    return median(timings)


def anon_process(npages: int, shadow: bool = False, swap: int = 0, nodes: int = 1,
                 pages_per_node: int | None = None):
    """A machine with room for npages and a process with an npages anonymous mapping."""
    m = Machine(nodes=nodes, pages_per_node=pages_per_node or npages + 64, swap_pages=swap,
                shadow=shadow)
    p = m.spawn(node=0)
    a = p.mmap(None, npages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    return m, p, a


def fault_in(p, a: int, npages: int) -> None:
    """One write per page through the façade: each one takes a pte_none write fault."""
    for i in range(npages):
        p.write(a + i * PAGE_SIZE, b"x")


def populated(npages: int, **kw):
    """anon_process with every page already faulted in."""
    m, p, a = anon_process(npages, **kw)
    fault_in(p, a, npages)
    return m, p, a


# -- 1. faults ------------------------------------------------------------------------

@benchmark("fault")
def bench_fault(sz: Sizes) -> list:
    """Fault in n anonymous pages by Process.write, without and with the content shadow."""
    n = sz.fault
    rows = []
    for shadow in (False, True):
        t, cpu = median_time(lambda: anon_process(n, shadow=shadow),
                             lambda s: fault_in(s[1], s[2], n), label=f"fault shadow={shadow}")
        if shadow:
            verdict = "test instrumentation, for comparison"
        elif sz.quick:
            verdict = f"target <= {FAULT_TARGET_S:g} s applies at n=100000"
        else:
            verdict = (f"target <= {FAULT_TARGET_S:g} s: {'PASS' if t <= FAULT_TARGET_S else 'MISS'}"
                       f" (by cpu time: {'PASS' if cpu <= FAULT_TARGET_S else 'MISS'})")
        rows.append(Row(f"fault: Process.write, shadow={shadow}", n, t, cpu,
                        f"median of {REPEATS}; {verdict}"))
    return rows


# -- 2. fork --------------------------------------------------------------------------

@benchmark("fork")
def bench_fork(sz: Sizes) -> list:
    """fork of an n-page process (copy_one_pte per pte), and the child's exit."""
    n = sz.fork
    progress(f"fork: faulting in {n} pages")
    m, p, a = populated(n)
    fork_times, exit_times = [], []
    for i in range(REPEATS):                 # the same parent each time; the child exits
        progress(f"fork: run {i + 1}/{REPEATS}")
        children = []
        fork_times.append(timed(lambda parent: children.append(parent.fork()), p))
        exit_times.append(timed(lambda child: child.exit(), children[0]))
    note = f"median of {REPEATS}; same parent, child exits in between"
    return [Row("fork: Process.fork of n pages", n, *median(fork_times), note),
            Row("exit: the forked child (zap n ptes)", n, *median(exit_times), note)]


# -- 3. swap --------------------------------------------------------------------------

@benchmark("swap")
def bench_swap(sz: Sizes) -> list:
    """Reclaim n pages to swap one by one, then read them all back (swap-in faults)."""
    n = sz.swap
    out_times, in_times, counts = [], [], None
    for i in range(REPEATS):
        progress(f"swap: run {i + 1}/{REPEATS}")
        m, p, a = populated(n, swap=n + 1)
        freed = []
        out_times.append(timed(lambda s: freed.extend(m.reclaim(p, a + j * PAGE_SIZE)
                                                      for j in range(n)), None))
        in_times.append(timed(lambda s: [p.read(a + j * PAGE_SIZE, 1) for j in range(n)], None))
        counts = (sum(freed), m.counters["pswpout"], m.counters["pgmajfault"])
    freed, pswpout, majfault = counts
    return [Row("reclaim: m.reclaim to swap", n, *median(out_times),
                f"median of {REPEATS}; {freed} freed, {pswpout} written"),
            Row("swap-in: Process.read of swapped pages", n, *median(in_times),
                f"median of {REPEATS}; {majfault} major faults")]


# -- 4. kernel paths as step objects vs plain functions -------------------------------

def plain_write(k, mm, tid: int, addr: int, data: bytes, node: int) -> None:
    """The least code that does what user_access does for a write to an anonymous page,
    calling refmodel's own kernel functions but without the step machinery: the MMU check,
    do_page_fault (mmap_sem, find_vma, do_anonymous_page), the MMU again, the store."""
    vpn = addr >> PAGE_SHIFT
    pte = mm.pgtable.get(vpn, 0)
    if pte & (_PAGE_PRESENT | _PAGE_USER | _PAGE_RW) != _PAGE_PRESENT | _PAGE_USER | _PAGE_RW:
        down_read(mm.mmap_sem, tid)
        k.stat("pgfault")
        vma = find_vma(mm, addr)
        if vma is None or vma.vm_start > addr or not vma.vm_flags & VM_WRITE:
            up_read(mm.mmap_sem, tid)
            raise SegmentationFault(addr)
        if not pte_none(pte) or vma.vm_file is not None:
            raise NotImplementedError("the baseline only handles first touch of anonymous memory")
        do_anonymous_page(k, mm, vma, addr, True, node)
        up_read(mm.mmap_sem, tid)
        pte = mm.pgtable[vpn]
    page = k.pages[pte_pfn(pte)]
    mm.pgtable[vpn] = pte | _PAGE_ACCESSED | _PAGE_DIRTY
    off = addr & (PAGE_SIZE - 1)
    page.data = page.data[:off] + data + page.data[off + len(data):]


def steps_write(k, mm_id: int, addr: int, data: bytes, node: int) -> None:
    """The same store as a step object driven by sched.run (what Process.write does inside)."""
    path = sched.run(k, user_access(mm_id, mm_id, addr, True, data, 0, node))
    if path.error is not None:
        raise SegmentationFault(addr, str(path.error))


@benchmark("steps")
def bench_steps(sz: Sizes) -> list:
    """The design choice: kernel paths as suspendable step objects, against plain calls."""
    n = sz.steps

    def facade(s):
        fault_in(s[1], s[2], n)

    def stepped(s):
        m, p, a = s
        for i in range(n):
            steps_write(m.k, p.pid, a + i * PAGE_SIZE, b"x", p.node)

    def plain(s):
        m, p, a = s
        k, mm = m.k, p.mm
        for i in range(n):
            plain_write(k, mm, p.pid, a + i * PAGE_SIZE, b"x", p.node)

    variants = (("facade", facade), ("steps", stepped), ("plain", plain))
    times = {name: [] for name, _ in variants}
    for i in range(REPEATS):                 # interleaved, so that load changes hit all three
        progress(f"steps: round {i + 1}/{REPEATS}")
        for name, fn in variants:
            times[name].append(timed(fn, anon_process(n)))
    times = {name: median(t) for name, t in times.items()}
    finals = {}
    for name, fn in variants:                # one more (untimed) run, to compare end states
        s = anon_process(n)
        fn(s)
        finals[name] = s[0].snapshot()
    same = "same end state" if len(set(finals.values())) == 1 else "END STATES DIFFER"
    (base, base_cpu) = times["plain"]

    def ratio(name):
        t, c = times[name]
        return f"{t / base:.2f}x plain (cpu {c / base_cpu:.2f}x)"

    return [Row("(a) façade: Process.write", n, *times["facade"],
                f"median of {REPEATS}; {ratio('facade')}"),
            Row("(a') sched.run(user_access), no façade", n, *times["steps"],
                f"median of {REPEATS}; {ratio('steps')}"),
            Row("(b) plain functions, same kernel calls", n, base, base_cpu,
                f"median of {REPEATS}; baseline; {same}")]


# -- 5. snapshots ---------------------------------------------------------------------

@benchmark("snapshot")
def bench_snapshot(sz: Sizes) -> list:
    """m.snapshot() costs what is in use, not what memory the machine has."""
    cases = [(n, n + 64) for n in sz.snapshot] + [(sz.snapshot[0], 1_000_000)]
    rows = []
    for used, ppn in cases:
        progress(f"snapshot: {used} pages in use of {ppn}")
        m, p, a = populated(used, pages_per_node=ppn)
        rows.append(Row(f"snapshot: {used} pages in use", used,
                        *median_time(lambda: m, lambda mm: mm.snapshot()),
                        f"median of {REPEATS}; pages_per_node={ppn:,}; per-op = per page in use"))
    return rows


# -- 6. migration (issue #4) ------------------------------------------------------------

MIGRATE_TARGET_S = 5.0        # 100k pages shared with a child, MOVE_ALL, era 2.6.18
FLOOR_FACTOR = 10.0           # the model within 10x of the bare-loop floor
SCALING_LIMIT = 1.25          # cost per page from 10k to 100k pages


def shared_with_child(n: int, era: str = "2.6.18", swap: int = 0):
    """n anonymous pages written by a parent, then shared copy-on-write with a forked child."""
    m = Machine(era=era, nodes=2, pages_per_node=2 * n + 64, swap_pages=swap, shadow=False)
    p = m.spawn(node=0, cap_sys_nice=True)
    a = p.mmap(None, n * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    fault_in(p, a, n)
    c = p.fork()
    return m, p, a, c


def floor_state(n: int):
    """What the bare loop works on: two mappings' pte slots and n pages of bytes."""
    return [dict.fromkeys(range(n), 1), dict.fromkeys(range(n), 1)], [bytes(PAGE_SIZE)] * n


def bare_loop(state) -> None:
    """The least Python that does migration's unavoidable work: rewrite every pte slot of
    both mappings twice (entry in, pte back) and copy every page's bytes once."""
    tables, data = state
    for t in tables:
        for v in t:
            t[v] = 2
    copies = [bytearray(d) for d in data]
    for t in tables:
        for v in t:
            t[v] = 3
    return copies


@benchmark("migrate")
def bench_migrate(sz: Sizes) -> list:
    """move_pages(MPOL_MF_MOVE_ALL) of n pages each mapped by a parent and a child."""
    rows, per_page = [], {}
    for n in sz.migrate:
        repeats = 1 if n >= 50_000 else REPEATS
        moved = []

        def run(s, n=n):
            m, p, a, c = s
            moved.append(m.move_pages(p, [a + i * PAGE_SIZE for i in range(n)], [1] * n,
                                      MPOL_MF_MOVE_ALL))
        t, cpu = median_time(lambda n=n: shared_with_child(n), run, repeats=repeats,
                             label=f"migrate {n}")
        ok = all(st == [1] * n and st.ret == 0 for st in moved)
        per_page[n] = cpu / n
        note = f"median of {repeats}; all {n} moved: {ok}"
        if n == 100_000:
            note += (f"; target <= {MIGRATE_TARGET_S:g} s: {'PASS' if t <= MIGRATE_TARGET_S else 'MISS'}"
                     f" (by cpu time: {'PASS' if cpu <= MIGRATE_TARGET_S else 'MISS'})")
        rows.append(Row("migrate: move_pages MOVE_ALL, 2 mappings/page", n, t, cpu, note))
    n = sz.migrate[-1]
    ft, fcpu = median_time(lambda: floor_state(n), bare_loop, label="bare-loop floor")
    ratio = (rows[-1].cpu_s / fcpu) if fcpu else float("nan")
    rows.append(Row("floor: 4 pte-slot writes + 1 page copy per page", n, ft, fcpu,
                    f"median of {REPEATS}; model/floor = {ratio:.0f}x by cpu "
                    f"(target <= {FLOOR_FACTOR:g}x: {'PASS' if ratio <= FLOOR_FACTOR else 'MISS'})"))
    small, big = sz.migrate
    growth = per_page[big] / per_page[small]
    rows.append(Row(f"scaling: cost per page {small} -> {big}", big, 0.0, 0.0,
                    f"x{growth:.2f} by cpu (target <= {SCALING_LIMIT}: "
                    f"{'PASS' if growth <= SCALING_LIMIT else 'MISS'})"))
    return rows


@benchmark("eras")
def bench_eras(sz: Sizes) -> list:
    """The same workload in each era: migrate_pages(2) of n private anonymous pages 0 -> 1."""
    n = sz.eras
    rows = []
    for era, swap in (("2.6.17", n + 8), ("rfc-v1", 0), ("v2-yield", 0), ("2.6.18", 0)):
        costs = []

        def setup(era=era, swap=swap):
            m = Machine(era=era, nodes=2, pages_per_node=2 * n + 64, swap_pages=swap, shadow=False)
            p = m.spawn(node=0, cap_sys_nice=True)
            a = p.mmap(None, n * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
            fault_in(p, a, n)
            return m, p

        def run(s):
            m, p = s
            left = m.migrate_pages(p, {0}, {1})
            costs.append((left, m.last_call))
        t, cpu = median_time(setup, run, label=f"era {era}")
        left, c = costs[-1]
        rows.append(Row(f"era {era}: migrate_pages(2)" + (" with swap" if swap else ", no swap"),
                        n, t, cpu,
                        f"left {left}; swap slots {c['swap_slots_taken']}; swap cache "
                        f"+{c['swapcache_add']}/-{c['swapcache_del']}; radix {c['radix_updates']}; "
                        f"retries {c['migrate_retries']}; pte writes {c['pte_writes']}; "
                        f"rmap walks {c['rmap_walks']}; entries {c['migration_entries_set']}"))
    return rows


@benchmark("explorer")
def bench_explorer(sz: Sizes) -> list:
    """Issue #6: the interleaving explorer's rows (bench/explorer.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from explorer import rows as explorer_rows
    return [Row(*r) for r in explorer_rows(sz.quick)]


# -- exercises (issue #13) ------------------------------------------------------------------

EXERCISE_CHECK_TARGET_S = 1.0     # check() of a sequential exercise, in its notebook
EXERCISE_RACE_TARGET_S = 5.0      # ... of a race exercise (the explorer runs inside it)
LEARNER_GRADE_TARGET_S = 10.0     # grading every exercise of one learner, jailed


def _is_race(body: dict) -> bool:
    """A race exercise runs the explorer in its check (exercises.json says so)."""
    return bool(body.get("race") or body.get("explore") or body.get("kind") == "race"
                or any("explore" in case for case in body.get("cases", ())))


@benchmark("exercises")
def bench_exercises(sz: Sizes) -> list:
    """check() of each exercise with its source notebook's solution, as a learner's first run
    in a notebook (the model's reference runs of the cases included: the caches are emptied
    before each run), and `python -m refmodel.grade` of one learner who hands in every
    exercise (the source notebooks), one worker, each notebook in its jailed process."""
    import shutil
    import tempfile

    from refmodel import exercises as E
    from refmodel.grading import cli
    from refmodel.grading.generate import SOURCE_DIR, solution_cells

    rows = []
    repeats = 1 if sz.quick else REPEATS
    for ex, body in E.exercises().items():
        source = SOURCE_DIR / Path(body["notebook"]).name
        cells = solution_cells(source)

        def setup(ex=ex, cells=cells):
            E._REFERENCE.clear()
            E._LOCAL.clear()
            ns = dict(E.api(ex))
            for c in cells:
                exec(compile(c, f"{ex} solution", "exec"), ns)
            return ns

        def run(ns, ex=ex):
            report = E.check(ex, ns)
            if report.score != report.max_score:
                raise RuntimeError(f"{ex}: the source solution scores {report.score}/{report.max_score}")
        t, cpu = median_time(setup, run, repeats, label=f"check {ex}")
        target = EXERCISE_RACE_TARGET_S if _is_race(body) else EXERCISE_CHECK_TARGET_S
        rows.append(Row(f"check({ex!r}) with the source's solution", len(body["cases"]), t, cpu,
                        f"{'race' if _is_race(body) else 'sequential'}; n = cases; reference runs "
                        f"included; median of {repeats}; target <= {target:g} s "
                        f"({'met' if t <= target else 'NOT met'})"))
    with tempfile.TemporaryDirectory() as d:
        learner = Path(d) / "learner"
        learner.mkdir()
        for body in E.exercises().values():
            shutil.copy(SOURCE_DIR / Path(body["notebook"]).name, learner)
        timings = []
        for i in range(repeats):
            progress(f"grade one learner, every exercise: run {i + 1}/{repeats}")
            out = Path(d) / f"out{i}"
            quiet = open(os.devnull, "w")
            saved = sys.stdout
            sys.stdout = quiet                     # the grader's progress lines
            try:
                timings.append(timed(lambda _: cli.main([str(learner), "--out", str(out), "-j", "1"]), None))
            finally:
                sys.stdout = saved
                quiet.close()
        t, cpu = median(timings)
    n = len(E.exercises())
    rows.append(Row("grade one learner: every exercise (python -m refmodel.grade -j 1)", n, t, cpu,
                    f"n = notebooks; jailed learner processes; cpu is the grader's only; median of "
                    f"{repeats}; target <= {LEARNER_GRADE_TARGET_S:g} s "
                    f"({'met' if t <= LEARNER_GRADE_TARGET_S else 'NOT met'})"))
    return rows


@benchmark("race-exercises")
def bench_race_exercises(sz: Sizes) -> list:
    """Issue #13, the race exercise: how often the explorer calls the learner's code in
    ex10's check (once per new state of the faulting thread, its jailed round trip ~70 µs),
    and grading ex9's and ex10's source notebooks alone, each in its jailed process."""
    from refmodel import exercises as E
    from refmodel.grading.grader import Options, grade_notebook_bytes
    from refmodel.grading.generate import SOURCE_DIR, solution_cells
    from refmodel.grading.sandbox import Slot, choose_tier
    rows, repeats = [], 1 if sz.quick else REPEATS
    meta = E.exercises()["ex10"]
    ns = dict(E.api("ex10"))
    for c in solution_cells(SOURCE_DIR / Path(meta["notebook"]).name):
        exec(compile(c, "ex10 solution", "exec"), ns)
    races = [c for c in meta["cases"] if "explore" in c]
    counts = {}

    def explore_all(_):
        session = E.LocalSession("ex10", {n: ns[n] for n in meta["functions"]})
        n_calls = [0]

        def counted(stub):
            def call(*a):
                n_calls[0] += 1
                return stub(*a)
            return call
        stubs = {n: counted(f) for n, f in session.stubs().items()}
        counts.update(states=sum(E.run_explore(c, stubs).states for c in races),
                      calls=n_calls[0], requests=session.server.requests)
    t, cpu = median_time(lambda: None, explore_all, repeats, label="ex10's explorer runs")
    rows.append(Row("ex10: the explorer over its configurations, with the learner's code (in-process)",
                    counts["calls"], t, cpu,
                    f"n = calls of the learner's code ({counts['requests']} requests, "
                    f"{counts['states']:,} states, {len(races)} configurations); median of {repeats}"))
    if sz.quick:
        return rows
    tier, _ = choose_tier(None)
    slot = Slot(tier)
    try:
        for ex in ("ex9", "ex10"):
            body = E.exercises()[ex]
            data = (SOURCE_DIR / Path(body["notebook"]).name).read_bytes()

            def grade(_, ex=ex, data=data, body=body):
                r = grade_notebook_bytes(data, "nb.ipynb", ex, lambda e: E.exercises()[e]["cases"],
                                         Options(), slot)
                assert sum(c.points for c in r.results) == sum(c.get("points", 1) for c in body["cases"])
            t, cpu = median_time(lambda: None, grade, repeats, f"grade {ex}")
            rows.append(Row(f"grade {ex}'s source notebook alone (jailed, tier {tier})", len(body["cases"]),
                            t, cpu, f"n = cases; cpu: the grader's process only; median of {repeats}"))
    finally:
        slot.close()
    return rows


# -- the table ------------------------------------------------------------------------

def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def settings(args, sz: Sizes) -> list:
    """OSTEP-style echo of everything that shapes the numbers."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [f"ARG quick {sz.quick}", f"ARG only {','.join(args.only) if args.only else 'all'}",
            f"ARG repeats {REPEATS}",
            f"python {platform.python_version()} ({platform.python_implementation()}) "
            f"on {platform.system()} {platform.machine()}",
            f"cpu {cpu_model()} x {os.cpu_count()}",
            f"load average at start {load}",
            "timer time.perf_counter (wall; cpu in notes: time.process_time); setup not timed"]


def seconds(t: float) -> str:
    """Three decimals, or six for the sub-millisecond rows (snapshots of small machines)."""
    return f"{t:.3f}" if t >= 0.01 else f"{t:.6f}"


def table(rows: list) -> str:
    """The rows as one Markdown-compatible table."""
    head = ("benchmark", "n", "total s", "per-op µs", "notes")
    cells = [(r.benchmark, f"{r.n:,}", seconds(r.total_s), f"{r.per_op_us:.2f}",
              f"cpu {seconds(r.cpu_s)} s; {r.notes}") for r in rows]
    w = [max(len(c[i]) for c in [head] + cells) for i in range(5)]
    align = ("<", ">", ">", ">", "<")

    def line(c):
        return "| " + " | ".join(f"{x:{a}{n}}" for x, a, n in zip(c, align, w)) + " |"

    rule = "|" + "|".join(("-" * (n + 1) + ":" if a == ">" else "-" * (n + 2))
                          for a, n in zip(align, w)) + "|"
    return "\n".join([line(head), rule] + [line(c) for c in cells])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a CI smoke test")
    ap.add_argument("--only", type=lambda s: s.split(","), default=None,
                    help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    args = ap.parse_args(argv)
    unknown = set(args.only or ()) - set(BENCHMARKS)
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    sz = QUICK if args.quick else FULL
    for line in settings(args, sz):
        print(line)
    print(flush=True)
    rows = []
    for name, fn in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        progress(f"{name} ...")
        rows += fn(sz)
    print(table(rows))
    if hasattr(os, "getloadavg"):
        print(f"\nload average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
