"""Topic "move": which step of a migration stops a page, and with which errno.

2.6.18, rfc-v1 and v2-yield: one page is prepared (never touched, read, written, pinned by
get_user_pages, mlocked, shared by fork, already on the target node, or an address outside
any mapping), then move_pages(2) asks for it -- sometimes together with an ordinary page --
and the question is its status.  do_move_pages sets -EFAULT, -ENOENT or -EACCES before it
isolates anything; migrate_pages' passes give -EAGAIN (count check) or -EPERM (VM_LOCKED
before 2.6.18).  2.6.17 has no move_pages: there the question is what migrate_pages(2)
returns and where the page ends up.  The step that stopped the page is read off the call's
own counters (Machine.last_call): passes, count-check failures, entries written.
"""

from .. import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL
from . import Question
from ..mm import VM_LOCKED
from ..mmap import STACK_TOP
from .common import ANON, ENOENT, ERRNO_NAMES, PG_reserved, RW, P, machine

CHOICES = ("the target node: the page moved",
           "the node it is on: it was already there",
           "-EFAULT", "-ENOENT", "-EACCES", "-EAGAIN", "-EPERM", "-ENOMEM",
           "no status: the system call itself fails")

CASES = ("moved", "untouched", "zero", "below", "above", "there", "shared", "shared_all",
         "pinned", "mlocked", "mlocked")
CASES_2_6_17 = ("moved", "noswap", "mlocked", "pinned", "shared", "zero")

SETUP_TEXT = {
    "moved": "P writes x",
    "untouched": "P never touches x",
    "zero": "P reads x (its first touch)",
    "below": "x = a0 - 2 pages: below the mapping, where nothing is mapped",
    "above": "x = STACK_TOP (the end of user space): above every mapping, the stack too",
    "there": "P writes x",
    "shared": "P writes x; C = P.fork()",
    "shared_all": "P writes x; C = P.fork()",
    "pinned": "P writes x; a driver pins it: get_user_pages(P, x)",
    "mlocked": "P writes x; mlock(x, 1 page)",
    "noswap": "P writes x",
}


def prepare(m, p, a, case: str) -> int:
    """Make the case's page x (addresses a0.. of a 2-page mapping); returns x."""
    x = {"below": a - 2 * P, "above": STACK_TOP}.get(case, a)
    if case in ("moved", "there", "shared", "shared_all", "pinned", "mlocked", "noswap"):
        p.write(x, b"x")
    if case == "zero":
        p.read(x, 1)
    if case in ("shared", "shared_all"):
        p.fork()
    if case == "pinned":
        m.get_user_pages(p, x)
    if case == "mlocked":
        p.mlock(x, P)
    return x


def counter_line(d) -> str:
    """The call's cost, from Machine.last_call."""
    keys = ("migrate_passes", "migrate_count_mismatch", "migration_entries_set",
            "migrate_add_to_swap", "pgmigrate_success", "pgmigrate_fail")
    shown = [f"{k} {d[k]}" for k in keys if d.get(k)]
    return "counters of the call: " + (", ".join(shown) if shown
                                       else "none moved (nothing was isolated)")


def not_isolated(m, p, x, node: int) -> str:
    """Why do_move_pages (or 2.6.17's check_range) passed over x, read off the views."""
    vma = next(((s, e, f) for s, e, f in p.vmas() if e > x), None)
    if vma is None:
        return "find_vma found no mapping at or above x" + tag(m, "EFAULT")
    view = p.pte(x)
    if not view.present:
        return (("find_vma returned the mapping above x (it does not check vm_start) and "
                 if x < vma[0] else "") + "follow_page found no page: the pte is empty"
                + tag(m, "ENOENT"))
    page = m.page(view.pfn)
    if page.flags >> PG_reserved & 1:
        return "follow_page found the ZERO_PAGE, which is never migrated" + tag(m, "ENOENT")
    if page.node == node:
        return f"the page is on node {node} already: not isolated, its status is that node"
    if vma[2] & VM_LOCKED and m.era.migration == "swapcache":
        return "the vma is VM_LOCKED, and check_range skips such vmas (vma_migratable)"
    if page.mapcount > 1:
        return (f"the page is mapped {page.mapcount} times and the call has no "
                "MPOL_MF_MOVE_ALL" + (" (P lacks CAP_SYS_NICE)" if m.era.migration == "swapcache"
                                      else "") + ": it is left alone" + tag(m, "EACCES"))
    return "it was isolated"


