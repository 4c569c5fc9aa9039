"""fork(): dup_mmap copies the parent's vmas, links each child vma into the rmap, and copies
its ptes (write-protecting COW mappings in both processes).

Models dup_mmap() of kernel/fork.c in Linux 2.6.18:
https://elixir.bootlin.com/linux/v2.6.18/source/kernel/fork.c
It is a suspendable path: the parent's mmap_sem is held for write throughout; each child
vma is linked under its anon_vma lock (one step), then its ptes are copied under the pte
locks (another step).  A migration walking the rmap can run between the two.
"""

from .memory import copy_page_range
from .mm import VM_LOCKED, VM_NONLINEAR, mm_struct, vm_area_struct
from .rmap import anon_vma_link
from .sched import BLOCKED, KernelPath, down_write, spin_trylock, spin_unlock, step, up_write


def dup_vma(k, mm, parent_vma):
    """A copy of parent_vma for the child mm (same anon_vma, file and offset)."""
    v = vm_area_struct(k.new_id(), mm, parent_vma.vm_start, parent_vma.vm_end,
                       parent_vma.vm_flags & ~VM_LOCKED,       # mlock is not inherited
                       parent_vma.vm_page_prot, parent_vma.vm_pgoff, parent_vma.vm_file)
    v.anon_vma = parent_vma.anon_vma
    v.vm_policy = parent_vma.vm_policy
    return v


class dup_mmap(KernelPath):
    """Copy the parent's address space into a new mm, one vma at a time."""

    __slots__ = ("oldmm", "mm", "i")

    def __init__(self, tid, oldmm_id, child_pid):
        super().__init__(tid)
        self.oldmm, self.mm, self.i = oldmm_id, child_pid, 0

    @step(sleeps_on="mmap_sem")
    def start(self, k):
        """down_write(&oldmm->mmap_sem) and create the child's empty mm."""
        oldmm = k.mms[self.oldmm]
        if not down_write(oldmm.mmap_sem, self.tid):
            return BLOCKED
        mm = mm_struct(self.mm, self.mm)
        k.mms[mm.id] = mm
        self.pc = "link_vma" if oldmm.mmap else "finish"
        return None

    @step(sleeps_on="rmap_lock")
    def link_vma(self, k):
        """Copy vma i and link it after its parent: anon_vma list (tail) and i_mmap."""
        oldmm, mm = k.mms[self.oldmm], k.mms[self.mm]
        parent = oldmm.mmap[self.i]
        av = parent.anon_vma
        if av is not None:
            if not spin_trylock(av, "lock", self.tid):
                return BLOCKED
        child = dup_vma(k, mm, parent)
        anon_vma_link(k, child)
        if av is not None:
            spin_unlock(av, "lock", self.tid)
        if child.vm_file is not None:                 # vma_prio_tree_add: next to the parent
            imm = child.vm_file.f_mapping.i_mmap
            imm.insert(imm.index(parent) + 1, child)
        mm.mmap.append(child)
        self.pc = "copy_page_range"
        return None

    @step(effect="copies_ptes")
    def copy_page_range(self, k):
        """Copy vma i's ptes (under the parent's and child's pte locks).

        A vma without an anon_vma (shared file memory, untouched private memory) is not
        copied at all: the child faults its pages in from the page cache when it needs them.
        A nonlinear vma is copied all the same: its ptes are not where faults would put them.
        """
        oldmm, mm = k.mms[self.oldmm], k.mms[self.mm]
        vma = oldmm.mmap[self.i]
        if vma.anon_vma is not None or vma.vm_flags & VM_NONLINEAR:
            copy_page_range(k, mm, oldmm, vma)
        self.i += 1
        self.pc = "link_vma" if self.i < len(oldmm.mmap) else "finish"
        return None

    @step()
    def finish(self, k):
        """up_write(&oldmm->mmap_sem): the child may run."""
        up_write(k.mms[self.oldmm].mmap_sem, self.tid)
        self.done(self.mm)
        return None
