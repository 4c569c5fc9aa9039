"""Pictures of machine state: each process's mappings, ptes and the pages behind them,
the rmap chains and the swap map, as text and as SVG from one description."""

from html import escape

from ..mm import vm_flag_string
from ..page import PageAnon, flag_names, page_count, page_mapcount
from ..pgtable import PAGE_SHIFT, is_swap_pte, pte_dirty, pte_pfn, pte_present, pte_write, pte_young
from ..swapops import (is_migration_entry, is_write_migration_entry, pte_to_swp_entry,
                       swp_offset, swp_type)
from .picture import Picture


def describe_pte(k, pte: int) -> tuple:
    """(kind, short text) for one pte: kind is present/migration/swap/none."""
    if pte_present(pte):
        pfn = pte_pfn(pte)
        bits = ("rw" if pte_write(pte) else "ro") + (" young" if pte_young(pte) else "") + \
               (" dirty" if pte_dirty(pte) else "")
        page = k.pages.get(pfn)
        if page is None:
            return "present", f"pfn {pfn} {bits} -> FREED PAGE"
        return "present", (f"pfn {pfn} {bits} -> node{page.node} count={page_count(page)} "
                           f"map={page_mapcount(page)} {'anon' if PageAnon(page) else 'file'} "
                           f"[{flag_names(page.flags)}]")
    if is_swap_pte(pte):
        e = pte_to_swp_entry(pte)
        if is_migration_entry(e, k.swp_types):
            if k.swp_types.migration_write is None:     # V1/V2: one type, no write bit
                w = "SWP_TYPE_MIGRATION"
            else:
                w = "WRITE" if is_write_migration_entry(e, k.swp_types) else "READ"
            return "migration", f"migration entry {w} pfn {swp_offset(e)}"
        return "swap", f"swap entry type {swp_type(e)} offset {swp_offset(e)}"
    return "none", "-"


def process_rows(machine, proc) -> list:
    """The neutral description: one row per vma and one per non-empty pte."""
    k = machine.k
    mm = proc.mm
    rows = [("mm", f"process {proc.pid} (mm {mm.id})  anon_rss={mm.anon_rss} "
                   f"file_rss={mm.file_rss}")]
    for vma in mm.mmap:
        backing = (f"file {vma.vm_file.name!r} pgoff {vma.vm_pgoff}" if vma.vm_file else "anon")
        chain = ""
        if vma.anon_vma is not None:
            chain = f" anon_vma {vma.anon_vma.id} [{' '.join(f'vma{v.id}' for v in vma.anon_vma.head)}]"
        rows.append(("vma", f"  vma{vma.id} {vma.vm_start:#x}-{vma.vm_end:#x} "
                            f"{vm_flag_string(vma.vm_flags)} {backing}{chain}"))
        for vpn in vma.pages():
            pte = mm.pgtable.get(vpn)
            if pte is None:
                continue
            kind, text = describe_pte(k, pte)
            rows.append((kind, f"    {vpn << PAGE_SHIFT:#x}  {text}"))
    return rows


def swap_rows(machine) -> list:
    rows = []
    for si in machine.k.swap_info:
        used = " ".join(f"{off}:{c}" for off, c in sorted(si.swap_map.items()) if off)
        rows.append(("swap", f"swap area {si.type}: {si.inuse_pages}/{si.max - 1} slots used  {used}"))
    cache = machine.k.swapper_space.page_tree
    if cache:
        rows.append(("swap", "swap cache: " + " ".join(
            f"{swp_type(e)}:{swp_offset(e)}->pfn{pfn}" for e, pfn in sorted(cache.items()))))
    return rows


_FILL = {"mm": "#ffffff", "vma": "#eef2f8", "present": "#cfe8cf", "migration": "#f8d9b0",
         "swap": "#d7e3f4", "none": "#eeeeee"}


def rows_picture(title: str, rows: list) -> Picture:
    """Draw rows as text and as an SVG with one coloured band per row."""
    text = "\n".join(t for _, t in rows)
    h = 18
    width = max([len(t) for _, t in rows] + [40]) * 7 + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h * len(rows) + 10}" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (kind, t) in enumerate(rows):
        y = 5 + i * h
        parts.append(f'<rect x="4" y="{y}" width="{width - 8}" height="{h - 2}" fill="{_FILL.get(kind, "#fff")}"/>')
        parts.append(f'<text x="8" y="{y + 12}" font-family="monospace" font-size="11" '
                     f'xml:space="preserve">{escape(t)}</text>')
    parts.append("</svg>")
    return Picture(title, text, "".join(parts))


def process_picture(machine, proc) -> Picture:
    """One process: its vmas, their ptes and the pages they map."""
    return rows_picture(f"process {proc.pid}", process_rows(machine, proc))


def machine_rows(machine) -> list:
    rows = []
    for proc in machine.processes.values():
        if proc.alive:
            rows += process_rows(machine, proc)
    return rows + swap_rows(machine)


def machine_text(machine) -> str:
    """Every live process and the swap areas, as text."""
    return "\n".join(t for _, t in machine_rows(machine))


def machine_picture(machine) -> Picture:
    return rows_picture("machine", machine_rows(machine))
