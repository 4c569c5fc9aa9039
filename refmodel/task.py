"""Tasks: who a process is (uids, capabilities) and its own NUMA policy.

Models the parts of struct task_struct (include/linux/sched.h) that the migration system
calls read, setuid(2)/setresuid(2) of kernel/sys.c and the capability fix-up that follows
them (cap_emulate_setxuid, security/commoncap.c), in Linux 2.6.18:
https://elixir.bootlin.com/linux/v2.6.18/source/kernel/sys.c
A task is one process here (one thread, one mm, the same pid).  Capabilities are a set of
CAP_ numbers; keep_capabilities (prctl) and the LSM hooks other than commoncap are not
modelled, nor set_user's RLIMIT_NPROC check (its -EAGAIN).
"""

from . import errno

CAP_SETUID = 7                    # include/linux/capability.h
CAP_SYS_NICE = 23


class task_struct:
    """A task's credentials, capabilities and memory policy (current->mempolicy)."""

    __slots__ = ("pid", "uid", "euid", "suid", "fsuid", "cap_effective", "cap_permitted",
                 "mempolicy", "il_next")

    def __init__(self, pid: int, uid: int, euid: int, suid: int, caps=frozenset()):
        self.pid = pid
        self.uid, self.euid, self.suid, self.fsuid = uid, euid, suid, euid
        self.cap_effective = self.cap_permitted = frozenset(caps)
        self.mempolicy = None             # (mode, nodes), or None: the default policy
        self.il_next = 0                  # next node of an interleave task policy

    def __repr__(self) -> str:
        return (f"<task {self.pid} uid={self.uid} euid={self.euid} suid={self.suid} "
                f"caps={sorted(self.cap_effective)}>")


def find_task_by_pid(k, pid: int):
    """The live task with this pid, or None (the system calls then return -ESRCH)."""
    return k.tasks.get(pid)


def capable(task, cap: int) -> bool:
    """Does task have cap in its effective set?  (capable() asks it of current.)"""
    return cap in task.cap_effective


def dup_task_struct(k, parent, pid: int):
    """fork: the child's task, a copy of the parent's (credentials, capabilities, policy)."""
    child = task_struct(pid, parent.uid, parent.euid, parent.suid)
    child.fsuid = parent.fsuid
    child.cap_effective, child.cap_permitted = parent.cap_effective, parent.cap_permitted
    child.mempolicy, child.il_next = parent.mempolicy, parent.il_next    # mpol_copy
    k.tasks[pid] = child
    return child


def cap_emulate_setxuid(task, old_ruid: int, old_euid: int, old_suid: int) -> None:
    """After a uid change: leaving uid 0 everywhere drops every capability; leaving euid 0
    clears the effective set; coming back to euid 0 restores it from the permitted set."""
    if 0 in (old_ruid, old_euid, old_suid) and 0 not in (task.uid, task.euid, task.suid):
        task.cap_permitted = task.cap_effective = frozenset()
    if old_euid == 0 and task.euid != 0:
        task.cap_effective = frozenset()
    if old_euid != 0 and task.euid == 0:
        task.cap_effective = task.cap_permitted


def sys_setuid(task, uid: int) -> int:
    """setuid(2): with CAP_SETUID all of uid, euid, suid (and fsuid) become uid; without it
    uid must be the real or saved uid, and only euid (and fsuid) change.  0 or -EPERM."""
    old = (task.uid, task.euid, task.suid)
    if capable(task, CAP_SETUID):
        task.uid = task.suid = uid
    elif uid != task.uid and uid != task.suid:
        return -errno.EPERM
    task.fsuid = task.euid = uid
    cap_emulate_setxuid(task, *old)
    return 0


def sys_setresuid(task, ruid: int, euid: int, suid: int) -> int:
    """setresuid(2) (-1 leaves an id as it is; glibc's seteuid(e) is setresuid(-1, e, -1)):
    without CAP_SETUID each new id must be one of the current three.  0 or -EPERM."""
    old = (task.uid, task.euid, task.suid)
    if not capable(task, CAP_SETUID):
        for new in (ruid, euid, suid):
            if new != -1 and new not in old:
                return -errno.EPERM
    if ruid != -1:
        task.uid = ruid
    if euid != -1:
        task.euid = euid
    task.fsuid = task.euid
    if suid != -1:
        task.suid = suid
    cap_emulate_setxuid(task, *old)
    return 0


def may_move_memory(current, task) -> bool:
    """sys_move_pages' and sys_migrate_pages' rule: the caller's euid or uid equals the
    target's uid or suid, or the caller has CAP_SYS_NICE."""
    return bool({current.euid, current.uid} & {task.uid, task.suid}) or \
        capable(current, CAP_SYS_NICE)
