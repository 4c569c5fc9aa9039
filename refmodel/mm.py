"""The structures of an address space: mm_struct, vm_area_struct, anon_vma, address_space.

Models the struct definitions of include/linux/mm.h, include/linux/sched.h (mm_struct),
include/linux/rmap.h (anon_vma) and include/linux/fs.h (address_space) in Linux 2.6.18:
https://elixir.bootlin.com/linux/v2.6.18/source/include/linux/mm.h
Page tables are flattened to one dict per mm (virtual page number -> pte); the kernel's
pgd/pud/pmd levels add nothing the migration series touches.
"""

from .pgtable import PAGE_SHIFT, PAGE_SIZE

# vm_flags (include/linux/mm.h)
VM_READ = 0x00000001
VM_WRITE = 0x00000002
VM_EXEC = 0x00000004
VM_SHARED = 0x00000008
VM_MAYREAD = 0x00000010
VM_MAYWRITE = 0x00000020
VM_MAYEXEC = 0x00000040
VM_MAYSHARE = 0x00000080
VM_GROWSDOWN = 0x00000100
VM_LOCKED = 0x00002000
VM_ACCOUNT = 0x00100000
VM_NONLINEAR = 0x00800000

VM_FLAG_NAMES = ((VM_READ, "r"), (VM_WRITE, "w"), (VM_EXEC, "x"), (VM_SHARED, "s"),
                 (VM_LOCKED, "L"))


def vm_flag_string(flags: int) -> str:
    """rwxsL-style summary of the interesting vm_flags."""
    return "".join(c if flags & f else "-" for f, c in VM_FLAG_NAMES)


def rss_on_migration(k, anon: bool) -> bool:
    """Is a migration entry for an anonymous page out of anon_rss while it is in place?
    V2 2/5 decremented anon_rss when it wrote the entry and incremented it on restore;
    "do not inc/dec rss counters" undid that before the merge (era decision)."""
    return anon and k.cfg.rss_on_migration == "incdec"


def rss_fix_3_3(k) -> bool:
    """Do fork and munmap count a migration entry in rss?  2.6.18 forgot the entry's page
    (rss_drift); 3.3's "mm: fix rss count leakage during migration" counts it (era decision)."""
    return k.cfg.rss_fix_3_3


def is_cow_mapping(flags: int) -> bool:
    """Private and potentially writable: fork must write-protect it (include/linux/mm.h)."""
    return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE


class RwSem:
    """A read-write semaphore (mmap_sem): several readers or one writer, by task id."""

    __slots__ = ("readers", "writer")

    def __init__(self):
        self.readers: tuple = ()      # task ids holding it for read
        self.writer: int | None = None

    def snapshot(self) -> tuple:
        return (self.readers, self.writer)


class mm_struct:
    """One address space: its vmas, its page table, rss counters and mmap_sem."""

    __slots__ = ("id", "mmap", "pgtable", "file_rss", "anon_rss", "hiwater_rss",
                 "mmap_sem", "on_mmlist", "def_flags", "users", "owner", "rss_drift")

    def __init__(self, id: int, owner: int):
        self.id = id
        self.owner = owner                # pid of the process that uses it
        self.mmap: list = []              # vm_area_structs sorted by vm_start
        self.pgtable: dict = {}           # vpn -> pte; a missing key is pte_none
        self.file_rss = 0
        self.anon_rss = 0
        self.hiwater_rss = 0
        self.mmap_sem = RwSem()
        self.on_mmlist = False            # on swapoff's mmlist (after it held a swap pte)
        self.def_flags = 0                # VM_LOCKED after mlockall(MCL_FUTURE)
        self.users = 1
        # [file, anon]: how far rss is known to be off because 2.6.18 forgot migration
        # entries in fork and munmap (fixed in 3.3).  The checker allows exactly this much.
        self.rss_drift = [0, 0]

    def __repr__(self) -> str:
        return f"<mm {self.id}>"


