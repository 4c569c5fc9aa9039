"""How fast is the interleaving explorer (issue #6)?  bench/run.py calls rows(); run alone,

    .venv/bin/python bench/explorer.py            every row (a few minutes)
    .venv/bin/python bench/explorer.py --quick    a smoke test, not a measurement

prints the explorer's table: the canonical configuration (with import, in a fresh process),
canonical plus a fork and a munmap, every mutant and historical bug, throughput, symmetry,
a scaling table (3-4 faulters: states, transitions, time, states/s, peak RSS, each in its
own process) and Hypothesis driving random schedules over the same steps for each mutant.
Targets are the issue's; each row says PASS or MISS, by wall time and by CPU time.
"""

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CANONICAL_S, CANONICAL_STATES = 0.5, 1_000
BIG_S = 5.0
MUTANT_S, MUTANT_STEPS = 2.0, 12
THROUGHPUT = 20_000
SYMMETRY = 1.8


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def in_fresh_process(code: str) -> dict:
    """Run code in a new interpreter (import included, own peak RSS); it prints JSON."""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=900)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


CANONICAL_CODE = """
import time, json, resource
t0, c0 = time.perf_counter(), time.process_time()
from refmodel import explore
r = explore("canonical")
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "search": r.seconds, "states": r.states, "transitions": r.transitions,
                  "violations": r.violations}))
"""

