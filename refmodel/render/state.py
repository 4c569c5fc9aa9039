"""Pictures of machine state: each process's mappings, ptes and the pages behind them,
the rmap chains and the swap map, as text and as SVG from one description.

The description is a list of rows (kind, text).  The text form prints them one per line
(tests, terminals, screen readers); the SVG form draws each section (a process, the swap
areas, a list of pages) as its own narrow block, one coloured band per row, a row wrapping
onto more lines instead of widening the block, so that the page can set blocks side by side
on a wide screen and one under the other on a phone.
"""


from ..mm import vm_flag_string
from ..page import PageAnon, flag_names, page_count, page_mapcount
from ..pgtable import PAGE_SHIFT, pte_dirty, pte_pfn, pte_present, pte_write, pte_young
from ..swapops import pte_kind, pte_to_swp_entry, swp_offset, swp_type
from .picture import Picture
from .svg import COLUMNS, LINE, mono, svg_open, text_width, wrap


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
    kind = pte_kind(pte, k.swp_types)
    if kind.startswith("migration"):
        w = {"migration": "SWP_TYPE_MIGRATION",          # V1/V2: one type, no write bit
             "migration_write": "WRITE", "migration_read": "READ"}[kind]
        return "migration", f"migration entry {w} pfn {swp_offset(pte_to_swp_entry(pte))}"
    if kind == "swap":
        e = pte_to_swp_entry(pte)
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
        rows.append(("swapmap", f"swap area {si.type}: {si.inuse_pages}/{si.max - 1} slots used  {used}"))
    cache = machine.k.swapper_space.page_tree
    if cache:
        rows.append(("swapmap", "swap cache: " + " ".join(
            f"{swp_type(e)}:{swp_offset(e)}->pfn{pfn}" for e, pfn in sorted(cache.items()))))
    return rows


_FILL = {"mm": "#ffffff", "vma": "#eef2f8", "present": "#cfe8cf", "migration": "#f8d9b0",
         "swap": "#d7e3f4", "swapmap": "#d7e3f4", "none": "#eeeeee", "page": "#f3eefa", "lock": "#fff4c2",
         "head": "#ffffff"}
# Kinds that start a new block of the SVG (a process, the swap areas, a list of pages).
_HEADS = ("mm", "head")


def sections(rows: list) -> list:
    """Split rows into blocks: a block starts at each process header ("mm") or section
    header ("head"); the swap areas and the swap cache form a block of their own."""
    blocks, cur = [], []
    for kind, text in rows:
        starts = kind in _HEADS or (kind == "swapmap" and cur and cur[-1][0] not in ("swapmap",
                                                                                      "head"))
        if starts and cur:
            blocks.append(cur)
            cur = []
        cur.append((kind, text))
    if cur:
        blocks.append(cur)
    return blocks


def _wrap_row(text: str, columns: int) -> list:
    """A row that does not fit is cut first before its " -> " (pte | page it maps), then
    each part wraps on its own."""
    if len(text) <= columns or " -> " not in text:
        return wrap(text, columns)
    head, tail = text.split(" -> ", 1)
    indent = len(head) - len(head.lstrip(" "))
    return wrap(head, columns) + wrap(" " * (indent + 4) + "-> " + tail, columns)


def block_svg(title: str, rows: list, changed=(), columns: int = COLUMNS) -> str:
    """One block: a band per row (wrapped to `columns`), the first row in bold; rows whose
    index is in `changed` get a dark outline and a marker in the margin."""
    pad, left, mark = 4, 14, 10
    wrapped = [_wrap_row(t.rstrip(), columns) for _, t in rows]
    longest = max(24, max(len(ln) for w in wrapped for ln in w))
    width = left + text_width(longest) + 2 * pad + 4
    y = 2
    parts = []
    for i, ((kind, _), lines) in enumerate(zip(rows, wrapped)):
        h = LINE * len(lines) + 2 * pad
        is_changed = i in changed
        stroke = ' stroke="#7a3d00" stroke-width="2"' if is_changed else ""
        parts.append(f'<rect x="{mark}" y="{y}" width="{width - mark - 2:g}" height="{h - 2}" '
                     f'rx="2" fill="{_FILL.get(kind, "#fff")}"{stroke}/>')
        if is_changed:
            parts.append(f'<circle cx="5" cy="{y + h / 2 - 1:g}" r="3.5" fill="#7a3d00"/>')
        for j, line in enumerate(lines):
            parts.append(mono(left, y + pad + 12 + j * LINE, line,
                              "bold" if kind in _HEADS and j == 0 else "normal"))
        y += h
    return svg_open(width, y + 2, title) + "".join(parts) + "</svg>"


def rows_picture(title: str, rows: list, changed=()) -> Picture:
    """Draw rows as text and as SVG blocks (one per process or section).  `changed` holds
    the indexes of rows to mark (the text form ends them with ' *')."""
    changed = set(changed)
    text = "\n".join(t + (" *" if i in changed else "") for i, (_, t) in enumerate(rows))
    blocks, start = [], 0
    for block in sections(rows):
        idx = {i - start for i in changed if start <= i < start + len(block)}
        head = block[0][1].strip()
        blocks.append(block_svg(f"{title}: {head}", block, idx))
        start += len(block)
    if not blocks:
        blocks = [block_svg(title, [("head", "(nothing)")])]
    # The single-SVG form (image/svg+xml): the blocks one under the other.
    return Picture(title, text, stack_svgs(title, blocks), blocks)


def stack_svgs(title: str, blocks: list) -> str:
    """One SVG holding several block SVGs one under the other (for image/svg+xml)."""
    import re
    y, width, inner = 0, 0, []
    for b in blocks:
        w, h = (float(v) for v in re.search(r'width="([\d.]+)" height="([\d.]+)"', b).groups())
        inner.append(b.replace("<svg ", f'<svg y="{y:g}" ', 1))
        y += h + 6
        width = max(width, w)
    return svg_open(width, max(y - 6, 1), title) + "".join(inner) + "</svg>"


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
