"""Counterexamples one row per step: actor, kernel function, each mapping's pte, lock
holders, page counts and waiters, with the cells that changed marked; as text and as HTML.

frame() turns a live state into a neutral row (a dict of short strings) while the replay
runs; trace_text() and trace_html() draw the rows.  The text form marks a changed cell with
'*'; the HTML form gives it class="changed" (and says so in words for screen readers).
"""

from html import escape

from ..page import PageLocked, page_count, page_mapcount
from ..page_alloc import ZERO_PFN
from ..pgtable import PAGE_SHIFT, pte_pfn, pte_write
from ..scenario import describe as describe_step
from ..sched import DONE, facts, innermost
from ..swapops import pte_kind, pte_to_swp_entry, swp_offset


def pte_cell(k, pte: int) -> str:
    """A pte in a few characters: 'ro 5', 'rw 9', 'MIG-W 5', 'MIG-R 5', 'swap', '-'."""
    kind = pte_kind(pte, k.swp_types)
    if kind == "present":
        return f"{'rw' if pte_write(pte) else 'ro'} {pte_pfn(pte)}"
    if kind.startswith("migration"):
        w = {"migration": "", "migration_write": "-W", "migration_read": "-R"}[kind]
        return f"MIG{w} {swp_offset(pte_to_swp_entry(pte))}"
    return "swap" if kind == "swap" else "-"


def frame(w, k, paths, actor, label, problems) -> dict:
    """One row: what a learner needs to see of the state after a step."""
    names = dict(zip(w.tids, w.names))
    who = lambda t: names.get(t, f"task{t}")           # noqa: E731
    row = {"actor": actor or "", "function": label or "(start)"}
    ptes = {}
    for proc, pid in w.procs.items():
        mm = k.mms.get(pid)
        if mm is None:
            continue
        for aname, addr in w.addrs.items():
            if any(v.vm_start <= addr < v.vm_end for v in mm.mmap) or \
                    (addr >> PAGE_SHIFT) in mm.pgtable:
                ptes[f"{proc}:{aname}"] = pte_cell(k, mm.pgtable.get(addr >> PAGE_SHIFT, 0))
    row["ptes"] = ptes
    locks = []
    for pfn, page in sorted(k.pages.items()):
        if pfn != ZERO_PFN and PageLocked(page):
            locks.append(f"page {pfn}")
    for proc, pid in w.procs.items():
        mm = k.mms.get(pid)
        if mm is None:
            continue
        sem = mm.mmap_sem
        if sem.writer is not None:
            locks.append(f"{proc}.mmap_sem W:{who(sem.writer)}")
        if sem.readers:
            locks.append(f"{proc}.mmap_sem R:{','.join(who(t) for t in sem.readers)}")
    for aid, av in sorted(k.anon_vmas.items()):
        if av.lock is not None:
            locks.append(f"anon_vma{aid}:{who(av.lock)}")
    for mid, m in sorted(k.mappings.items()):
        if m.i_mmap_lock is not None:
            locks.append(f"i_mmap{mid}:{who(m.i_mmap_lock)}")
    row["locks"] = " ".join(locks) or "-"
    mmname = {pid: proc for proc, pid in w.procs.items()}
    lists = [f"av{aid}[{' '.join(mmname.get(v.vm_mm.id, str(v.vm_mm.id)) for v in av.head)}]"
             for aid, av in sorted(k.anon_vmas.items())]
    lists += [f"i_mmap{mid}[{' '.join(mmname.get(v.vm_mm.id, str(v.vm_mm.id)) for v in m.i_mmap)}]"
              for mid, m in sorted(k.mappings.items()) if m.i_mmap]
    row["rmap"] = " ".join(lists) or "-"
    row["counts"] = " ".join(f"{pfn}:{page_count(p)}/{page_mapcount(p)}"
                             for pfn, p in sorted(k.pages.items()) if pfn != ZERO_PFN) or "-"
    waiting = []
    for p, name in zip(paths, w.names):
        if p.pc == DONE:
            continue
        q = innermost(p)
        f = facts(q)
        if f.sleeps_on == "page_lock" and f.page:           # it holds the page it sleeps on
            waiting.append(f"{name}(page {getattr(q, f.page)})")
        elif f.sleeps_on and _sleeps(w, k, paths, p):
            waiting.append(f"{name}(mmap_sem)" if f.sleeps_on == "mmap_sem" else f"{name}({q.pc})")
    row["waiters"] = " ".join(waiting) or "-"
    row["done"] = " ".join(n for p, n in zip(paths, w.names) if p.pc == DONE) or "-"
    row["problems"] = list(problems)
    return row


def _sleeps(w, k, paths, p) -> bool:
    return not w.can_run(k, paths, paths.index(p))


COLUMNS = ("actor", "function", "ptes", "locks", "counts", "waiters")


