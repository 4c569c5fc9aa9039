"""The façade: a Machine with NUMA nodes, processes that make system calls, and views.

This is what learners, the book and the tests call.  Each system call runs the kernel
path(s) of the model to completion (the explorer instead interleaves them); bad addresses
raise SegmentationFault and bad arguments raise OSError with the kernel's errno.
"""

from collections import Counter
from dataclasses import replace

from . import errno, oracle, sched
from .check import check_machine
from .eras import era_upto_patch, get_era
from .fork import dup_mmap
from .fremap import sys_remap_file_pages
from .kernel import Kernel, TraceEvent
from .memory import user_access
from .migrate import isolate_lru_page, migrate_pages
from .mm import mm_struct
from .mmap import do_mmap_pgoff, do_munmap, exit_mmap, mm_write_op, setup_arg_pages, sys_mlock
from .mprotect import mprotect_op
from .numa_calls import MachineNumaCalls, MoveResult, ProcessNumaCalls  # noqa: F401 (MoveResult: API)
from .page import Page, get_page
from .page_alloc import node_of_pfn
from .pgtable import PAGE_SHIFT, PAGE_SIZE, pte_pfn, pte_present
from .render.state import machine_picture, process_picture
from .sched import BLOCKED
from .shmem import shmem_file_setup
from .snapshot import snapshot
from .swap import page_cache_release
from .swapfile import sys_swapon
from .task import CAP_SETUID, CAP_SYS_NICE, dup_task_struct, task_struct
from .views import PageView, PteView, peek
from .vmscan import reclaim_page


class SegmentationFault(Exception):
    """The process touched an address it may not (SIGSEGV); .addr is the address."""

    def __init__(self, addr: int, why: str = "SIGSEGV"):
        super().__init__(f"{why} at {addr:#x}")
        self.addr = addr


