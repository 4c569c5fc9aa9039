"""Mapping and unmapping: do_mmap_pgoff, get_unmapped_area, split_vma, do_munmap, exit_mmap,
and mlock (mm/mlock.c) which changes only vm_flags and faults pages in; mm_write_op, the
path of a system call that holds mmap_sem for write around such work.

Models mm/mmap.c and mm/mlock.c of Linux 2.6.18:
https://elixir.bootlin.com/linux/v2.6.18/source/mm/mmap.c
Also setup_arg_pages of fs/exec.c: every process has a stack vma at the top of its address
space, as exec gives it (so an address above the last mapping is below a vma: find_vma
finds the stack).  Simplifications: adjacent vmas are never merged (vma_merge), so every
mmap() is its own vma; the stack holds no arguments (no page touched), does not grow
(expand_stack) and is not randomized; there is no brk; addresses are handed out bottom-up
from TASK_UNMAPPED_BASE.
"""

from . import errno

from .memory import make_pages_present, unmap_vmas
from .mm import (VM_ACCOUNT, VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_MAYEXEC, VM_MAYREAD,
                 VM_MAYSHARE, VM_MAYWRITE, VM_NONLINEAR, VM_READ, VM_SHARED, VM_WRITE,
                 find_vma, vm_area_struct)
from .pgtable import PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, protection_map
from .rmap import __anon_vma_link, anon_vma_unlink
from .sched import BLOCKED, DONE, KernelPath, down_write, step, up_write
from .shmem import shmem_file_setup, shmem_release

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0x0, 0x1, 0x2, 0x4
MAP_SHARED, MAP_PRIVATE, MAP_TYPE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x0F, 0x10, 0x20
MCL_CURRENT, MCL_FUTURE = 1, 2

TASK_SIZE = 0x800000000000 - PAGE_SIZE       # x86-64 user space (47 bits, less a guard page)
TASK_UNMAPPED_BASE = (TASK_SIZE // 3) & PAGE_MASK
STACK_TOP = TASK_SIZE                         # include/asm-x86_64/a.out.h
MAX_ARG_PAGES = 32                            # include/linux/binfmts.h
# VM_STACK_FLAGS on x86-64: VM_GROWSDOWN | VM_DATA_DEFAULT_FLAGS (rw, may rwx) | VM_ACCOUNT
VM_STACK_FLAGS = VM_GROWSDOWN | VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | \
    VM_ACCOUNT


def PAGE_ALIGN(n: int) -> int:
    return (n + PAGE_SIZE - 1) & PAGE_MASK


def calc_vm_prot_bits(prot: int) -> int:
    """PROT_* to VM_READ/WRITE/EXEC (the bit values coincide)."""
    return prot & (VM_READ | VM_WRITE | VM_EXEC)


def vm_get_page_prot(vm_flags: int) -> int:
    """protection_map[] indexed by read/write/exec/shared."""
    return protection_map[vm_flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED)]


def get_unmapped_area(mm, addr: int, length: int, fixed: bool) -> int:
    """A free range of length bytes: addr itself if MAP_FIXED or free, else first fit upward."""
    if length > TASK_SIZE:
        raise OSError(errno.ENOMEM, "mmap: length exceeds the address space")
    if fixed:
        if addr & ~PAGE_MASK or addr + length > TASK_SIZE:
            raise OSError(errno.EINVAL, "mmap: bad MAP_FIXED address")
        return addr
    if addr:
        addr = PAGE_ALIGN(addr)
        vma = find_vma(mm, addr)
        if addr + length <= TASK_SIZE and (vma is None or addr + length <= vma.vm_start):
            return addr
    addr = TASK_UNMAPPED_BASE
    for vma in mm.mmap:
        if vma.vm_end <= addr:
            continue
        if addr + length <= vma.vm_start:
            return addr
        addr = vma.vm_end
    if addr + length > TASK_SIZE:
        raise OSError(errno.ENOMEM, "mmap: no room in the address space")
    return addr


def vma_link(k, mm, vma) -> None:
    """Insert vma in mm's sorted list, its anon_vma's list and its file's i_mmap."""
    mm.mmap.append(vma)
    mm.mmap.sort(key=lambda v: v.vm_start)
    __anon_vma_link(k, vma)
    if vma.vm_file is not None:
        __vma_link_file(vma)


def __vma_link_file(vma) -> None:
    """Put vma on its file's i_mmap: a linear vma before every nonlinear one (the prio
    tree), a nonlinear one at the end (i_mmap_nonlinear, which the model keeps as i_mmap's
    tail)."""
    imm = vma.vm_file.f_mapping.i_mmap
    if vma.vm_flags & VM_NONLINEAR:
        imm.append(vma)
    else:
        imm.insert(next((i for i, v in enumerate(imm) if v.vm_flags & VM_NONLINEAR),
                        len(imm)), vma)


