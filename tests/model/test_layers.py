"""The shape of refmodel/: three layers, one direction, files a reader can take in.

    teaching     exercises grade grading/ overrides scenario scheduler_game practice/ steppers (learners)
    instruments  explore/ invariants check oracle snapshot render/ views     (look, check)
    façade       machine numa_calls                                          (calls in)
    kernel       page ... migrate mempolicy variants/ sched eras             (mirrors Linux)

Kernel-layer files import nothing above them; the module graph has no cycle; imports sit at
the top of each file but for a handful, each saying why; no file is over 600 lines.
"""

import ast
from pathlib import Path

from refmodel.overrides import KERNEL_MODULES

ROOT = Path(__file__).resolve().parents[2] / "refmodel"
KERNEL = set(KERNEL_MODULES) | {"sched", "eras", "variants"}
ABOVE_THE_KERNEL = {"explore", "render", "invariants", "check", "oracle", "snapshot", "views",
                    "machine", "numa_calls", "scenario", "scheduler_game", "exercises", "grade",
                    "practice", "overrides", "grading", "steppers"}
MAX_LINES = 600
MAX_LOCAL_IMPORTS = 6


def modules():
    """(dotted name inside refmodel, path, AST) of every module."""
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path, ast.parse(path.read_text())


def imported(name: str, node) -> list:
    """The refmodel modules an import statement in module name imports (dotted, no prefix)."""
    if isinstance(node, ast.Import):
        return [a.name[len("refmodel."):] for a in node.names if a.name.startswith("refmodel.")]
    if node.level == 0:
        if not (node.module or "").startswith("refmodel"):
            return []
        base = node.module[len("refmodel"):].lstrip(".")
    else:
        parts = name.split(".") if name else []
        pkg = parts if name and (ROOT / name.replace(".", "/")).is_dir() or not name else parts[:-1]
        pkg = pkg[:len(pkg) - (node.level - 1)] if node.level > 1 else pkg
        base = ".".join(pkg + ([node.module] if node.module else []))
    out = []
    for a in node.names:
        sub = f"{base}.{a.name}" if base else a.name
        out.append(sub if (ROOT / sub.replace(".", "/")).is_dir() or
                   (ROOT / (sub.replace(".", "/") + ".py")).exists() else base)
    return [m for m in out if m]


def layer_of(module: str) -> str:
    return module.split(".")[0]


def test_no_file_is_over_600_lines():
    long = [(p.relative_to(ROOT), n) for _, p, _ in modules()
            if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_the_kernel_layer_imports_nothing_above_it():
    for name, path, tree in modules():
        if layer_of(name) not in KERNEL:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                bad = [m for m in imported(name, node) if layer_of(m) in ABOVE_THE_KERNEL]
                assert not bad, f"{path.relative_to(ROOT)}:{node.lineno} imports {bad}"


def test_the_module_graph_has_no_cycle():
    """Top-level imports only (the few function-local ones are the documented exceptions)."""
    graph = {}
    for name, _, tree in modules():
        deps = set()
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps.update(m for m in imported(name, node) if m != name)
        graph[name] = deps
    state = {}

    def visit(m, stack):
        state[m] = "open"
        for d in graph.get(m, ()):
            if d not in graph:
                continue
            if state.get(d) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                visit(d, stack + [d])
        state[m] = "done"
    for m in graph:
        if m not in state:
            visit(m, [m])


def test_function_local_imports_are_few_and_say_why():
    local = []
    for name, path, tree in modules():
        lines = path.read_text().splitlines()
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and imported(name, node):
                    here = lines[node.lineno - 1]
                    above = lines[node.lineno - 3:node.lineno - 1]
                    assert "#" in here or any(ln.strip().startswith("#") or "#" in ln for ln in above), \
                        f"{path.relative_to(ROOT)}:{node.lineno}: a function-local import without a reason"
                    local.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert len(local) <= MAX_LOCAL_IMPORTS, local