def _rows(rep):
    """Header and cells (strings) per frame, plus which cells changed."""
    pte_cols = []
    for f in rep.frames:
        for c in f["ptes"]:
            if c not in pte_cols:
                pte_cols.append(c)
    header = ["#", "actor", "kernel function"] + pte_cols + ["rmap lists", "locks held",
                                                              "count/mapcount", "waiting"]
    out, prev = [], None
    for n, f in enumerate(rep.frames):
        cells = [str(n), f["actor"], f["function"]] + [f["ptes"].get(c, "") for c in pte_cols] + \
                [f.get("rmap", "-"), f["locks"], f["counts"], f["waiters"]]
        changed = [False] * len(cells)
        if prev is not None:
            changed = [i >= 3 and a != b for i, (a, b) in enumerate(zip(cells, prev))]
        out.append((cells, changed))
        prev = cells
    return header, out


def describe(rep) -> list:
    """The lines above the table: what ran, where it came from."""
    w = rep.world
    lines = [f"config {w.name} ({w.config.get('title', '')}), era {w.era_name}"
             + (f", mutant {w.mutant}" if w.mutant else "") + (f", bug {w.bug}" if w.bug else "")]
    if w.bug:
        b = w.bug_info
        lines.append(f"historical bug: {b['title']}")
        lines.append(f"fixed by: {b['fix']}  {b['link']}")
    if w.mutant:
        lines.append(f"mutant: {w.mutant_info['title']}")
    lines.append("threads: " + "; ".join(f"{name} = {describe_step(st)}" for name, st in w.threads))
    return lines


def trace_text(rep) -> str:
    """The counterexample as a plain-text table (changed cells end in '*')."""
    header, rows = _rows(rep)
    cells = [header] + [[c + ("*" if ch else "") for c, ch in zip(r, chg)] for r, chg in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "  ".join(x.ljust(wd) for x, wd in zip(r, widths)).rstrip()   # noqa: E731
    out = describe(rep) + ["", line(header), "  ".join("-" * wd for wd in widths)]
    out += [line(r) for r in cells[1:]]
    out.append("(* = changed by this step; pte 'ro 5' = read-only to pfn 5, 'MIG-W 5' = "
               "WRITE migration entry for pfn 5; rmap lists in walk order, by process; "
               "counts are count/mapcount per pfn)")
    if rep.violations:
        out.append("")
        out += [f"VIOLATED: {p}" for p in rep.violations]
    out.append("replay: " + repr([f["actor"] for f in rep.frames[1:]]))
    return "\n".join(out)


CSS = ("<style>.refmodel-trace{border-collapse:collapse;font-family:monospace;font-size:12px}"
       ".refmodel-trace th,.refmodel-trace td{border:1px solid #bbb;padding:2px 6px;text-align:left}"
       ".refmodel-trace td.changed{background:#ffe9a8;font-weight:bold}"
       ".refmodel-trace tr.bad td{background:#f8d0d0}"
       ".refmodel-violation{color:#900;font-weight:bold}</style>")


def _breakable(cell: str) -> str:
    """Escaped cell text with break opportunities after '.' and ',' (long kernel function
    names such as migrate_pages.get_new_page may wrap there in a narrow column)."""
    return escape(cell).replace(".", ".<wbr>").replace(",", ",<wbr>")


def trace_html(rep) -> str:
    """The counterexample as an HTML table (changed cells highlighted and labelled)."""
    header, rows = _rows(rep)
    parts = [CSS, "<div class='refmodel-trace-box'>"]
    parts += [f"<p>{escape(line)}</p>" for line in describe(rep)]
    parts.append("<table class='refmodel-trace'><thead><tr>")
    parts += [f"<th scope='col'>{escape(h)}</th>" for h in header]
    parts.append("</tr></thead><tbody>")
    for n, (r, chg) in enumerate(rows):
        bad = n == len(rows) - 1 and rep.violations
        parts.append(f"<tr{' class=bad' if bad else ''}>")
        for c, ch, h in zip(r, chg, header):
            # data-col names the column for the narrow-screen layout (workbook.css), where
            # each step is a card with one labelled line per column.
            col = f" data-col='{escape(h, quote=True)}'"
            cell = _breakable(c)
            if ch:
                parts.append(f"<td class='changed'{col}>{cell}<span class='sr-only' "
                             f"style='position:absolute;left:-9999px'> (changed)</span></td>")
            else:
                parts.append(f"<td{col}>{cell}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    for p in rep.violations:
        parts.append(f"<p class='refmodel-violation'>Violated: {escape(p)}</p>")
    parts.append(f"<p>replay: <code>{escape(repr([f['actor'] for f in rep.frames[1:]]))}</code></p>")
    parts.append("</div>")
    return "".join(parts)