def tag(m, name: str) -> str:
    """": -EFOO" where the call reports a status (move_pages), nothing for 2.6.17."""
    return "" if m.era.migration == "swapcache" else f": -{name}"


def why(m, p, x, status: int, mark: int) -> str:
    """Where migration stopped x, from its status, the call's counters and its trace."""
    d = m.last_call
    name = ERRNO_NAMES[-status] if status < 0 else None
    if name in ("EFAULT", "ENOENT", "EACCES") or status == 0:
        return "do_move_pages: " + not_isolated(m, p, x, status if status >= 0 else 1)
    if name == "EAGAIN":
        entries = sum(1 for ev in m.trace[mark:] if ev.name == "set_migration_pte" and ev.addr == x)
        where = (f"after try_to_unmap: {entries} time(s) a migration entry was written at x "
                 "and the pte put back" if entries else
                 "before try_to_unmap, so no entry was ever written at x")
        return (f"isolated, then the reference-count check failed in every pass "
                f"({d.get('migrate_count_mismatch', 0)} failures in {d.get('migrate_passes', 0)} "
                f"passes), {where}: someone else holds a reference")
    if name == "EPERM":
        return ("isolated and locked, then try_to_unmap refused: the vma is VM_LOCKED and this "
                "kernel does not migrate mlocked pages (not retried)")
    return f"migrate_pages gave -{name}" if name else ""


def make_move_pages(rng, era: str, case: str) -> Question:
    """move_pages(2) on x (and perhaps on an ordinary page y), then: x's status?"""
    m = machine(era)
    cap = case == "shared_all" or (case != "shared" and rng.random() < 0.5)
    p = m.spawn(node=0, cap_sys_nice=cap)
    a = p.mmap(None, 2 * P, RW, ANON)
    x = prepare(m, p, a, case)
    node = 0 if case == "there" else 1
    flags = MPOL_MF_MOVE_ALL if case == "shared_all" else MPOL_MF_MOVE
    with_y = x != a + P and rng.random() < 0.5
    addrs, nodes, names = [x], [node], ["x"]
    if with_y:
        p.write(a + P, b"y")
        addrs.append(a + P)
        nodes.append(1)
        names.append("y")
        if rng.random() < 0.5:
            addrs.reverse(), nodes.reverse(), names.reverse()
    pfn_before = p.pte(x).pfn if p.pte(x).present else None
    mark = len(m.trace)
    lines = [f"P = spawn(node 0{', CAP_SYS_NICE' if cap else ''}); a0 = P.mmap(2 pages, "
             "read-write, private anonymous)", SETUP_TEXT[case]]
    if with_y:
        lines.append("y = a0 + 1 page; P writes y")
    flag_name = "MPOL_MF_MOVE_ALL" if flags == MPOL_MF_MOVE_ALL else "MPOL_MF_MOVE"
    lines.append(f"move_pages(P, [{', '.join(names)}], {nodes}, {flag_name})")
    try:
        st = m.move_pages(p, addrs, nodes, flags)
        status = st[names.index("x")]
        result = f"returns {st.ret}; status = {list(st)} for [{', '.join(names)}]"
        moved = pfn_before is not None and p.pte(x).present and p.pte(x).pfn != pfn_before
        answer = (0 if moved else 1) if status >= 0 else CHOICES.index(f"-{ERRNO_NAMES[-status]}")
        stopped = "" if answer == 0 else "x: " + why(m, p, x, status, mark)
    except OSError as e:
        status, st = None, None
        result = f"fails: -1, errno {ERRNO_NAMES.get(e.errno, e.errno)}"
        answer = len(CHOICES) - 1
        stopped = str(e)
        if e.errno == ENOENT:
            stopped = ("No page could be isolated, and then sys_move_pages reports no status "
                       "at all.  As for x: " + not_isolated(m, p, x, node))
    d = m.last_call
    details = "\n".join([f"move_pages {result}.", counter_line(d)]
                        + ([stopped + "."] if stopped else [])
                        + [f"afterwards x is on node {p.page(x).node}" if p.page(x) else
                           "afterwards nothing is mapped at x"])
    setting = f"Era {era}, a two-node machine.\n" + "\n".join(f"  {line}" for line in lines)
    return Question(topic="move", seed=0, index=0, era=era, setting=setting,
                    ask="What does move_pages report for x?", kind="choice", choices=CHOICES,
                    answer=answer,
                    summary=CHOICES[answer] + ("" if status is None else f" (status {status})"),
                    details=details,
                    facts={"case": case, "status": status, "answer": answer,
                           "statuses": list(st) if st is not None else None,
                           "ret": st.ret if st is not None else None,
                           "counters": dict(d), "node_after": p.page(x).node if p.page(x) else None})


