"""The façade's NUMA and credential system calls: move_pages, migrate_pages, mbind,
get_mempolicy, set_mempolicy, setuid, seteuid (a file of its own so that machine.py stays
readable; Machine and Process take these methods from the two classes below).

Each call checks its arguments in the order 2.6.18's system call does (sys_move_pages,
sys_migrate_pages, sys_mbind, sys_get_mempolicy, sys_set_mempolicy, sys_setuid), then runs
the kernel path to completion.  Errors are OSError with the kernel's errno (refmodel/errno.py).
Not modelled: the C-only checks on user buffers and sizes (maxnode, nr_pages overflow:
-EFAULT, -E2BIG), cpusets (every online node is allowed), LSM hooks.
"""

from . import errno, sched
from .memory import user_access
from .mempolicy import (MPOL_DEFAULT, MPOL_MAX, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT,
                        do_get_mempolicy, do_mbind, do_migrate_pages, do_set_mempolicy,
                        migration_through_swapcache, mpol_check_policy)
from .move_pages import MAX_NUMNODES, do_move_pages, do_pages_stat
from .pgtable import PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, pte_pfn, pte_present
from .swapfile import nr_swap_pages
from .task import (CAP_SYS_NICE, capable, find_task_by_pid, may_move_memory, sys_setresuid,
                   sys_setuid)
from .variants.migrate_2_6_17 import check_era


class MoveResult(list):
    """move_pages(2)'s status array; .ret is the system call's return value."""
    ret = 0


def _fail(err: int, what: str):
    raise OSError(-err, f"{what}: {errno.errorcode.get(-err, -err)}")


