"""Random sequences of memory operations and migrations, in every era, checked after every step.

Hypothesis drives mmap (private anonymous, shared anonymous, shared tmpfs file), writes,
reads, fork, munmap, mprotect, mlock, pins (get_user_pages), reclaim to swap, exit, and the
migration system calls (move_pages with random nodes and flags, migrate_pages with random
node sets, mbind).  After every step m.check() verifies the kernel's invariants and that
every page holds what the façade's shadow says it should; every read is also compared with
the shadow directly.  Each era runs at least 10,000 steps (max_examples x step count).
"""

import errno

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, invariant, precondition, rule,
                                 run_state_machine_as_test)

from refmodel import (MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MPOL_BIND, MPOL_MF_MOVE,
                      MPOL_MF_MOVE_ALL, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE, Machine,
                      SegmentationFault)

NODES = 3
MAX_PROCS = 4
REGION_PAGES = 3

ERAS = [("2.6.18", {}), ("2.6.18", {"rss_fix_3_3": True}), ("rfc-v1", {}), ("v2-yield", {}),
        ("2.6.17", {})]
STEPS, EXAMPLES = 100, 200          # step budget; the test asserts >= 10,000 steps ran
MIN_STEPS = 10_000


def machine_for(era, overrides):
    return Machine(era=era, nodes=NODES, pages_per_node=512, swap_pages=128, **overrides)


