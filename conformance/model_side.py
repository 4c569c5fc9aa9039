"""Run the conformance scenarios (scenarios.json) against the Python model through the one
scenario interpreter (refmodel.scenario, docs/scenarios.md), recording the same fields the
guest program records, so compare.py can set the two side by side.

The lab's ops are its own format (lab.py also compiles them into the guest's C table);
each op here becomes steps of the model's scenario language: map is file + mmap, fill and
write are writes of the pattern, where is move_pages without nodes, move is move_pages,
race starts a move_pages and a read path and steps them.  A verb the interpreter lacks
stops the scenario at that step with "model does not support X yet" instead of a crash.
Usage: python conformance/model_side.py [SCENARIO_ID...]"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conformance import scenarios  # noqa: E402
from conformance.scenarios import PAGE_SIZE, pattern  # noqa: E402

# The race step: after each finished read the reader pauses for these many migration
# steps in turn; the model's invariants (Machine.check) are checked every this many rounds.
RACE_PAUSES = (0, 1, 2)
RACE_CHECK_EVERY = 50
PROCS = ("P", "C")        # proc 0: the scenario's process; proc 1: its forked child


class Unsupported(Exception):
    """The model lacks a piece (a verb of the scenario language) that this step needs."""


def load_refmodel():
    """The scenario interpreter (refmodel.scenario), or Unsupported when the model cannot
    be imported."""
    try:
        import refmodel
    except Exception as e:          # ImportError, or an error inside the model
        raise Unsupported(f"refmodel cannot be imported: {e!r}") from None
    if not hasattr(refmodel, "Machine"):
        raise Unsupported("refmodel does not export Machine")
    try:
        from refmodel import scenario
    except Exception as e:
        raise Unsupported(f"refmodel has no scenario interpreter: {e!r}") from None
    if scenario.PAGE_SIZE != PAGE_SIZE:
        raise Unsupported(f"model PAGE_SIZE {scenario.PAGE_SIZE} != {PAGE_SIZE}")
    return scenario


class Runner:
    """One scenario on a fresh 2-node Machine of the 2.6.18 era."""

    def __init__(self, sn, sc: dict):
        self.sn, self.sc = sn, sc
        self.scene = sn.Scene.new(era="2.6.18", nodes=2, pages_per_node=4096, swap_pages=0)
        self.m = self.scene.machine
        # Like the guest: the scenario's process runs on node 0 and is root (CAP_SYS_NICE).
        self.do(["spawn", "P", {"node": 0, "cap_sys_nice": True}])
        self.regions: dict[str, int] = {}                 # name -> npages
        self.last_pfn: dict[tuple[int, str], dict[int, int | None]] = {}
        self.pinned: list[str] = []
        self.trace_seen = len(self.m.trace)

    # -- helpers --
    def do(self, step):
        """One step through the interpreter (Unsupported if it has no such verb)."""
        if step[0] not in self.sn.VERBS:
            raise Unsupported(f"model does not support {step[0]} yet")
        return self.sn.do_step(self.scene, step)

    def start(self, name, step):
        if step[0] not in self.sn.PATHS:
            raise Unsupported(f"model does not support stepping {step[0]} yet")
        return self.sn.start_path(self.scene, name, step)

    def pages(self, st: dict) -> list[str]:
        """The address names of the pages a step works on: 'A+0', 'A+1', ..."""
        n = self.regions[st["region"]]
        return [f"{st['region']}+{i}" for i in scenarios.selected_pages(st, n)]

    # -- the steps (same names and fields as guest/migscen.c) --
    def step(self, k: int, st: dict) -> dict:
        op, who = st["op"], PROCS[st.get("proc", 0)]
        out = {"step": k, "op": op, "proc": st.get("proc", 0)}
        getattr(self, "op_" + op)(st, who, out)
        return out

    def op_map(self, st, who, out):
        region, n = st["region"], st["npages"]
        if st["kind"] == "anon":
            self.do(["mmap", who, region, {"pages": n, "prot": "rw"}])
        else:
            name = f"{self.sc['id']}-{region}"
            self.do(["file", name, {"pages": n}])
            self.do(["mmap", who, region, {"pages": n, "prot": "rw", "file": name, "shared": True}])
        self.regions[region] = n
        out.update(base=hex(self.scene.addrs[region]), npages=n)

    def op_fill(self, st, who, out):
        for i in range(self.regions[st["region"]]):
            self.do(["write", who, f"{st['region']}+{i}", pattern(st["tag"], i)])

    def op_write(self, st, who, out):
        for a in self.pages(st):
            self.do(["write", who, a, pattern(st["tag"], int(a.split("+")[1]))])

    def op_read(self, st, who, out):
        out["sum"] = sum(self.do(["read", who, a, 1])[0] for a in self.pages(st))

    def op_check(self, st, who, out):
        out["match"] = [self.do(["read", who, a, PAGE_SIZE]) == pattern(st["tag"], int(a.split("+")[1]))
                        for a in self.pages(st)]

    def op_fork(self, st, who, out):
        self.do(["fork", "P", "C"])

    def op_exit(self, st, who, out):
        self.do(["exit", "C"])

    def op_munmap(self, st, who, out):
        for a in self.pages(st):
            self.do(["munmap", who, a, 1])

    def op_where(self, st, who, out):
        """move_pages(nodes=None) and the pfn of each page, as in migscen.c do_where()."""
        names = self.pages(st)
        try:
            out["status"], out["ret"] = list(self.do(["move_pages", who, names, None])), 0
        except OSError as e:
            out["status"], out["ret"] = None, -e.errno
        proc = self.scene.procs[who]
        addrs = [self.scene.addr(a) for a in names]
        pfns = []
        for a in addrs:
            view = proc.page(a)
            pfns.append(view.pfn if view is not None else None)
        key = (st.get("proc", 0), st["region"])
        before = self.last_pfn.get(key)
        out["pfns"] = pfns
        out["pfn_changed"] = [None if before is None or before.get(a) is None or pf is None
                              else before[a] != pf for a, pf in zip(addrs, pfns)]
        self.last_pfn.setdefault(key, {}).update(zip(addrs, pfns))

    def op_move(self, st, who, out):
        names = self.pages(st)
        try:
            status = self.do(["move_pages", who, names, [st["node"]] * len(names), st["flags"]])
            out["ret"], out["status"] = status.ret, list(status)
        except OSError as e:
            out["ret"], out["status"] = -e.errno, None

    def op_migrate(self, st, who, out):
        out["ret"] = self.do(["migrate_pages", who, st["from"], st["to"]])

    def op_mbind(self, st, who, out):
        """mbind(MPOL_BIND, {node}, flags) of the whole region."""
        region = st["region"]
        try:
            out["ret"] = self.do(["mbind", who, region, self.regions[region], "BIND",
                                  [st["node"]], st["flags"]]) or 0
        except OSError as e:
            out["ret"] = -e.errno

    def op_trace(self, st, who, out):
        """Count set/remove_migration_pte events per page since the previous trace step."""
        addr, n = self.scene.addrs[st["region"]], self.regions[st["region"]]
        events = self.m.trace
        new, self.trace_seen = events[self.trace_seen:], len(events)
        counts = {"set": [0] * n, "remove": [0] * n}
        lines = []
        for e in new:
            kind = {"set_migration_pte": "set", "remove_migration_pte": "remove"}.get(e.name)
            if kind and 0 <= (e.addr - addr) // PAGE_SIZE < n:
                counts[kind][(e.addr - addr) // PAGE_SIZE] += 1
                # Like the guest's trace lines: the event, the mm, the address, the pte value.
                lines.append(f"{e.name}: mm={e.mm} addr={e.addr:x}"
                             + (f", pte={e.detail:016x}" if isinstance(e.detail, int) else ""))
        out.update(base=hex(addr), npages=n, events=sum(map(sum, counts.values())),
                   trace_lines=lines, **counts)

    def op_pin(self, st, who, out):
        """An extra reference on each page, as vmsplice() into a pipe takes in the guest:
        the interpreter's pin (get_user_pages), one named pin per page."""
        names = self.pages(st)
        for a in names:
            self.do(["pin", who, a, f"pin {a}"])
            self.pinned.append(f"pin {a}")
        out["ret"] = len(names) * PAGE_SIZE          # vmsplice's return: bytes spliced

    def op_unpin(self, st, who, out):
        """Close the pipe: drop every pin taken by op_pin."""
        for name in self.pinned:
            self.do(["unpin", name])
        self.pinned = []

    def op_race(self, st, who, out):
        """A reader racing repeated migrations of its page, on a deterministic schedule.

        The guest runs a reader thread on CPU 1 while CPU 0 calls move_pages(2) on the
        page `iterations` times, to node 1, 0, 1, ...  The model has no CPUs of its own:
        its kernel paths are stepped by hand (Machine.move_pages_path / access_path /
        step).  The schedule (RACE_PAUSES): after each migration step the reader takes one
        step, except that after each finished read it pauses for 0, 1, 2, 0, 1, 2, ...
        migration steps (the user code between two loads).  Strict alternation (no pause)
        is a schedule too, but a bad one: the reader then always meets the migration
        entry before the count check, and its reference fails every pass with -EAGAIN,
        so the page never moves.  The pauses make it arrive at every point of the window.

        A read that meets a migration entry sleeps in migration_entry_wait until the page
        is unlocked and then retries the access.  Every finished read is checked against
        the pattern the page was filled with (bad_reads), and every RACE_CHECK_EVERY-th
        round checks the model's invariants (Machine.check) with both paths in flight."""
        m, p, region = self.m, self.scene.procs[who], st["region"]
        addr = self.scene.addrs[region]

        def step(path) -> str:
            return self.sn.run_step(self.scene, ["step", path])

        check = m.check
        # The region was filled with one tag: recover it from the first byte, as migscen.c does.
        first = self.do(["read", who, region, 1])[0]
        tag = next(t for t in range(256) if pattern(t, 0)[0] == first)
        want = pattern(tag, 0)
        c0 = {c: m.counters[c] for c in ("migration_entry_waits", "migrate_retries")}
        trace0 = len(m.trace)
        moved = bad = loops = waited_new = rounds = pause = asleep = 0
        other: list[int] = []

        def read_done(rd) -> None:
            nonlocal loops, bad, waited_new
            if rd.error is not None:
                raise RuntimeError(f"the racing reader failed: {rd.error}")
            loops += 1
            bad += rd.result != want
            view = p.page(addr)
            waited_on = getattr(rd, "pfn", 0)      # the page migration_entry_wait slept on
            if waited_on and view is not None and view.pfn != waited_on:
                waited_new += 1                       # it slept, then read the new page

        reader = self.start("reader", ["read", who, region, PAGE_SIZE])
        for i in range(st["iterations"]):
            node = 1 if i % 2 == 0 else 0
            mig = self.start("mig", ["move_pages", who, [region], [node], "MOVE"])
            while not mig.finished:
                rounds += 1
                r_mig, r_rd = step("mig"), None
                if pause:
                    pause -= 1
                else:
                    r_rd = step("reader")
                    if reader.finished:
                        read_done(reader)
                        pause = RACE_PAUSES[loops % len(RACE_PAUSES)]
                        reader = self.start("reader", ["read", who, region, PAGE_SIZE])
                asleep = asleep + 1 if r_mig == "blocked" and r_rd in ("blocked", None) else 0
                if asleep > 100:
                    raise RuntimeError("race schedule: both paths asleep (deadlock)")
                if rounds % RACE_CHECK_EVERY == 0:
                    check([mig, reader])
            status = mig.pm[0][2] if mig.result is not None and mig.result >= 0 else mig.result
            if status == node:
                moved += 1
            elif status not in other and len(other) < 8:
                other.append(status)
        while not reader.finished:             # the last read, with nothing else running
            if step("reader") == "blocked":
                raise RuntimeError("race: the last read sleeps with no migration running")
        read_done(reader)
        check()
        events = m.trace[trace0:]
        self.trace_seen = trace0 + len(events)    # migscen.c clears the trace buffer too
        out.update(iterations=st["iterations"], moved=moved, other_status=other,
                   bad_reads=bad, reader_loops=loops,
                   waits=m.counters["migration_entry_waits"] - c0["migration_entry_waits"],
                   wait_events=sum(1 for e in events if e[0] == "migration_entry_wait"),
                   waits_then_new_page=waited_new,
                   eagain_retries=m.counters["migrate_retries"] - c0["migrate_retries"],
                   schedule=f"one reader step per migration step; after each read the "
                            f"reader pauses {'/'.join(map(str, RACE_PAUSES))} steps in turn",
                   rounds=rounds)


def run_scenario(sn, sc: dict) -> dict:
    """Run one scenario; stop at the first unsupported step or model error."""
    res = {"scenario": sc["id"], "steps": []}
    try:
        r = Runner(sn, sc)
        for k, st in enumerate(sc["steps"]):
            res["steps"].append(r.step(k, st))
    except Unsupported as e:
        res["unsupported"] = str(e)
    except Exception as e:     # a bug in the model (or here): report, don't crash the lab
        res["error"] = f"{type(e).__name__}: {e}"
        res["traceback"] = traceback.format_exc(limit=6)
    return res


def run_all(scs: list[dict], only: set[str] | None = None) -> dict:
    """{'available', 'reason', 'scenarios': {id: result}} for compare.py."""
    try:
        sn = load_refmodel()
    except Unsupported as e:
        return {"available": False, "reason": str(e), "scenarios": {}}
    out = {"available": True, "reason": None, "scenarios": {}}
    for sc in scs:
        if only and sc["id"] not in only:
            continue
        out["scenarios"][sc["id"]] = run_scenario(sn, sc)
    return out


if __name__ == "__main__":
    res = run_all(scenarios.load(), set(sys.argv[1:]) or None)
    print(json.dumps(res, indent=1, default=str))
