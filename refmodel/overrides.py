"""The override registry: run the model with someone else's version of a kernel function.

Teaching layer (exercises, the grader).  The kernel never imports this file: a learner's
function is plugged in by its kernel name, wherever the kernel layer's modules refer to it,
and the model's own version comes back when the `with` block ends.  The instruments that
look at the state (render/, check.py, the façade's views) are left alone: they describe
the state with the model's own functions, whatever is plugged in.

A kernel path's step or method (sched.py: a path is a class whose steps are methods) is
named "class.method" ("user_access.migration_entry_wait"): the replacement is set on the
class, keeps the step's facts (@step), and runs with the path as its first argument.
"""

import importlib
import sys
from contextlib import contextmanager
from functools import lru_cache

# The kernel layer, file for file (the modules whose functions can be replaced).
KERNEL_MODULES = ("errno", "page", "page_alloc", "pgtable", "swapops", "mm", "kernel", "memory",
                  "swapin", "rmap", "mmap", "mprotect", "fremap", "fork", "swap", "swapfile",
                  "swap_state", "vmscan", "shmem", "mempolicy", "migrate", "move_pages", "task",
                  "variants.migrate_2_6_17")


@lru_cache(maxsize=None)
def kernel_function(name: str):
    """(module, function): where the model defines the kernel function `name` (the model's
    own version, also while an override is in place).

    "class.method" names a kernel path's method: (the class, its own method).
    Raises KeyError with a readable message for a name the model does not define."""
    if "." in name:
        return _path_method(name)
    for short in KERNEL_MODULES:
        mod = importlib.import_module(f"refmodel.{short}")
        fn = vars(mod).get(name)
        if callable(fn) and getattr(fn, "__module__", None) == mod.__name__ \
                and getattr(fn, "__name__", None) == name:
            return mod, fn
    raise KeyError(f"the model defines no kernel function named {name!r}")


def _path_method(name: str):
    cls_name, _, method = name.partition(".")
    for short in KERNEL_MODULES:
        mod = importlib.import_module(f"refmodel.{short}")
        cls = vars(mod).get(cls_name)
        if isinstance(cls, type) and cls.__module__ == mod.__name__:
            # the method may live on a base class split out for length (user_access's
            # do_swap_page half is swapin_fault): replace it where it is defined
            for owner in cls.__mro__:
                fn = owner.__dict__.get(method)
                if callable(fn):
                    return owner, fn
            raise KeyError(f"the model's {cls_name} has no method named {method!r}")
    raise KeyError(f"the model defines no kernel path named {cls_name!r}")


def _bindings(original) -> list:
    """Every (module, attribute) of a loaded kernel-layer module bound to original.  The
    instruments (pictures, the invariant checker, the façade's views) keep the model's own
    functions, so that a state is always described by the reference, whatever is plugged in."""
    out = []
    kernel = {f"refmodel.{short}" for short in KERNEL_MODULES}
    for modname, mod in list(sys.modules.items()):
        if mod is None or modname not in kernel:
            continue
        for attr, value in list(vars(mod).items()):
            if value is original:
                out.append((mod, attr))
    return out


@contextmanager
def override(**functions):
    """Within the block, every reference the kernel layer's modules hold to each named
    kernel function points at the given replacement:

        with override(remove_migration_pte=my_remove_migration_pte):
            m.move_pages(p, [a], [1])

    A replacement must take the same arguments as the model's function."""
    saved = []
    try:
        for name, fn in functions.items():
            if not callable(fn):
                raise TypeError(f"{name}: expected a function, got {type(fn).__name__}")
            owner, original = kernel_function(name)
            if "." in name:                     # a path's method: on its class, same facts
                if hasattr(original, "step_facts"):
                    fn = _with_facts(fn, original.step_facts)
                saved.append((owner, original.__name__, original))
                setattr(owner, original.__name__, fn)
                continue
            for mod, attr in _bindings(original):
                saved.append((mod, attr, original))
                setattr(mod, attr, fn)
        yield
    finally:
        for mod, attr, original in reversed(saved):
            setattr(mod, attr, original)


def _with_facts(fn, facts):
    """fn as a step with the model's facts (a wrapper, so that fn itself is left as it is)."""
    def step(*args, **kw):
        return fn(*args, **kw)
    step.__name__ = step.__qualname__ = getattr(fn, "__name__", "step")
    step.step_facts = facts
    return step
