"""One scenario language: a list of steps, read by one interpreter on the façade.

Instruments and teaching layer.  The explorer's configurations, the exercises' cases and
the conformance scenarios are all lists of steps in this language (docs/scenarios.md); this
file is the only place that knows what a step means.  A step is a list, a verb and its
arguments, plain JSON:

    ["spawn", "P", {"node": 0, "cap_sys_nice": true}]     a process named P
    ["mmap", "P", "a", {"pages": 2}]                        a mapping named a
    ["write", "P", "a+1", "hello"]                          a store one page into a
    ["start", "mig", ["move_pages", "P", ["a"], [1], "MOVE_ALL"]]   a kernel path, not run yet

Names bind as the steps run: a process (spawn, fork), a mapping (mmap), a pin (pin), a
kernel path (start, migrate_start).  `Scene` holds them.  `do_step` returns what the step
returned (a Process, an address, bytes, a status list...), `run_step` the same as text --
the exercises compare that text -- and `start_path` makes the kernel path a system-call step
describes without running it (the explorer interleaves such paths).
"""

import json

from .machine import Machine
from .mempolicy import (MPOL_BIND, MPOL_DEFAULT, MPOL_INTERLEAVE, MPOL_MF_MOVE,
                        MPOL_MF_MOVE_ALL, MPOL_MF_STRICT, MPOL_PREFERRED)
from .mmap import MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE
from . import rmap
from .overrides import kernel_function
from .page import TestSetPageLocked, unlock_page
from .pgtable import PAGE_SHIFT, PAGE_SIZE, pte_pfn, pte_present
from .rmap import SWAP_AGAIN, SWAP_FAIL, SWAP_SUCCESS
from .sched import BLOCKED
from .swapops import SwapTypes

FLAGS = {"STRICT": MPOL_MF_STRICT, "MOVE": MPOL_MF_MOVE, "MOVE_ALL": MPOL_MF_MOVE_ALL}
MODES = {"DEFAULT": MPOL_DEFAULT, "PREFERRED": MPOL_PREFERRED, "BIND": MPOL_BIND,
         "INTERLEAVE": MPOL_INTERLEAVE}


class ScenarioError(ValueError):
    """A step the interpreter cannot run as written (unknown verb, unbound name, bad args)."""


class Scene:
    """A machine and what the scenario's names stand for: processes, mappings, pins, paths."""

    def __init__(self, machine: Machine):
        self.machine = machine
        self.procs: dict = {}          # name -> Process (spawn, fork)
        self.addrs: dict = {}          # name -> start address of a mapping (mmap)
        self.pins: dict = {}           # name -> pfn pinned by get_user_pages (pin)
        self.paths: dict = {}          # name -> KernelPath (start, migrate_start)

    @classmethod
    def new(cls, era: str = "2.6.18", nodes: int = 2, pages_per_node: int = 32,
            swap_pages: int = 0, **decisions) -> "Scene":
        """A scene on a fresh Machine (keyword arguments as Machine's)."""
        return cls(Machine(era=era, nodes=nodes, pages_per_node=pages_per_node,
                           swap_pages=swap_pages, **decisions))

    def proc(self, name: str):
        """The Process a name stands for."""
        try:
            return self.procs[name]
        except KeyError:
            raise ScenarioError(f"no process named {name!r} (spawn or fork it first)") from None

    def addr(self, spec) -> int:
        """'a' or 'a+2': the start of mapping a, plus pages (an int is taken as it is)."""
        if isinstance(spec, int):
            return spec
        name, _, plus = str(spec).partition("+")
        if name not in self.addrs:
            raise ScenarioError(f"no mapping named {name!r} (mmap it first)")
        return self.addrs[name] + (int(plus) << PAGE_SHIFT if plus else 0)

    def path(self, name: str):
        """The kernel path a name stands for."""
        try:
            return self.paths[name]
        except KeyError:
            raise ScenarioError(f"no kernel path named {name!r} (start it first)") from None


# -- arguments ---------------------------------------------------------------------------