class MigrationMachine(RuleBasedStateMachine):
    """One machine; processes share regions through fork and through one tmpfs file."""

    era = "2.6.18"
    overrides: dict = {}
    steps_run = 0                        # counted per era class, across examples

    def __init__(self):
        super().__init__()
        self.m = machine_for(self.era, self.overrides)
        self.file = self.m.create_file("shared", REGION_PAGES)
        first = self.m.spawn(node=0, cap_sys_nice=True)
        self.procs = [first]
        self.regions = {first.pid: []}           # pid -> [(addr, kind)]
        self.pins = []
        self.checked = False

    # -- helpers -----------------------------------------------------------------------
    def live(self):
        return [p for p in self.procs if p.alive]

    def pick(self, data):
        return data.draw(st.sampled_from(self.live()))

    def pick_addr(self, data, proc):
        regions = self.regions[proc.pid]
        if not regions:
            return None
        addr, _ = data.draw(st.sampled_from(regions))
        return addr + data.draw(st.integers(0, REGION_PAGES - 1)) * PAGE_SIZE

    def may(self, proc, addr, write):
        """Does the vma at addr allow this access (the shadow's view of permissions)?"""
        for start, end, flags in proc.vmas():
            if start <= addr < end:
                return bool(flags & (2 if write else 1))
        return False

    # -- rules ---------------------------------------------------------------------------
    @precondition(lambda self: self.live())
    @rule(data=st.data(), kind=st.sampled_from(["anon", "shared_anon", "file"]))
    def mmap(self, data, kind):
        p = self.pick(data)
        if len(self.regions[p.pid]) >= 3:
            return
        if kind == "anon":
            a = p.mmap(None, REGION_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
        elif kind == "shared_anon":
            a = p.mmap(None, REGION_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS)
        else:
            a = p.mmap(None, REGION_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self.file, 0)
        self.regions[p.pid].append((a, kind))

    @precondition(lambda self: self.live())
    @rule(data=st.data(), payload=st.binary(min_size=1, max_size=8))
    def write(self, data, payload):
        p = self.pick(data)
        addr = self.pick_addr(data, p)
        if addr is None:
            return
        addr += data.draw(st.integers(0, 64))
        if self.may(p, addr, True):
            p.write(addr, payload)
            assert p.read(addr, len(payload)) == payload
        else:
            with pytest.raises(SegmentationFault):
                p.write(addr, payload)

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def read(self, data):
        p = self.pick(data)
        addr = self.pick_addr(data, p)
        if addr is None:
            return
        if self.may(p, addr, False):
            assert p.read(addr, 16) == self.m.expected(p, addr)[:16]
        else:
            with pytest.raises(SegmentationFault):
                p.read(addr, 16)

    @precondition(lambda self: self.live() and len(self.procs) < MAX_PROCS)
    @rule(data=st.data())
    def fork(self, data):
        p = self.pick(data)
        c = p.fork()
        self.procs.append(c)
        self.regions[c.pid] = list(self.regions[p.pid])

    @precondition(lambda self: len(self.live()) > 1)
    @rule(data=st.data())
    def exit(self, data):
        p = self.pick(data)
        self.pins = [(q, pfn) for q, pfn in self.pins if q is not p]
        p.exit()

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def munmap(self, data):
        p = self.pick(data)
        addr = self.pick_addr(data, p)
        if addr is not None:
            p.munmap(addr, PAGE_SIZE)

    @precondition(lambda self: self.live())
    @rule(data=st.data(), prot=st.sampled_from([PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE]))
    def mprotect(self, data, prot):
        p = self.pick(data)
        addr = self.pick_addr(data, p)
        if addr is None:
            return
        try:
            p.mprotect(addr, PAGE_SIZE, prot)
        except OSError as e:
            assert e.errno == errno.ENOMEM          # the page was unmapped

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def mlock(self, data):
        p = self.pick(data)
        addr = self.pick_addr(data, p)
        if addr is None:
            return
        try:
            p.mlock(addr, PAGE_SIZE)
        except OSError as e:
            # ENOMEM: unmapped; EFAULT: get_user_pages may not touch it (PROT_NONE)
            assert e.errno == errno.ENOMEM or (e.errno == errno.EFAULT and not self.may(p, addr, False))

    @precondition(lambda self: self.live() and len(self.pins) < 3)
    @rule(data=st.data())
    def pin(self, data):
        p = self.pick(data)
        addr = self.pick_addr(data, p)
        if addr is None or not self.may(p, addr, False):
            return
        self.pins.append((p, self.m.get_user_pages(p, addr)))

    @precondition(lambda self: self.pins)
    @rule(data=st.data())
    def unpin(self, data):
        i = data.draw(st.integers(0, len(self.pins) - 1))
        _, pfn = self.pins.pop(i)
        self.m.put_user_pages(pfn)

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def reclaim(self, data):
        p = self.pick(data)
        addr = self.pick_addr(data, p)
        if addr is not None:
            self.m.reclaim(p, addr)

    @precondition(lambda self: self.live() and self.m.era.migration != "swapcache")
    @rule(data=st.data(), flags=st.sampled_from([0, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL]))
    def move_pages(self, data, flags):
        p = self.pick(data)
        addrs = [self.pick_addr(data, p) for _ in range(data.draw(st.integers(1, 3)))]
        if addrs[0] is None:
            return
        nodes = [data.draw(st.integers(0, NODES - 1)) for _ in addrs]
        # The page each entry names: one file page can sit at two addresses (two mappings
        # of the file), and then, as in 2.6.18, only the first entry naming it reports the
        # migration's result; a later one reports where the page was when it was looked at.
        before = [getattr(p.page(a), "pfn", None) for a in addrs]
        try:
            status = self.m.move_pages(p, addrs, nodes, flags)
        except OSError as e:
            assert e.errno == errno.ENOENT          # 2.6.18: nothing could be isolated
            return
        for addr, node, s, pfn in zip(addrs, nodes, status, before):
            if s >= 0 and before.count(pfn) == 1:   # a repeated page reports per entry
                assert s == node or s < NODES
                page = p.page(addr)
                assert page is None or s != node or page.node == node

    @precondition(lambda self: self.live())
    @rule(data=st.data(), old=st.sets(st.integers(0, NODES - 1), min_size=1),
          new=st.sets(st.integers(0, NODES - 1), min_size=1))
    def migrate_pages(self, data, old, new):
        p = self.pick(data)
        left = self.m.migrate_pages(p, old, new)
        assert left >= 0

    @precondition(lambda self: self.live() and self.m.era.migration != "swapcache")
    @rule(data=st.data(), node=st.integers(0, NODES - 1))
    def mbind(self, data, node):
        p = self.pick(data)
        regions = self.regions[p.pid]
        if not regions:
            return
        addr, _ = data.draw(st.sampled_from(regions))
        try:
            self.m.mbind(p, addr, PAGE_SIZE, MPOL_BIND, {node}, MPOL_MF_MOVE)
        except OSError as e:
            assert e.errno == errno.EFAULT          # the range was unmapped

    @invariant()
    def kernel_is_consistent(self):
        if self.checked:                          # the first check follows set-up, not a step
            type(self).steps_run += 1
        self.checked = True
        self.m.check()


@pytest.mark.parametrize("era,overrides", ERAS, ids=[e + ("+" + ",".join(o) if o else "") for e, o in ERAS])
def test_random_operations_and_migrations(era, overrides):
    """At least MIN_STEPS random steps in this era, every one followed by m.check()."""
    cls = type(f"Machine_{era}", (MigrationMachine,), {"era": era, "overrides": overrides,
                                                        "steps_run": 0})
    run_state_machine_as_test(cls, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
        suppress_health_check=list(HealthCheck), print_blob=True))
    assert cls.steps_run >= MIN_STEPS, f"only {cls.steps_run} steps ran in era {era}"