class MachineNumaCalls:
    """Machine's migration and policy system calls: proc is the process the call acts on,
    caller the one making it (default: proc itself, as before there was a choice)."""

    def _target(self, proc, what: str):
        """find_task_by_pid: the target's task, or -ESRCH (it has exited)."""
        task = find_task_by_pid(self.k, proc.pid)
        if task is None:
            raise ProcessLookupError(errno.ESRCH, f"{what}: process {proc.pid} has exited")
        return task

    def move_pages(self, proc, addrs, nodes=None, flags: int = 0, caller=None) -> MoveResult:
        """move_pages(2) on proc's address space, made by caller (default: proc), as 2.6.18's
        sys_move_pages: flags (EINVAL), MPOL_MF_MOVE_ALL without the caller's CAP_SYS_NICE
        (EPERM), the target (ESRCH once it has exited), the caller's right to act on it
        (EPERM: its uid or euid is neither the target's uid nor suid, and no CAP_SYS_NICE),
        each node (ENODEV if not online), then the move.

        Returns the per-page status list (a node, or -errno), with .ret holding the system
        call's return value (pages not migrated).  Raises OSError where the call itself
        fails -- including ENOENT when no page could be isolated (2.6.18 then reports no
        status at all).
        """
        current = (caller or proc)._task
        addrs = [int(a) for a in addrs]
        if flags & ~(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
            raise OSError(errno.EINVAL, "move_pages: unknown flags")
        if flags & MPOL_MF_MOVE_ALL and not capable(current, CAP_SYS_NICE):
            raise OSError(errno.EPERM, "move_pages: MPOL_MF_MOVE_ALL needs CAP_SYS_NICE")
        if caller is not None:
            caller._check_alive()
        task = self._target(proc, "move_pages")
        if not may_move_memory(current, task):
            raise OSError(errno.EPERM, f"move_pages: process {current.pid} may not move "
                          f"process {task.pid}'s pages")
        before = self.k.counters.copy()
        if nodes is None:
            out = MoveResult(sched.run(self.k, do_pages_stat(proc.pid, proc.pid, addrs)).result)
            out.ret = 0
            self.last_call = self.k.counters - before
            return out
        self._check_migration_possible()
        nodes = [int(n) for n in nodes]
        if len(nodes) != len(addrs):
            raise ValueError("move_pages: nodes and addrs must have the same length")
        for n in nodes:
            if not 0 <= n < len(self.k.nodes):
                raise OSError(errno.ENODEV, f"move_pages: node {n} is not online")
        path = sched.run(self.k, do_move_pages(proc.pid, proc.pid,
                                               [(a, n, 0) for a, n in zip(addrs, nodes)],
                                               bool(flags & MPOL_MF_MOVE_ALL)))
        self.last_call = self.k.counters - before
        if path.result < 0:
            _fail(path.result, "move_pages")
        out = MoveResult(err for _, _, err, _ in path.pm)
        out.ret = path.result
        return out

    def migrate_pages(self, proc, old_nodes, new_nodes, caller=None) -> int:
        """migrate_pages(2) of proc, made by caller (default: proc): returns the number of
        pages not migrated.  As 2.6.18's sys_migrate_pages: node masks (EINVAL), the target
        (ESRCH), the uid rule (EPERM, as move_pages), new nodes outside the target's allowed
        ones without CAP_SYS_NICE (EPERM); a caller with CAP_SYS_NICE moves shared pages too
        (MPOL_MF_MOVE_ALL).
        """
        current = (caller or proc)._task
        old, new = set(int(n) for n in old_nodes), set(int(n) for n in new_nodes)
        for n in old | new:
            if not 0 <= n < MAX_NUMNODES:
                raise OSError(errno.EINVAL, f"migrate_pages: node {n} out of range")
        if caller is not None:
            caller._check_alive()
        task = self._target(proc, "migrate_pages")
        if not may_move_memory(current, task):
            raise OSError(errno.EPERM, f"migrate_pages: process {current.pid} may not move "
                          f"process {task.pid}'s pages")
        online = set(range(len(self.k.nodes)))
        if not new <= online:
            if not capable(current, CAP_SYS_NICE):
                raise OSError(errno.EPERM, "migrate_pages: target nodes not allowed")
            raise OSError(errno.EINVAL, "migrate_pages: the model cannot allocate on an "
                          "offline node (2.6.18 would not check this for CAP_SYS_NICE)")
        before = self.k.counters.copy()
        flags = MPOL_MF_MOVE_ALL if capable(current, CAP_SYS_NICE) else MPOL_MF_MOVE
        path = sched.run(self.k, do_migrate_pages(proc.pid, proc.pid, old, new, flags))
        self.last_call = self.k.counters - before
        if path.result < 0:
            _fail(path.result, "migrate_pages")
        return path.result

    def mbind(self, proc, addr: int, length: int, mode: int, nodes=(), flags: int = 0) -> int:
        """mbind(2) of 2.6.18: set the range's NUMA policy (MPOL_DEFAULT/PREFERRED/BIND/
        INTERLEAVE); with MPOL_MF_MOVE(_ALL) move the pages that are now misplaced.  On a
        tmpfs or MAP_SHARED|MAP_ANONYMOUS range the policy is the file's (shmem_set_policy):
        every process mapping it allocates by it.  In 2.6.17 without free swap,
        MPOL_MF_MOVE fails with ENODEV and sets no policy (migrate_prep)."""
        proc._check_alive()
        nodes = set(int(n) for n in nodes)
        if flags & ~(MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) or not 0 <= mode <= MPOL_MAX:
            raise OSError(errno.EINVAL, "mbind: bad mode or flags")
        if flags & MPOL_MF_MOVE_ALL and not proc.cap_sys_nice:
            raise OSError(errno.EPERM, "mbind: MPOL_MF_MOVE_ALL needs CAP_SYS_NICE")
        if addr & ~PAGE_MASK:
            raise OSError(errno.EINVAL, "mbind: unaligned start")
        if mode == MPOL_DEFAULT:
            flags &= ~MPOL_MF_STRICT
        end = addr + ((length + PAGE_SIZE - 1) & PAGE_MASK)
        if end == addr:
            return 0
        if mpol_check_policy(mode, nodes, range(len(self.k.nodes))):
            raise OSError(errno.EINVAL, "mbind: bad node set for this mode")
        self._check_era_migrates(flags)
        before = self.k.counters.copy()
        path = sched.run(self.k, do_mbind(proc.pid, proc.pid, addr, end, mode, nodes, flags))
        self.last_call = self.k.counters - before
        if path.result:
            _fail(path.result, "mbind")
        return 0

    def set_mempolicy(self, proc, mode: int, nodes=()) -> int:
        """set_mempolicy(2): proc's own policy, used where a vma has none (alloc_page_vma)
        and for disk-file pages.  EINVAL for a bad mode or node set."""
        proc._check_alive()
        if not 0 <= mode <= MPOL_MAX:
            raise OSError(errno.EINVAL, "set_mempolicy: bad mode")
        err = do_set_mempolicy(proc._task, mode, set(int(n) for n in nodes),
                               range(len(self.k.nodes)))
        if err:
            _fail(err, "set_mempolicy")
        return 0

    def get_mempolicy(self, proc, addr: int = 0, flags: int = 0) -> tuple:
        """get_mempolicy(2) by proc: (mode, nodes), or with MPOL_F_NODE (node, nodes).

        flags 0: proc's own policy (MPOL_DEFAULT and () if it has none).  MPOL_F_ADDR: the
        policy at addr -- the file's for tmpfs and shared anonymous memory, else the vma's
        (not proc's own: 2.6.18 reports MPOL_DEFAULT there); EFAULT without a vma there.
        MPOL_F_NODE|MPOL_F_ADDR: the node of the page at addr, faulting it in by a read as
        get_user_pages does (an untouched anonymous page reads as the ZERO_PAGE, node 0).
        MPOL_F_NODE alone: the next node of proc's interleave policy, else EINVAL.  nodes
        is get_zonemask's: () for default, the policy's nodes, every online node for a
        "local" MPOL_PREFERRED.
        """
        proc._check_alive()
        err, value, nodes = do_get_mempolicy(proc._task, proc.mm, int(addr), flags,
                                             range(len(self.k.nodes)),
                                             lambda a: self._lookup_node(proc, a))
        if err:
            _fail(err, "get_mempolicy")
        return value, set(nodes)

    def _lookup_node(self, proc, addr: int) -> int:
        """lookup_node: get_user_pages(addr, read) then page_to_nid; -EFAULT if it cannot."""
        path = sched.run(self.k, user_access(self._new_tid(), proc.pid, addr & PAGE_MASK,
                                             False, b"", 0, proc.node, gup=True))
        if path.error is not None:
            return -errno.EFAULT
        pte = proc.mm.pgtable.get(addr >> PAGE_SHIFT, 0)
        return self.k.pages[pte_pfn(pte)].node if pte_present(pte) else -errno.EFAULT

    def _check_era_migrates(self, flags):
        """2.6.17's do_mbind migrates through its own migrate_pages with pages allocated
        per vma beforehand (migrate_pages_to), which the model does not have.  Without free
        swap it never gets there: check_range's migrate_prep fails first (ENODEV), and that
        is modelled."""
        if flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) and migration_through_swapcache(self.k) \
                and nr_swap_pages(self.k) > 0:
            raise NotImplementedError("mbind with MPOL_MF_MOVE in the 2.6.17 era is not "
                                      "modelled when swap is free; use migrate_pages(2)")

    def _check_migration_possible(self):
        """move_pages(2) is 2.6.18's: the 2.6.17 era has no such system call (ENOSYS)."""
        if migration_through_swapcache(self.k):
            check_era(self)

    def move_pages_path(self, proc, addrs, nodes, flags: int = 0):
        """sys_move_pages with nodes, as a path (argument checks are the caller's)."""
        if flags & MPOL_MF_MOVE_ALL and not proc.cap_sys_nice:
            raise OSError(errno.EPERM, "move_pages: MPOL_MF_MOVE_ALL needs CAP_SYS_NICE")
        return do_move_pages(self._new_tid(), proc.pid,
                             [(int(a), int(n), 0) for a, n in zip(addrs, nodes)],
                             bool(flags & MPOL_MF_MOVE_ALL))

    def migrate_pages_path(self, proc, old_nodes, new_nodes):
        """migrate_pages(2) of proc by itself, as a path (argument checks are the caller's;
        MPOL_MF_MOVE_ALL for a caller with CAP_SYS_NICE, as in 2.6.18)."""
        flags = MPOL_MF_MOVE_ALL if proc.cap_sys_nice else MPOL_MF_MOVE
        return do_migrate_pages(self._new_tid(), proc.pid, set(int(n) for n in old_nodes),
                                set(int(n) for n in new_nodes), flags)


