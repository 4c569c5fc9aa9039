"""The oracle: what each process must read, kept apart from the kernel's own pages.

Instruments.  The kernel is the thing under test, so the expected contents of every page
are recorded here, from the system calls and user accesses alone: a store lands in the
page's record, fork copies the parent's records, munmap and exit forget them.  The façade
(Machine.expected, Machine.check) and the explorer's invariants both ask this module; the
records are a plain dict, so that the explorer can freeze and hash it:

    ("p", mm id, vpn)             -> bytes   the private copy a process wrote
    ("s", mapping id, page index) -> bytes   a file page (shared mappings write here)

A page nobody wrote reads as zeroes; a private file page nobody wrote reads as the file.
"""

from .mm import VM_NONLINEAR, VM_SHARED, VM_WRITE
from .mmap import do_munmap, exit_mmap
from .page import ZERO_BYTES
from .pgtable import PAGE_SHIFT, PAGE_SIZE, pte_file, pte_pfn, pte_present, pte_to_pgoff
from .sched import DONE, facts


def keys(k, mm_id: int, vpn: int):
    """(own, shared): where the contents of page vpn of mm are recorded -- own is the
    process's private record (the file's, for a shared mapping), shared the file page's
    (None for anonymous memory); (None, None) outside every vma."""
    mm = k.mms.get(mm_id)
    addr = vpn << PAGE_SHIFT
    vma = None
    if mm is not None:
        for v in mm.mmap:
            if v.vm_start <= addr < v.vm_end:
                vma = v
                break
    if vma is None:
        return None, None
    shared = None
    if vma.vm_file is not None:
        index = ((addr - vma.vm_start) >> PAGE_SHIFT) + vma.vm_pgoff
        if vma.vm_flags & VM_NONLINEAR:          # the pte says which file page is there
            pte = mm.pgtable.get(vpn, 0)
            if pte_present(pte):
                index = k.pages[pte_pfn(pte)].index
            elif pte_file(pte):
                index = pte_to_pgoff(pte)
        shared = ("s", vma.vm_file.f_mapping.id, index)
    if vma.vm_flags & VM_SHARED:
        return shared, shared
    return ("p", mm_id, vpn), shared


def expected(k, shadow: dict, mm_id: int, vpn: int) -> bytes:
    """What process mm_id must read in page vpn."""
    own, shared = keys(k, mm_id, vpn)
    if own is not None and own in shadow:
        return shadow[own]
    if shared is not None:
        return shadow.get(shared, ZERO_BYTES)
    return ZERO_BYTES


def write(k, shadow: dict, mm_id: int, addr: int, data: bytes) -> None:
    """A store of data at addr (within one page) by process mm_id."""
    own, shared = keys(k, mm_id, addr >> PAGE_SHIFT)
    if own is None:
        return
    off = addr & (PAGE_SIZE - 1)
    old = shadow.get(own)                         # as expected(): own record, file, zeroes
    if old is None:
        old = shadow.get(shared, ZERO_BYTES) if shared is not None else ZERO_BYTES
    shadow[own] = old[:off] + data + old[off + len(data):]


def forget(shadow: dict, mm_id: int, lo: int = 0, hi: int = 1 << 52) -> None:
    """Process mm_id's private records of pages [lo, hi) go (munmap, exit, MAP_FIXED)."""
    for key in [x for x in shadow if x[0] == "p" and x[1] == mm_id and lo <= x[2] < hi]:
        del shadow[key]


def copy(shadow: dict, parent: int, child: int, vpns=None) -> None:
    """fork: the child starts with the parent's private records (of vpns, or all)."""
    if vpns is None:
        vpns = [x[2] for x in shadow if x[0] == "p" and x[1] == parent]
    for vpn in vpns:
        key = ("p", parent, vpn)
        if key in shadow:
            shadow[("p", child, vpn)] = shadow[key]


def cow_broken(k, shadow: dict, mm_id: int, lo: int, hi: int) -> None:
    """mlock write-faulted the writable private file pages of [lo, hi): from now on they are
    private copies, frozen at what the file held (make_pages_present's early COW break)."""
    mm = k.mms[mm_id]
    for vpn in range(lo, hi):
        vma = next((v for v in mm.mmap if v.vm_start <= vpn << PAGE_SHIFT < v.vm_end), None)
        if vma is None or vma.vm_file is None or vma.vm_flags & VM_SHARED or \
                not vma.vm_flags & VM_WRITE:
            continue
        if not pte_present(mm.pgtable.get(vpn, 0)):
            continue
        key = ("p", mm_id, vpn)
        if key not in shadow:
            shadow[key] = expected(k, shadow, mm_id, vpn)


def after_step(k, shadow: dict, path, pc: str):
    """Follow the step pc that path just ran (its effect, sched.py): a store lands, fork
    copies a vma's records to the child, munmap and exit forget.  For a load that has just
    finished, returns the bytes it must have read (else None)."""
    effect = facts(path, pc).effect
    if effect == "access":
        if path.pc != DONE or path.error is not None:
            return None
        if path.write:
            write(k, shadow, path.mm, path.addr, path.data)
            return None
        off = path.addr & (PAGE_SIZE - 1)
        return expected(k, shadow, path.mm, path.addr >> PAGE_SHIFT)[off:off + path.length]
    if effect == "copies_ptes":                     # dup_mmap copied the parent's vma i - 1
        vma = k.mms[path.oldmm].mmap[path.i - 1]
        copy(shadow, path.oldmm, path.mm, vma.pages())
    elif effect == "changes_mm":
        if path.op is do_munmap:
            addr, length = path.args[0], path.args[1]
            forget(shadow, path.mm, addr >> PAGE_SHIFT, (addr + length + PAGE_SIZE - 1) >> PAGE_SHIFT)
        elif path.op is exit_mmap:
            forget(shadow, path.mm)
    return None
