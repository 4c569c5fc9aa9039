"""The era table (refmodel/eras.py): presets written with keywords, each decision read by
exactly the one function its field names, and needs_swap wired to migrate_prep.

    field --read_by--> one kernel function      (an AST scan of every refmodel file)
    ERAS[...] = Era(name=..., ...)               (no positional values)
"""

import ast
from dataclasses import fields, replace
from pathlib import Path

import pytest

from refmodel import ERAS, MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Machine
from refmodel import eras, explore
from refmodel.eras import DECISIONS, Era
from refmodel.migrate import migrate_prep

ROOT = Path(__file__).resolve().parents[2] / "refmodel"


def reads_of_the_table() -> dict:
    """field -> {qualified name of each function that reads k.cfg.<field> or cfg.<field>}."""
    out: dict = {}
    for path in ROOT.rglob("*.py"):
        module = "refmodel." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text())

        def visit(node, scope):
            for child in ast.iter_child_nodes(node):
                inner = scope
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    inner = scope + [child.name]
                if isinstance(child, ast.Attribute) and child.attr in DECISIONS:
                    v = child.value
                    if (isinstance(v, ast.Attribute) and v.attr == "cfg") or \
                            (isinstance(v, ast.Name) and v.id == "cfg"):
                        out.setdefault(child.attr, set()).add(".".join([module] + scope))
                visit(child, inner)
        visit(tree, [])
    return out


def test_every_decision_is_read_once_where_its_field_says():
    reads = reads_of_the_table()
    for f in fields(Era):
        if f.name not in DECISIONS:
            continue
        assert reads.get(f.name) == {f.metadata["read_by"]}, \
            f"{f.name}: read in {sorted(reads.get(f.name, ()))}, its field says {f.metadata['read_by']}"


def test_every_field_is_a_documented_decision_or_names_the_era():
    for f in fields(Era):
        assert f.metadata.get("doc"), f"{f.name} says nothing about itself"
        assert f.name in DECISIONS or f.name in ("name", "description")
    assert all(f"    {name}:" in Era.__doc__ for name in DECISIONS)


def test_presets_are_written_with_keywords():
    tree = ast.parse((ROOT / "eras.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "Era"]
    assert len(calls) == len(ERAS)
    assert all(not c.args for c in calls), "an Era(...) preset passes values by position"


def one_page(era, **decisions):
    m = Machine(era=era, nodes=2, pages_per_node=64, **decisions)
    p = m.spawn(node=0, cap_sys_nice=True)
    a = p.mmap(None, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"x")
    return m, p, a


def test_needs_swap_is_migrate_preps_decision():
    """   2.6.17, no swap: migrate_prep -ENODEV, migrate_pages(2) moves nothing, tries nothing;
          the same kernel without the check tries (and fails: add_to_swap has no slot)   """
    m, p, a = one_page("2.6.17")
    assert migrate_prep(m.k) == -19
    assert m.migrate_pages(p, {0}, {1}) == 0 and not m.last_call and p.page(a).node == 0
    m2, p2, a2 = one_page("2.6.17", needs_swap=False)
    assert migrate_prep(m2.k) == 0
    m2.migrate_pages(p2, {0}, {1})
    assert m2.last_call["migrate_passes"] >= 1 and p2.page(a2).node == 0
    m3, p3, a3 = one_page("2.6.18")
    assert migrate_prep(m3.k) == 0 and m3.migrate_pages(p3, {0}, {1}) == 0
    assert p3.page(a3).node == 1


def test_a_new_era_is_one_preset(monkeypatch):
    """CONTRIBUTING.md's recipe, end to end: a preset with keywords, then the façade and the
    explorer run it.  Here: 2.6.18 with 3.3's rss fix, so fork and munmap count entries."""
    preset = replace(ERAS["2.6.18"], name="2.6.18+rss", description="2.6.18 with 3.3's rss fix",
                     rss_fix_3_3=True)
    monkeypatch.setitem(eras.ERAS, "2.6.18+rss", preset)
    m, p, a = one_page("2.6.18+rss")
    assert m.era.rss_fix_3_3 and m.migrate_pages(p, {0}, {1}) == 0
    m.check()
    r = explore("munmap", era="2.6.18+rss")
    assert r.era == "2.6.18+rss" and r.exhaustive and r.violations == []


def test_an_unknown_era_or_decision_is_refused():
    with pytest.raises(ValueError, match="unknown era"):
        Machine(era="2.6.19")
    with pytest.raises(TypeError):
        Machine(era="2.6.18", rss_fix_4_4=True)
