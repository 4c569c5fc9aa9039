"""The learner's side of grading: the exercise's API as stand-ins, the learner's cells, calls.

Teaching layer, and deliberately outside the model: this file imports the standard library
only and holds no kernel code.  While grading, it is the only program of the learner's
process (`python -I -S runtime.py IN_FD OUT_FD`, in a jail: see sandbox.py); in a notebook,
`refmodel.exercises.api()` loads it in-process, so that `check()` runs the learner's
functions on exactly the same stand-ins as the grader does.

What the learner's code sees is built from the spec the grader sends (spec.py): constants
(plain values), value types (SwapTypes), helpers (each call a request to the grader, which
runs the model's function there) and kernel objects (proxies: every attribute read or write
and item access is a request; the grader holds the real objects and checks each request
against the exercise's API).  The protocol (one JSON message per line, symmetric and
re-entrant: while one side waits for its answer it serves what the other asks, as when a
grader's helper calls the learner's swp_entry) is PROTOCOL in "The protocol" in docs/exercises.md.
"""

import builtins
import collections
import io
import json
import os
import signal
import sys
import traceback

MAX_LINE = 1 << 20            # bytes in one message, either way
MAX_OUTPUT = 16_000           # characters of printed output kept per call
MAX_DEPTH = 16                # nesting of lists/tuples in a value
CELL_PREFIX = "cell "         # code objects of the learner's cells are named "cell 3"

BUILTIN_EXCEPTIONS = {name: cls for name, cls in vars(builtins).items()
                      if isinstance(cls, type) and issubclass(cls, BaseException)}


class TimeLimit(BaseException):
    """Raised in the learner's code when the grader stops a call that ran out of time
    (a BaseException, so that `except Exception` in the learner's code does not swallow it)."""


class StaleObject(ReferenceError):
    """A kernel object kept from an earlier call (they are valid during their call only)."""


class ProtocolError(Exception):
    """The other side sent something that is not this protocol."""


# -- values on the wire ----------------------------------------------------------------------

class Codec:
    """Values to and from their JSON form: primitives as they are, tuples, bytes and the
    exercise's value types tagged, kernel objects as handles."""

    def __init__(self, runtime):
        self.rt = runtime

    def enc(self, v, depth=0):
        if depth > MAX_DEPTH:
            raise ValueError("a value nested too deeply to pass to the kernel")
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                raise ValueError("nan and infinity cannot be passed to the kernel")
            return v
        if isinstance(v, KernelObject):
            return {"H": object.__getattribute__(v, "_handle")()}
        vt = self.rt.value_type_of(v)
        if vt is not None:
            return {"V": vt, "f": [self.enc(x, depth + 1) for x in v]}
        if isinstance(v, tuple):
            return {"T": [self.enc(x, depth + 1) for x in v]}
        if isinstance(v, list):
            return [self.enc(x, depth + 1) for x in v]
        if isinstance(v, (bytes, bytearray)):
            return {"B": bytes(v).hex()}
        raise TypeError(f"a {type(v).__name__} cannot be passed to the kernel "
                        f"(ints, bools, None, strings, bytes, tuples and lists of them, "
                        f"and the kernel objects you were given can)")

    def dec(self, v, depth=0):
        if depth > MAX_DEPTH:
            raise ProtocolError("a value nested too deeply")
        if v is None or isinstance(v, (bool, int, str, float)):
            return v
        if isinstance(v, list):
            return [self.dec(x, depth + 1) for x in v]
        if isinstance(v, dict) and len(v) == 1 and "T" in v and isinstance(v["T"], list):
            return tuple(self.dec(x, depth + 1) for x in v["T"])
        if isinstance(v, dict) and len(v) == 1 and isinstance(v.get("B"), str):
            return bytes.fromhex(v["B"])
        if isinstance(v, dict) and set(v) == {"H", "K"}:
            return self.rt.proxy(v["H"], v["K"])
        if isinstance(v, dict) and set(v) == {"V", "f"}:
            cls = self.rt.value_types.get(v["V"])
            if cls is None or not isinstance(v["f"], list):
                raise ProtocolError(f"unknown value type {v['V']!r}")
            return cls(*[self.dec(x, depth + 1) for x in v["f"]])
        raise ProtocolError(f"not a value: {str(v)[:80]}")


# -- kernel objects ---------------------------------------------------------------------------