def prot(s: str) -> int:
    """'rw' -> PROT_READ | PROT_WRITE ('' is PROT_NONE; 'x' adds PROT_EXEC)."""
    return ((PROT_READ if "r" in s else 0) | (PROT_WRITE if "w" in s else 0)
            | (PROT_EXEC if "x" in s else 0))


def flags(spec) -> int:
    """'MOVE', 'MOVE_ALL' or a list such as ['MOVE', 'STRICT'] -> the MPOL_MF_* bits."""
    names = [spec] if isinstance(spec, str) else list(spec)
    try:
        return sum(FLAGS[n] for n in names)
    except KeyError as e:
        raise ScenarioError(f"unknown flag {e.args[0]!r}; choose from {', '.join(FLAGS)}") from None


def data(d) -> bytes:
    """What a write stores: text (UTF-8) or, from Python, bytes."""
    return d if isinstance(d, (bytes, bytearray)) else str(d).encode()


def result_text(value) -> str:
    """A step's result as the exercises compare it: bytes and lists by repr, a status list
    with the system call's return value."""
    if isinstance(value, bytes):
        return repr(value)
    if isinstance(value, list):
        return repr(list(value)) + (f" ret={value.ret}" if hasattr(value, "ret") else "")
    return repr(value)


# -- the vocabulary ------------------------------------------------------------------------
# VERBS[verb] = (run, text): run(scene, *args) does the step and returns its value; text
# turns the value into the step's result text.  PATHS[verb](scene, *args) builds the kernel
# path of a system-call step instead of running it (start, the explorer's threads).

VERBS: dict = {}
PATHS: dict = {}


def verb(name: str, text=result_text):
    """Register fn(scene, *args) as the step `name`; text formats its value."""
    def register(fn):
        VERBS[name] = (fn, text)
        return fn
    return register


def path_of(name: str):
    """Register fn(scene, *args) -> KernelPath as the path the step `name` starts."""
    def register(fn):
        PATHS[name] = fn
        return fn
    return register


def _ok(_value) -> str:
    return "ok"


def _pid(value) -> str:
    return f"pid {value.pid}"


@verb("spawn", _pid)
def spawn(scene, name, opts=None):
    """A new process named name, on node opts['node'], with opts['cap_sys_nice']."""
    opts = opts or {}
    scene.procs[name] = scene.machine.spawn(node=opts.get("node", 0),
                                            cap_sys_nice=opts.get("cap_sys_nice", False))
    return scene.procs[name]


@verb("file", _ok)
def file(scene, name, opts=None):
    """A file of opts['pages'] pages (opts['fs']: 'tmpfs' or 'diskfs')."""
    opts = opts or {}
    return scene.machine.create_file(name, opts.get("pages", 1), opts.get("fs", "tmpfs"))


@verb("mmap", hex)
def mmap(scene, who, name, opts=None):
    """A mapping named name: opts pages, prot ('rw'), shared (bool), file (a file's name)."""
    opts = opts or {}
    p, m = scene.proc(who), scene.machine
    share = MAP_SHARED if opts.get("shared") else MAP_PRIVATE
    length = opts.get("pages", 1) * PAGE_SIZE
    if "file" in opts:
        if opts["file"] not in m.files:
            raise ScenarioError(f"no file named {opts['file']!r} (create it with 'file' first)")
        scene.addrs[name] = p.mmap(None, length, prot(opts.get("prot", "rw")), share,
                                   file=m.files[opts["file"]])
    else:
        scene.addrs[name] = p.mmap(None, length, prot(opts.get("prot", "rw")),
                                   share | MAP_ANONYMOUS)
    return scene.addrs[name]


@verb("write", _ok)
def write(scene, who, addr, what):
    """A store of what (text, or bytes from Python) at addr."""
    return scene.proc(who).write(scene.addr(addr), data(what))


@verb("read")
def read(scene, who, addr, length):
    """A load of length bytes at addr."""
    return scene.proc(who).read(scene.addr(addr), length)