def make_2_6_17(rng, case: str) -> Question:
    """2.6.17: migrate_pages(P, {0}, {1}); what does it return, where is x afterwards?"""
    m = machine("2.6.17", swap_pages=0 if case == "noswap" else 16)
    cap = case != "shared"
    p = m.spawn(node=0, cap_sys_nice=cap)
    a = p.mmap(None, 2 * P, RW, ANON)
    x = prepare(m, p, a, {"noswap": "moved", "shared": "shared"}.get(case, case))
    ret = m.migrate_pages(p, {0}, {1})
    node = p.page(x).node
    d = m.last_call
    lines = [f"P = spawn(node 0{', CAP_SYS_NICE' if cap else ''}); "
             f"{'no swap area' if case == 'noswap' else 'a 16-page swap area'}; "
             "a0 = P.mmap(2 pages, read-write, private anonymous); x = a0",
             SETUP_TEXT.get(case, "P writes x"),
             "migrate_pages(P, {0}, {1})"]
    if not d:
        how = ("nothing was isolated: " +
               ("there is no swap area, so 2.6.17's migrate_prep() fails with -ENODEV, "
                "check_range stops before it isolates anything, and migrate_to_node does not "
                "pass the error on (the model's reading of 2.6.17: refmodel/mempolicy.py)"
                if case == "noswap" else
                "check_range passed over x: " + not_isolated(m, p, x, 1)))
    elif d.get("migrate_count_mismatch"):
        how = (f"x was put in the swap cache (a swap slot: {d.get('swap_slots_taken', 0)} taken), "
               f"then its reference-count check failed in each of {d.get('migrate_passes', 0)} passes")
    else:
        how = (f"x went through the swap cache (swap slots taken: {d.get('swap_slots_taken', 0)}) "
               f"and moved in {d.get('migrate_passes', 0)} pass(es)")
    details = "\n".join([f"migrate_pages returns {ret} (pages not migrated); x is on node {node}.",
                         counter_line(d), how + "."])
    setting = "Era 2.6.17, a two-node machine.\n" + "\n".join(f"  {line}" for line in lines)
    return Question(topic="move", seed=0, index=0, era="2.6.17", setting=setting,
                    ask=("2.6.17 has no move_pages.  What does migrate_pages(2) return, and on "
                         "which node is x's page afterwards?"),
                    kind="numbers", hint="return value, node", answer=(ret, node),
                    summary=f"returns {ret}; x is on node {node}", details=details,
                    facts={"case": case, "ret": ret, "node_after": node, "counters": dict(d)})


def make(rng, era: str) -> Question:
    """A case for era, then the question."""
    if era == "2.6.17":
        return make_2_6_17(rng, rng.choice(CASES_2_6_17))
    return make_move_pages(rng, era, rng.choice(CASES))