class KernelObject:
    """Base of the stand-ins for kernel objects (a vma, an mm, a page, a page table ...).
    Each method is a request to the grader, which holds the real object."""

    __slots__ = ("_h", "_epoch", "_rt")

    def __init__(self, h, epoch, rt):
        object.__setattr__(self, "_h", h)
        object.__setattr__(self, "_epoch", epoch)
        object.__setattr__(self, "_rt", rt)

    def _handle(self):
        rt = object.__getattribute__(self, "_rt")
        if object.__getattribute__(self, "_epoch") != rt.epoch:
            raise StaleObject(f"this {type(self).__name__} came from an earlier call: kernel "
                              f"objects are valid only during the call that received them "
                              f"(keep the values you need, not the objects)")
        return object.__getattribute__(self, "_h")

    def __repr__(self):
        return f"<{type(self).__name__} #{object.__getattribute__(self, '_h')}>"

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return object.__getattribute__(self, "_h")

    def __reduce__(self, *memo):
        raise TypeError("kernel objects cannot be copied or pickled")
    __copy__ = __deepcopy__ = __reduce__


def _kind_class(rt, kind, spec):
    """A KernelObject subclass for one kind: a property per readable attribute (a setter
    where writable), item access where the kind is a mapping, and its methods."""
    ns = {"__slots__": (), "__doc__": spec.get("doc", kind)}
    readable = spec.get("read", {})
    writable = set(spec.get("write", ()))

    def prop(name):
        def get(self):
            return rt.ask({"op": "getattr", "h": self._handle(), "name": name})

        def put(self, value):
            if name not in writable:
                raise AttributeError(f"{kind}.{name} is read-only in this exercise")
            rt.ask({"op": "setattr", "h": self._handle(), "name": name,
                    "value": rt.codec.enc(value)})
        return property(get, put, None, f"{kind}.{name}")

    for name in readable:
        ns[name] = prop(name)

    def setattr_(self, name, value):
        if name in readable:                  # the property: a request, or read-only
            return object.__setattr__(self, name, value)
        raise AttributeError(f"{kind} has no attribute {name!r} you may set"
                             + (f" (settable: {', '.join(sorted(writable))})" if writable else ""))

    def delattr_(self, name):
        raise AttributeError(f"the attributes of a {kind} cannot be deleted")
    ns.update(__setattr__=setattr_, __delattr__=delattr_)

    def method(name, doc):                   # a kernel path's method: self._return(k)
        def call(self, *args):
            return rt.ask({"op": "method", "h": self._handle(), "name": name,
                           "args": [rt.codec.enc(a) for a in args]})
        call.__name__, call.__doc__ = name, doc
        return call
    ns.update({name: method(name, doc) for name, doc in spec.get("methods", {}).items()})

    mapping = spec.get("mapping")
    if mapping:
        def getitem(self, key):
            return rt.ask({"op": "getitem", "h": self._handle(), "key": rt.codec.enc(key)})

        def contains(self, key):
            return rt.ask({"op": "contains", "h": self._handle(), "key": rt.codec.enc(key)})
        get = method("get", "get(key, default=None)")
        ns.update(__getitem__=getitem, __contains__=contains,
                  get=lambda self, key, default=None: get(self, key, default))
        if mapping.get("write"):
            def setitem(self, key, value):
                rt.ask({"op": "setitem", "h": self._handle(), "key": rt.codec.enc(key),
                        "value": rt.codec.enc(value)})

            def delitem(self, key):
                rt.ask({"op": "delitem", "h": self._handle(), "key": rt.codec.enc(key)})
            ns.update(__setitem__=setitem, __delitem__=delitem)

        def no_iter(self):
            raise TypeError(f"a {kind} cannot be iterated here: look entries up by key")
        ns["__iter__"] = no_iter
    return type(kind, (KernelObject,), ns)


# -- output ----------------------------------------------------------------------------------

class Output(io.TextIOBase):
    """print() of the learner's code: kept (up to MAX_OUTPUT characters per call) and sent
    back with the call's answer."""

    def __init__(self):
        self.parts, self.size, self.cut = [], 0, False

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str")
        room = MAX_OUTPUT - self.size
        if len(s) > room:
            s, self.cut = s[:max(room, 0)], True
        if s:
            self.parts.append(s)
            self.size += len(s)
        return len(s)

    def take(self):
        out = "".join(self.parts) + ("\n[... output cut]" if self.cut else "")
        self.parts, self.size, self.cut = [], 0, False
        return out


# -- the runtime -------------------------------------------------------------------------------