@verb("fork", _pid)
def fork(scene, who, child):
    """fork(2); the child is named child."""
    scene.procs[child] = scene.proc(who).fork()
    return scene.procs[child]


@verb("exit", _ok)
def exit_(scene, who):
    """exit(2): the address space goes."""
    return scene.proc(who).exit()


@verb("munmap")
def munmap(scene, who, addr, pages):
    """munmap(2) of pages pages at addr."""
    return scene.proc(who).munmap(scene.addr(addr), pages * PAGE_SIZE)


@verb("mprotect")
def mprotect(scene, who, addr, pages, protection):
    """mprotect(2) of pages pages at addr to protection ('', 'r', 'rw', ...)."""
    return scene.proc(who).mprotect(scene.addr(addr), pages * PAGE_SIZE, prot(protection))


@verb("mlock")
def mlock(scene, who, addr, pages):
    """mlock(2) of pages pages at addr."""
    return scene.proc(who).mlock(scene.addr(addr), pages * PAGE_SIZE)


@verb("move_pages")
def move_pages(scene, who, addrs, nodes=None, how="MOVE"):
    """move_pages(2) of the pages at addrs to nodes (None: where are they?); the status list."""
    p = scene.proc(who)
    return scene.machine.move_pages(p, [scene.addr(a) for a in addrs],
                                    None if nodes is None else list(nodes), flags(how))


@verb("migrate_pages")
def migrate_pages(scene, who, old_nodes, new_nodes):
    """migrate_pages(2) of who by itself: pages not migrated."""
    return scene.machine.migrate_pages(scene.proc(who), old_nodes, new_nodes)


@verb("mbind")
def mbind(scene, who, addr, pages, mode, nodes=(), how=()):
    """mbind(2) of pages pages at addr: mode 'BIND' (...) on nodes, flags ['MOVE', ...]."""
    if mode not in MODES:
        raise ScenarioError(f"unknown policy {mode!r}; choose from {', '.join(MODES)}")
    return scene.machine.mbind(scene.proc(who), scene.addr(addr), pages * PAGE_SIZE,
                               MODES[mode], nodes, flags(how) if how else 0)


def _migrated(path) -> str:
    return f"{path.result} not migrated, status {dict(path.status)}"


@verb("kernel_migrate", _migrated)
def kernel_migrate(scene, who, addrs, node):
    """A migration the kernel starts itself (no mmap_sem), run to its end."""
    return scene.machine.finish(kernel_migrate_path(scene, who, addrs, node))


@verb("pin", _ok)
def pin(scene, who, addr, name=None):
    """get_user_pages on the page at addr (the pin is named name, for unpin)."""
    pfn = scene.machine.get_user_pages(scene.proc(who), scene.addr(addr))
    if name is not None:
        scene.pins[name] = pfn
    return pfn


@verb("unpin", _ok)
def unpin(scene, name):
    """Drop the pin named name."""
    if name not in scene.pins:
        raise ScenarioError(f"no pin named {name!r}")
    return scene.machine.put_user_pages(scene.pins.pop(name))


@verb("reclaim")
def reclaim(scene, who, addr):
    """Push the page at addr out to swap (the machine needs swap_pages)."""
    return scene.machine.reclaim(scene.proc(who), scene.addr(addr))


def call_args(args, k=None) -> list:
    """The arguments of a "call" step: JSON values, {"SwapTypes": [max, read, write]}, and
    {"kernel": true} for the machine's kernel (the `k` of a kernel function)."""
    def one(a):
        if isinstance(a, dict) and set(a) == {"SwapTypes"}:
            return SwapTypes(*a["SwapTypes"])
        if isinstance(a, dict) and a == {"kernel": True} and k is not None:
            return k
        return a
    return [one(a) for a in args]


@verb("call")
def call(scene, name, args=()):
    """A kernel function called by name with plain arguments (an override, if one is in)."""
    mod, _ = kernel_function(name)
    return getattr(mod, name)(*call_args(args, scene.machine.k))