class ProcessNumaCalls:
    """A process's own system calls, shaped like the C ones: a pid argument where the
    kernel has one (0: this process), the calling process's credentials.  Properties:
    uid, euid, suid; cap_sys_nice (settable); capabilities (the effective set)."""

    def _by_pid(self, pid: int, what: str):
        if pid == 0:
            return self
        target = self.machine.processes.get(int(pid))
        if target is None or not target.alive:
            raise ProcessLookupError(errno.ESRCH, f"{what}: no process {pid}")
        return target

    def move_pages(self, pid: int, addrs, nodes=None, flags: int = 0):
        """move_pages(2): move (or, with nodes None, locate) pages of process pid (0: this
        one); returns the status list (see Machine.move_pages)."""
        self._check_alive()
        if flags & ~(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) or \
                flags & MPOL_MF_MOVE_ALL and not self.cap_sys_nice:
            return self.machine.move_pages(self, addrs, nodes, flags)    # EINVAL, EPERM first
        return self.machine.move_pages(self._by_pid(pid, "move_pages"), addrs, nodes, flags,
                                       caller=self)

    def migrate_pages(self, pid: int, old_nodes, new_nodes) -> int:
        """migrate_pages(2): move process pid's (0: this one's) pages from old_nodes to
        new_nodes; returns the number not migrated."""
        self._check_alive()
        for n in set(old_nodes) | set(new_nodes):
            if not 0 <= int(n) < MAX_NUMNODES:
                raise OSError(errno.EINVAL, f"migrate_pages: node {n} out of range")
        return self.machine.migrate_pages(self._by_pid(pid, "migrate_pages"), old_nodes,
                                          new_nodes, caller=self)

    def mbind(self, addr: int, length: int, mode: int, nodes=(), flags: int = 0) -> int:
        """mbind(2) on this process's range (see Machine.mbind)."""
        return self.machine.mbind(self, addr, length, mode, nodes, flags)

    def set_mempolicy(self, mode: int, nodes=()) -> int:
        """set_mempolicy(2): this process's own policy (see Machine.set_mempolicy)."""
        return self.machine.set_mempolicy(self, mode, nodes)

    def get_mempolicy(self, addr: int = 0, flags: int = 0) -> tuple:
        """get_mempolicy(2): (mode or node, nodes) (see Machine.get_mempolicy)."""
        return self.machine.get_mempolicy(self, addr, flags)

    def setuid(self, uid: int) -> int:
        """setuid(2): with CAP_SETUID sets uid, euid and suid; without it, euid only, and
        only to the real or saved uid (else EPERM).  Capabilities follow (leaving uid 0)."""
        self._check_alive()
        err = sys_setuid(self._task, int(uid))
        if err:
            _fail(err, "setuid")
        return 0

    def setresuid(self, ruid: int = -1, euid: int = -1, suid: int = -1) -> int:
        """setresuid(2): -1 leaves an id; without CAP_SETUID each new id must be one of the
        current uid, euid and suid (else EPERM)."""
        self._check_alive()
        err = sys_setresuid(self._task, int(ruid), int(euid), int(suid))
        if err:
            _fail(err, "setresuid")
        return 0

    def seteuid(self, euid: int) -> int:
        """seteuid(3): glibc's setresuid(-1, euid, -1)."""
        return self.setresuid(-1, euid, -1)

    @property
    def uid(self) -> int:
        """The real uid."""
        return self._task.uid

    @property
    def euid(self) -> int:
        """The effective uid (permission checks use it)."""
        return self._task.euid

    @property
    def suid(self) -> int:
        """The saved set-user-ID."""
        return self._task.suid

    @property
    def cap_sys_nice(self) -> bool:
        """Has the process CAP_SYS_NICE in its effective set (MPOL_MF_MOVE_ALL, others'
        pages)?  Settable: sets the permitted and effective capability."""
        return capable(self._task, CAP_SYS_NICE)

    @cap_sys_nice.setter
    def cap_sys_nice(self, on: bool) -> None:
        t = self._task
        t.cap_permitted = t.cap_permitted | {CAP_SYS_NICE} if on else t.cap_permitted - {CAP_SYS_NICE}
        t.cap_effective = t.cap_effective | {CAP_SYS_NICE} if on else t.cap_effective - {CAP_SYS_NICE}

    @property
    def capabilities(self) -> set:
        """The effective capabilities, by CAP_ number (CAP_SETUID 7, CAP_SYS_NICE 23)."""
        return set(self._task.cap_effective)
