"""An exercise's API, from data: what the learner's function may touch, and how it travels.

Teaching layer.  refmodel/data/kernel_api.json describes the kinds of kernel object a
learner's function can be handed (with the attributes it may read and write), the kernel
functions it may call (with their parameter types), constants and value types; each
exercise in exercises.json picks from it (`"api"`).  ExerciseAPI resolves those names to
the model's objects (for the grader's server) and writes the spec that the learner's side
(runtime.py) builds its stand-ins from -- names, types and docs only, never model code.
"""

import inspect
import json
from functools import lru_cache
from importlib import import_module
from pathlib import Path

from ..overrides import kernel_function

DATA = Path(__file__).resolve().parents[1] / "data"
INT_BOUND = 1 << 128          # |int| a learner may pass or return (wider than any pte)
U64 = 1 << 64


class SpecError(ValueError):
    """The exercise data names something the API catalogue does not have (an author's error)."""


@lru_cache(maxsize=None)
def catalogue() -> dict:
    """kernel_api.json."""
    return json.loads((DATA / "kernel_api.json").read_text(encoding="utf-8"))


def _resolve(dotted: str):
    module, _, name = dotted.partition(":")
    return getattr(import_module(module), name)


class ExerciseAPI:
    """One exercise's API, resolved: kinds, value types, constants, helpers, the learner's
    functions (their signatures), as the server uses them."""

    def __init__(self, exercise_id: str, exercise: dict):
        cat = catalogue()
        api = exercise.get("api", {})
        self.id = exercise_id
        self.functions = list(exercise["functions"])
        self.signatures = {}
        for name in self.functions + list(api.get("helpers", [])):
            if name not in cat["functions"]:
                raise SpecError(f"{exercise_id}: kernel_api.json has no function {name!r}")
            self.signatures[name] = cat["functions"][name]
        overlap = set(self.functions) & set(api.get("helpers", []))
        if overlap:
            raise SpecError(f"{exercise_id}: {sorted(overlap)} would be both the learner's and a helper")
        self.helpers = {}
        for name in api.get("helpers", []):
            module, original = kernel_function(name)
            self.helpers[name] = (module, original)
        self.kinds = {}
        for kind in api.get("kinds", []):
            spec = cat["kinds"].get(kind)
            if spec is None:
                raise SpecError(f"{exercise_id}: no kind {kind!r}")
            self.kinds[kind] = dict(spec, cls=_resolve(spec["class"]))
        for kind, spec in self.kinds.items():
            # An attribute whose kind this exercise does not give is not there at all (the
            # kernel's swap_info[] exists only for the exercises that list its kind).
            if "read" in spec:
                spec["read"] = {a: t for a, t in spec["read"].items() if self._given(t)}
                spec["write"] = [a for a in spec.get("write", []) if a in spec["read"]]
        self.values = {}
        for name in api.get("values", []):
            spec = cat["values"][name]
            self.values[name] = dict(spec, cls=_resolve(spec["class"]))
        self.constants = {}
        for name in api.get("constants", []):
            module = cat["constants"].get(name)
            if module is None:
                raise SpecError(f"{exercise_id}: no constant {name!r}")
            self.constants[name] = getattr(import_module(f"refmodel.{module}"), name)
        self.local = {name: cat["local"][name] for name in api.get("local", [])}
        for kind, spec in self.kinds.items():          # every type named must be known
            for t in list(spec.get("read", {}).values()) + \
                    [spec.get("mapping", {}).get(x) for x in ("key", "value")]:
                if t is not None:
                    self.check_type_name(t)
        for name, sig in [*self.signatures.items(), *[
                (m, ms) for spec in self.kinds.values() for m, ms in spec.get("methods", {}).items()]]:
            for p in sig["params"]:
                self.check_type_name(p[1])
            self.check_type_name(sig["returns"])

    def _given(self, t: str) -> bool:
        base = t.rstrip("?")
        return base in self.kinds or base not in catalogue()["kinds"]

    def check_type_name(self, t: str) -> None:
        base = t.rstrip("?")
        if base not in ("int", "u64", "bool", "none", "str", "step") and base not in self.values \
                and base not in self.kinds:
            raise SpecError(f"{self.id}: type {t!r} is neither a primitive, a value type nor a kind "
                            f"of this exercise")

    def learner_spec(self) -> dict:
        """What the learner's side is told: JSON, names and docs only."""
        from .server import encode_constant      # (server imports this file: a cycle)
        kinds = {}
        for kind, spec in self.kinds.items():
            out = {"doc": spec.get("doc", kind)}
            if "read" in spec:
                out["read"] = dict(spec["read"])
                out["write"] = list(spec.get("write", []))
            if "mapping" in spec:
                out["mapping"] = dict(spec["mapping"])
            if "methods" in spec:                     # a kernel path's methods it may call
                out["methods"] = {m: ms.get("doc", m) for m, ms in spec["methods"].items()}
            kinds[kind] = out
        helpers = {}
        for name, (module, fn) in self.helpers.items():
            doc = (inspect.getdoc(fn) or "").split("\n")[0]
            helpers[name] = {"params": [p[0] for p in self.signatures[name]["params"]], "doc": doc}
        return {
            "exercise": self.id,
            "kinds": kinds,
            "values": {name: [f[0] for f in spec["fields"]] for name, spec in self.values.items()},
            "constants": {name: encode_constant(self, v) for name, v in self.constants.items()},
            "helpers": helpers,
            "local": sorted(self.local),
            "functions": list(self.functions),
        }


def override_name(name: str) -> str:
    """"user_access.migration_entry_wait" for a function kernel_api.json marks method_of
    user_access; any other name as it is."""
    owner = catalogue()["functions"].get(name, {}).get("method_of")
    return f"{owner}.{name}" if owner else name


def model_function(name: str):
    """The model's own version of the kernel function (or path method) a learner writes."""
    return kernel_function(override_name(name))[1]


@lru_cache(maxsize=None)
def exercise_api(exercise_id: str) -> ExerciseAPI:
    """The API of one exercise of refmodel/data/exercises.json."""
    from ..exercises import exercises            # (exercises imports this file: a cycle)
    return ExerciseAPI(exercise_id, exercises()[exercise_id])
