"""The grader's side of a learner's function: handles, requests, and the stub the model calls.

Teaching layer.  The model and its state live here only.  When the model calls a function
the learner wrote, it calls a stub (plugged in through refmodel.overrides) that sends
{"call": name, "args": [...]} to the learner's side and serves that side's requests until
it answers.  A request names a handle (a kernel object the learner was handed during this
call) and an operation the exercise's API allows (spec.py); anything else -- an unknown
operation, handle, attribute or helper, a value of the wrong type -- is answered with an
error that is raised in the learner's code, naming what is not allowed.  The learner's
side never reports an outcome: whatever it does, the grader's own state is the result.

Peers carry the messages: LocalPeer runs the learner's side in this process (check() in a
notebook; every message still goes through JSON, as it would through a pipe); the pipe peer
of a jailed process is in sandbox.py.  Nothing here imports process-management modules, so
that check() also runs in the browser (Pyodide).
"""

import json
import re
import traceback

from ..sched import BLOCKED
from .spec import INT_BOUND, U64

MAX_STR = 10_000
MAX_ITEMS = 10_000
MAX_DEPTH = 16


# -- what can go wrong, and whose fault it is ----------------------------------------------------

class LearnerError(Exception):
    """The learner's function raised: re-raised in the model under the learner's type name,
    so that the case records it as the step's result."""

    def __init__(self, type_name: str, msg: str, where: str | None = None, trace=None):
        super().__init__(msg)
        self.type_name, self.msg, self.where = type_name, msg, where
        self.trace = list(trace or [])


