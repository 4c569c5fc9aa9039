"""The explorer's invariants, checked in every state it reaches (and on every transition).

On top of check.kernel_problems (counts and mapcounts against the ptes, rmap reachability,
"a migration entry only for a locked page", swap_map, rss, anon_vma lifetime) they check what
only an observer of the running threads can know: who waits on what, what each process
should read (the shadow contents), and how the threads' schedules end.  Each problem is one
sentence in plain words; the explorer stops at the first state that has one.
"""

from collections import Counter

from .check import kernel_problems
from .migrate import rmap_anchor
from .mmap import mm_write_op
from .rmap import page_address_in_vma
from .oracle import expected
from .mm import VM_SHARED, VM_WRITE
from .page import PageLocked, page_mapcount
from .page_alloc import ZERO_PFN
from .pgtable import PAGE_SHIFT, PAGE_SIZE, is_swap_pte, pte_pfn, pte_present, pte_write
from .sched import DONE, chain, facts, innermost
from .swapops import is_migration_entry, pte_to_swp_entry, swp_offset


def _show(data: bytes, exp: bytes) -> str:
    i = next((i for i in range(PAGE_SIZE) if data[i] != exp[i]), 0)
    return f"{data[i:i + 4]!r} at +{i} where {exp[i:i + 4]!r} belongs"


# -- states --------------------------------------------------------------------------------

def migrating_pfns(paths) -> set:
    """Pages some unfinished migration is working on (its current page and its list)."""
    out = set()
    for p in paths:
        out |= thread_migrating(p)
    return out


def thread_migrating(p) -> set:
    """The pages one thread's migration is working on (its class's `migrates` locals)."""
    if p.pc == DONE:
        return set()
    out = set()
    for q in chain(p):
        if q.pc != DONE:
            for name in type(q).migrates:
                v = getattr(q, name)
                out.update((v,) if isinstance(v, int) else v)
    return out


def needs_kernel(p) -> bool:
    """Do this thread's facts depend on the kernel (it holds a page it sleeps on or copies
    from, or walks the rmap)?"""
    for q in chain(p):
        f = facts(q)
        if f.page or f.walk:
            return True
    return False


def thread_facts(k, p, name, where):
    """What one thread contributes to the state's invariants: (references it holds,
    pages it is migrating, problems of its own: 2. a sleeper holds a reference to the page
    it sleeps on; 3. no entry behind its remove walk).  One pass over the path and the
    sub-paths it drives."""
    if p.pc == DONE:
        return (), frozenset(), ()
    problems, migrating = [], set()
    for q in chain(p):
        if q.pc == DONE:
            continue
        f = facts(q)
        if f.page:
            pfn = getattr(q, f.page)
            if k.pages.get(pfn) is None:
                problems.append(f"{name} {f.doing} page {pfn}, which has been freed")
            elif q.held_refs().get(pfn, 0) < 1:
                problems.append(f"{name} {f.doing} page {pfn} without holding a "
                                f"reference to it: nothing stops it from being freed")
        if f.walk == "remove":
            problems += _orphans(k, q, name, where)
        for local in type(q).migrates:
            v = getattr(q, local)
            migrating.update((v,) if isinstance(v, int) else v)
    return tuple(p.held_refs().items()), frozenset(migrating), tuple(problems)


def end_problems(k) -> list:
    """7. When every thread has finished: no page locked, no mmap_sem held."""
    problems = []
    for pfn, page in k.pages.items():
        if PageLocked(page):
            problems.append(f"every thread has finished but page {pfn} is still locked")
    for mm_id, mm in k.mms.items():
        if mm.mmap_sem.readers or mm.mmap_sem.writer is not None:
            problems.append(f"every thread has finished but mm {mm_id}'s mmap_sem is held")
    return problems


def state_problems(k, paths, names, shadow: dict, pins, where) -> list:
    """Every invariant the state breaks, in plain words (empty if none).

    paths: the live threads (names: their names); shadow: expected contents; pins: pfn ->
    references held by drivers (get_user_pages); where(mm_id, vpn) names a page for people.
    (The explorer computes the same parts separately, so as to reuse them between states.)
    """
    facts = [thread_facts(k, p, n, where) for p, n in zip(paths, names)]
    return combine(k, facts, shadow, pins, where, all(p.pc == DONE for p in paths))


def combine(k, facts, shadow, pins, where, finished, memo=None, kern=None, shadow_t=None):
    """The state's problems from each thread's facts (memo: reuse per kernel capture)."""
    extra = dict(pins)
    running = frozenset()
    own = []
    for refs, mig, probs in facts:
        for pfn, n in refs:
            extra[pfn] = extra.get(pfn, 0) + n
        if mig:
            running = running | mig
        own.extend(probs)
    if memo is not None:
        key = (kern, tuple(sorted(extra.items())))
        kp = memo.get(key)
        if kp is None:
            kp = memo[key] = tuple(kernel_problems(k(), Counter(extra)))
        key = (kern, shadow_t, running)
        mp = memo.get(key)
        if mp is None:
            mp = memo[key] = tuple(memory_problems(k(), shadow, running, where))
        ep = ()
        if finished:
            key = (kern, "end")
            ep = memo.get(key)
            if ep is None:
                ep = memo[key] = tuple(end_problems(k()))
    else:
        kp = kernel_problems(k, Counter(extra))
        mp = memory_problems(k, shadow, running, where)
        ep = end_problems(k) if finished else ()
    return list(kp) + own + list(mp) + list(ep)


