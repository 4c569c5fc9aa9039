"""Run the conformance scenarios (scenarios.json) against the Python model through its
façade (refmodel.Machine), recording the same fields the guest program records, so
compare.py can set the two side by side.

The model grows while this runner exists: any piece of the façade that is missing
stops the scenario at that step with "model does not support X yet" instead of a
crash.  Usage: python conformance/model_side.py [SCENARIO_ID...]"""

from __future__ import annotations

import errno as errno_mod
import json
import sys
import traceback
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conformance import scenarios  # noqa: E402
from conformance.scenarios import PAGE_SIZE, pattern  # noqa: E402

# The user-space ABI constants, the same in 2.6.18 and 6.1 (x86-64).  The model's own
# values are used when it exports them; these stand in until it does.
ABI = {"PAGE_SIZE": 4096, "PROT_READ": 0x1, "PROT_WRITE": 0x2, "MAP_SHARED": 0x01,
       "MAP_PRIVATE": 0x02, "MAP_ANONYMOUS": 0x20, "MPOL_MF_MOVE": 1 << 1,
       "MPOL_MF_MOVE_ALL": 1 << 2}


MPOL_BIND = 2           # <linux/mempolicy.h>, the same in 2.6.18 and 6.1

# The race step: after each finished read the reader pauses for these many migration
# steps in turn; the model's invariants (Machine.check) are checked every this many rounds.
RACE_PAUSES = (0, 1, 2)
RACE_CHECK_EVERY = 50


class Unsupported(Exception):
    """The model lacks a piece of the façade that this step needs."""


def need(obj, name: str, what: str | None = None):
    """obj.name, or Unsupported('model does not support ... yet')."""
    try:
        return getattr(obj, name)
    except AttributeError:
        raise Unsupported(f"model does not support {what or name} yet") from None


def load_refmodel():
    """The façade: refmodel's Machine and constants (ABI values for any it lacks),
    or Unsupported when there is no Machine to run."""
    try:
        import refmodel
    except Exception as e:          # ImportError, or an error inside the half-built model
        raise Unsupported(f"refmodel cannot be imported: {e!r}") from None
    if not hasattr(refmodel, "Machine"):
        raise Unsupported("refmodel does not export Machine yet")
    facade = types.SimpleNamespace(Machine=refmodel.Machine)
    for name, value in ABI.items():
        setattr(facade, name, getattr(refmodel, name, value))
    if facade.PAGE_SIZE != PAGE_SIZE:
        raise Unsupported(f"model PAGE_SIZE {facade.PAGE_SIZE} != {PAGE_SIZE}")
    return facade


