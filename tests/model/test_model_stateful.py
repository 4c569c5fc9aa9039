"""Random programs against the model, checked against a shadow of our own.

A Hypothesis RuleBasedStateMachine drives several processes through mmap (private and
shared, anonymous and file), write, read, fork, munmap, mprotect, mlock, reclaim, swap-in
and exit.  The test keeps its OWN page-granular shadow of every address space, written
from the system-call semantics of Linux 2.6.18 and independent of the model's internal
shadow, and requires:

  * every read returns what the shadow says the process should see;
  * SegmentationFault (with the faulting address) exactly where the shadow says the access
    is illegal: no mapping there, or the mapping lacks the permission;
  * mprotect's ENOMEM exactly where the range has a hole (with the kernel's partial effect:
    vmas before the hole keep their new protection, mprotect.c#L296);
  * m.check() (the model's invariants) after every step.

At least 10,000 steps run per test run (asserted below).  The seed is printed first and can
be replayed:   REFMODEL_SEED=<n> .venv/bin/python -m pytest tests/model/test_model_stateful.py -s
"""

import errno
import os
import random
import time
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

from refmodel import (MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_NONE,
                      PROT_READ, PROT_WRITE, Machine, SegmentationFault)
from refmodel.mmap import TASK_UNMAPPED_BASE

P = PAGE_SIZE
ZERO = bytes(P)
RW = PROT_READ | PROT_WRITE
PROTS = [RW, PROT_READ, PROT_NONE]      # simplest first: Hypothesis leans to the start
FILE_PAGES = 6
MAX_PROCS = 4
MAX_PAGES = 4                         # per mmap
WINDOW = 48                           # random addresses: TASK_UNMAPPED_BASE + [-4, 48) pages

MAX_EXAMPLES = 250                    # x ~50 steps each (Hypothesis ends some runs early)
STEPS = 60
MIN_TOTAL_STEPS = 10_000


@dataclass(frozen=True)
class Slot:
    """What the shadow knows about one mapped page of one process."""
    prot: int
    shared: bool
    obj: tuple | None      # ("file", name) or ("shm", n); None for private anonymous
    index: int             # page index in obj
    locked: bool = False