class Runtime:
    """The exercise's namespace and the learner's functions, on one link to the grader."""

    def __init__(self, spec, link):
        self.spec, self.link = spec, link
        self.codec = Codec(self)
        self.epoch = 0                       # bumped at the end of every top-level call
        self.depth = 0                       # calls into the learner's code in progress
        self.proxies = {}                    # handle -> proxy, for this epoch
        self.in_learner = False              # the learner's code is running (not ours)
        self.stop_pending = False
        self.output = None                   # an Output while grading; None in a notebook
        self._exception_classes = {}
        self.value_types = {}
        for name, fields in spec.get("values", {}).items():
            self.value_types[name] = collections.namedtuple(name, fields)
        self.kinds = {kind: _kind_class(self, kind, ks) for kind, ks in spec.get("kinds", {}).items()}
        self.namespace = self.build_namespace()
        self.functions = {}
        # exceptions that are not the learner's to report (in a notebook: the grader's own
        # errors and the learner's Ctrl-C); empty in the learner's process
        self.passthrough = ()

    # the namespace the learner's cells run in
    def build_namespace(self):
        ns = {"__name__": "submission", "__builtins__": builtins}
        for name, value in self.spec.get("constants", {}).items():
            ns[name] = self.codec.dec(value)
        for name, h in self.spec.get("helpers", {}).items():
            ns[name] = self.helper(name, h)
        ns.update({name: cls for name, cls in self.value_types.items()})
        bug = self.bug_class()

        def BUG_ON(condition):
            """BUG_ON(condition): the kernel oopses (raises BUG) if condition is true."""
            if condition:
                raise bug("BUG_ON")
        BUG_ON.__module__ = "kernel"
        local = {"BUG": bug, "BUG_ON": BUG_ON}
        for name in self.spec.get("local", ()):
            if name in local:
                ns[name] = local[name]
        return ns

    def bug_class(self):
        return self.exception_class("BUG")

    def helper(self, name, h):
        rt = self

        def helper(*args, **kwargs):
            return rt.ask({"op": "call", "fn": name, "args": [rt.codec.enc(a) for a in args],
                           "kw": {k: rt.codec.enc(v) for k, v in kwargs.items()}})
        helper.__name__ = helper.__qualname__ = name
        helper.__doc__ = f"{name}({', '.join(h.get('params', ()))}): {h.get('doc', '')}"
        helper.__module__ = "kernel"
        return helper

    def value_type_of(self, v):
        for name, cls in self.value_types.items():
            if type(v) is cls:
                return name
        return None

    def proxy(self, h, kind):
        if not isinstance(h, int) or kind not in self.kinds:
            raise ProtocolError(f"unknown kind of kernel object {kind!r}")
        p = self.proxies.get(h)
        if p is None:
            p = self.proxies[h] = self.kinds[kind](h, self.epoch, self)
        return p

    def exception_class(self, name):
        """The class of an exception named name: a builtin one, or one made here (BUG is an
        AssertionError, as in the model)."""
        if name in BUILTIN_EXCEPTIONS and name not in ("SystemExit", "KeyboardInterrupt",
                                                       "GeneratorExit", "BaseException"):
            return BUILTIN_EXCEPTIONS[name]
        cls = self._exception_classes.get(name)
        if cls is None:
            base = AssertionError if name == "BUG" else Exception
            cls = self._exception_classes[name] = type(name, (base,), {"__module__": "kernel"})
        return cls

    # a request to the grader, from the learner's code
    def ask(self, msg):
        was, self.in_learner = self.in_learner, False
        try:
            reply = self.link.request(msg)
        finally:
            self.in_learner = was
        if self.stop_pending and was:
            self.stop_pending = False
            raise TimeLimit("stopped by the grader: this call ran out of time")
        if "value" in reply:
            return self.codec.dec(reply["value"])
        err = reply.get("error")
        if not isinstance(err, dict):
            raise ProtocolError("a reply with neither value nor error")
        cls = self.exception_class(str(err.get("type", "Exception")))
        args = err.get("args")
        args = [self.codec.dec(a) for a in args] if isinstance(args, list) else [str(err.get("msg", ""))]
        try:
            exc = cls(*args)
        except Exception:
            exc = cls(str(err.get("msg", "")))
        exc.kernel_where = err.get("where")
        raise exc

    # the learner's cells
    def load(self, cells, functions):
        """Run the cells; {"loaded": True} or {"loaded": False, "error": why}."""
        for label, source in cells:
            try:
                code = compile(source, label, "exec", dont_inherit=True)
            except SyntaxError as e:
                return {"loaded": False, "error": f"{label}, line {e.lineno}: SyntaxError: {e.msg}"}
            except (ValueError, MemoryError, RecursionError) as e:
                return {"loaded": False, "error": f"{label}: {type(e).__name__}: {e}"}
            try:
                self.run_learner(exec, code, self.namespace)
            except BaseException as e:            # noqa: B902 -- every way a cell can fail
                if isinstance(e, self.passthrough):
                    raise
                trace = self.learner_trace(e)
                if isinstance(e, TimeLimit):
                    where = f"; it was stopped at {trace[-1].strip()}" if trace else ""
                    return {"loaded": False, "error": f"{label} did not finish within the grader's "
                            f"time limit{where}"}
                return {"loaded": False, "error": f"{label} raised {self.describe(e)}",
                        "trace": trace}
        missing = [n for n in functions if not callable(self.namespace.get(n))]
        if missing:
            return {"loaded": False,
                    "error": f"the notebook defines no function named {', '.join(missing)}"}
        self.functions = {n: self.namespace[n] for n in functions}
        return {"loaded": True}

    def run_learner(self, fn, *args):
        was, self.in_learner = self.in_learner, True
        try:
            return fn(*args)
        finally:
            self.in_learner = was

    def call(self, msg):
        """Run one of the learner's functions for the grader: {"return": v} or {"raise": ...}."""
        name = msg.get("call")
        fn = self.functions.get(name)
        if fn is None:
            return {"raise": {"type": "NameError", "msg": f"no function {name!r}", "where": name}}
        if self.depth == 0:
            self.stop_pending = False              # a stop meant for a call that returned
        self.depth += 1
        try:
            args = [self.codec.dec(a) for a in msg.get("args", [])]
            value = self.run_learner(fn, *args)
            try:
                return {"return": self.codec.enc(value)}
            except (TypeError, ValueError) as e:
                return {"raise": {"type": "TypeError", "where": name,
                                  "msg": f"{name} returned something the kernel cannot take: {e}"}}
        except BaseException as e:                 # noqa: B902 -- reported, never swallowed
            if isinstance(e, self.passthrough):
                raise
            return {"raise": self.exception_report(e, name)}
        finally:
            self.depth -= 1
            if self.depth == 0:                    # handles die with their top-level call
                self.epoch += 1
                self.proxies = {}

    def exception_report(self, e, name):
        out = {"type": type(e).__name__, "msg": self.message(e),
               "where": getattr(e, "kernel_where", None) or name,
               "trace": self.learner_trace(e)}
        if isinstance(e, TimeLimit):
            out["stopped"] = True
        elif isinstance(e, SystemExit):
            out["msg"] = f"exit({e.code!r}) was called"
        return out

    @staticmethod
    def message(e):
        try:
            return str(e)[:2000]
        except BaseException:                      # noqa: B902 -- a learner's __str__ may fail
            return "(an exception whose message cannot be shown)"

    def describe(self, e):
        m = self.message(e)
        return f"{type(e).__name__}: {m}" if m else type(e).__name__

    @staticmethod
    def learner_trace(e):
        """The traceback lines of the learner's own cells only (never a file of this machine)."""
        lines = []
        try:
            for frame, lineno in traceback.walk_tb(e.__traceback__):
                code = frame.f_code
                if code.co_filename.startswith(CELL_PREFIX):
                    lines.append(f"  {code.co_filename}, line {lineno}, in {code.co_name}")
        except BaseException:                      # noqa: B902
            pass
        return lines[-12:]

    def on_stop_signal(self, signum, frame):
        """The grader's 'time is up' (SIGUSR1): raise in the learner's code, or as soon as
        control is back in it."""
        if self.in_learner:
            raise TimeLimit("stopped by the grader: this call ran out of time")
        self.stop_pending = True