SWAP_RESULTS = {SWAP_SUCCESS: "SWAP_SUCCESS", SWAP_AGAIN: "SWAP_AGAIN", SWAP_FAIL: "SWAP_FAIL"}


@verb("try_to_unmap", text=lambda ret: SWAP_RESULTS.get(ret, repr(ret)))
def try_to_unmap_(scene, who, addr):
    """Reclaim's try_to_unmap (migration=0) on the page who maps at addr, locked as
    shrink_page_list holds it, but without reclaim's aging pass: a young pte or a VM_LOCKED
    vma is what try_to_unmap_one sees."""
    k = scene.machine.k
    pte = scene.proc(who).mm.pgtable.get(scene.addr(addr) >> PAGE_SHIFT, 0)
    if not pte_present(pte):
        raise ScenarioError(f"no page is mapped at {addr}")
    page = k.pages[pte_pfn(pte)]
    if TestSetPageLocked(page):
        raise ScenarioError(f"the page at {addr} is locked by someone else")
    ret = rmap.try_to_unmap(k, page, False)        # (by module: an override may replace it)
    unlock_page(page)
    return ret


# -- kernel paths: started, stepped, finished ---------------------------------------------

@path_of("write")
def write_path(scene, who, addr, what):
    return scene.machine.access_path(scene.proc(who), scene.addr(addr), True, data(what))


@path_of("read")
def read_path(scene, who, addr, length):
    return scene.machine.access_path(scene.proc(who), scene.addr(addr), False, length=length)


@path_of("move_pages")
def move_pages_path(scene, who, addrs, nodes, how="MOVE"):
    return scene.machine.move_pages_path(scene.proc(who), [scene.addr(a) for a in addrs],
                                         nodes, flags(how))


@path_of("migrate_pages")
def migrate_pages_path(scene, who, old_nodes, new_nodes):
    return scene.machine.migrate_pages_path(scene.proc(who), old_nodes, new_nodes)


@path_of("kernel_migrate")
def kernel_migrate_path(scene, who, addrs, node):
    p = scene.proc(who)
    pfns = []
    for a in addrs:
        view = p.page(scene.addr(a))
        if view is None:
            raise ScenarioError(f"kernel_migrate: no page is present at {a!r}")
        pfns.append(view.pfn)
    return scene.machine.kernel_migrate_path(pfns, node)


@path_of("fork")
def fork_path(scene, who, child):
    path, scene.procs[child] = scene.machine.fork_path(scene.proc(who))
    return path


@path_of("munmap")
def munmap_path(scene, who, addr, pages):
    return scene.machine.munmap_path(scene.proc(who), scene.addr(addr), pages * PAGE_SIZE)


@path_of("mprotect")
def mprotect_path(scene, who, addr, pages, protection):
    return scene.machine.mprotect_path(scene.proc(who), scene.addr(addr), pages * PAGE_SIZE,
                                       prot(protection))


@path_of("exit")
def exit_path(scene, who):
    return scene.machine.exit_path(scene.proc(who))


def start_path(scene, name: str, step: list):
    """The kernel path of a system-call step, named name, not run yet."""
    check_step(step)
    builder = PATHS.get(step[0])
    if builder is None:
        raise ScenarioError(f"{step[0]!r} cannot be started as a kernel path; "
                            f"these can: {', '.join(PATHS)}")
    scene.paths[name] = _call(builder, scene, step)
    return scene.paths[name]


@verb("start", lambda path: "started")
def start(scene, name, step):
    """Start the kernel path of step, named name, without running it."""
    return start_path(scene, name, step)


@verb("step", str)
def step_(scene, name):
    """One step of the path named name: its next step's name, or 'blocked'."""
    return scene.machine.step(scene.path(name))


def _finished(path) -> str:
    return result_text(path.result if path.error is None else path.error)


@verb("finish", _finished)
def finish(scene, name):
    """Run the path named name to its end (Deadlock if it would sleep for ever)."""
    return scene.machine.finish(scene.paths.pop(name) if name in scene.paths else scene.path(name))


