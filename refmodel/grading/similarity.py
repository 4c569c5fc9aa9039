"""Is a learner's function the model's own code, pasted?  Compared on the syntax tree.

Teaching layer, for the instructor only (never in a learner's feedback).  The model's
source holds every answer; a learner who pasted it into the notebook must still edit out
what only the model can use (k.cfg, k.stat, k.trace_event, page._count), so both sides are
normalised before they are compared: docstrings dropped, the model's era decision points
evaluated for 2.6.18 and pruned, its bookkeeping calls dropped, `x._count += 1` read as
get_page(x), and local names renamed in order of appearance.  Equal trees are flagged, with
the similarity of the rest shown for information.  Small functions (ex1's one-liners) have
one right answer, so they are never flagged.
"""

import ast
import difflib
import inspect
import textwrap

from ..eras import get_era
from .spec import model_function

MIN_NODES = 60               # smaller functions have one obvious right answer: not flagged
BOOKKEEPING = {"stat", "trace_event"}


class _Normalise(ast.NodeTransformer):
    def __init__(self, era):
        self.era = era
        self.names = {}

    def canon(self, name):
        if name not in self.names:
            self.names[name] = f"v{len(self.names)}"
        return self.names[name]

    def visit_FunctionDef(self, node):
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]
        for a in node.args.args:
            a.arg = self.canon(a.arg)
            a.annotation = None
        node.returns = None
        node.decorator_list = []
        node.name = "f"
        node.args.defaults = []
        node.body = self.block(body)
        return node

    def block(self, stmts):
        out = []
        for s in stmts:
            r = self.visit(s)
            if r is None:
                continue
            out.extend(r if isinstance(r, list) else [r])
        return out or [ast.Pass()]

    def visit_Expr(self, node):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
                call.func.attr in BOOKKEEPING:
            return None
        if isinstance(call, ast.Constant):
            return None
        return self.generic_visit(node)

    def visit_AugAssign(self, node):
        t = node.target
        if isinstance(t, ast.Attribute) and t.attr == "_count" and isinstance(node.op, ast.Add):
            return ast.Expr(ast.Call(ast.Name("get_page", ast.Load()), [self.visit(t.value)], []))
        return self.generic_visit(node)

    def cfg_value(self, node):
        """The era's value if node is k.cfg.<field>, else a marker."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
                node.value.attr == "cfg":
            return getattr(self.era, node.attr, _NO)
        return _NO

    def fold(self, node):
        """node with k.cfg tests evaluated: True, False or the remaining expression."""
        v = self.cfg_value(node)
        if v is not _NO:
            return bool(v)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.comparators[0], ast.Constant):
            v = self.cfg_value(node.left)
            if v is not _NO:
                c = node.comparators[0].value
                if isinstance(node.ops[0], ast.Eq):
                    return v == c
                if isinstance(node.ops[0], ast.NotEq):
                    return v != c
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.fold(node.operand)
            return (not inner) if isinstance(inner, bool) else ast.UnaryOp(ast.Not(), inner)
        if isinstance(node, ast.BoolOp):
            rest = []
            for v in node.values:
                f = self.fold(v)
                if isinstance(f, bool):
                    if isinstance(node.op, ast.And) and not f:
                        return False
                    if isinstance(node.op, ast.Or) and f:
                        return True
                    continue
                rest.append(f)
            if not rest:
                return isinstance(node.op, ast.And)
            return rest[0] if len(rest) == 1 else ast.BoolOp(node.op, rest)
        return node

    def visit_If(self, node):
        test = self.fold(node.test)
        if test is True:
            return self.block(node.body)
        if test is False:
            return self.block(node.orelse) if node.orelse else None
        node.test = self.visit(test)
        node.body = self.block(node.body)
        node.orelse = self.block(node.orelse) if node.orelse else []
        return node

    def visit_Name(self, node):
        if node.id in self.names or isinstance(node.ctx, ast.Store):
            node.id = self.canon(node.id)
        return node


_NO = object()


def normalise(source: str, name: str, era: str = "2.6.18") -> ast.AST | None:
    """The normalised tree of function `name` in source (None if it is not there, or the
    source is too big to be a pasted kernel function)."""
    if len(source) > 100_000:
        return None
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    fn = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if fn is None:
        return None
    return _Normalise(get_era(era)).visit(fn)


def reference_tree(name: str):
    return normalise(inspect.getsource(model_function(name)), name)


def compare_to_reference(cells: list, name: str) -> dict | None:
    """{"identical": bool, "similarity": 0..1} for the learner's `name` against the model's
    own, or None if either cannot be read or the function is too small to tell."""
    ref = reference_tree(name)
    mine = None
    for _, source in cells:
        t = normalise(source, name)
        if t is not None:
            mine = t                                  # the last definition wins, as in Python
    if ref is None or mine is None:
        return None
    if sum(1 for _ in ast.walk(ref)) < MIN_NODES:
        return None
    a, b = ast.dump(ref), ast.dump(mine)
    if a == b:
        return {"identical": True, "similarity": 1.0}
    if len(b) > 3 * len(a):                 # nothing like it (and difflib is quadratic)
        return {"identical": False, "similarity": 0.0}
    return {"identical": False,
            "similarity": round(difflib.SequenceMatcher(None, a, b, autojunk=False).ratio(), 3)}
