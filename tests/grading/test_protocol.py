"""The request/response protocol, attacked from the learner's side: whatever a learner's
function asks, the model's side answers with a value or an exception raised in the
learner's code that names what is not allowed -- never a crash of the grader, never an
object of the model.  In-process (check()'s backend), so that each outcome can be looked at.

    learner's code  --{"op": "getattr", "h": 3, "name": "vm_mm"}-->  server (checks, serves)
                    <--{"value": {"H": 4, "K": "mm"}} | {"error": {"type": ...}}--
"""

import operator

import pytest

from refmodel import exercises as E
from refmodel.grading.server import ProtocolError, Server
from refmodel.grading.spec import exercise_api


def run_hostile(exercise, body, case_name=None, every_call=False):
    """Plug a learner's function that runs body(api names, *args) and records every outcome
    (value or exception) into the first case of the exercise; returns the outcomes."""
    names = E.api(exercise)
    fn = E.exercises()[exercise]["functions"][0]
    outcomes = []

    calls = []

    def learner(*args):
        if not calls or every_call:
            body(names, outcomes, *args)
        calls.append(1)

    session = E.LocalSession(exercise, {fn: learner})
    case = next(c for c in E.exercises()[exercise]["cases"]
                if case_name is None or c["name"] == case_name)
    E.run_learner_case(case, session)
    return outcomes


def attempt(outcomes, thunk):
    try:
        outcomes.append(("value", thunk()))
    except BaseException as e:                       # noqa: B902 -- recorded for the test
        outcomes.append((type(e).__name__, str(e)))


def test_reading_only_what_the_api_lists():
    def body(n, out, k, vma, old, new):
        attempt(out, lambda: vma.vm_start > 0)
        attempt(out, lambda: vma.vm_file)                    # not in the API
        attempt(out, lambda: k.cfg)                          # the era table: not in the API
        attempt(out, lambda: old._count)                     # model internals
        attempt(out, lambda: vma.__dict__)
        attempt(out, lambda: getattr(vma, "__init__").__globals__.get("Server"))
        attempt(out, lambda: vma._rt.ask({"op": "getattr", "h": vma._h, "name": "__class__"}))
    out = run_hostile("ex2", body)
    assert out[0] == ("value", True)
    assert out[1][0] == "AttributeError" and "vm_file" in out[1][1]
    assert out[2][0] == "AttributeError" and out[3][0] == "AttributeError"
    assert out[4][0] == "AttributeError"
    assert out[5] == ("value", None)                        # the runtime holds no model
    assert out[6][0] == "AttributeError" and "has no attribute '__class__' here" in out[6][1]


def test_writing_only_what_the_api_allows():
    def body(n, out, k, vma, old, new):
        attempt(out, lambda: setattr(vma, "vm_flags", 0))
        attempt(out, lambda: setattr(vma, "vm_secret", 0))
        mm = vma.vm_mm
        attempt(out, lambda: setattr(mm, "anon_rss", "many"))
        attempt(out, lambda: vma._rt.ask({"op": "setattr", "h": vma._h, "name": "vm_flags", "value": 0}))
        attempt(out, lambda: delattr(vma, "vm_flags"))
        table = mm.pgtable
        attempt(out, lambda: table.__setitem__(1, "pte"))
        attempt(out, lambda: table.__setitem__(1, -1))
        attempt(out, lambda: table.__setitem__(1, 1 << 64))
        attempt(out, lambda: table.__delitem__(123456789))
        attempt(out, lambda: list(table))
        attempt(out, lambda: table.keys())
        attempt(out, lambda: operator.setitem(k.pages, 1, old))
        attempt(out, lambda: k.pages[1 << 70])
        attempt(out, lambda: k.pages[99999])
    out = run_hostile("ex2", body)
    kinds = [o[0] for o in out]
    assert kinds == ["AttributeError", "AttributeError", "TypeError", "AttributeError", "AttributeError",
                     "TypeError", "ValueError", "ValueError", "KeyError", "TypeError", "AttributeError",
                     "TypeError", "ValueError", "KeyError"], out
    assert "read-only" in out[0][1] and "read-only" in out[3][1]