class Process(ProcessNumaCalls):
    """A process: one mm and one thread, making system calls and touching memory.  Its
    credentials and policy are its task's (uid, euid, suid, cap_sys_nice: numa_calls.py)."""

    def __init__(self, machine, pid: int, node: int, task):
        self.machine, self.pid, self.node = machine, pid, node
        self._task = task                  # kept after exit: a dead caller's credentials
        self.alive = True

    @property
    def mm(self) -> mm_struct:
        return self.machine.k.mms[self.pid]

    def __repr__(self) -> str:
        return f"<Process {self.pid} node={self.node}{'' if self.alive else ' exited'}>"

    def _check_alive(self):
        if not self.alive:
            raise ProcessLookupError(errno.ESRCH, f"process {self.pid} has exited")

    def _syscall(self, op, *args):
        self._check_alive()
        path = sched.run(self.machine.k, mm_write_op(self.pid, self.pid, op, args))
        if path.error is not None:
            raise path.error
        return path.result

    # -- system calls ------------------------------------------------------------------
    def mmap(self, addr, length, prot, flags, file=None, offset=0) -> int:
        """mmap(2): returns the address of the new mapping."""
        if offset % PAGE_SIZE:
            raise OSError(errno.EINVAL, "mmap: offset not page aligned")
        a = self._syscall(do_mmap_pgoff, file, addr or 0, length, prot, flags,
                          offset >> PAGE_SHIFT)
        self.machine._forget(self, a, a + length)            # MAP_FIXED replaced it
        return a

    def munmap(self, addr, length) -> int:
        """munmap(2)."""
        r = self._syscall(do_munmap, addr, length)
        self.machine._forget(self, addr, addr + length)
        return r

    def remap_file_pages(self, addr, size, pgoff, prot=0, flags=0) -> int:
        """remap_file_pages(2): map file pages pgoff.. at addr.. of a shared file mapping
        (the vma becomes nonlinear unless they are its linear pages)."""
        return self._syscall(sys_remap_file_pages, addr, size, prot, pgoff, flags)

    def mprotect(self, addr, length, prot) -> int:
        """mprotect(2)."""
        self._check_alive()
        path = sched.run(self.machine.k, mprotect_op(self.pid, self.pid, (addr, length, prot)))
        if path.error is not None:
            raise path.error
        return path.result

    def mlock(self, addr, length) -> int:
        """mlock(2): VM_LOCKED and every page faulted in."""
        try:
            return self._syscall(sys_mlock, addr, length, True)
        finally:
            m = self.machine
            if m.shadow:
                oracle.cow_broken(m.k, m.contents, self.pid, addr >> PAGE_SHIFT,
                                  (addr + length + PAGE_SIZE - 1) >> PAGE_SHIFT)

    def munlock(self, addr, length) -> int:
        """munlock(2)."""
        return self._syscall(sys_mlock, addr, length, False)

    def fork(self) -> "Process":
        """fork(2): a child with a copy-on-write copy of this address space."""
        self._check_alive()
        m = self.machine
        pid = m._new_pid()
        m.k.node_of_pid[pid] = self.node
        sched.run(m.k, dup_mmap(self.pid, self.pid, pid))
        oracle.copy(m.contents, self.pid, pid)
        child = Process(m, pid, self.node, dup_task_struct(m.k, self._task, pid))
        m.processes[pid] = child
        return child

    def exit(self) -> None:
        """exit(2): the address space goes (exit_mmap)."""
        self._check_alive()
        self._syscall(exit_mmap)
        del self.machine.k.mms[self.pid]
        self.machine.k.tasks.pop(self.pid, None)
        self.machine._forget(self, 0, 1 << 64)
        self.alive = False

    # -- memory accesses ---------------------------------------------------------------
    def _access(self, addr: int, write: bool, data: bytes = b"", length: int = 0):
        self._check_alive()
        path = sched.run(self.machine.k, user_access(self.pid, self.pid, addr, write, data,
                                                    length, self.node))
        if path.error is not None:
            raise SegmentationFault(addr, str(path.error))
        return path.result

    def write(self, addr: int, data: bytes) -> None:
        """Store bytes at addr, taking whatever faults the kernel would."""
        data = bytes(data)
        while data:
            n = min(len(data), PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
            self._access(addr, True, data[:n])
            if self.machine.shadow:
                oracle.write(self.machine.k, self.machine.contents, self.pid, addr, data[:n])
            addr, data = addr + n, data[n:]

    def read(self, addr: int, length: int) -> bytes:
        """Load length bytes from addr, taking whatever faults the kernel would."""
        out = []
        while length > 0:
            n = min(length, PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
            out.append(self._access(addr, False, b"", n))
            addr, length = addr + n, length - n
        return b"".join(out)

    # -- views -------------------------------------------------------------------------
    def pte(self, addr: int) -> PteView:
        """The pte that maps addr (a view; pte_none if nothing is there)."""
        return PteView(self.mm.pgtable.get(addr >> PAGE_SHIFT, 0), self.machine.k.swp_types)

    def page(self, addr: int):
        """The struct page mapped at addr, or None if no page is present there."""
        pte = self.mm.pgtable.get(addr >> PAGE_SHIFT, 0)
        if not pte_present(pte):
            return None
        return PageView(self.machine.k.pages[pte_pfn(pte)])

    def vmas(self) -> list:
        """(start, end, flags) of every mapping."""
        return [(v.vm_start, v.vm_end, v.vm_flags) for v in self.mm.mmap]

    def picture(self):
        """Text + SVG picture of this process's ptes and the pages they map."""
        return process_picture(self.machine, self)

    def _repr_html_(self):
        return self.picture()._repr_html_()


class Machine(MachineNumaCalls):
    """A NUMA machine running one kernel era of the model (its NUMA and migration system
    calls, move_pages to get_mempolicy, are in numa_calls.py)."""

    def __init__(self, era: str = "2.6.18", nodes: int = 2, pages_per_node: int = 4096,
                 swap_pages: int = 0, shadow: bool = True, upto_patch: int | None = None,
                 **decisions):
        if nodes < 1 or pages_per_node < 2:
            raise ValueError("need at least one node with at least two pages")
        if upto_patch is not None:
            if era != "rfc-v1":
                raise ValueError("upto_patch applies to era='rfc-v1' only")
            self.era = replace(era_upto_patch(upto_patch), **decisions)
        else:
            self.era = get_era(era, **decisions)
        self.k = Kernel(self.era, nodes, pages_per_node)
        self.processes: dict = {}
        self._next_pid = 1
        self._next_tid = 10_000            # tids of paths driven by hand (pids stay small)
        self._on_finish: dict = {}         # tid -> what the façade does when that path ends
        self.files: dict = {}
        self.last_call = Counter()         # what the last migration system call cost
        self.pins = Counter()              # pfn -> references taken by get_user_pages
        self.shadow = shadow               # keep the oracle's record (check() compares contents)
        self.contents: dict = {}           # what each process must read (oracle.py's records)
        if swap_pages:
            self.swapon(swap_pages)

    def __repr__(self) -> str:
        return (f"<Machine era={self.era.name} nodes={len(self.k.nodes)} "
                f"processes={sorted(p for p, q in self.processes.items() if q.alive)}>")

    def _new_tid(self) -> int:
        self._next_tid += 1
        return self._next_tid

    def _new_pid(self) -> int:
        self._next_pid += 1
        return self._next_pid - 1

    def spawn(self, node: int = 0, cap_sys_nice: bool | None = None, uid: int = 1000,
              euid: int | None = None, suid: int | None = None,
              cap_setuid: bool | None = None) -> Process:
        """A new process whose allocations prefer node, with one vma: its stack, 32 pages
        below STACK_TOP (= TASK_SIZE), untouched, as exec leaves it (setup_arg_pages).

        Credentials: uid (default 1000, an ordinary user), euid and suid (default: uid).
        Capabilities CAP_SYS_NICE and CAP_SETUID: as given, else those of its euid (all for
        root, none for anyone else), as a process exec'd by that user has them."""
        if not 0 <= node < len(self.k.nodes):
            raise ValueError(f"no node {node}")
        euid = uid if euid is None else euid
        suid = uid if suid is None else suid
        caps = {cap for cap, on in ((CAP_SYS_NICE, cap_sys_nice), (CAP_SETUID, cap_setuid))
                if (euid == 0 if on is None else on)}
        pid = self._new_pid()
        self.k.mms[pid] = mm = mm_struct(pid, pid)
        setup_arg_pages(self.k, mm)                   # its stack, at the top (fs/exec.c)
        self.k.node_of_pid[pid] = node
        self.k.tasks[pid] = task = task_struct(pid, uid, euid, suid, caps)
        p = Process(self, pid, node, task)
        self.processes[pid] = p
        return p

    def create_file(self, name: str, npages: int, fs: str = "tmpfs"):
        """A file of npages pages, all zero: fs="tmpfs" (shmem: has ->migratepage) or
        fs="diskfs" (a disk filesystem with ->writepage but no ->migratepage, so migration
        of a dirty page writes it out first: fallback_migrate_page)."""
        if name in self.files:
            raise FileExistsError(errno.EEXIST, f"file {name!r} exists")
        if fs not in ("tmpfs", "diskfs"):
            raise ValueError(f"unknown filesystem {fs!r}")
        f = shmem_file_setup(self.k, name, npages)
        f.f_mapping.a_ops = "shmem" if fs == "tmpfs" else "diskfs"
        self.files[name] = f
        return f

    def swapon(self, npages: int) -> int:
        """Add a swap area of npages pages (slot 0 is its header); returns its type."""
        return sys_swapon(self.k, npages)

    def reclaim(self, proc: Process, addr: int) -> bool:
        """Push the page mapped at addr out to swap, as kswapd would once it aged."""
        pte = proc.mm.pgtable.get(addr >> PAGE_SHIFT, 0)
        if not pte_present(pte):
            return False
        return reclaim_page(self.k, self.k.pages[pte_pfn(pte)])

    def get_user_pages(self, proc, addr: int, write: bool = False) -> int:
        """Pin the page at addr as a driver doing I/O would (faulting it in first); returns
        its pfn.  The extra reference makes migration's count check fail until unpinned."""
        proc._check_alive()
        if write:
            proc.write(addr, proc.read(addr, 1))
        else:
            proc.read(addr, 1)
        pte = proc.mm.pgtable.get(addr >> PAGE_SHIFT, 0)
        page = self.k.pages[pte_pfn(pte)]
        get_page(page)
        self.pins[page.pfn] += 1
        return page.pfn

    def put_user_pages(self, pfn: int) -> None:
        """Drop a pin taken by get_user_pages."""
        if not self.pins[pfn]:
            raise ValueError(f"pfn {pfn} is not pinned")
        self.pins[pfn] -= 1
        page_cache_release(self.k, self.k.pages[pfn])

    def page(self, pfn: int):
        """A view of the struct page at pfn (count 0 if the page is free)."""
        page = self.k.pages.get(pfn)
        if page is None:
            page = Page(pfn, node_of_pfn(self.k, pfn))
        return PageView(page)

    # -- the oracle: what every process must read, kept apart from the kernel ------------
    def _forget(self, proc, start: int, end: int) -> None:
        oracle.forget(self.contents, proc.pid, start >> PAGE_SHIFT,
                      (end + PAGE_SIZE - 1) >> PAGE_SHIFT)

    def expected(self, proc, addr: int) -> bytes:
        """What proc must read in the page at addr, by the oracle's account."""
        return oracle.expected(self.k, self.contents, proc.pid, addr >> PAGE_SHIFT)

    def shadow_pages(self, proc):
        """(vpn, expected bytes) for every mapped page of proc (none without the oracle)."""
        if not self.shadow:
            return
        for vma in proc.mm.mmap:
            for vpn in vma.pages():
                yield vpn, oracle.expected(self.k, self.contents, proc.pid, vpn)

    def peek(self, proc, addr: int):
        """What a read of the page at addr would return, without faulting (views.peek)."""
        _, shared = oracle.keys(self.k, proc.pid, addr >> PAGE_SHIFT)
        return peek(self.k, proc.mm, shared, addr)

    def check(self, paths=()) -> None:
        """Check every invariant of the model; raises InvariantError with a picture.

        While kernel paths are stopped half way (see step()), pass them as paths.
        """
        check_machine(self, paths, self.pins)

    # -- driving kernel paths by hand: two things at once --------------------------------
    def access_path(self, proc, addr: int, write: bool = False, data: bytes = b"x",
                    length: int = 1):
        """A user access by proc that step() can drive (a read of length, or a write of data)."""
        return user_access(self._new_tid(), proc.pid, addr, write, data if write else b"",
                           0 if write else length, proc.node)

    def kernel_migrate_path(self, pfns, node: int):
        """A migration the kernel starts itself (memory hot-remove, say): no system call and
        no mmap_sem, so fork, munmap and mprotect can run while its entries are in place.
        Isolates each page (a reference each) and returns the migrate_pages path, which
        records a status per page as sys_move_pages' new_page_node does."""
        for pfn in pfns:
            if isolate_lru_page(self.k.pages[pfn]) != 0:
                raise ValueError(f"page {pfn} is not on an LRU list")
        return migrate_pages(self._new_tid(), list(pfns), tuple((pfn, node) for pfn in pfns))

    def fork_path(self, proc):
        """(path, child): fork as a path; the child Process exists once the path is done."""
        pid = self._new_pid()
        self.k.node_of_pid[pid] = proc.node
        child = Process(self, pid, proc.node, dup_task_struct(self.k, proc._task, pid))
        self.processes[pid] = child
        return dup_mmap(self._new_tid(), proc.pid, pid), child

    def munmap_path(self, proc, addr: int, length: int):
        """munmap as a path (mmap_sem for write, then the zap)."""
        return mm_write_op(self._new_tid(), proc.pid, do_munmap, (addr, length))

    def mprotect_path(self, proc, addr: int, length: int, prot: int):
        """mprotect as a path."""
        return mprotect_op(self._new_tid(), proc.pid, (addr, length, prot))

    def exit_path(self, proc):
        """exit as a path: the address space is torn down when it finishes."""
        path = mm_write_op(self._new_tid(), proc.pid, exit_mmap, ())

        def gone():
            proc.alive = False
            del self.k.mms[proc.pid]
            self.k.tasks.pop(proc.pid, None)
        self._on_finish[path.tid] = gone
        return path

    def step(self, path) -> str:
        """Run one step of path: returns its next step's name, or "blocked" if it must sleep."""
        if path.finished:
            return sched.DONE
        pc = path.pc
        if getattr(path, pc)(self.k) is BLOCKED:
            return BLOCKED
        if self.shadow:
            oracle.after_step(self.k, self.contents, path, pc)    # stores, fork, munmap, exit
        if path.finished:
            done = self._on_finish.pop(path.tid, None)
            if done is not None:
                done()
        return path.pc

    def run_until(self, path, pc: str, limit: int = 10_000) -> str:
        """Step path until its next step is pc (or it finishes); "blocked" if it sleeps first."""
        for _ in range(limit):
            if path.pc == pc or path.finished:
                return path.pc
            if self.step(path) == BLOCKED:
                return BLOCKED
        raise RuntimeError(f"{path!r} did not reach {pc!r}")

    def finish(self, path):
        """Run path to the end (raises Deadlock if it would sleep forever, Livelock after
        sched.step_limit steps)."""
        for _ in range(sched.step_limit):
            if path.finished:
                return path
            if self.step(path) == BLOCKED:
                raise sched.Deadlock(f"{path!r} would sleep forever")
        raise sched.Livelock(f"{sched.describe(path)} did not finish in {sched.step_limit} "
                             f"steps: the model looped")

    def snapshot(self) -> tuple:
        """The whole kernel state as one hashable tuple."""
        return snapshot(self.k)

    def picture(self):
        """Text + SVG picture of every live process, their ptes and pages, and swap."""
        return machine_picture(self)

    def _repr_html_(self):
        return self.picture()._repr_html_()

    @property
    def counters(self):
        return self.k.counters

    @property
    def trace(self) -> list:
        """The trace events so far, oldest first, each with .name .mm .addr .detail."""
        return [TraceEvent(t) for t in self.k.trace]