# -- links: how requests reach the grader --------------------------------------------------------

class PipeLink:
    """The learner's process: JSON lines over two pipes."""

    def __init__(self, fd_in, fd_out):
        self.fd_in, self.fd_out = fd_in, fd_out
        self.buf = b""
        self.rt = None

    def send(self, msg):
        data = json.dumps(msg, separators=(",", ":")).encode() + b"\n"
        if len(data) > MAX_LINE:
            data = json.dumps({"raise": {"type": "ValueError", "msg": "an answer too big to send"}}).encode() + b"\n"
        view = memoryview(data)
        while view:
            n = os.write(self.fd_out, view)
            view = view[n:]

    def receive(self):
        while b"\n" not in self.buf:
            chunk = os.read(self.fd_in, 1 << 16)
            if not chunk:
                raise EOFError("the grader closed the channel")
            self.buf += chunk
            if len(self.buf) > MAX_LINE and b"\n" not in self.buf:
                raise ProtocolError("a message too long")
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line)
        if not isinstance(msg, dict):
            raise ProtocolError("a message that is not an object")
        return msg

    def request(self, msg):
        """Send a request; serve the grader's calls until its reply comes."""
        self.send(msg)
        while True:
            m = self.receive()
            if "call" in m:
                self.send(self.rt.call(m))
            elif "value" in m or "error" in m:
                return m
            else:
                raise ProtocolError(f"unexpected message while waiting for a reply: {sorted(m)}")


