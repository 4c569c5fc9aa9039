"""The source map: every public function and class of the model's kernel layer, with the
kernel function it models and where that is defined, generated from the model itself.

A module belongs to the kernel layer when its docstring links its kernel file on elixir
(the house style's file header).  Its public names are looked up, after the aliases of
refmodel/data/source_map.json, in the verified line map refmodel/data/kernel_sources.json
(v2.6.18), then in source_map.json's own verified lines, its 2.6.17-only functions and its
model-only helpers (each with the reason it has no kernel twin).  A name found nowhere is
"unmapped": tests/test_source_map.py fails on it, so a new function cannot slip in unmapped.
"""

import importlib
import inspect
import json
import pkgutil
import re
from dataclasses import dataclass
from importlib import resources

ELIXIR = "https://elixir.bootlin.com/linux"
VERSION = re.compile(r"elixir\.bootlin\.com/linux/(v2\.6\.1[678])/")


@dataclass(frozen=True)
class Entry:
    """One row of the map."""
    module: str            # refmodel.migrate
    name: str              # unmap_and_move
    kernel: str            # the kernel's name for it ("struct page", "move_to_lru", ...)
    status: str            # "2.6.18", "2.6.17", "2.6.17 only", "model only", "unmapped"
    path: str = ""         # file in the kernel tree
    line: int = 0          # verified definition line in v2.6.18 (0: none)
    note: str = ""

    @property
    def ident(self) -> str:
        """The identifier elixir searches for: the name without "struct "."""
        return self.kernel.split()[-1]

    def link_2_6_18(self) -> str:
        """The definition in v2.6.18 (a line anchor), or "" when there is none to link."""
        if self.status == "2.6.18" and self.path:
            return f"{ELIXIR}/v2.6.18/source/{self.path}#L{self.line}"
        return ""

    def link_2_6_17(self) -> str:
        """An identifier search in v2.6.17 (no line numbers are verified for 2.6.17)."""
        if self.status == "model only":
            return ""
        return f"{ELIXIR}/v2.6.17/A/ident/{self.ident}"


def _json(name: str) -> dict:
    return json.loads(resources.files("refmodel").joinpath(f"data/{name}").read_text())


def kernel_layer_modules() -> list:
    """(module, elixir version) for every refmodel module whose docstring links elixir."""
    import refmodel
    out = []
    for info in pkgutil.walk_packages(refmodel.__path__, "refmodel."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        module = importlib.import_module(info.name)
        m = VERSION.search(module.__doc__ or "")
        if m:
            out.append((module, m.group(1)))
    return out


def public_names(module) -> list:
    """(name, object) of the functions and classes a module defines and does not hide."""
    names = getattr(module, "__all__", None)
    out = []
    for name, obj in vars(module).items():
        if name.startswith("_") or (names is not None and name not in names):
            continue
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and \
                getattr(obj, "__module__", None) == module.__name__:
            out.append((name, obj))
    return sorted(out)


def source_map() -> list:
    """Every kernel-layer public name as an Entry, sorted by module then name."""
    verified = _json("kernel_sources.json")["v2.6.18"]
    data = _json("source_map.json")
    aliases, lines = data["aliases"], data["lines"]
    only_17, model_only = data["v2.6.17_only"], data["model_only"]
    rows = []
    for module, version in kernel_layer_modules():
        for name, _ in public_names(module):
            kernel = aliases.get(name, name)
            where = verified.get(kernel) if isinstance(verified.get(kernel), dict) else None
            where = where or lines.get(kernel)
            if name in model_only:
                rows.append(Entry(module.__name__, name, name, "model only",
                                  note=model_only[name]))
            elif kernel in only_17:
                rows.append(Entry(module.__name__, name, kernel, "2.6.17 only",
                                  only_17[kernel]["path"], note=only_17[kernel]["note"]))
            elif version == "v2.6.17":
                rows.append(Entry(module.__name__, name, kernel, "2.6.17",
                                  note="the 2.6.17 version; see its module's file header"))
            elif where:
                rows.append(Entry(module.__name__, name, kernel, "2.6.18", where["path"],
                                  int(where["line"]), where.get("note", "")))
            else:
                rows.append(Entry(module.__name__, name, kernel, "unmapped"))
    return rows


def unmapped(rows=None) -> list:
    """The entries the map cannot place: each is a defect (add it to source_map.json)."""
    return [r for r in (source_map() if rows is None else rows) if r.status == "unmapped"]