@verb("migrate_start", lambda _path: "entries in")
def migrate_start(scene, who, addrs, node, name):
    """A kernel-internal migration of the pages at addrs, stopped once every one of their
    ptes is a migration entry."""
    p, m = scene.proc(who), scene.machine
    path = start_path(scene, name, ["kernel_migrate", who, addrs, node])
    while not all(p.pte(scene.addr(a)).is_migration for a in addrs):
        if path.finished or m.step(path) == BLOCKED:
            raise RuntimeError("the migration never got all its entries in")
    return path


@verb("migrate_finish", _migrated)
def migrate_finish(scene, name):
    """Finish the migration started as name."""
    return finish(scene, name)


# -- the interpreter ----------------------------------------------------------------------

def check_step(step) -> None:
    """ScenarioError unless step is [verb, *args] with a known verb."""
    if not isinstance(step, (list, tuple)) or not step or not isinstance(step[0], str):
        raise ScenarioError(f"a step is a list [verb, args...], not {step!r}")
    if step[0] not in VERBS:
        raise ScenarioError(f"unknown step {step[0]!r}; the verbs are {', '.join(VERBS)}")


def _call(fn, scene, step):
    """fn(scene, *args), after checking that the step gives fn as many arguments as it takes."""
    code, given = fn.__code__, len(step) - 1
    most = code.co_argcount - 1                              # less the scene
    least = most - len(fn.__defaults__ or ())
    if not least <= given <= most:
        names = code.co_varnames[1:code.co_argcount]
        raise ScenarioError(f"{json.dumps(step, default=repr)}: {step[0]} takes "
                            f"{least if least == most else f'{least} to {most}'} arguments "
                            f"({', '.join(names)}), not {given}")
    return fn(scene, *step[1:])


def do_step(scene: Scene, step: list):
    """Run one step on scene's machine; returns what it returned."""
    check_step(step)
    return _call(VERBS[step[0]][0], scene, step)


def run_step(scene: Scene, step: list) -> str:
    """Run one step on scene's machine; returns its result as text."""
    check_step(step)
    return VERBS[step[0]][1](_call(VERBS[step[0]][0], scene, step))


def run(steps, scene: Scene | None = None, **machine) -> Scene:
    """Run every step (on a new Machine made with the keyword arguments, if no scene)."""
    scene = scene if scene is not None else Scene.new(**machine)
    for st in steps:
        do_step(scene, st)
    return scene


# -- saying what a step does ----------------------------------------------------------------

def describe(step) -> str:
    """A system-call step in a few words ('P writes 'p' at a'), for tables and traces."""
    verb_, *a = step
    if verb_ == "write":
        return f"{a[0]} writes {a[2]!r} at {a[1]}"
    if verb_ == "read":
        return f"{a[0]} reads {a[2]} bytes at {a[1]}"
    if verb_ == "move_pages":
        where = ", ".join(map(str, a[1]))
        to = ", ".join(map(str, a[2])) if a[2] is not None else "?"
        how = a[3] if len(a) > 3 else "MOVE"
        return f"{a[0]} move_pages({where} -> node {to}, {how})"
    if verb_ == "kernel_migrate":
        return f"migrate_pages of {a[0]}'s {', '.join(map(str, a[1]))} -> node {a[2]} without mmap_sem"
    if verb_ == "fork":
        return f"{a[0]} forks {a[1]}"
    if verb_ == "munmap":
        return f"{a[0]} munmaps {a[1]}"
    if verb_ == "mprotect":
        return f"{a[0]} mprotects {a[1]} to {a[3]}"
    if verb_ == "exit":
        return f"{a[0]} exits"
    return " ".join(json.dumps(x) if not isinstance(x, str) else x for x in step)


__all__ = ["Scene", "ScenarioError", "VERBS", "PATHS", "do_step", "run_step", "start_path",
           "run", "describe", "prot", "flags", "result_text", "check_step"]