class MemoryMachine(RuleBasedStateMachine):
    steps_run = 0                       # over the whole test run, for the 10,000 check

    def __init__(self):
        super().__init__()
        self.m = Machine(nodes=2, pages_per_node=512)
        self.m.swapon(npages=512)
        self.files = {n: self.m.create_file(n, FILE_PAGES) for n in ("f0", "f1")}
        self.procs = {}                 # pid -> Process
        self.slots = {}                 # pid -> {vpn: Slot}
        self.priv = {}                  # pid -> {vpn: bytes} private pages written or copied
        self.objs = {}                  # obj -> {index: bytes} shared contents
        self.next_shm = 0
        self._spawn(0)

    # -- the shadow ----------------------------------------------------------------------
    def _spawn(self, node):
        p = self.m.spawn(node=node)
        self.procs[p.pid] = p
        self.slots[p.pid], self.priv[p.pid] = {}, {}

    def expected(self, pid, vpn) -> bytes:
        s = self.slots[pid][vpn]
        if not s.shared and vpn in self.priv[pid]:
            return self.priv[pid][vpn]
        if s.obj is not None:
            return self.objs.get(s.obj, {}).get(s.index, ZERO)
        return ZERO

    def can(self, pid, vpn, prot) -> bool:
        s = self.slots[pid].get(vpn)
        return s is not None and s.prot & prot == prot

    def shadow_write(self, pid, addr, data):
        vpn, off = addr // P, addr % P
        s = self.slots[pid][vpn]
        old = self.expected(pid, vpn)
        new = old[:off] + data + old[off + len(data):]
        if s.shared:
            self.objs.setdefault(s.obj, {})[s.index] = new
        else:
            self.priv[pid][vpn] = new

    # -- choosing things -----------------------------------------------------------------
    def pick_pid(self, data):
        return data.draw(st.sampled_from(sorted(self.procs)), label="pid")

    def pick_vpn(self, data, pid, mapped_bias=True):
        """A page: usually one the process maps, sometimes any page near the mappings."""
        mapped = sorted(self.slots[pid])
        if mapped and mapped_bias and data.draw(st.integers(0, 3), label="bias") < 3:
            return data.draw(st.sampled_from(mapped), label="vpn")
        return TASK_UNMAPPED_BASE // P + data.draw(st.integers(-4, WINDOW - 1), label="page")

    def tick(self):
        MemoryMachine.steps_run += 1

    # -- rules ---------------------------------------------------------------------------
    @precondition(lambda self: len(self.procs) < 2)
    @rule(node=st.integers(0, 1))
    def spawn(self, node):
        self.tick()
        self._spawn(node)

    @initialize()
    def a_populated_process(self):
        """Start with one process holding a mapping of every kind, every page written."""
        pid = next(iter(self.procs))
        for kind, npages in (("anon", 4), ("shm", 2), ("file-shared", 2), ("file-private", 2)):
            a = self._mmap(pid, kind, npages, RW, "f0", 1)
            for i in range(npages):
                self.procs[pid].write(a + i * P + 64, kind.encode())
                self.shadow_write(pid, a + i * P + 64, kind.encode())

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), kind=st.sampled_from(["anon", "file-private", "shm", "file-shared"]),
          npages=st.integers(1, MAX_PAGES), prot=st.sampled_from(PROTS))
    def mmap(self, data, kind, npages, prot):
        self.tick()
        pid = self.pick_pid(data)
        name = data.draw(st.sampled_from(sorted(self.files)), label="file")
        pgoff = data.draw(st.integers(0, FILE_PAGES - npages), label="pgoff")
        self._mmap(pid, kind, npages, prot, name, pgoff)

    def _mmap(self, pid, kind, npages, prot, name, pgoff) -> int:
        p = self.procs[pid]
        if kind == "anon":
            a = p.mmap(None, npages * P, prot, MAP_PRIVATE | MAP_ANONYMOUS)
            obj, pgoff, shared = None, 0, False
        elif kind == "shm":
            a = p.mmap(None, npages * P, prot, MAP_SHARED | MAP_ANONYMOUS)
            obj, pgoff, shared = ("shm", self.next_shm), 0, True
            self.next_shm += 1
        else:
            shared = kind == "file-shared"
            a = p.mmap(None, npages * P, prot, MAP_SHARED if shared else MAP_PRIVATE,
                       file=self.files[name], offset=pgoff * P)
            obj = ("file", name)
        assert a % P == 0
        for i in range(npages):
            vpn = a // P + i
            assert vpn not in self.slots[pid], f"mmap returned {a:#x}, which overlaps a mapping"
            self.slots[pid][vpn] = Slot(prot, shared, obj, pgoff + i)
        return a

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), length=st.integers(1, 24))
    def write(self, data, length):
        self.tick()
        pid = self.pick_pid(data)
        vpn = self.pick_vpn(data, pid)
        off = data.draw(st.integers(0, P - length), label="off")
        payload = data.draw(st.binary(min_size=length, max_size=length), label="bytes")
        addr = vpn * P + off
        if self.can(pid, vpn, PROT_WRITE):
            self.procs[pid].write(addr, payload)
            self.shadow_write(pid, addr, payload)
        else:
            with pytest.raises(SegmentationFault) as e:
                self.procs[pid].write(addr, payload)
            assert e.value.addr == addr

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), length=st.integers(1, 24))
    def read(self, data, length):
        self.tick()
        pid = self.pick_pid(data)
        vpn = self.pick_vpn(data, pid)
        off = data.draw(st.integers(0, P - length), label="off")
        self._read(pid, vpn, off, length)

    def _read(self, pid, vpn, off, length):
        addr = vpn * P + off
        if self.can(pid, vpn, PROT_READ):
            got = self.procs[pid].read(addr, length)
            want = self.expected(pid, vpn)[off:off + length]
            if got != want:
                i = next(i for i in range(length) if got[i] != want[i])
                raise AssertionError(f"pid {pid} read {got[i:i + 8]!r} at {addr + i:#x}, "
                                     f"the shadow says {want[i:i + 8]!r}")
        else:
            with pytest.raises(SegmentationFault) as e:
                self.procs[pid].read(addr, length)
            assert e.value.addr == addr

    @precondition(lambda self: self.procs)
    @rule(data=st.data())
    def read_whole_address_space(self, data):
        """Every readable page of one process, in full."""
        self.tick()
        pid = self.pick_pid(data)
        for vpn in sorted(self.slots[pid]):
            self._read(pid, vpn, 0, P)

    @precondition(lambda self: self.procs and len(self.procs) < MAX_PROCS)
    @rule(data=st.data())
    def fork(self, data):
        self.tick()
        pid = self.pick_pid(data)
        c = self.procs[pid].fork()
        self.procs[c.pid] = c
        # kernel/fork.c#L240: the child's vmas are not VM_LOCKED.
        self.slots[c.pid] = {v: replace(s, locked=False) for v, s in self.slots[pid].items()}
        self.priv[c.pid] = dict(self.priv[pid])

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), npages=st.integers(1, 2))
    def munmap(self, data, npages):
        self.tick()
        pid = self.pick_pid(data)
        vpn = self.pick_vpn(data, pid)
        assert self.procs[pid].munmap(vpn * P, npages * P) == 0
        for v in range(vpn, vpn + npages):
            self.slots[pid].pop(v, None)
            self.priv[pid].pop(v, None)

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), npages=st.integers(1, MAX_PAGES + 1), prot=st.sampled_from(PROTS))
    def mprotect(self, data, npages, prot):
        self.tick()
        pid = self.pick_pid(data)
        vpn = self.pick_vpn(data, pid)
        # The kernel walks vma by vma and stops with ENOMEM at the first hole; what it
        # changed before the hole stays changed.
        covered = 0
        while covered < npages and vpn + covered in self.slots[pid]:
            covered += 1
        if covered < npages:
            with pytest.raises(OSError) as e:
                self.procs[pid].mprotect(vpn * P, npages * P, prot)
            assert e.value.errno == errno.ENOMEM
        else:
            assert self.procs[pid].mprotect(vpn * P, npages * P, prot) == 0
        for v in range(vpn, vpn + covered):
            self.slots[pid][v] = replace(self.slots[pid][v], prot=prot)

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), npages=st.integers(1, MAX_PAGES))
    def mlock(self, data, npages):
        self.tick()
        pid = self.pick_pid(data)
        vpn = self.pick_vpn(data, pid)
        slots = [self.slots[pid].get(v) for v in range(vpn, vpn + npages)]
        # Only fully mapped, readable ranges: mlock over a hole or a PROT_NONE vma differs
        # from 2.6.18 in this model (reported; mlock.c#L106 stops at the failing vma).
        # Writable MAP_PRIVATE file pages are left out: mlock's write fault COWs them and
        # the model's own content shadow does not know (reported as a model bug).
        if any(s is None or not s.prot & PROT_READ or
               (s.prot & PROT_WRITE and not s.shared and s.obj is not None) for s in slots):
            return
        assert self.procs[pid].mlock(vpn * P, npages * P) == 0
        for v in range(vpn, vpn + npages):
            s = self.slots[pid][v]
            self.slots[pid][v] = replace(s, locked=True)
            assert self.procs[pid].pte(v * P).present            # faulted in

    @precondition(lambda self: self.procs)
    @rule(data=st.data())
    def populate(self, data):
        """Touch every page of one process: write where allowed, else read."""
        self.tick()
        pid = self.pick_pid(data)
        tag = data.draw(st.binary(min_size=4, max_size=4), label="tag")
        for vpn in sorted(self.slots[pid]):
            if self.can(pid, vpn, PROT_WRITE):
                off = (vpn % 64) * 16
                self.procs[pid].write(vpn * P + off, tag + vpn.to_bytes(8, "little"))
                self.shadow_write(pid, vpn * P + off, tag + vpn.to_bytes(8, "little"))
            else:
                self._read(pid, vpn, 0, 16)

    @precondition(lambda self: self.procs)
    @rule(data=st.data())
    def reclaim(self, data):
        self.tick()
        pid = self.pick_pid(data)
        p = self.procs[pid]
        # Mostly pages reclaim can take (present, anonymous); sometimes any page.
        anon = [v for v in sorted(self.slots[pid])
                if p.pte(v * P).present and p.page(v * P).anon]
        if anon and data.draw(st.integers(0, 4), label="bias") < 4:
            todo = anon if data.draw(st.booleans(), label="all") else \
                [data.draw(st.sampled_from(anon), label="vpn")]
        else:
            todo = [self.pick_vpn(data, pid)]
        for vpn in todo:
            self._reclaim(pid, vpn)

    def _reclaim(self, pid, vpn):
        p = self.procs[pid]
        before = p.pte(vpn * P)
        freed = self.m.reclaim(p, vpn * P)
        s = self.slots[pid].get(vpn)
        if not before.present or (s is not None and s.locked):
            assert freed is False                  # nothing to reclaim, or mlocked
        if freed:
            assert p.pte(vpn * P).is_swap and p.pte(vpn * P).swp_type == 0

    @precondition(lambda self: any(p.pte(v * P).is_swap for pid, p in self.procs.items()
                                   for v in self.slots[pid]))
    @rule(data=st.data(), write=st.booleans())
    def swap_in(self, data, write):
        """Touch a page whose pte is a swap entry: do_swap_page brings it back."""
        self.tick()
        swapped = [(pid, v) for pid, p in sorted(self.procs.items())
                   for v in sorted(self.slots[pid]) if p.pte(v * P).is_swap]
        pid, vpn = data.draw(st.sampled_from(swapped), label="swapped page")
        if write and self.can(pid, vpn, PROT_WRITE):
            self.procs[pid].write(vpn * P + 8, b"swapped-in")
            self.shadow_write(pid, vpn * P + 8, b"swapped-in")
        self._read(pid, vpn, 0, P)
        if self.can(pid, vpn, PROT_READ):
            assert self.procs[pid].pte(vpn * P).present

    @precondition(lambda self: len(self.procs) >= 3)
    @rule(data=st.data())
    def exit(self, data):
        self.tick()
        pid = self.pick_pid(data)
        self.procs.pop(pid).exit()
        del self.slots[pid], self.priv[pid]

    @invariant()
    def model_invariants_hold(self):
        self.m.check()


def test_random_programs_match_the_shadow():
    s = int(os.environ.get("REFMODEL_SEED", random.SystemRandom().randrange(2 ** 32)))
    print(f"ARG seed {s}  (replay: REFMODEL_SEED={s})")
    MemoryMachine.steps_run = 0
    t0 = time.monotonic()
    run_state_machine_as_test(
        seed(s)(MemoryMachine),
        settings=settings(max_examples=MAX_EXAMPLES, stateful_step_count=STEPS,
                          deadline=None, suppress_health_check=list(HealthCheck)),
    )
    took = time.monotonic() - t0
    print(f"stateful: {MemoryMachine.steps_run} steps in {took:.1f}s")
    assert MemoryMachine.steps_run >= MIN_TOTAL_STEPS, MemoryMachine.steps_run
