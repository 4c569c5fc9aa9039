"""The learner's process, jailed for real: what each isolation tier stops, tested by code
that tries it (with the audit hook off, so that these prove the jail itself holds).

    grader (root, this process)          learner's process (uid 2_000_000_000 + slot)
      reads/writes pipes  <-- JSON -->     python -I -S runtime.py, chroot of read-only
      holds the model                      binds, no /proc, no network, no second process
"""

import os
import signal
import subprocess
import time

import pytest

from jail import run_in_jail
from refmodel.grading import sandbox
from refmodel.grading.sandbox import Slot

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="the uid tiers need a grader running as root")
HERE = os.path.abspath(__file__)


@pytest.fixture(scope="module")
def ns_tier():
    if not ROOT:
        pytest.skip("the namespaces tier needs root")
    why = sandbox.probe("namespaces")
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs as root on a kernel that allows namespaces, yet: {why}")
        pytest.skip(f"namespaces not available here: {why}")
    return "namespaces"


def out_of(code, tier, **kw):
    r = run_in_jail(code, tier, **kw)
    return r.get("out", "") if r.get("loaded") else f"ERROR {r.get('error')}"


# -- tier namespaces ---------------------------------------------------------------------------

def test_ns_the_learner_runs_as_its_own_uid_without_groups_or_privileges(ns_tier):
    out = out_of("import os\nprint(os.getuid(), os.geteuid(), os.getgid(), os.getgroups())\n"
                 "print(open('/proc/self/status').read())", ns_tier)
    assert out.startswith("ERROR") and "No such file" in out          # no /proc at all
    out = out_of("import os; print(os.getuid(), os.geteuid(), os.getgid(), os.getgroups(), os.getcwd())", ns_tier)
    uid = int(out.split()[0])
    assert sandbox.UID_BASE <= uid < sandbox.UID_BASE + sandbox.UID_SLOTS
    assert out.split()[1:] == [str(uid), str(uid), "[]", "/tmp"]


def test_ns_the_learner_sees_only_a_private_read_only_root(ns_tier):
    out = out_of("import os\nprint(sorted(os.listdir('/')))\nprint(sorted(os.listdir('/dev')))", ns_tier)
    top, dev = out.splitlines()
    assert set(eval(top)) <= {"bin", "dev", "grader", "lib", "lib32", "lib64", "libx32", "opt",
                              "sbin", "tmp", "usr"}
    assert eval(dev) == ["null", "random", "urandom", "zero"]
    for path in (HERE, "/etc/passwd", "/root", "/work", "/proc/1/cmdline", f"/proc/{os.getpid()}/cmdline"):
        out = out_of(f"print(open({path!r}).read()[:20])", ns_tier)
        assert out.startswith("ERROR") and ("No such file" in out or "Is a directory" in out), (path, out)
    out = out_of("import os, sys\nprint(os.listdir(os.path.join(os.path.dirname(os.__file__), 'site-packages')))",
                 ns_tier)
    assert out.strip() == "[]"                      # the machine's packages are not the learner's
    out = out_of("open('/usr/evil', 'w')", ns_tier)
    assert "Read-only file system" in out or "Permission denied" in out


def test_ns_no_file_grows_and_tmp_is_private(ns_tier):
    out = out_of("f = open('/tmp/x', 'w')\ntry:\n    f.write('hello'); f.flush()\nexcept OSError as e:\n"
                 "    print('refused', e.errno)\nprint(repr(open('/tmp/x').read()))", ns_tier)
    assert out.split() == ["refused", "27", "''"]                        # EFBIG: RLIMIT_FSIZE 0


def test_ns_no_second_process_not_even_without_an_audit_event(ns_tier):
    out = out_of("import os\ntry:\n    os.fork()\nexcept OSError as e:\n    print('fork', e.errno)\n"
                 "import _posixsubprocess\nr, w = os.pipe()\ntry:\n"
                 "    _posixsubprocess.fork_exec([b'/bin/true'], [b'/bin/true'], True, (), None, None,"
                 " -1, -1, -1, -1, -1, -1, r, w, False, False, False, None, None, None, -1, None, False)\n"
                 "except OSError as e:\n    print('fork_exec', e.errno)\n"
                 "import threading\ntry:\n    threading.Thread(target=print).start()\n"
                 "except RuntimeError as e:\n    print('thread', e)", ns_tier)
    assert out.splitlines() == ["fork 11", "fork_exec 11", "thread can't start new thread"]