class Runner:
    """One scenario on a fresh 2-node Machine of the 2.6.18 era."""

    def __init__(self, rm, sc: dict):
        self.rm, self.sc = rm, sc
        self.m = rm.Machine(era="2.6.18", nodes=2, pages_per_node=4096, swap_pages=0)
        # Like the guest: the scenario's process runs on node 0 and is root (CAP_SYS_NICE).
        self.procs = [self.m.spawn(node=0, cap_sys_nice=True), None]
        self.regions: dict[str, tuple[int, int]] = {}    # name -> (addr, npages)
        self.last_pfn: dict[tuple[int, str], dict[int, int | None]] = {}
        self.trace_seen = len(self._trace())

    # -- helpers --
    def _trace(self) -> list:
        return list(need(self.m, "trace", "the trace event list (Machine.trace)"))

    def _flags(self, flags) -> int:
        """MPOL_MF_* names -> the model's bits (STRICT is not in the façade: bit 0)."""
        names = [flags] if isinstance(flags, str) else list(flags)
        bits = 0
        for n in names:
            bits |= getattr(self.rm, "MPOL_MF_" + n, None) or scenarios.MF_FLAGS[n]
        return bits

    def _addrs(self, st: dict) -> list[int]:
        addr, n = self.regions[st["region"]]
        return [addr + i * PAGE_SIZE for i in scenarios.selected_pages(st, n)]

    # -- the steps (same names and fields as guest/migscen.c) --
    def step(self, k: int, st: dict) -> dict:
        op, p = st["op"], self.procs[st.get("proc", 0)]
        out = {"step": k, "op": op, "proc": st.get("proc", 0)}
        getattr(self, "op_" + op)(st, p, out)
        return out

    def op_map(self, st, p, out):
        rm, n = self.rm, st["npages"]
        prot = rm.PROT_READ | rm.PROT_WRITE
        mmap = need(p, "mmap")
        if st["kind"] == "anon":
            addr = mmap(None, n * PAGE_SIZE, prot, rm.MAP_PRIVATE | rm.MAP_ANONYMOUS)
        else:
            f = need(self.m, "create_file", "tmpfs files (Machine.create_file)")(
                f"{self.sc['id']}-{st['region']}", npages=n)
            addr = mmap(None, n * PAGE_SIZE, prot, rm.MAP_SHARED, f, 0)
        self.regions[st["region"]] = (addr, n)
        out.update(base=hex(addr), npages=n)

    def op_fill(self, st, p, out):
        addr, n = self.regions[st["region"]]
        for i in range(n):
            need(p, "write")(addr + i * PAGE_SIZE, pattern(st["tag"], i))

    def op_write(self, st, p, out):
        addr, n = self.regions[st["region"]]
        for i in scenarios.selected_pages(st, n):
            need(p, "write")(addr + i * PAGE_SIZE, pattern(st["tag"], i))

    def op_read(self, st, p, out):
        out["sum"] = sum(need(p, "read")(a, 1)[0] for a in self._addrs(st))

    def op_check(self, st, p, out):
        addr, n = self.regions[st["region"]]
        out["match"] = [need(p, "read")(addr + i * PAGE_SIZE, PAGE_SIZE) == pattern(st["tag"], i)
                        for i in scenarios.selected_pages(st, n)]

    def op_fork(self, st, p, out):
        self.procs[1] = need(p, "fork")()

    def op_exit(self, st, p, out):
        need(self.procs[1], "exit")()
        self.procs[1] = None

    def op_munmap(self, st, p, out):
        for a in self._addrs(st):
            need(p, "munmap")(a, PAGE_SIZE)

    def op_where(self, st, p, out):
        """move_pages(nodes=None) and the pfn of each page, as in migscen.c do_where()."""
        addrs = self._addrs(st)
        try:
            out["status"], out["ret"] = list(need(self.m, "move_pages")(p, addrs)), 0
        except OSError as e:
            out["status"], out["ret"] = None, -e.errno
        page = need(p, "page", "Process.page (pfn views)")
        pfns = []
        for a in addrs:
            view = page(a)
            pfns.append(getattr(view, "pfn", None) if view is not None else None)
        key = (st.get("proc", 0), st["region"])
        before = self.last_pfn.get(key)
        out["pfns"] = pfns
        out["pfn_changed"] = [None if before is None or before.get(a) is None or pf is None
                              else before[a] != pf for a, pf in zip(addrs, pfns)]
        self.last_pfn.setdefault(key, {}).update(zip(addrs, pfns))

    def op_move(self, st, p, out):
        addrs = self._addrs(st)
        try:
            status = need(self.m, "move_pages")(p, addrs, nodes=[st["node"]] * len(addrs),
                                                flags=self._flags(st["flags"]))
            out["ret"], out["status"] = getattr(status, "ret", 0), list(status)
        except OSError as e:
            out["ret"], out["status"] = -e.errno, None

    def op_migrate(self, st, p, out):
        migrate = need(self.m, "migrate_pages")
        out["ret"] = migrate(p, old_nodes=set(st["from"]), new_nodes=set(st["to"]))

    def op_mbind(self, st, p, out):
        """mbind(MPOL_BIND, {node}, flags) through Machine.mbind(proc, addr, length, mode,
        nodes, flags).  A model without mbind gets an approximation, labelled as such:
        move_pages(MPOL_MF_MOVE) of the range (same pages, same migration path, no policy)."""
        addr, n = self.regions[st["region"]]
        mbind = getattr(self.m, "mbind", None)
        if mbind is not None:
            try:
                out["ret"] = mbind(p, addr, n * PAGE_SIZE, getattr(self.rm, "MPOL_BIND", MPOL_BIND),
                                   nodes={st["node"]}, flags=self._flags(st["flags"])) or 0
            except OSError as e:
                out["ret"] = -e.errno
            return
        flags = self._flags("MOVE_ALL" if "MOVE_ALL" in st["flags"] else "MOVE")
        try:
            status = need(self.m, "move_pages")(p, self._addrs(st), nodes=[st["node"]] * n,
                                                flags=flags)
            moved = all(s == st["node"] for s in status)
        except OSError:
            moved = False
        # MPOL_MF_STRICT: -EIO when some page could not be moved.
        out["ret"] = 0 if moved or "STRICT" not in st["flags"] else -errno_mod.EIO
        out["note"] = "mbind not modelled yet: approximated by move_pages(MPOL_MF_MOVE) of the range"

    def op_trace(self, st, p, out):
        """Count set/remove_migration_pte events per page since the previous trace step."""
        addr, n = self.regions[st["region"]]
        events = self._trace()
        new, self.trace_seen = events[self.trace_seen:], len(events)
        counts = {"set": [0] * n, "remove": [0] * n}
        lines = []
        for e in new:
            name = e.get("name") if isinstance(e, dict) else getattr(e, "name", None)
            a = e.get("addr") if isinstance(e, dict) else getattr(e, "addr", None)
            kind = {"set_migration_pte": "set", "remove_migration_pte": "remove"}.get(name)
            if kind and a is not None and 0 <= (a - addr) // PAGE_SIZE < n:
                counts[kind][(a - addr) // PAGE_SIZE] += 1
                # Like the guest's trace lines: the event, the mm, the address, the pte value.
                detail = e[3] if isinstance(e, tuple) and len(e) > 3 else None
                mm = e[1] if isinstance(e, tuple) and len(e) > 1 else None
                lines.append(f"{name}: mm={mm} addr={a:x}"
                             + (f", pte={detail:016x}" if isinstance(detail, int) else ""))
        out.update(base=hex(addr), npages=n, events=sum(map(sum, counts.values())),
                   trace_lines=lines, **counts)

    def op_pin(self, st, p, out):
        """An extra reference on each page, as vmsplice() into a pipe takes in the guest:
        Machine.get_user_pages(proc, addr) pins one page and returns its pfn."""
        pin = getattr(self.m, "get_user_pages", None)
        if pin is None:
            raise Unsupported("model does not support extra page references "
                              "(vmsplice / get_user_pages) yet")
        addrs = self._addrs(st)
        self.pinned = getattr(self, "pinned", []) + [pin(p, a) for a in addrs]
        out["ret"] = len(addrs) * PAGE_SIZE          # vmsplice's return: bytes spliced

    def op_unpin(self, st, p, out):
        """Close the pipe: drop every pin taken by op_pin."""
        unpin = need(self.m, "put_user_pages", "dropping extra page references")
        for pfn in getattr(self, "pinned", []):
            unpin(pfn)
        self.pinned = []

    def op_race(self, st, p, out):
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
        m = self.m
        move_pages_path = need(m, "move_pages_path", "stepping move_pages (Machine.move_pages_path)")
        access_path = need(m, "access_path", "stepping a user access (Machine.access_path)")
        step = need(m, "step", "stepping kernel paths (Machine.step)")
        check = getattr(m, "check", None)
        addr = self.regions[st["region"]][0]
        # The region was filled with one tag: recover it from the first byte, as migscen.c does.
        first = need(p, "read")(addr, 1)[0]
        tag = next(t for t in range(256) if pattern(t, 0)[0] == first)
        want = pattern(tag, 0)
        c0 = {c: m.counters[c] for c in ("migration_entry_waits", "migrate_retries")}
        trace0 = len(self._trace())
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

        reader = access_path(p, addr, write=False, length=PAGE_SIZE)
        for i in range(st["iterations"]):
            node = 1 if i % 2 == 0 else 0
            mig = move_pages_path(p, [addr], [node], self._flags("MOVE"))
            while not mig.finished:
                rounds += 1
                r_mig, r_rd = step(mig), None
                if pause:
                    pause -= 1
                else:
                    r_rd = step(reader)
                    if reader.finished:
                        read_done(reader)
                        pause = RACE_PAUSES[loops % len(RACE_PAUSES)]
                        reader = access_path(p, addr, write=False, length=PAGE_SIZE)
                asleep = asleep + 1 if r_mig == "blocked" and r_rd in ("blocked", None) else 0
                if asleep > 100:
                    raise RuntimeError("race schedule: both paths asleep (deadlock)")
                if check is not None and rounds % RACE_CHECK_EVERY == 0:
                    check([mig, reader])
            status = mig.pm[0][2] if mig.result is not None and mig.result >= 0 else mig.result
            if status == node:
                moved += 1
            elif status not in other and len(other) < 8:
                other.append(status)
        while not reader.finished:             # the last read, with nothing else running
            if step(reader) == "blocked":
                raise RuntimeError("race: the last read sleeps with no migration running")
        read_done(reader)
        if check is not None:
            check()
        events = self._trace()[trace0:]
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

def run_scenario(rm, sc: dict) -> dict:
    """Run one scenario; stop at the first unsupported step or model error."""
    res = {"scenario": sc["id"], "steps": []}
    try:
        r = Runner(rm, sc)
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
        rm = load_refmodel()
    except Unsupported as e:
        return {"available": False, "reason": str(e), "scenarios": {}}
    out = {"available": True, "reason": None, "scenarios": {}}
    for sc in scs:
        if only and sc["id"] not in only:
            continue
        out["scenarios"][sc["id"]] = run_scenario(rm, sc)
    return out


if __name__ == "__main__":
    res = run_all(scenarios.load(), set(sys.argv[1:]) or None)
    print(json.dumps(res, indent=1, default=str))