class LearnerGone(BaseException):
    """The learner's side cannot go on (it ran out of time, died, or broke the protocol).
    A BaseException, so that no `except Exception` in the model swallows it: it ends the case."""

    def __init__(self, reason: str, process_dead: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.process_dead = process_dead


class LearnerTimeout(LearnerGone):
    """A call did not return within its time limit."""


class GraderBug(BaseException):
    """The grader or its data is wrong (not the learner): reported as a grader error."""


class RequestError(Exception):
    """A request the API does not allow: raised in the learner's code as exc_type."""

    def __init__(self, exc_type: str, msg: str):
        super().__init__(msg)
        self.exc_type = exc_type


class ProtocolError(Exception):
    """A message that is not this protocol."""


# -- paths never leave the grader ------------------------------------------------------------------

_PATH = re.compile(r"(?<![\w.])/(?:[\w.+@~-]+/)+[\w.+@~-]*")


def scrub(text: str) -> str:
    """text with every absolute path of this machine replaced by <path>."""
    return _PATH.sub("<path>", text)


def model_where(exc: BaseException) -> str | None:
    """The innermost function of the model that an exception came from (for a BUG: where
    the kernel oopsed), or None."""
    where = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        if frame.f_globals.get("__name__", "").startswith("refmodel.") and \
                not frame.f_globals["__name__"].startswith("refmodel.grading"):
            where = frame.f_code.co_name
    return where


# -- handles ---------------------------------------------------------------------------------------

class Ref:
    """A kernel object named by a learner's request: the object and its kind."""

    __slots__ = ("obj", "kind")

    def __init__(self, obj, kind):
        self.obj, self.kind = obj, kind


class HandleTable:
    """Handles of the kernel objects the learner has been handed during one top-level call.
    Numbers are never reused, so a handle kept from an earlier call names nothing."""

    def __init__(self):
        self.next = 1
        self.by_id: dict = {}          # id(obj) -> handle
        self.objects: dict = {}        # handle -> Ref

    def handle(self, obj, kind: str) -> int:
        h = self.by_id.get(id(obj))
        if h is not None and self.objects[h].kind == kind:
            return h
        h, self.next = self.next, self.next + 1
        self.by_id[id(obj)] = h
        self.objects[h] = Ref(obj, kind)
        return h

    def clear(self) -> None:
        self.by_id.clear()
        self.objects.clear()


def _type_words(t: str) -> str:
    base = t.rstrip("?")
    words = {"int": "an int", "u64": "an unsigned 64-bit int", "bool": "a bool",
             "none": "None", "str": "a str"}.get(base, f"a {base}")
    return words + (" or None" if t.endswith("?") else "")


def _value_words(v) -> str:
    if isinstance(v, Ref):
        return f"a {v.kind}"
    if v is None:
        return "None"
    return f"a {type(v).__name__}"


def encode_constant(api, value):
    """A constant's JSON form (ints as they are, value types tagged)."""
    for name, spec in api.values.items():
        if isinstance(value, spec["cls"]):
            return {"V": name, "f": list(value)}
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    raise GraderBug(f"constant {value!r} cannot be sent")


# -- the server -------------------------------------------------------------------------------------

def _has(obj, key) -> bool:
    """Is key an entry of a dict-like kind?  A list kind (swap_info[]) is indexed by
    position: 0 <= key < len, never a negative index."""
    if isinstance(obj, list):
        return isinstance(key, int) and 0 <= key < len(obj)
    return key in obj


class Server:
    """Serves the learner's requests against the model, and calls the learner's functions
    for the model (through a peer)."""

    def __init__(self, api, peer=None):
        self.api = api
        self.peer = peer
        self.table = HandleTable()
        self.depth = 0                  # calls into the learner in progress
        self.requests = 0               # served, for the record

    # -- values -----------------------------------------------------------------------------
    def enc(self, v, t: str):
        """A value of the model, of declared type t, in its JSON form for the learner."""
        base = t.rstrip("?")
        if base == "none":
            return None
        if v is None:
            if t.endswith("?"):
                return None
            raise GraderBug(f"the model gave None where the API says {t}")
        if base in ("int", "u64"):
            if not isinstance(v, int):
                raise GraderBug(f"the model gave {type(v).__name__} where the API says {t}")
            return v if isinstance(v, bool) else int(v)
        if base == "bool":
            return bool(v)
        if base in ("str", "step"):
            return str(v)
        if base in self.api.values:
            spec = self.api.values[base]
            if not isinstance(v, spec["cls"]):
                raise GraderBug(f"the model gave {type(v).__name__} where the API says {t}")
            return {"V": base, "f": [self.enc(x, ft) for x, (_, ft) in zip(v, spec["fields"])]}
        if base in self.api.kinds:
            cls = self.api.kinds[base]["cls"]
            if not isinstance(v, cls):
                raise GraderBug(f"the model gave {type(v).__name__} where the API says {base}")
            return {"H": self.table.handle(v, base), "K": base}
        raise GraderBug(f"unknown type {t!r}")

    def dec(self, v, depth: int = 0):
        """A value from the learner: primitives, tagged values, handles (as Refs)."""
        if depth > MAX_DEPTH:
            raise RequestError("ValueError", "a value nested too deeply")
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, int):
            if not -INT_BOUND < v < INT_BOUND:
                raise RequestError("OverflowError", "an int too big for the kernel (over 128 bits)")
            return v
        if isinstance(v, float):
            return v
        if isinstance(v, str):
            if len(v) > MAX_STR:
                raise RequestError("ValueError", "a string too long for the kernel")
            return v
        if isinstance(v, list):
            if len(v) > MAX_ITEMS:
                raise RequestError("ValueError", "a list too long for the kernel")
            return [self.dec(x, depth + 1) for x in v]
        if isinstance(v, dict):
            if set(v) == {"H"}:
                ref = self.table.objects.get(v["H"]) if isinstance(v["H"], int) else None
                if ref is None:
                    raise RequestError("ReferenceError", "no such kernel object now: kernel objects "
                                       "are valid only during the call that received them")
                return ref
            if set(v) == {"T"} and isinstance(v["T"], list):
                return tuple(self.dec(x, depth + 1) for x in v["T"][:MAX_ITEMS])
            if set(v) == {"B"} and isinstance(v["B"], str) and len(v["B"]) <= 2 * MAX_STR:
                try:
                    return bytes.fromhex(v["B"])
                except ValueError:
                    raise ProtocolError("bad bytes") from None
            if set(v) == {"V", "f"}:
                spec = self.api.values.get(v["V"]) if isinstance(v["V"], str) else None
                if spec is None or not isinstance(v["f"], list) or len(v["f"]) != len(spec["fields"]):
                    raise RequestError("TypeError", f"not a value type of this exercise: {str(v['V'])[:40]!r}")
                fields = [self.check(self.dec(x, depth + 1), ft, f"{v['V']}.{fname}")
                          for x, (fname, ft) in zip(v["f"], spec["fields"])]
                return spec["cls"](*fields)
        raise ProtocolError(f"not a value: {str(v)[:60]}")

    def check(self, v, t: str, what: str):
        """v (decoded) as the model takes it, if it is of type t; else a TypeError for the learner."""
        base = t.rstrip("?")
        if v is None and (t.endswith("?") or base == "none"):
            return None
        ok = False
        if base == "none":
            return None
        if base == "int":
            ok = isinstance(v, int)
        elif base == "u64":
            ok = isinstance(v, int) and 0 <= v < U64
            if ok is False and isinstance(v, int):
                raise RequestError("ValueError", f"{what} must be {_type_words(t)} (0 <= x < 2**64), not {v}")
        elif base == "bool":
            ok = isinstance(v, int)
        elif base in ("str", "step"):
            ok = isinstance(v, str)
        elif base in self.api.values:
            ok = isinstance(v, self.api.values[base]["cls"])
        elif base in self.api.kinds:
            if isinstance(v, Ref) and v.kind == base:
                return v.obj
        if not ok:
            raise RequestError("TypeError", f"{what} must be {_type_words(t)}, not {_value_words(v)}")
        return v

    # -- the learner's requests --------------------------------------------------------------
    def handle(self, msg) -> dict:
        """One request -> its reply.  Model exceptions go back to be raised in the learner's
        code; LearnerGone and GraderBug go up."""
        self.requests += 1
        try:
            if not isinstance(msg, dict):
                raise ProtocolError("a request that is not an object")
            return {"value": self._serve(msg)}
        except RequestError as e:
            return {"error": {"type": e.exc_type, "msg": str(e), "args": [str(e)]}}
        except ProtocolError:
            raise
        except Exception as e:               # the model raised (a BUG, a KeyError ...)
            return {"error": self.model_error(e)}

    def model_error(self, e: Exception) -> dict:
        if isinstance(e, LearnerError):       # a nested call of the learner's raised: pass it on
            return {"type": e.type_name, "msg": e.msg, "args": [e.msg], "where": e.where}
        args = []
        for a in e.args:
            if isinstance(a, (int, bool, str)) or a is None:
                args.append(scrub(a) if isinstance(a, str) else a)
            else:
                args = [scrub(str(e))]
                break
        return {"type": type(e).__name__, "msg": scrub(str(e))[:2000], "args": args,
                "where": model_where(e)}

    def _ref(self, msg) -> Ref:
        ref = self.dec({"H": msg.get("h")}) if isinstance(msg.get("h"), int) else None
        if ref is None:
            raise RequestError("TypeError", "a request without a kernel object")
        return ref

    def _name(self, msg) -> str:
        name = msg.get("name")
        if not isinstance(name, str) or len(name) > 100:
            raise RequestError("TypeError", "an attribute name must be a short str")
        return name

    def _serve(self, msg):
        op = msg.get("op")
        if op == "call":
            return self._call_helper(msg)
        if op in ("getattr", "setattr"):
            ref, name = self._ref(msg), self._name(msg)
            spec = self.api.kinds[ref.kind]
            readable = spec.get("read", {})
            if name not in readable:
                raise RequestError("AttributeError", f"a {ref.kind} has no attribute {name!r} here"
                                   + (f" (it has {', '.join(sorted(readable))})" if readable else ""))
            if op == "getattr":
                return self.enc(getattr(ref.obj, name), readable[name])
            if name not in spec.get("write", ()):
                raise RequestError("AttributeError", f"{ref.kind}.{name} is read-only in this exercise")
            value = self.check(self.dec(msg.get("value")), readable[name], f"{ref.kind}.{name}")
            if readable[name] == "step":
                check_step_name(ref.obj, value)
            setattr(ref.obj, name, value)
            return None
        if op in ("getitem", "setitem", "delitem", "contains", "method"):
            ref = self._ref(msg)
            methods = self.api.kinds[ref.kind].get("methods", {})
            if op == "method" and msg.get("name") in methods:
                return self._call_method(ref, msg, methods[msg["name"]])
            mapping = self.api.kinds[ref.kind].get("mapping")
            if mapping is None:
                raise RequestError("TypeError", f"a {ref.kind} cannot be indexed")
            if op == "method":
                if msg.get("name") != "get" or not isinstance(msg.get("args"), list) or len(msg["args"]) != 2:
                    raise RequestError("AttributeError", f"a {ref.kind} has one method here: get(key, default=None)")
                key = self.check(self.dec(msg["args"][0]), mapping["key"], f"{ref.kind} key")
                default = self.dec(msg["args"][1])
                if isinstance(default, Ref):
                    raise RequestError("TypeError", "the default of get() must be a plain value")
                if _has(ref.obj, key):
                    return self.enc(ref.obj[key], mapping["value"])
                return self.plain(default)
            key = self.check(self.dec(msg.get("key")), mapping["key"], f"{ref.kind} key")
            if op == "contains":
                return _has(ref.obj, key)
            if op == "getitem":
                if not _has(ref.obj, key):
                    raise KeyError(key)
                return self.enc(ref.obj[key], mapping["value"])
            if not mapping.get("write"):
                raise RequestError("TypeError", f"a {ref.kind} is read-only in this exercise")
            if op == "delitem":
                if isinstance(ref.obj, list) or not _has(ref.obj, key):
                    raise KeyError(key)
                del ref.obj[key]
                return None
            ref.obj[key] = self.check(self.dec(msg.get("value")), mapping["value"], f"a {ref.kind} entry")
            return None
        raise RequestError("TypeError", f"the grader does not know the request {str(op)[:40]!r}")

    def _call_method(self, ref, msg, sig):
        """A kernel path's method the exercise lets the learner call (self._return(k))."""
        name, args = msg["name"], msg.get("args")
        if not isinstance(args, list):
            raise ProtocolError("bad call")
        values = self.bind(f"{ref.kind}.{name}", sig["params"], [self.dec(a) for a in args], {})
        return self.enc(getattr(ref.obj, name)(*values), sig["returns"])

    def plain(self, v):
        """A plain decoded value back to JSON."""
        if isinstance(v, tuple):
            return {"T": [self.plain(x) for x in v]}
        if isinstance(v, list):
            return [self.plain(x) for x in v]
        if isinstance(v, bytes):
            return {"B": v.hex()}
        for name, spec in self.api.values.items():
            if isinstance(v, spec["cls"]):
                return {"V": name, "f": [self.plain(x) for x in v]}
        return v

    def _call_helper(self, msg):
        name = msg.get("fn")
        if not isinstance(name, str) or name not in self.api.helpers:
            shown = str(name)[:60]
            raise RequestError("NameError", f"{shown!r} is not a kernel function this exercise lets you call")
        sig = self.api.signatures[name]
        args = msg.get("args", [])
        kw = msg.get("kw", {}) or {}
        if not isinstance(args, list) or not isinstance(kw, dict):
            raise ProtocolError("bad call")
        values = self.bind(name, sig["params"], [self.dec(a) for a in args],
                           {str(k): self.dec(v) for k, v in kw.items()})
        module, _ = self.api.helpers[name]
        result = getattr(module, name)(*values)          # the model's (or a stub, if plugged in)
        return self.enc(result, sig["returns"])

    def bind(self, name, params, args, kw) -> list:
        """The arguments of a call, checked against the parameters; trailing optional ones
        that were not given are left out (the model's default applies)."""
        if len(args) > len(params):
            raise RequestError("TypeError", f"{name}() takes {len(params)} arguments, "
                               f"{len(args)} given")
        given = dict(zip([p[0] for p in params], args))
        for k, v in kw.items():
            if k not in [p[0] for p in params]:
                raise RequestError("TypeError", f"{name}() has no parameter {k[:40]!r}")
            if k in given:
                raise RequestError("TypeError", f"{name}() got {k!r} twice")
            given[k] = v
        out = []
        for i, p in enumerate(params):
            pname, ptype = p[0], p[1]
            if pname not in given:
                if len(p) > 2 and all(len(q) > 2 for q in params[i:]) and \
                        not any(q[0] in given for q in params[i:]):
                    break
                raise RequestError("TypeError", f"{name}() is missing its argument {pname!r}")
            out.append(self.check(given[pname], ptype, f"{name}(): {pname}"))
        return out

    # -- calling the learner -------------------------------------------------------------------
    def call_learner(self, name: str, args: tuple, kwargs: dict):
        """What the stub of the learner's function does: send the call, serve requests until
        the answer, return its value (checked against the function's return type)."""
        sig = self.api.signatures[name]
        params = sig["params"]
        bound = list(args)
        for p in params[len(args):]:
            if p[0] in kwargs:
                bound.append(kwargs.pop(p[0]))
            else:
                break                          # the learner's own default applies
        if kwargs:
            raise GraderBug(f"the model called {name} with unexpected arguments {sorted(kwargs)}")
        top = self.depth == 0
        if top:
            self.table.clear()
        self.depth += 1
        try:
            msg = {"call": name, "args": [self.enc(a, p[1]) for a, p in zip(bound, params)]}
            reply = self.peer.call(msg, self, top)
            return self.answer(name, sig, reply)          # handles in it are still valid here
        finally:
            self.depth -= 1
            if top:
                self.table.clear()

    def answer(self, name, sig, reply):
        """The value the learner's call returned, or its exception raised here."""
        if not isinstance(reply, dict):
            raise LearnerGone("the submission's process answered with something that is not the "
                              "grader's protocol")
        if "return" in reply:
            try:
                value = self.dec(reply["return"])
            except RequestError as e:
                raise LearnerError(e.exc_type, f"{name} returned something the kernel cannot "
                                   f"take: {e}", name) from None
            except ProtocolError as e:
                raise LearnerError("TypeError", f"{name} returned something the kernel cannot "
                                   f"take: {e}", name) from None
            if isinstance(value, Ref):
                value = value.obj if sig["returns"].rstrip("?") == value.kind else value
            return self.returned(name, value, sig["returns"])
        if "raise" in reply and isinstance(reply["raise"], dict):
            r = reply["raise"]
            type_name = str(r.get("type", "Exception"))[:60]
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", type_name):
                type_name = "Exception"
            trace = [scrub(str(t))[:200] for t in r.get("trace", [])][:12] \
                if isinstance(r.get("trace"), list) else []
            if r.get("stopped"):
                raise LearnerTimeout(self.peer.timeout_reason(name, trace), process_dead=False)
            where = r.get("where") if isinstance(r.get("where"), str) else name
            raise LearnerError(type_name, scrub(str(r.get("msg", "")))[:2000], where[:60], trace)
        raise LearnerGone("the submission's process answered with something that is not the "
                          "grader's protocol")

    def returned(self, name, value, t):
        base = t.rstrip("?")
        if base == "none":
            return None
        if value is None and t.endswith("?"):
            return None
        if base == "step":                  # a step returns None, or BLOCKED: it must sleep
            if value is None or value == BLOCKED:
                return None if value is None else BLOCKED
            raise LearnerError("TypeError", f"{name} returned {_value_words(value)}: a step "
                               f"returns None (it ran; self.pc names the next step) or "
                               f"BLOCKED (it must sleep, and changed nothing)", name)
        if base in ("int", "u64", "bool"):
            if not isinstance(value, int) or isinstance(value, Ref):
                raise LearnerError("TypeError", f"{name} returned {_value_words(value)}, "
                                   f"but must return {_type_words(t)}", name)
            return bool(value) if base == "bool" else value
        if base in self.api.kinds and not isinstance(value, self.api.kinds[base]["cls"]):
            raise LearnerError("TypeError", f"{name} returned {_value_words(value)}, "
                               f"but must return {_type_words(t)}", name)
        return value

    def stub(self, name: str):
        """The function the model calls in place of its own `name`."""
        server = self

        def stub(*args, **kwargs):
            return server.call_learner(name, args, dict(kwargs))
        stub.__name__ = stub.__qualname__ = name
        stub.__doc__ = f"the learner's {name}, run on their side"
        return stub