def unlink_file_vma(vma) -> None:
    """Take vma off its file's i_mmap."""
    if vma.vm_file is not None:
        vma.vm_file.f_mapping.i_mmap.remove(vma)


def do_mmap_pgoff(k, mm, file, addr: int, length: int, prot: int, flags: int, pgoff: int) -> int:
    """mmap(): check the arguments like the kernel, pick an address, add a vma; no page
    is touched until the first fault."""
    if length == 0:
        raise OSError(errno.EINVAL, "mmap: zero length")
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC):
        raise OSError(errno.EINVAL, "mmap: unknown PROT_ bits")
    length = PAGE_ALIGN(length)
    if not length or length > TASK_SIZE:
        raise OSError(errno.ENOMEM, "mmap: length too large")
    if (pgoff + (length >> PAGE_SHIFT)) < pgoff:
        raise OSError(errno.EOVERFLOW, "mmap: offset overflows")
    map_type = flags & MAP_TYPE
    if map_type not in (MAP_SHARED, MAP_PRIVATE):
        raise OSError(errno.EINVAL, "mmap: need MAP_SHARED or MAP_PRIVATE")
    if file is None and not flags & MAP_ANONYMOUS:
        raise OSError(errno.EBADF, "mmap: no file and not MAP_ANONYMOUS")
    addr = get_unmapped_area(mm, addr, length, bool(flags & MAP_FIXED))
    vm_flags = calc_vm_prot_bits(prot) | mm.def_flags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
    if map_type == MAP_SHARED:
        vm_flags |= VM_SHARED | VM_MAYSHARE
    if file is None:
        if map_type == MAP_SHARED:
            file = shmem_file_setup(k, "dev/zero (deleted)", length >> PAGE_SHIFT, unlinked=True)
            pgoff = 0
        else:
            pgoff = addr >> PAGE_SHIFT
    if flags & MAP_FIXED:
        do_munmap(k, mm, addr, length)             # MAP_FIXED replaces what was there
    vma = vm_area_struct(k.new_id(), mm, addr, addr + length, vm_flags,
                         vm_get_page_prot(vm_flags), pgoff, file)
    vma_link(k, mm, vma)
    if vm_flags & VM_LOCKED:
        make_pages_present(k, mm, addr, addr + length)
    return addr


def setup_arg_pages(k, mm) -> None:
    """exec's stack: a private anonymous VM_GROWSDOWN vma of MAX_ARG_PAGES pages ending at
    STACK_TOP (no pages touched: the model puts no arguments there)."""
    start = STACK_TOP - MAX_ARG_PAGES * PAGE_SIZE
    vma = vm_area_struct(k.new_id(), mm, start, STACK_TOP, VM_STACK_FLAGS | mm.def_flags,
                         vm_get_page_prot(VM_STACK_FLAGS), start >> PAGE_SHIFT)
    vma_link(k, mm, vma)


def split_vma(k, mm, vma, addr: int, new_below: bool):
    """Cut vma at addr; the new part (below or above addr) shares its anon_vma and file."""
    new = vm_area_struct(k.new_id(), mm, vma.vm_start, vma.vm_end, vma.vm_flags,
                         vma.vm_page_prot, vma.vm_pgoff, vma.vm_file)
    new.anon_vma = vma.anon_vma
    new.vm_policy = vma.vm_policy
    if new_below:
        new.vm_end = addr
        vma.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT
        vma.vm_start = addr
    else:
        new.vm_start = addr
        new.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT
        vma.vm_end = addr
    vma_link(k, mm, new)
    return new


def remove_vma(k, vma) -> None:
    """free_pgtables + remove_vma: leave the anon_vma (freeing it if last) and the i_mmap;
    the file reference goes too (fput), which deletes an unlinked file with its last map."""
    anon_vma_unlink(k, vma)
    unlink_file_vma(vma)
    if vma.vm_file is not None:
        shmem_release(k, vma.vm_file)


def do_munmap(k, mm, start: int, length: int) -> int:
    """munmap(): split the vmas at the edges, zap their ptes, then drop the vmas."""
    if start & ~PAGE_MASK or start > TASK_SIZE or length > TASK_SIZE - start:
        raise OSError(errno.EINVAL, "munmap: bad address or length")
    length = PAGE_ALIGN(length)
    if length == 0:
        raise OSError(errno.EINVAL, "munmap: zero length")
    end = start + length
    vma = find_vma(mm, start)
    if vma is None or vma.vm_start >= end:
        return 0
    if start > vma.vm_start:
        split_vma(k, mm, vma, start, new_below=True)
    last = find_vma(mm, end)
    if last is not None and last.vm_start < end:
        split_vma(k, mm, last, end, new_below=True)
    doomed = [v for v in mm.mmap if v.vm_start >= start and v.vm_end <= end]
    for v in doomed:                               # detach_vmas_to_be_unmapped
        mm.mmap.remove(v)
    unmap_vmas(k, mm, doomed, start, end)          # unmap_region
    for v in doomed:
        remove_vma(k, v)
    return 0


