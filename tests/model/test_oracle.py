"""One oracle of what each process must read (refmodel/oracle.py), used by the façade's
check and by the explorer's invariants alike.

    P: a [anon rw] "P0"  --fork-->  C: a (COW copy of P's record)
    P: f [tmpfs shared]  <-> B: f  (one record for the file page)
"""

from refmodel import oracle
from refmodel.scenario import Scene, run


def test_a_private_store_a_fork_and_a_munmap():
    s = run([["spawn", "P"], ["mmap", "P", "a", {"pages": 2}], ["write", "P", "a+1", "P0"],
             ["fork", "P", "C"], ["write", "C", "a+1", "C"]], Scene.new())
    m, P, C = s.machine, s.procs["P"], s.procs["C"]
    vpn = (s.addrs["a"] >> 12) + 1
    assert m.contents[("p", P.pid, vpn)][:2] == b"P0" and m.contents[("p", C.pid, vpn)][:2] == b"C0"
    assert m.expected(P, s.addrs["a"]) == bytes(4096)              # never written: zeroes
    run([["munmap", "C", "a", 2]], s)
    assert not [key for key in m.contents if key[1] == C.pid]
    m.check()


def test_shared_file_pages_have_one_record():
    s = run([["spawn", "A"], ["spawn", "B"], ["file", "f", {"pages": 1}],
             ["mmap", "A", "a", {"file": "f", "shared": True}],
             ["mmap", "B", "b", {"file": "f", "shared": True}], ["write", "B", "b", "F"]],
            Scene.new())
    m = s.machine
    own, shared = oracle.keys(m.k, s.procs["A"].pid, s.addrs["a"] >> 12)
    assert own == shared and shared[0] == "s" and m.contents[shared][:1] == b"F"
    assert m.expected(s.procs["A"], s.addrs["a"])[:1] == b"F"


def test_a_fork_driven_by_hand_copies_the_records_at_copy_page_range():
    """The façade's Machine.step follows the same effects as the explorer (after_step)."""
    s = run([["spawn", "P"], ["mmap", "P", "a"], ["write", "P", "a", "x"],
             ["start", "fk", ["fork", "P", "C"]]], Scene.new())
    m, fk, C = s.machine, s.paths["fk"], s.procs["C"]
    assert m.step(fk) == "link_vma" and m.step(fk) == "copy_page_range"
    assert ("p", C.pid, s.addrs["a"] >> 12) not in m.contents
    m.step(fk)
    assert m.contents[("p", C.pid, s.addrs["a"] >> 12)][:1] == b"x"
    m.finish(fk)
    m.check()
    exit_ = m.exit_path(C)
    m.step(exit_), m.step(exit_)                  # the work: the address space is torn down
    assert not [key for key in m.contents if key[1] == C.pid]
    m.finish(exit_)