class vm_area_struct:
    """A contiguous range of one mm with one set of flags and one backing object."""

    __slots__ = ("id", "vm_mm", "vm_start", "vm_end", "vm_flags", "vm_page_prot",
                 "vm_pgoff", "vm_file", "anon_vma", "vm_policy", "vm_private_data")

    def __init__(self, id, mm, start, end, flags, prot, pgoff=0, file=None):
        self.id = id
        self.vm_mm = mm
        self.vm_start, self.vm_end = start, end
        self.vm_flags, self.vm_page_prot = flags, prot
        self.vm_pgoff = pgoff             # offset in the file, in pages (anon: vm_start >> 12)
        self.vm_file = file               # a File, or None for private anonymous memory
        self.anon_vma = None
        self.vm_policy = None             # (mode, nodes) set by mbind(), or None: default
        self.vm_private_data = 0          # a nonlinear vma's swapout cursor (try_to_unmap_file)

    def __repr__(self) -> str:
        return (f"<vma {self.id} mm{self.vm_mm.id} {self.vm_start:#x}-{self.vm_end:#x} "
                f"{vm_flag_string(self.vm_flags)}>")

    def pages(self) -> range:
        """Virtual page numbers covered by the vma."""
        return range(self.vm_start >> PAGE_SHIFT, self.vm_end >> PAGE_SHIFT)


class anon_vma:
    """The rmap anchor of anonymous pages: the list of every vma that may map them.

    The lock is a spinlock in the kernel; it is modelled as the id of the task holding it,
    because rmap walks hold it across several pte-lock sections (one explorer step each).
    """

    __slots__ = ("id", "head", "lock", "freed")

    def __init__(self, id: int):
        self.id = id
        self.head: list = []          # vmas, in list order (new vmas at the tail)
        self.lock: int | None = None
        self.freed = False            # anon_vma_free() ran: using it now is a use-after-free

    def __repr__(self) -> str:
        return f"<anon_vma {self.id} [{', '.join(str(v.id) for v in self.head)}]>"


class address_space:
    """A file's page cache (radix tree index -> pfn) and the vmas that map it (i_mmap).

    id 0 is swapper_space, the swap cache, indexed by swp_entry_t value.
    """

    __slots__ = ("id", "host", "page_tree", "i_mmap", "nrpages", "i_mmap_lock",
                 "truncate_count", "a_ops", "policy")

    def __init__(self, id: int, host: str, a_ops: str = "shmem"):
        self.id = id
        self.host = host
        self.page_tree: dict = {}     # index -> pfn
        self.i_mmap: list = []        # vmas mapping the file (a prio tree in the kernel)
        self.nrpages = 0
        self.i_mmap_lock: int | None = None
        self.truncate_count = 0
        self.a_ops = a_ops            # "shmem" (tmpfs: has migratepage), "swap" (swapper_space)
        # shmem's shared policy (shmem_inode_info->policy): ((start, end, (mode, nodes)), ...)
        # ranges of page indexes, sorted, none overlapping (the kernel's sp_node rb-tree)
        self.policy: tuple = ()

    def __repr__(self) -> str:
        return f"<address_space {self.id} {self.host}>"


class File:
    """An in-memory (tmpfs) file: a name, a size in pages and its address_space."""

    __slots__ = ("name", "npages", "f_mapping", "unlinked")

    def __init__(self, name: str, npages: int, mapping: address_space, unlinked: bool = False):
        self.name, self.npages, self.f_mapping = name, npages, mapping
        self.unlinked = unlinked          # no name: gone (truncated) with its last mapping

    def __repr__(self) -> str:
        return f"<file {self.name!r} {self.npages} pages>"


def find_vma(mm, addr: int):
    """The first vma with vm_end > addr (it may start above addr), or None.

    Defined in mm/mmap.c; here, beside the structures it walks, so that mm/memory.c's
    faults and mm/mmap.c's system calls can both use it."""
    for vma in mm.mmap:
        if vma.vm_end > addr:
            return vma
    return None


def vma_pages_of(start: int, end: int) -> int:
    """Number of pages in [start, end)."""
    return (end - start) // PAGE_SIZE
