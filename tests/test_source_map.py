"""The source map appendix: every public function of the model's kernel layer is mapped to
a kernel definition (a verified 2.6.18 line), a 2.6.17-only function, or a model-only helper
with its reason -- none is silently skipped, and the data names nothing that does not exist.

The kernel layer is found the way the house style defines it: a module whose file header
links its kernel file on elixir.  So a new kernel-layer module or function is checked the
day it is added."""

import json
from pathlib import Path

from refmodel.render.sourcemap import kernel_layer_modules, public_names, source_map, unmapped

ROOT = Path(__file__).resolve().parents[1]
DATA = json.loads((ROOT / "refmodel" / "data" / "source_map.json").read_text())
VERIFIED = json.loads((ROOT / "refmodel" / "data" / "kernel_sources.json").read_text())["v2.6.18"]


def test_the_kernel_layer_is_found():
    names = {m.__name__ for m, _ in kernel_layer_modules()}
    # the files the model mirrors one for one (layout may change; these names should not)
    for expected in ("migrate", "rmap", "memory", "swapops"):
        assert any(n.endswith("." + expected) for n in names), (expected, sorted(names))
    assert not any(n.endswith((".explore", ".grade", ".machine")) for n in names)


def test_every_public_kernel_layer_name_is_mapped():
    rows = source_map()
    missing = unmapped(rows)
    assert not missing, ("public kernel-layer names with no kernel definition, no 2.6.17 "
                         "entry and no model-only reason in refmodel/data/source_map.json: "
                         + ", ".join(f"{r.module}.{r.name}" for r in missing))
    assert len(rows) == sum(len(public_names(m)) for m, _ in kernel_layer_modules())


def test_every_mapped_name_points_at_something():
    for r in source_map():
        if r.status == "2.6.18":
            assert r.path and r.line > 0, r
            assert r.link_2_6_18().endswith(f"/v2.6.18/source/{r.path}#L{r.line}")
            assert r.link_2_6_17().startswith("https://elixir.bootlin.com/linux/v2.6.17/A/ident/")
        elif r.status == "model only":
            assert r.note, r
            assert not r.link_2_6_18() and not r.link_2_6_17()
        else:
            assert r.status in ("2.6.17", "2.6.17 only"), r
            assert not r.link_2_6_18() and r.link_2_6_17()


def test_the_data_names_only_real_model_names():
    public = {name for m, _ in kernel_layer_modules() for name, _ in public_names(m)}
    stale = [n for n in list(DATA["model_only"]) + list(DATA["aliases"]) if n not in public]
    assert not stale, f"source_map.json lists names the model no longer has: {stale}"
    kernel_names = set(DATA["aliases"].values())
    for k in kernel_names:
        assert k in VERIFIED or k in DATA["lines"], f"alias target {k!r} has no verified line"


def test_extra_lines_do_not_contradict_the_verified_map():
    for name, where in DATA["lines"].items():
        if isinstance(VERIFIED.get(name), dict):
            assert VERIFIED[name]["path"] == where["path"] and VERIFIED[name]["line"] == where["line"]
        assert where["line"] > 0 and "/" in where["path"]


def test_the_check_can_fail(monkeypatch):
    """A public function nobody mapped makes the map report it."""
    import refmodel.rmap as rmap

    def brand_new_helper():
        """Not in any kernel."""
    brand_new_helper.__module__ = rmap.__name__
    monkeypatch.setattr(rmap, "brand_new_helper", brand_new_helper, raising=False)
    assert [r.name for r in unmapped()] == ["brand_new_helper"]