# -- the audit hook: the second line of defence -------------------------------------------------

_REFUSED = {
    "os.system": "run a shell command", "subprocess.Popen": "start a process",
    "os.exec": "start a program", "os.posix_spawn": "start a process", "os.fork": "fork",
    "os.forkpty": "fork", "os.kill": "send a signal", "os.killpg": "send a signal",
    "signal.pthread_kill": "send a signal", "os.remove": "remove a file",
    "os.rename": "rename a file", "os.rmdir": "remove a folder", "os.mkdir": "make a folder",
    "os.truncate": "truncate a file", "os.chmod": "change a file", "os.chown": "change a file",
    "os.link": "link a file", "os.symlink": "link a file", "shutil.rmtree": "remove files",
    "os.listdir": "list folders", "os.scandir": "list folders", "os.chdir": "change folder",
    "socket.__new__": "open a socket", "socket.connect": "open a connection",
    "socket.bind": "open a port", "ctypes.dlopen": "load native code",
    "ctypes.dlsym": "load native code", "ctypes.cdata": "use ctypes",
    "ctypes.call_function": "use ctypes", "_ctypes.dlopen": "load native code",
    "mmap.__new__": "map memory", "os.add_dll_directory": "load native code",
}


def install_audit_hook(allowed_dirs):
    """Refuse what a submission has no business doing, with a message naming it.  Reading
    is allowed inside the standard library's folders only (for imports)."""
    prefixes = tuple(d.rstrip("/") + "/" for d in allowed_dirs)
    refused, write_flags = _REFUSED, os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    fspath, realpath, pe = os.fspath, os.path.realpath, PermissionError

    def hook(event, args, refused=refused, prefixes=prefixes, write_flags=write_flags,
             fspath=fspath, realpath=realpath, pe=pe):
        if event in refused:
            raise pe(f"the grader does not let a submission {refused[event]} ({event})")
        if event == "open":
            path, mode, flags = args[0], args[1], args[2]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                (isinstance(flags, int) and flags & write_flags)
            if writing:
                raise pe("the grader does not let a submission write files")
            if isinstance(path, int):
                return
            try:
                where = realpath(fspath(path))
            except Exception:
                raise pe("the grader does not let a submission read files") from None
            if not where.startswith(prefixes):
                raise pe("the grader does not let a submission read files")
    sys.addaudithook(hook)


class _NoRefmodel:
    """A meta-path finder: `import refmodel` in a student cell fails with the reason."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "refmodel" or name.startswith("refmodel."):
            raise ImportError("while grading, use the names the setup cell gives you: "
                              "refmodel is not available to a submission")
        return None


# -- the learner's process ----------------------------------------------------------------------

def serve(fd_in, fd_out):
    """Main loop of the learner's process: spec, load, then calls until the grader leaves."""
    link = PipeLink(fd_in, fd_out)
    msg = link.receive()
    spec = msg.get("spec")
    if not isinstance(spec, dict):
        raise ProtocolError("the first message must be the spec")
    rt = Runtime(spec, link)
    link.rt = rt
    rt.output = Output()
    sys.stdout = sys.stderr = rt.output
    sys.stdin = io.StringIO("")
    signal.signal(signal.SIGUSR1, rt.on_stop_signal)
    sys.meta_path.insert(0, _NoRefmodel)
    sys.setrecursionlimit(spec.get("recursion_limit", 1000))
    if spec.get("audit_hook", True):          # off only in the grader's own tests of the jail
        install_audit_hook([os.path.dirname(os.__file__)])
    while True:
        try:
            msg = link.receive()
        except EOFError:
            return 0
        if "load" in msg:
            answer = rt.load(msg["load"], msg.get("functions", []))
        elif "call" in msg:
            answer = rt.call(msg)
        elif "exit" in msg:
            return 0
        else:
            raise ProtocolError(f"unexpected message {sorted(msg)}")
        answer["out"] = rt.output.take()
        link.send(answer)


def main(argv):
    fd_in, fd_out = int(argv[1]), int(argv[2])
    try:
        return serve(fd_in, fd_out)
    except BaseException as e:                     # noqa: B902 -- last words, then exit
        try:
            os.write(fd_out, json.dumps({"dying": f"{type(e).__name__}: {Runtime.message(e)}"}).encode() + b"\n")
        except BaseException:                      # noqa: B902
            pass
        return 70


if __name__ == "__main__":
    sys.exit(main(sys.argv))