def check_step_name(path, pc) -> None:
    """A RequestError unless pc names a declared step (@step) of path's class."""
    if hasattr(getattr(type(path), pc, None), "step_facts"):
        return
    raise RequestError("ValueError", f"{pc[:40]!r} is not a step of this kernel path: "
                       f"self.pc names the step it runs next")


# -- in this process: check() in a notebook ----------------------------------------------------------

def _json(msg):
    """A message as it would arrive through a pipe (catches what JSON cannot carry)."""
    return json.loads(json.dumps(msg))


class LocalPeer:
    """The learner's side in this process: a runtime.Runtime whose link is a LocalLink."""

    def __init__(self, runtime):
        self.rt = runtime

    def call(self, msg, server, top):
        self.rt.link.server = server
        return _json(self.rt.call(_json(msg)))

    def timeout_reason(self, name, trace):
        return f"{name} was stopped"


class LocalLink:
    """The runtime's link to a server in this process."""

    def __init__(self, api):
        self.api = api
        self.server = None

    def request(self, msg):
        server = self.server
        if server is None:                    # outside check(): pure helpers still work
            server = self.server = Server(self.api)
        try:
            return _json(server.handle(_json(msg)))
        except ProtocolError as e:
            return {"error": {"type": "TypeError", "msg": str(e), "args": [str(e)]}}
