"""Topic "pte": decode a raw x86-64 pte bit by bit, in a given era.

The value comes from a run of the model (a page written, read, shared by fork, reclaimed
to swap, or caught half way through a migration) or is packed with swapops' own helpers
from a type and an offset, chosen so that the era matters: type 31 is a swap area in
2.6.17, V1's single migration type in rfc-v1 and v2-yield, SWP_MIGRATION_WRITE in 2.6.18.
The answer is decoded by pgtable.py and swapops.py (include/asm-x86_64/pgtable.h and
include/linux/swapops.h of the model) and drawn by the model's pte renderer.
"""

from .. import MPOL_MF_MOVE_ALL
from ..pgtable import (PTE_MASK, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL, _PAGE_NX,
                       _PAGE_PCD, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_PWT, _PAGE_RW,
                       _PAGE_USER, pte_pfn)
from ..render import pte_picture
from ..swapops import pte_kind, pte_to_swp_entry, swp_entry, swp_entry_to_pte, swp_offset, swp_type
from . import Question
from .common import ANON, RW, P, machine, page_line, step_until, types_of

CHOICES = ("empty (pte_none)",
           "a present page",
           "a swap entry (a slot in a swap area)",
           "a migration entry, READ",
           "a migration entry, WRITE",
           "a migration entry of the RFC's single type (no READ/WRITE)")

# Low flag bits of a present pte, with the names pgtable.h gives them.
FLAGS = ((_PAGE_PRESENT, "PRESENT"), (_PAGE_RW, "RW"), (_PAGE_USER, "USER"),
         (_PAGE_PWT, "PWT"), (_PAGE_PCD, "PCD"), (_PAGE_ACCESSED, "ACCESSED"),
         (_PAGE_DIRTY, "DIRTY"), (_PAGE_PROTNONE, "PROTNONE"), (_PAGE_GLOBAL, "GLOBAL"),
         (_PAGE_NX, "NX"))
FLAG_BITS = dict((name, bit) for bit, name in FLAGS)


def decode(raw: int, types) -> dict:
    """What the pte is, field by field: its kind from swapops.pte_kind, the fields by the
    model's own helpers."""
    kind = pte_kind(raw, types)
    if kind == "none":
        return {"kind": "none", "choice": 0}
    if kind == "present":
        flags = [name for bit, name in FLAGS if raw & bit]
        return {"kind": "present", "choice": 1, "pfn": pte_pfn(raw), "flags": flags,
                "other_bits": raw & ~PTE_MASK & ~sum(b for b, _ in FLAGS)}
    entry = pte_to_swp_entry(raw)
    out = {"type": swp_type(entry), "offset": swp_offset(entry), "entry": entry}
    if kind == "swap":
        return {"kind": "swap", "choice": 2, **out}
    if kind == "migration":
        return {"kind": "migration", "rw": None, "choice": 5, **out}
    write = kind == "migration_write"
    return {"kind": "migration", "rw": "WRITE" if write else "READ", "choice": 4 if write else 3, **out}


def summary_of(d: dict) -> str:
    """The decoded pte in one line."""
    if d["kind"] == "none":
        return "empty: pte_none, nothing mapped and no entry"
    if d["kind"] == "present":
        return f"present: pfn {d['pfn']}, flags {' '.join(d['flags'])}"
    if d["kind"] == "swap":
        return f"swap entry: type {d['type']} (swap area {d['type']}), offset {d['offset']} (its slot)"
    rw = f" {d['rw']}" if d["rw"] else " (the single migration type)"
    return (f"migration entry{rw}: type {d['type']}, offset {d['offset']} = the pfn of the page "
            "being migrated")


def era_types_line(era: str) -> str:
    """How era numbers its swap types, from its SwapTypes."""
    t = types_of(era)
    if t.migration_read is None:
        return (f"In {era} every type 0-{t.max_swapfiles - 1} names a swap area: there are no "
                "migration entries.")
    if t.migration_write is None:
        return (f"In {era} types 0-{t.max_swapfiles - 1} are swap areas and type {t.migration_read} "
                f"is the one migration type.")
    return (f"In {era} types 0-{t.max_swapfiles - 1} are swap areas, {t.migration_read} is "
            f"SWP_MIGRATION_READ and {t.migration_write} SWP_MIGRATION_WRITE.")


# -- Where the value comes from ---------------------------------------------------------

def from_model(rng, era: str):
    """(raw pte, how it was made, the machine) from a short run of the model in era."""
    entry_era = era != "2.6.17"
    kinds = ["write", "read", "fork", "reclaim"] + (["migrating", "migrating"] if entry_era else [])
    how = rng.choice(kinds)
    m = machine(era, swap_pages=16)
    p = m.spawn(node=0, cap_sys_nice=True)
    n = rng.randint(1, 4)
    a0 = p.mmap(None, n * P, RW, ANON)
    i = rng.randrange(n)
    for j in range(i):                        # earlier pages use up pfns (and slots)
        p.write(a0 + j * P, b"x")
    a = a0 + i * P
    if how == "read":
        p.read(a, 1)
        return p.pte(a).raw, "P read page a (its first touch)", m
    p.write(a, b"data")
    if how == "write":
        return p.pte(a).raw, "P wrote page a", m
    if how == "fork":
        p.fork()
        return p.pte(a).raw, "P wrote page a, then forked", m
    if how == "reclaim":
        for j in range(i):
            m.reclaim(p, a0 + j * P)
        m.reclaim(p, a)
        return p.pte(a).raw, "P wrote page a; reclaim pushed it out to swap", m
    shared = rng.random() < 0.5
    if shared:
        p.fork()                               # both ptes read-only now
    mig = m.move_pages_path(p, [a], [1], MPOL_MF_MOVE_ALL)
    step_until(m, mig, lambda: p.pte(a).is_migration)
    return p.pte(a).raw, ("P wrote page a" + (" and forked" if shared else "") +
                          "; move_pages(P, [a], [1]) has just replaced its pte"), m


def synthetic(rng, era: str):
    """(raw pte, how it was made, None): swp_entry_to_pte(swp_entry(type, offset))."""
    t = rng.choice((0, 1, 2, 29, 30, 31, 30, 31))
    offset = rng.choice((rng.randint(1, 63), rng.randint(1, 1 << 20)))
    return swp_entry_to_pte(swp_entry(t, offset)), "a non-present pte found in a page table", None


def make(rng, era: str) -> Question:
    """A pte to decode in era."""
    if rng.random() < 0.03:
        raw, how, m = 0, "a slot of a page table that nothing ever used", None
    elif rng.random() < 0.55:
        raw, how, m = from_model(rng, era)
    else:
        raw, how, m = synthetic(rng, era)
    types = types_of(era)
    d = decode(raw, types)
    picture = pte_picture(raw, types).text
    setting = (f"Era {era}, x86-64 layout of the model ({how}).\n"
               f"pte = 0x{raw:016x}")
    ask = ("What is it?  Then give its fields: for a present page the pfn and the flags, "
           "for an entry its type and offset.")
    notes = [era_types_line(era)]
    pfn = d["pfn"] if d["kind"] == "present" else d["offset"] if d["kind"] == "migration" else None
    if m is not None and pfn is not None:
        notes.append("In the model, that page is " + page_line(m, pfn) + ".")
    details = "\n".join(notes + [picture])
    return Question(topic="pte", seed=0, index=0, era=era, setting=setting, ask=ask,
                    kind="choice", choices=CHOICES, answer=d["choice"],
                    summary=summary_of(d), details=details,
                    facts={"raw": raw, **d})