def test_helpers_check_their_arguments():
    def body(n, out, k, vma, old, new):
        attempt(out, lambda: n["get_page"](5))
        attempt(out, lambda: n["get_page"](vma))
        attempt(out, lambda: n["get_page"]())
        attempt(out, lambda: n["get_page"](old, old))
        attempt(out, lambda: n["page_address_in_vma"](k, new, vma=vma))
        attempt(out, lambda: n["page_address_in_vma"](k, new, vmaa=vma))
        attempt(out, lambda: n["pte_mkold"](1 << 200))
        attempt(out, lambda: n["pte_mkold"]([[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]))
        attempt(out, lambda: n["pte_mkold"](object()))
        attempt(out, lambda: vma._rt.ask({"op": "call", "fn": "remove_migration_pte", "args": []}))
        attempt(out, lambda: vma._rt.ask({"op": "call", "fn": "__import__", "args": ["os"]}))
        attempt(out, lambda: vma._rt.ask({"op": "exec", "code": "1"}))
    out = run_hostile("ex2", body)
    assert [o[0] for o in out] == ["TypeError", "TypeError", "TypeError", "TypeError", "value",
                                   "TypeError", "OverflowError", "ValueError", "TypeError",
                                   "NameError", "NameError", "TypeError"], out
    assert "must be a page, not a int" in out[0][1] and "must be a page, not a vma" in out[1][1]
    assert "not a kernel function this exercise lets you call" in out[9][1]


def test_model_exceptions_reach_the_learner_under_their_names():
    def body(n, out, k, vma, old, new):
        attempt(out, lambda: n["migration_entry_to_page"](k.pages, 5))     # pfn 5: free
        attempt(out, lambda: n["get_page"](old) or n["get_page"](new))
    out = run_hostile("ex2", body)
    assert out[0][0] == "KeyError" and out[1] == ("value", None)


def test_objects_are_the_same_within_a_call_and_dead_after_it():
    kept = []

    def body(n, out, k, vma, old, new):
        attempt(out, lambda: vma.vm_mm is vma.vm_mm and k.pages[old.pfn] is old)
        if kept:
            attempt(out, lambda: kept[0].vm_start)
            stale = kept[0]
            attempt(out, lambda: vma._rt.ask({"op": "getattr", "h": object.__getattribute__(stale, "_h"),
                                              "name": "vm_start"}))
        kept.append(vma)
    out = run_hostile("ex2", body, "parent-and-child", every_call=True)
    assert out[0] == out[1] == ("value", True)              # first call; second call
    assert out[2][0] == "StaleObject" and "earlier call" in out[2][1]
    assert out[3][0] == "ReferenceError" and "valid only during the call" in out[3][1]


def test_what_a_learner_returns_is_checked():
    def returns(value):
        session = E.LocalSession("ex4", {"try_to_unmap_one": lambda k, page, vma, m: value(page)})
        case = E.exercises()["ex4"]["cases"][1]
        obs, _, _ = E.run_learner_case(case, session)
        return obs[-1].result
    assert "returned a page, but must return an int" in returns(lambda page: page)
    assert "cannot take" in returns(lambda page: object())
    assert "cannot take" in returns(lambda page: 1 << 300)


def test_the_server_refuses_what_is_not_the_protocol():
    server = Server(exercise_api("ex2"))
    with pytest.raises(ProtocolError):
        server.handle(["not", "a", "dict"])
    with pytest.raises(ProtocolError):
        server.handle({"op": "call", "fn": "pte_mkold", "args": [{"X": 1}]})
    with pytest.raises(ProtocolError):
        server.handle({"op": "call", "fn": "pte_mkold", "args": "no list"})
    assert server.handle({"op": "getattr", "h": 1, "name": "vm_mm"})["error"]["type"] == "ReferenceError"
    assert server.handle({"op": "getattr", "h": "1", "name": "vm_mm"})["error"]["type"] == "TypeError"
    assert server.handle({"op": "call", "fn": "pte_mkold", "args": [0x67]}) == {"value": 0x47}
