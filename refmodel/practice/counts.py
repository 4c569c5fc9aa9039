"""Topic "counts": a page's count and mapcount, and every pte, after a short seeded program.

The program is built and run at the same time on the model: first touches (a read maps the
ZERO_PAGE, a write a new page), fork (both ptes write-protected), later writes (COW copy or
reuse), and a migration either run to the end by move_pages(2) or started by the kernel
itself (Machine.kernel_migrate_path: no system call, no mmap_sem) and stopped once every
pte of the page is a migration entry -- after which fork may copy those entries, and the
migration may finish.
The answer is what the views show afterwards (Process.pte, Machine.page) and the
references that no pte accounts for, each named by who holds it.
"""

from .. import MPOL_MF_MOVE_ALL
from . import Question
from .common import (ANON, PG_reserved, RW, P, entry_pfn, machine, page_line, pte_line,
                     step_until, types_of)

STATE_CHOICES = ("none (pte_none)",
                 "present, writable",
                 "present, read-only",
                 "a migration entry, READ",
                 "a migration entry, WRITE",
                 "a migration entry of the RFC's single type")


def pte_state(view, types) -> int:
    """The index in STATE_CHOICES of what a pte view holds (types: the era's SwapTypes)."""
    if view.none:
        return 0
    if view.present:
        return 1 if view.writable else 2
    if view.is_migration:
        if view.is_write_migration:
            return 4
        return 3 if types.migration_write is not None else 5
    raise ValueError(f"unexpected pte {view!r}")      # swap entries: no swap in this topic


class Run:
    """The program so far: a machine, processes by name, the steps as data and as text."""

    def __init__(self, era: str, npages: int):
        self.m = machine(era)
        self.types = types_of(era)
        self.procs = {"P": self.m.spawn(node=0, cap_sys_nice=True)}
        self.npages = npages
        self.a = self.procs["P"].mmap(None, npages * P, RW, ANON)
        self.ops = [("mmap", npages)]
        pages = f"pages a0..a{npages - 1}" if npages > 1 else "page a0"
        self.lines = [f"P = spawn(node 0, CAP_SYS_NICE); P maps {npages} private anonymous "
                      f"{pages}, read-write"]
        self.mig = None                     # a migration stopped half way

    def addr(self, i: int) -> int:
        return self.a + i * P

    def apply(self, op) -> None:
        """Run one step of the program on the model and record it."""
        verb = op[0]
        if verb == "touch":
            _, who, i, how = op
            proc = self.procs[who]
            if how == "write":
                proc.write(self.addr(i), who.encode())
            else:
                proc.read(self.addr(i), 1)
            self.lines.append(f"{who} {how}s a{i}")
        elif verb == "fork":
            self.procs["C"] = self.procs["P"].fork()
            self.lines.append("C = P.fork()")
        elif verb == "move_pages":
            _, i = op
            st = self.m.move_pages(self.procs["P"], [self.addr(i)], [1], MPOL_MF_MOVE_ALL)
            self.lines.append(f"move_pages(P, [a{i}], [1], MPOL_MF_MOVE_ALL) -> status {list(st)}")
        elif verb == "migrate_entries":
            _, i = op
            pfn = self.procs["P"].pte(self.addr(i)).pfn
            self.mig = self.m.kernel_migrate_path([pfn], 1)
            step_until(self.m, self.mig, lambda: self.m.page(pfn).mapcount == 0)
            self.lines.append(f"the kernel starts migrating P's page at a{i} (pfn {pfn}) to node 1 "
                              "by itself (no system call, so no mmap_sem held) and is stopped "
                              "once no pte maps it any more")
        elif verb == "migrate_finish":
            self.m.finish(self.mig)
            self.mig = None
            self.lines.append("that migration runs to its end")
        else:
            raise ValueError(f"unknown step {op!r}")
        self.ops.append(op)

    def migratable(self, i: int) -> bool:
        """Does P's pte for page i map a page migration can take (on an LRU list)?"""
        view = self.procs["P"].pte(self.addr(i))
        return view.present and self.m.page(view.pfn).lru