RUN_CODE = """
import time, json, resource, sys
sys.setrecursionlimit(10000)
from refmodel import explore
cfg = json.loads({cfg!r})
c0 = time.process_time()
r = explore(cfg, symmetry={sym})
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
print(json.dumps({{"wall": r.seconds, "cpu": time.process_time() - c0, "states": r.states,
                  "transitions": r.transitions, "violations": r.violations, "hwm_kb": hwm,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def faulters_config(n: int) -> dict:
    """canonical with n faulting threads: writers in P, readers in C, alternately."""
    from refmodel.explore import configs
    base = json.loads(json.dumps(configs()["canonical"]))
    steps = [st for st in base["steps"] if st[0] != "start"]
    steps += [st for st in base["steps"] if st[0] == "start"][:1]       # the migrator
    for i in range(n):
        if i % 2 == 0:
            steps.append(["start", f"w{i}", ["write", "P", "a", "p"]])
        else:
            steps.append(["start", f"r{i}", ["read", "C", "a", 2]])
    base["steps"] = steps
    base["name"] = f"faulters-{n}"
    return base


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


# -- Hypothesis over the same steps --------------------------------------------------------

def hypothesis_hunt(kind: str, name: str, max_examples: int = 2000, seed: int = 0):
    """Hypothesis draws schedules (lists of thread choices) and runs them on the explorer's
    own step function; returns (found, examples tried, seconds, shrunk schedule length)."""
    import random

    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    from refmodel.explore import Explorer, World
    from refmodel.sched import BLOCKED
    w = World(None, **{kind: name})
    ex = Explorer(w)
    n = len(w.tids)
    tried = [0]

    def fails(choices) -> bool:
        tried[0] += 1
        s = w.init
        if ex.check_state(s):
            return True
        seen, actors = {s: 0}, []
        for c in choices:
            live = [i for i in range(n) if not w.done(s, i)]
            if not live:
                return False
            moved = False
            for k in range(len(live)):                 # the chosen thread, or the next that can run
                i = live[(c + k) % len(live)]
                out = ex.successor(s, i)
                if out is BLOCKED:
                    continue
                nstate, _, tprob = out
                if tprob or nstate == s:
                    return True
                actors.append(i)
                if nstate in seen and len(set(actors[seen[nstate]:])) == 1:
                    return True                        # one thread came back: busy polling
                seen[nstate] = len(actors)
                if ex.check_state(nstate):
                    return True
                s, moved = nstate, True
                break
            if not moved:
                return True                            # deadlock
        return False

    t0 = time.perf_counter()
    try:
        ex_ = find(st.lists(st.integers(0, n - 1), max_size=40), fails,
                   settings=settings(max_examples=max_examples, database=None, deadline=None,
                                     suppress_health_check=list(HealthCheck)),
                   random=random.Random(seed))
        found, length = True, len(ex_)
    except NoSuchExample:
        found, length = False, None
    return found, tried[0], time.perf_counter() - t0, length


# -- the rows ------------------------------------------------------------------------------

def states_by_pass(config: str) -> dict:
    """Reachable states of config grouped by the migrator's migrate_pages pass (a BFS over
    the same successor function the explorer uses)."""
    from collections import Counter, deque
    from refmodel.explore import BLOCKED, Explorer, World
    w = World(config)
    ex = Explorer(w)
    seen, frontier = {w.init}, deque([w.init])
    while frontier:
        s = frontier.popleft()
        for i in range(len(w.tids)):
            if w.Tdone[s[2 + i]]:
                continue
            out = ex.successor(s, i)
            if out is not BLOCKED and out[0] not in seen:
                seen.add(out[0])
                frontier.append(out[0])
    count = Counter()
    for s in seen:
        sub = getattr(w.thread(s, 0), "sub", None)
        p = getattr(sub, "pass_", None)
        count["before/after" if p is None else f"pass {p + 1}" if p < 10 else "after pass 10"] += 1
    return dict(sorted(count.items(), key=lambda kv: (len(kv[0]), kv[0])))


def rows(quick: bool = False) -> list:
    """(benchmark, n, wall s, cpu s, notes) tuples, as bench/run.py's Row takes them."""
    from refmodel import explore
    from refmodel.explore import bugs, configs, mutants
    out = []
    # 1. canonical, exhaustive, import included, in a fresh process
    d = in_fresh_process(CANONICAL_CODE)
    ok = d["wall"] <= CANONICAL_S and d["states"] <= CANONICAL_STATES
    out.append(("explorer: canonical, exhaustive, incl. import", d["states"], d["wall"], d["cpu"],
                f"{d['transitions']:,} transitions; search {d['search']:.3f} s; "
                f"{len(d['violations'])} violations; target <= {CANONICAL_S} s and <= "
                f"{CANONICAL_STATES:,} states: {verdict(ok)} (time {verdict(d['wall'] <= CANONICAL_S)}, "
                f"states {verdict(d['states'] <= CANONICAL_STATES)})"))
    # 2. every mutant and bug: a counterexample, its length
    names = [("mutant", m) for m in mutants()] + [("bug", b) for b in bugs()]
    if quick:
        names = names[:2]
    for kind, name in names:
        r, t, cpu = timed(lambda: explore(**{kind: name}))
        ok = r.violations and r.seconds <= MUTANT_S and len(r.trace) <= MUTANT_STEPS
        out.append((f"explorer: {kind} {name}", r.states, r.seconds, cpu,
                    f"{len(r.trace)} steps, {r.kind}; target <= {MUTANT_S:g} s, <= {MUTANT_STEPS} "
                    f"steps: {verdict(bool(ok))}"))
    if quick:
        r, t, cpu = timed(lambda: explore("writer"))
        out.append(("explorer: writer config (quick)", r.states, r.seconds, cpu,
                    f"{r.states / r.seconds:,.0f} states/s"))
        return out
    # 3. canonical + one fork + one munmap, and throughput with every invariant on
    for cfg in ("canonical", "canonical-fork-munmap"):
        r, t, cpu = timed(lambda: explore(cfg, progress=True))
        rate = r.states / r.seconds
        note = (f"{r.transitions:,} transitions; {rate:,.0f} states/s by wall, "
                f"{r.states / cpu:,.0f} by cpu (target >= {THROUGHPUT:,}: {verdict(rate >= THROUGHPUT)}"
                f", by cpu {verdict(r.states / cpu >= THROUGHPUT)})")
        if cfg != "canonical":
            note += f"; target <= {BIG_S:g} s: {verdict(r.seconds <= BIG_S)} (cpu {verdict(cpu <= BIG_S)})"
        out.append((f"explorer: {cfg}, exhaustive, all invariants", r.states, r.seconds, cpu, note))
    # 4. symmetry on two identical faulters (alone: dead locals kept; then with the view)
    for view in (False, True):
        full, t1, c1 = timed(lambda: explore("two-faulters", symmetry=False, view=view))
        sym, t2, c2 = timed(lambda: explore("two-faulters", view=view))
        ratio = full.states / sym.states
        out.append((f"explorer: symmetry, two identical faulters, view={view}", sym.states,
                    sym.seconds, c2,
                    f"{full.states:,} states without ({full.seconds:.2f} s) -> {sym.states:,} with: "
                    f"x{ratio:.2f} fewer (target >= {SYMMETRY}: {verdict(ratio >= SYMMETRY)}); "
                    f"same verdict: {bool(full.violations) == bool(sym.violations)}"))
    # 4b. what each reduction does on canonical (states, and transitions with POR)
    for label, kw in (("none", dict(view=False, symmetry=False)), ("view", dict()),
                      ("view + POR", dict(por=True))):
        r, t, cpu = timed(lambda: explore("canonical", **kw))
        rate = r.states / r.seconds
        out.append((f"explorer: canonical, reductions: {label}", r.states, r.seconds, cpu,
                    f"{r.transitions:,} transitions; {len(r.violations)} violations; "
                    f"{rate:,.0f} states/s with every invariant on (target >= {THROUGHPUT:,}: "
                    f"{verdict(rate >= THROUGHPUT)})"))
    # 4c. where canonical's states come from: migrate_pages' passes (the states MISS)
    by_pass = states_by_pass("canonical")
    cfg = json.loads(json.dumps(configs()["canonical"]))
    cfg["steps"] = [st for st in cfg["steps"] if st[:2] != ["start", "rC"]]
    one_writer = explore(cfg)
    out.append(("explorer: canonical, states by migrate_pages pass", sum(by_pass.values()), 0.0, 0.0,
                "; ".join(f"{k}: {v:,}" for k, v in by_pass.items()) +
                f". A sleeping fault's reference fails a pass's count check, so one pass's "
                f"interleavings recur up to ten times. Migrator + the COW writer alone: "
                f"{one_writer.states:,} states"))
    # 5. scaling: 2-4 faulters, each in its own process (peak RSS is per process)
    for n in (2, 3, 4):
        for sym in (True,):                            # (view on: dead locals left out)
            d = in_fresh_process(RUN_CODE.format(cfg=json.dumps(faulters_config(n)), sym=sym))
            out.append((f"explorer scaling: {n} faulters + migrator", d["states"], d["wall"], d["cpu"],
                        f"{d['transitions']:,} transitions; {d['states'] / d['wall']:,.0f} states/s; "
                        f"peak RSS {d['hwm_kb'] / 1024:.0f} MiB (VmHWM; getrusage says "
                        f"{d['maxrss_kb'] / 1024:.0f} MiB, which Linux carries over from the parent "
                        f"across exec); {d['hwm_kb'] * 1024 / d['states']:,.0f} B/state; symmetry {sym}; "
                        f"{len(d['violations'])} violations"))
    # 6. Hypothesis over the same steps, for each mutant and bug
    for kind, name in names:
        r = explore(**{kind: name})
        found, tried, secs, length = hypothesis_hunt(kind, name)
        out.append((f"hypothesis: {kind} {name}", tried, secs, secs,
                    (f"found after {tried} examples, shrunk to {length} choices" if found else
                     f"NOT found in {tried} examples") +
                    f"; explorer: {r.states} states, {r.seconds:.3f} s, {len(r.trace)} steps"))
    return out


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print(f"ARG quick {args.quick}")
    print(f"python {sys.version.split()[0]}")
    rs = rows(args.quick)
    w = max(len(r[0]) for r in rs)
    print(f"| {'benchmark':<{w}} | {'n':>9} | {'wall s':>8} | {'cpu s':>8} | notes |")
    print(f"|{'-' * (w + 2)}|{'-' * 10}:|{'-' * 9}:|{'-' * 9}:|-------|")
    for name, n, t, cpu, note in rs:
        print(f"| {name:<{w}} | {n:>9,} | {t:>8.3f} | {cpu:>8.3f} | {note} |")
    print(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
