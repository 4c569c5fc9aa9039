"""A canonical, hashable snapshot of the whole kernel state.

Its cost is proportional to what is in use: pages in use, mappings, vmas and swap slots;
free memory is two numbers per node.  The interleaving explorer hashes these.
"""


def snapshot(k) -> tuple:
    """Everything the kernel knows, as nested tuples in a canonical order."""
    pages = tuple(p.snapshot() for _, p in sorted(k.pages.items()))
    nodes = tuple(n.snapshot() for n in k.nodes)
    mms = tuple((mm.id, tuple(sorted(mm.pgtable.items())), mm.file_rss, mm.anon_rss,
                 mm.mmap_sem.snapshot(), mm.def_flags,
                 tuple((v.id, v.vm_start, v.vm_end, v.vm_flags, v.vm_page_prot, v.vm_pgoff,
                        v.vm_file.f_mapping.id if v.vm_file else 0,
                        v.anon_vma.id if v.anon_vma else 0, v.vm_policy) for v in mm.mmap))
                for _, mm in sorted(k.mms.items()))
    anon = tuple((av.id, tuple(v.id for v in av.head), av.lock)
                 for _, av in sorted(k.anon_vmas.items()))
    maps = tuple((m.id, tuple(sorted(m.page_tree.items())), tuple(v.id for v in m.i_mmap),
                  m.i_mmap_lock) for _, m in sorted(k.mappings.items()))
    swap = tuple(si.snapshot() for si in k.swap_info)
    return (pages, nodes, mms, anon, maps, swap, tuple(sorted(k.migrating.items())))