def program(rng, era: str) -> Run:
    """Choose and run a short program: touches, maybe fork and accesses, maybe a migration."""
    run = Run(era, rng.choice((1, 2)))
    for i in range(run.npages):
        how = rng.choice(("write", "write", "read") + (("skip",) if i else ()))
        if how != "skip":
            run.apply(("touch", "P", i, how))
    if rng.random() < 0.65:
        run.apply(("fork",))
    for _ in range(rng.choice((0, 1, 1, 2))):
        who = rng.choice(sorted(run.procs))
        run.apply(("touch", who, rng.randrange(run.npages), rng.choice(("write", "write", "read"))))
    pages = [i for i in range(run.npages) if run.migratable(i)]
    if pages and rng.random() < 0.6:
        i = rng.choice(pages)
        if rng.random() < 0.4:
            run.apply(("move_pages", i))
        else:
            run.apply(("migrate_entries", i))
            if "C" not in run.procs and rng.random() < 0.5:
                run.apply(("fork",))
            if rng.random() < 0.35:
                run.apply(("migrate_finish",))
    return run


def extra_refs(run: Run, pfn: int) -> list:
    """(who, n) for each reference on pfn that no pte accounts for, and what is left over."""
    v = run.m.page(pfn)
    out = []
    if v.flags >> PG_reserved & 1:
        out.append(("the ZERO_PAGE's own permanent reference", 1))
    if run.mig is not None and pfn in run.mig.held_refs():
        out.append(("the migration's isolation reference (the page is on its list)",
                    run.mig.held_refs()[pfn]))
    rest = v.count - v.mapcount - sum(n for _, n in out)
    if rest:
        out.append(("unexplained", rest))
    return out


def pte_table(run: Run) -> str:
    """Every process's pte for every page, one row a process."""
    width = 34
    head = "     " + "".join(f"a{i}".ljust(width) for i in range(run.npages))
    rows = [head.rstrip()]
    for who, proc in run.procs.items():
        rows.append(f"  {who}  " + "".join(pte_line(proc.pte(run.addr(i)), run.types).ljust(width)
                                         for i in range(run.npages)).rstrip())
    return "\n".join(rows)


def make(rng, era: str) -> Question:
    """Run a program, then ask about one pte or one page."""
    run = program(rng, era)
    targets = [(who, i) for who in run.procs for i in range(run.npages)
               if entry_pfn(run.procs[who].pte(run.addr(i))) is not None]
    migrated = [op[1] for op in run.ops if op[0] in ("move_pages", "migrate_entries")]
    if migrated and rng.random() < 0.75:          # mostly ask about the page that moved
        targets = [t for t in targets if t[1] == migrated[0]] or targets
    who, i = rng.choice(targets)
    view = run.procs[who].pte(run.addr(i))
    pfn = entry_pfn(view)
    page = run.m.page(pfn)
    pfns = sorted({entry_pfn(pr.pte(run.addr(j))) for pr in run.procs.values()
                   for j in range(run.npages)} - {None} | ({pfn} if run.mig else set()))
    extras = extra_refs(run, pfn)
    extra_text = "; ".join(f"{n} = {what}" for what, n in extras) or "none"
    details = "\n".join(
        ["ptes afterwards (Process.pte):", pte_table(run), "pages (Machine.page):"]
        + [f"  {page_line(run.m, f)}" for f in pfns]
        + [f"pfn {pfn}: count {page.count} = mapcount {page.mapcount} (one per present pte) "
           f"+ references no pte accounts for: {extra_text}."])
    setting = f"Era {era}, a two-node machine.\n" + "\n".join(f"  {line}" for line in run.lines)
    what = "maps" if view.present else "names"
    facts = {"ops": tuple(run.ops), "who": who, "page": i, "pfn": pfn, "count": page.count,
             "mapcount": page.mapcount, "state": pte_state(view, run.types),
             "ptes": {w: tuple(pr.pte(run.addr(j)).raw for j in range(run.npages))
                      for w, pr in run.procs.items()},
             "extras": extras, "migrating": run.mig is not None}
    if rng.random() < 0.6:
        return Question(
            topic="counts", seed=0, index=0, era=era, setting=setting,
            ask=(f"What are the count and the mapcount of the page that {who}'s pte for a{i} "
                 f"{'maps' if view.present else 'names (it is a migration entry)'}?"),
            kind="numbers", hint="count/mapcount", answer=(page.count, page.mapcount),
            summary=(f"count {page.count}, mapcount {page.mapcount} "
                     f"(pfn {pfn}, which {who}'s pte {what})"),
            details=details, facts=facts)
    state = pte_state(view, run.types)
    return Question(
        topic="counts", seed=0, index=0, era=era, setting=setting,
        ask=f"What does {who}'s pte for a{i} hold now?",
        kind="choice", choices=STATE_CHOICES, answer=state,
        summary=f"{STATE_CHOICES[state]}: {pte_line(view, run.types)}", details=details,
        facts=facts)