def memory_problems(k, shadow: dict, running: set, where) -> list:
    """What the page tables say against the shadow: 4. migration entries exist only while
    their migration runs; 5. every mapped page holds what its process last wrote (no lost
    write, no stale data) and no written page vanished; 6. a writable pte of a private
    mapping maps a page nobody else maps (COW), and only in a vma with VM_WRITE."""
    problems = []
    types = k.swp_types
    for mm_id, mm in k.mms.items():
        for vma in mm.mmap:
            shared = vma.vm_flags & VM_SHARED
            for vpn in vma.pages():
                pte = mm.pgtable.get(vpn, 0)
                if pte_present(pte):
                    pfn = pte_pfn(pte)
                    page = k.pages.get(pfn)
                    if page is None:
                        continue                          # kernel_problems names it
                    exp = expected(k, shadow, mm_id, vpn)
                    if page.data != exp:
                        problems.append(f"{where(mm_id, vpn)} maps page {pfn} holding "
                                        f"{_show(page.data, exp)} (a lost write or a leaked one)")
                    if pte_write(pte):
                        if not vma.vm_flags & VM_WRITE:
                            problems.append(f"{where(mm_id, vpn)} is writable in a vma without "
                                            f"VM_WRITE (mprotect's protection is lost)")
                        elif not shared and (pfn == ZERO_PFN or page_mapcount(page) != 1):
                            problems.append(f"{where(mm_id, vpn)} is writable while page {pfn} "
                                            f"is mapped {page_mapcount(page)} times: COW is "
                                            f"broken (a write shows in the other processes)")
                elif is_swap_pte(pte):
                    entry = pte_to_swp_entry(pte)
                    if is_migration_entry(entry, types):
                        pfn = swp_offset(entry)
                        if pfn not in running:
                            problems.append(f"{where(mm_id, vpn)} holds a migration entry for "
                                            f"page {pfn}, but no migration of page {pfn} is "
                                            f"running: the entry outlived its migration")
                        page = k.pages.get(pfn)
                        if page is not None:
                            exp = expected(k, shadow, mm_id, vpn)
                            if page.data != exp:
                                problems.append(f"{where(mm_id, vpn)}: the page its migration "
                                                f"entry names holds {_show(page.data, exp)}")
                elif not shared and ("p", mm_id, vpn) in shadow and vma.vm_file is None:
                    problems.append(f"{where(mm_id, vpn)} is empty although the process wrote "
                                    f"{shadow[('p', mm_id, vpn)][:4]!r}...: its data is gone")
    return problems


def walkers(paths, names, walk: str):
    """(name, path) for every migration in the middle of an rmap walk of this kind."""
    for p, name in zip(paths, names):
        for q in chain(p):
            if facts(q).walk == walk:
                yield name, q


def orphan_problems(k, paths, names, where) -> list:
    """A migration entry behind the remove walk (in a vma it already passed) will never be
    restored: Hugh Dickins' "the second walk must find every entry the first one made"."""
    return [msg for name, q in walkers(paths, names, "remove") for msg in _orphans(k, q, name, where)]


def _orphans(k, q, name, where) -> list:
    """orphan_problems for one path q in the middle of a remove walk."""
    out = []
    page = k.pages.get(q.restore_to)
    if page is None:
        return out
    try:
        anchor = rmap_anchor(k, page)
    except Exception:
        return out
    if anchor is None:
        return out
    for vma in anchor[2][:q.walk_i]:
        addr = page_address_in_vma(k, page, vma)
        if addr is None:
            continue
        pte = vma.vm_mm.pgtable.get(addr >> PAGE_SHIFT, 0)
        if is_swap_pte(pte) and is_migration_entry(pte_to_swp_entry(pte), k.swp_types) \
                and swp_offset(pte_to_swp_entry(pte)) == q.page:
            out.append(f"{where(vma.vm_mm.id, addr >> PAGE_SHIFT)} holds a migration entry "
                       f"for page {q.page} in a vma {name}'s remove walk has already "
                       f"passed: nothing will restore it (an orphaned entry)")
    return out


def deadlock_problem(paths, names) -> str:
    """Every unfinished thread sleeps and nothing can wake it."""
    who = ", ".join(f"{n} at {step_name(p)}" for p, n in zip(paths, names) if p.pc != DONE)
    return f"deadlock: every unfinished thread sleeps ({who}) and none can wake another"


def kernel_class(p, pc: str | None = None) -> str:
    """The kernel path's own name (a mutant or a finer subclass shows as its kernel path);
    with pc, the kernel class that defines that step (migrate_pages' per-page steps are
    unmap_and_move's)."""
    for c in type(p).__mro__:
        if c.__module__ in ("refmodel.explore.mutants", "refmodel.explore.finer"):
            continue
        if pc is None or pc in c.__dict__:
            return c.__name__
    return type(p).__name__


def step_name(p) -> str:
    """The kernel function a path runs next (a sub-path's step for syscalls that drive one):
    'do_page_fault', 'unmap_and_move.try_to_unmap_one', 'dup_mmap.copy_page_range',
    'do_munmap'."""
    q = innermost(p)
    name = kernel_class(q)
    if name == "user_access" or q.pc == DONE:
        return q.pc
    if isinstance(q, mm_write_op):
        op = getattr(q.op, "__name__", "op")
        return op if q.pc == "work" else f"{op}.{q.pc}"
    return f"{kernel_class(q, q.pc)}.{q.pc}"