def test_ns_the_grader_cannot_be_signalled_limited_or_traced(ns_tier):
    me = os.getpid()
    out = out_of(f"import os, signal, resource\nfor what, f in [('kill', lambda: os.kill({me}, signal.SIGKILL)),"
                 f" ('pidfd', lambda: signal.pidfd_send_signal(os.pidfd_open({me}), signal.SIGKILL)),"
                 f" ('prlimit', lambda: resource.prlimit({me}, resource.RLIMIT_NOFILE, (1, 1))),"
                 f" ('killpg', lambda: os.killpg(os.getpgid({me}), signal.SIGKILL)),"
                 f" ('kill -1', lambda: os.kill(-1, signal.SIGKILL))]:\n"
                 f"    try:\n        f(); print(what, 'ok')\n    except OSError as e:\n        print(what, e.errno)",
                 ns_tier)
    lines = out.splitlines()
    assert lines[:4] == ["kill 1", "pidfd 1", "prlimit 1", "killpg 1"], lines   # EPERM
    assert lines[4] in ("kill -1 ok", "kill -1 3")        # its own uid: only itself (it survives: no target)
    assert os.getpid() == me                               # (we are still here)


def test_ns_no_network(ns_tier):
    out = out_of("import socket\nprint(socket.if_nameindex())\ns = socket.socket()\ns.settimeout(2)\n"
                 "try:\n    s.connect(('10.0.0.1', 80))\nexcept OSError as e:\n    print(e.errno)", ns_tier)
    assert out.splitlines() == ["[(1, 'lo')]", "101"]                    # ENETUNREACH


def test_ns_memory_is_limited(ns_tier):
    out = out_of("try:\n    x = bytearray(900 << 20)\nexcept MemoryError:\n    print('MemoryError')", ns_tier,
                 memory_mb=256)
    assert out.strip() == "MemoryError"


def test_ns_the_model_is_not_there(ns_tier):
    out = out_of("import sys\nprint(sorted(m for m in sys.modules if 'refmodel' in m), sys.flags.isolated,"
                 " sys.flags.no_site)\ntry:\n    import refmodel\nexcept ImportError as e:\n    print(e)",
                 ns_tier)
    lines = out.splitlines()
    assert lines[0] == "[] 1 1" and "use the names the setup cell gives you" in lines[1]


# -- tier uid (root, no namespaces) -------------------------------------------------------------

@needs_root
def test_uid_tier_other_uid_no_signal_no_fork_no_private_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("hidden cases")
    os.chmod(secret, 0o600)
    me = os.getpid()
    out = out_of(f"import os, signal\nprint(os.getuid())\ntry:\n    open({str(secret)!r}).read()\n"
                 f"except OSError as e:\n    print('read', e.errno)\n"
                 f"try:\n    os.kill({me}, signal.SIGKILL)\nexcept OSError as e:\n    print('kill', e.errno)\n"
                 f"try:\n    os.fork()\nexcept OSError as e:\n    print('fork', e.errno)\n", "uid")
    lines = out.splitlines()
    assert int(lines[0]) >= sandbox.UID_BASE and lines[1:] == ["read 13", "kill 1", "fork 11"], lines


# -- every tier: the audit hook, the second line ------------------------------------------------

@pytest.mark.parametrize("tier", ["namespaces", "uid", "user"])
def test_the_audit_hook_refuses_with_a_reason(tier):
    if tier != "user" and not ROOT:
        pytest.skip("needs root")
    if tier == "namespaces" and sandbox.probe("namespaces") is not None:
        pytest.skip("namespaces not available here")
    for code, words in [("open('/etc/hostname').read()", "read files"),
                        ("open('x', 'w')", "write files"),
                        ("import os; os.system('true')", "run a shell command"),
                        ("import socket; socket.socket()", "open a socket"),
                        ("import ctypes", "load native code"),
                        ("import os; os.listdir('.')", "list folders")]:
        r = run_in_jail(code, tier, audit_hook=True)
        assert not r.get("loaded") and words in r["error"], (tier, code, r)


# -- nothing outlives a submission ----------------------------------------------------------------

@needs_root
def test_kill_all_ends_every_process_of_the_slots_uid():
    slot = Slot("uid")
    try:
        p = subprocess.Popen(["sleep", "60"], user=slot.uid, group=slot.uid, start_new_session=True)
        time.sleep(0.1)
        assert p.poll() is None
        slot.kill_all()
        assert p.wait(timeout=5) == -signal.SIGKILL
    finally:
        slot.close()


@needs_root
def test_two_slots_never_share_a_uid():
    a, b = Slot("uid"), Slot("uid")
    try:
        assert a.uid != b.uid
    finally:
        a.close()
        b.close()


def test_ns_the_grader_cannot_be_traced(ns_tier):
    me = os.getpid()
    out = out_of(f"import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                 f"print(libc.ptrace(16, {me}, 0, 0), ctypes.get_errno())", ns_tier)   # PTRACE_ATTACH
    assert out.split() == ["-1", "1"], out                                            # EPERM
