"""mprotect(): new vm_flags for a range, and new protections for its ptes.

Models mm/mprotect.c of Linux 2.6.18: https://elixir.bootlin.com/linux/v2.6.18/source/mm/mprotect.c
change_pte_range rewrites present ptes with the new protection (keeping pfn, young, dirty)
and, since the R/W migration-entry patch, downgrades WRITE migration entries to READ.
"""

from . import errno

from .mm import VM_EXEC, VM_READ, VM_WRITE, find_vma
from .mmap import (PAGE_ALIGN, PROT_EXEC, PROT_READ, PROT_WRITE, calc_vm_prot_bits, mm_write_op,
                   split_vma, vm_get_page_prot)
from .pgtable import PAGE_MASK, PAGE_SHIFT, is_swap_pte, pte_modify, pte_present
from .swapops import (is_write_migration_entry, make_migration_entry_read, pte_to_swp_entry,
                      swp_entry_to_pte)


def change_pte_range(k, mm, start: int, end: int, newprot: int) -> None:
    """Apply newprot to every present pte in range; make WRITE migration entries READ."""
    for vpn in range(start >> PAGE_SHIFT, end >> PAGE_SHIFT):
        pte = mm.pgtable.get(vpn, 0)
        if pte_present(pte):
            mm.pgtable[vpn] = pte_modify(pte, newprot)
            k.stat("pte_writes")
        elif is_swap_pte(pte):
            entry = pte_to_swp_entry(pte)
            # 0697212a: "a protection check is difficult", so a WRITE entry becomes READ
            # whatever the new protection; the restored pte is then read-only.
            if k.cfg.mprotect_downgrades_write_entry and \
                    is_write_migration_entry(entry, k.swp_types):
                mm.pgtable[vpn] = swp_entry_to_pte(make_migration_entry_read(entry, k.swp_types))
                k.stat("pte_writes")


def mprotect_fixup(k, mm, vma, start: int, end: int, newflags: int) -> None:
    """Split vma to exactly [start, end), set its flags and protection, rewrite its ptes."""
    if start != vma.vm_start:
        split_vma(k, mm, vma, start, new_below=True)
    if end != vma.vm_end:
        split_vma(k, mm, vma, end, new_below=False)
    vma.vm_flags = newflags
    vma.vm_page_prot = vm_get_page_prot(newflags)
    change_pte_range(k, mm, start, end, vma.vm_page_prot)


def sys_mprotect(k, mm, start: int, length: int, prot: int) -> int:
    """mprotect(): EINVAL for bad arguments, ENOMEM for unmapped holes, EACCES where the
    vma may not get the new rights (VM_MAY* clear)."""
    if start & ~PAGE_MASK:
        raise OSError(errno.EINVAL, "mprotect: unaligned start")
    if not length:
        return 0
    length = PAGE_ALIGN(length)
    end = start + length
    if end <= start:
        raise OSError(errno.ENOMEM, "mprotect: range wraps")
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC):
        raise OSError(errno.EINVAL, "mprotect: unknown PROT_ bits")
    vm_flags = calc_vm_prot_bits(prot)
    vma = find_vma(mm, start)
    if vma is None or vma.vm_start > start:
        raise OSError(errno.ENOMEM, "mprotect: start not mapped")
    nstart = start
    while True:
        newflags = vm_flags | (vma.vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC))
        # newflags >> 4 shifts VM_MAY* onto VM_*: asking for a right the vma may not have.
        if (newflags & ~(newflags >> 4)) & (VM_READ | VM_WRITE | VM_EXEC):
            raise OSError(errno.EACCES, "mprotect: not permitted on this mapping")
        tmp = min(vma.vm_end, end)
        mprotect_fixup(k, mm, vma, nstart, tmp, newflags)
        nstart = tmp
        if nstart >= end:
            return 0
        vma = find_vma(mm, nstart)
        if vma is None or vma.vm_start != nstart:
            raise OSError(errno.ENOMEM, "mprotect: hole in range")


class mprotect_op(mm_write_op):
    """mprotect(2) as a path: sys_mprotect under mmap_sem for write.  Changing a whole vma's
    flags takes no rmap lock; splitting one does (split_vma -> vma_adjust takes the
    anon_vma lock and i_mmap_lock), so a splitting mprotect waits for an rmap walk in
    progress, as 2.6.18's does.  (The model never merges vmas, vma_merge's other use.)"""

    __slots__ = ()

    def waits_for_rmap_locks(self, mm) -> bool:
        """Will sys_mprotect split a vma (start or end inside one)?"""
        start, length = self.args[0], self.args[1]
        end = start + PAGE_ALIGN(length)
        return any(vma.vm_start < edge < vma.vm_end for vma in mm.mmap for edge in (start, end))

    def __init__(self, tid, mm_id, args):
        super().__init__(tid, mm_id, sys_mprotect, args)