def exit_mmap(k, mm) -> None:
    """The last user of mm is gone: zap everything and drop every vma."""
    vmas, mm.mmap = mm.mmap, []
    unmap_vmas(k, mm, vmas, 0, TASK_SIZE)
    for v in vmas:
        remove_vma(k, v)


# -- mlock (mm/mlock.c) -----------------------------------------------------------------

def mlock_fixup(k, mm, vma, start: int, end: int, newflags: int) -> None:
    """Give [start, end) of vma the new flags, splitting it; fault the pages in if locking.
    Nothing happens if the flags do not change (an already locked vma is not faulted)."""
    if newflags == vma.vm_flags:
        return
    if vma.vm_start < start:
        split_vma(k, mm, vma, start, new_below=True)      # vma keeps the part from start
    if vma.vm_end > end:
        split_vma(k, mm, vma, end, new_below=False)
    vma.vm_flags = newflags
    if newflags & VM_LOCKED:
        make_pages_present(k, mm, start, end)


def do_mlock(k, mm, start: int, length: int, on: bool) -> int:
    """Set or clear VM_LOCKED vma by vma; stop at the first error or hole (ENOMEM)."""
    end = start + length
    vma = find_vma(mm, start)
    if vma is None or vma.vm_start > start:
        raise OSError(errno.ENOMEM, "mlock: range not mapped")
    nstart = start
    while True:
        newflags = vma.vm_flags | VM_LOCKED if on else vma.vm_flags & ~VM_LOCKED
        tmp = min(vma.vm_end, end)
        mlock_fixup(k, mm, vma, nstart, tmp, newflags)
        nstart = tmp
        if nstart >= end:
            return 0
        vma = find_vma(mm, nstart)
        if vma is None or vma.vm_start != nstart:
            raise OSError(errno.ENOMEM, "mlock: hole in range")


def sys_mlock(k, mm, start: int, length: int, on: bool = True) -> int:
    """mlock()/munlock(): whole pages covering [start, start+length)."""
    end = PAGE_ALIGN(start + length)
    start &= PAGE_MASK
    if end < start:
        raise OSError(errno.EINVAL, "mlock: range wraps")
    if end == start:
        return 0
    return do_mlock(k, mm, start, end - start, on)


# -- a system call that changes an address space, as a kernel path -----------------------

class mm_write_op(KernelPath):
    """munmap(2), mprotect(2), exit: down_write(mmap_sem), op(k, mm, *args), up_write.

    Linking or unlinking a vma (munmap, exit, mmap) takes anon_vma->lock and i_mmap_lock,
    so the work waits while an rmap walk holds one across its steps; a class whose call
    relinks vmas only sometimes says when (mprotect_op.waits_for_rmap_locks)."""

    __slots__ = ("mm", "op", "args")

    def waits_for_rmap_locks(self, mm) -> bool:
        """Does this call take anon_vma->lock or i_mmap_lock (link, unlink, vma_adjust)?"""
        return True

    def __init__(self, tid, mm_id, op, args):
        super().__init__(tid)
        self.mm, self.op, self.args = mm_id, op, args

    @step(sleeps_on="mmap_sem")
    def start(self, k):
        if not down_write(k.mms[self.mm].mmap_sem, self.tid):
            return BLOCKED
        self.pc = "work"
        return None

    @step(sleeps_on="rmap_lock", effect="changes_mm")
    def work(self, k):
        mm = k.mms[self.mm]
        if self.waits_for_rmap_locks(mm) and rmap_lock_held_by_other(mm, self.tid):
            return BLOCKED
        try:
            self.result = self.op(k, mm, *self.args)
        except OSError as e:
            self.error = e
        self.pc = "finish"
        return None

    @step(dead=("result", "error"))
    def finish(self, k):
        up_write(k.mms[self.mm].mmap_sem, self.tid)
        self.pc = DONE
        return None


def rmap_lock_held_by_other(mm, tid) -> bool:
    """Does another task hold the anon_vma lock or i_mmap_lock of one of mm's vmas?"""
    for vma in mm.mmap:
        av = vma.anon_vma
        if av is not None and av.lock not in (None, tid):
            return True
        if vma.vm_file is not None and vma.vm_file.f_mapping.i_mmap_lock not in (None, tid):
            return True
    return False
