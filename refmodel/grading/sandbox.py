"""The learner's process: started jailed, spoken to over pipes, stopped and reaped.

Teaching layer, grader only (this is the one module of the grader that manages processes;
check() in a notebook never imports it).  A learner's process runs runtime.py alone, with
`python -I -S -B` (no site-packages, no model on its path), and is jailed as tightly as the
machine allows -- the tier is chosen once per batch, strongest first:

  namespaces  the grader is root and unshare works (this machine, CI): new mount, network,
              IPC and UTS namespaces; a private root of read-only bind mounts (/usr, /lib*,
              /bin, the Python installation at /opt/python, runtime.py) with an empty tmpfs
              /tmp as cwd, an empty /dev but for null/zero/urandom/random, no /proc, every
              site-packages hidden under an empty tmpfs; then a
              uid of its own (one per worker slot, 2_000_000_000 + n), no groups,
              no_new_privs, non-dumpable, a parent-death signal, and the rlimits below.
  uid         the grader is root but namespaces are refused (Docker, as on Gradescope):
              the same uid, privileges, signal and rlimits, an empty cwd it cannot write.
  user        the grader is not root: the same user as the grader, rlimits only.

rlimits everywhere: CPU seconds, address space, FSIZE 0 (no file grows), NPROC (no second
process: with a uid of its own that limit counts only its own processes), NOFILE 32, CORE 0.
In every tier runtime.py also installs an audit hook (PEP 578), the second line.  After each
submission every process of the slot's uid is killed (kill(-1) as that uid).
"""

import ctypes
import errno
import fcntl
import json
import os
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .server import LearnerGone, LearnerTimeout, ProtocolError, scrub

RUNTIME = Path(__file__).with_name("runtime.py")
MAX_LINE = 1 << 20            # bytes of one message from the learner's side
STDERR_TAIL = 2000            # bytes of the learner's stderr kept (its last words)
UID_BASE = 2_000_000_000      # learners' uids: UID_BASE + slot
UID_SLOTS = 4096
GRACE = 0.5                   # seconds a stopped call gets to return before its process is killed
TIERS = ("namespaces", "uid", "user")

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x04000000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38

_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_ulong, ctypes.c_char_p]
        _libc.unshare.argtypes = [ctypes.c_int]
        _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                                ctypes.c_ulong]
    return _libc


def _ok(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


# -- which interpreter the learner's process runs ------------------------------------------------

def _world_readable(path: str) -> bool:
    """Can any user reach and read path (every folder on the way o+x, the file o+r)?"""
    p = Path(path)
    try:
        if not os.stat(p).st_mode & stat.S_IROTH:
            return False
        for parent in p.parents:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
    except OSError:
        return False
    return True


def readable_by_others(path) -> bool:
    """Could another (non-root) user reach path and read it?"""
    p = Path(os.path.abspath(path))
    try:
        if not os.stat(p).st_mode & stat.S_IROTH:
            return False
        return all(os.stat(d).st_mode & stat.S_IXOTH for d in p.parents)
    except OSError:
        return False


def interpreter() -> tuple:
    """(real path of this Python, its installation prefix): what the jail binds."""
    exe = os.path.realpath(sys.executable)
    return exe, os.path.realpath(sys.base_prefix)


def other_user_interpreter() -> str | None:
    """A Python >= 3.8 that another uid can run (tier uid): this one, or the system's."""
    exe, _ = interpreter()
    if _world_readable(exe) and _world_readable(os.path.join(sys.base_prefix, "lib")):
        return exe
    for cand in ("/usr/bin/python3", "/usr/local/bin/python3"):
        real = os.path.realpath(cand)
        if os.path.exists(real) and _world_readable(real):
            try:
                out = subprocess.run([real, "-I", "-S", "-c", "import sys;print(sys.version_info[:2] >= (3, 8))"],
                                     capture_output=True, text=True, timeout=10).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                continue
            if out == "True":
                return real
    return None


# -- a slot: one worker's uid and folders -----------------------------------------------------------

class Slot:
    """One grading worker's place: a learner uid of its own (locked, so that two graders on
    one machine never share it), a copy of runtime.py any uid can read, a jail mount point
    and an empty working folder."""

    def __init__(self, tier: str):
        self.tier = tier
        self.dir = Path(tempfile.mkdtemp(prefix="refmodel-grade-"))
        os.chmod(self.dir, 0o755)
        self.runtime = self.dir / "runtime.py"
        shutil.copyfile(RUNTIME, self.runtime)
        os.chmod(self.runtime, 0o644)
        self.root = self.dir / "root"            # the jail's mount point (tier namespaces)
        self.root.mkdir(mode=0o755)
        self.cwd = self.dir / "cwd"              # an empty folder no learner can write
        self.cwd.mkdir(mode=0o755)
        self.uid = None
        self._lock = None
        if tier in ("namespaces", "uid"):
            self.uid, self._lock = self._claim_uid()
        self.python = None
        if tier == "uid":
            self.python = other_user_interpreter()
            if self.python is None:
                raise OSError(errno.ENOENT, "no Python another uid can run")

    @staticmethod
    def _claim_uid():
        locks = Path(tempfile.gettempdir()) / "refmodel-grade-uids"
        locks.mkdir(mode=0o700, exist_ok=True)
        for n in range(UID_SLOTS):
            f = open(locks / str(UID_BASE + n), "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            return UID_BASE + n, f
        raise OSError(errno.EBUSY, "no free learner uid")

    def kill_all(self) -> None:
        """Kill every process of this slot's uid (nothing a submission started outlives it)."""
        if self.uid is None:
            return
        pid = os.fork()
        if pid == 0:                                 # pragma: no cover -- the child
            try:
                os.setresgid(self.uid, self.uid, self.uid)
                os.setresuid(self.uid, self.uid, self.uid)
                os.kill(-1, signal.SIGKILL)
            except BaseException:                    # noqa: B902
                pass
            os._exit(0)
        os.waitpid(pid, 0)

    def close(self) -> None:
        self.kill_all()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


# -- starting the learner's process -----------------------------------------------------------------

def _limits(cpu_s: int, memory_mb: int, nproc: int) -> list:
    return [(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1)),
            (resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20)),
            (resource.RLIMIT_FSIZE, (0, 0)),
            (resource.RLIMIT_NPROC, (nproc, nproc)),
            (resource.RLIMIT_NOFILE, (32, 32)),
            (resource.RLIMIT_CORE, (0, 0))]


def _jail_binds(python_prefix: str, runtime: str) -> list:
    """(source, place in the jail, is_file) of what the private root shows, read-only."""
    binds = []
    for d in ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin"):
        if os.path.isdir(d) and not os.path.islink(d):
            binds.append((d, d, False))
    if not python_prefix.startswith("/usr/"):
        binds.append((python_prefix, "/opt/python", False))
    binds.append((runtime, "/grader/runtime.py", True))
    for dev in ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"):
        binds.append((dev, dev, True))
    return binds


def _jail_masks(python_prefix: str) -> list:
    """Folders of the jail hidden under an empty tmpfs: every site-packages (the learner's
    Python runs with -S and needs none; they hold the machine's packages, not its business)."""
    ver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    here = os.path.join(python_prefix, "lib", ver, "site-packages")
    out = []
    if os.path.isdir(here):
        out.append(here if python_prefix.startswith("/usr/") else f"/opt/python/lib/{ver}/site-packages")
    for d in ("/usr/lib/python3/dist-packages", f"/usr/local/lib/{ver}/dist-packages",
              f"/usr/local/lib/{ver}/site-packages", f"/usr/lib/{ver}/site-packages"):
        if os.path.isdir(d) and d not in out:
            out.append(d)
    return out


def _preexec(tier: str, slot: Slot, limits: list, python_prefix: str):
    """The function run in the child between fork and exec: the tier's jail."""
    lc = libc() if tier == "namespaces" else None
    root = bytes(slot.root)
    binds = _jail_binds(python_prefix, str(slot.runtime)) if tier == "namespaces" else []
    links = [(d, os.readlink(d)) for d in ("/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
             if os.path.islink(d)] if tier == "namespaces" else []
    masks = _jail_masks(python_prefix) if tier == "namespaces" else []
    uid, cwd = slot.uid, str(slot.cwd)

    def jail():
        if tier == "namespaces":
            _ok(lc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
            _ok(lc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
            _ok(lc.mount(b"tmpfs", root, b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,mode=0755"),
                "mount the jail's root")
            for src, dst, is_file in binds:
                target = root + dst.encode()
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if is_file:
                    open(target, "wb").close()
                else:
                    os.makedirs(target, exist_ok=True)
                _ok(lc.mount(src.encode(), target, None, MS_BIND | MS_REC, None), f"bind {src}")
                _ok(lc.mount(None, target, None,
                             MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | (0 if dst.startswith("/dev") else MS_NODEV),
                             None), f"read-only {src}")
            for link, to in links:                    # merged /usr: /lib -> usr/lib
                os.symlink(to, root + link.encode())
            for d in masks:
                _ok(lc.mount(b"tmpfs", root + d.encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                             b"size=4k,mode=0755"), f"hide {d}")
            os.makedirs(root + b"/tmp")
            _ok(lc.mount(b"tmpfs", root + b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                         b"size=64k,mode=1777"), "mount /tmp")
            _ok(lc.mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None),
                "read-only root")
            os.chroot(root)
            os.chdir("/tmp")
        else:
            os.chdir(cwd)
        for which, values in limits:
            resource.setrlimit(which, values)
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            pr = lc or libc()
            _ok(pr.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
            _ok(pr.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "non-dumpable")
            _ok(pr.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent-death signal")
        os.setsid()
    return jail


class LearnerProcess:
    """A running learner's process and its two pipes (plus a tail of its stderr)."""

    def __init__(self, slot: Slot, memory_mb: int, cpu_s: int):
        self.slot = slot
        tier = slot.tier
        exe, prefix = interpreter()
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
               "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp" if tier == "namespaces" else str(slot.cwd)}
        if tier == "namespaces":
            if prefix.startswith("/usr/"):
                python = exe
            else:
                python = "/opt/python/" + os.path.relpath(exe, prefix)
                env["LD_LIBRARY_PATH"] = "/opt/python/lib"
            runtime = "/grader/runtime.py"
        elif tier == "uid":
            python, runtime = slot.python, str(slot.runtime)
        else:
            python, runtime = exe, str(slot.runtime)
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        nproc = 0
        limits = _limits(cpu_s, memory_mb, nproc)
        try:
            self.proc = subprocess.Popen(
                [python, "-I", "-S", "-B", runtime, str(to_child_r), str(from_child_w)],
                executable=python, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, env=env, pass_fds=(to_child_r, from_child_w),
                preexec_fn=_preexec(tier, slot, limits, prefix), close_fds=True)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.buf = b""
        self.err = b""
        self.started = time.monotonic()
        self.killed_by_grader = None         # why the grader killed it, if it did
        os.set_blocking(self.from_child, False)
        os.set_blocking(self.proc.stderr.fileno(), False)

    # -- messages ------------------------------------------------------------------------------
    def send(self, msg: dict) -> None:
        data = json.dumps(msg, separators=(",", ":")).encode() + b"\n"
        try:
            view = memoryview(data)
            while view:
                _, w, _ = select.select([], [self.to_child], [], 5.0)
                if not w:
                    raise LearnerGone(self.gone_reason("stopped reading the grader's messages"))
                n = os.write(self.to_child, view[:65536])
                view = view[n:]
        except (BrokenPipeError, OSError):
            raise LearnerGone(self.gone_reason()) from None

    def receive(self, deadline: float | None):
        """The next message, or None when deadline passed.  LearnerGone if the process
        ended or broke the protocol."""
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                self.kill("protocol")
                raise LearnerGone("the submission's process broke the grader's protocol "
                                  f"(a message longer than {MAX_LINE} bytes)")
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            fds = [self.from_child, self.proc.stderr.fileno()]
            ready, _, _ = select.select(fds, [], [], left)
            if self.proc.stderr.fileno() in ready:
                self._drain_stderr()
            if self.from_child in ready:
                try:
                    chunk = os.read(self.from_child, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise LearnerGone(self.gone_reason())
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            msg = json.loads(line)
        except (ValueError, RecursionError):
            self.kill("protocol")
            raise LearnerGone("the submission's process broke the grader's protocol (a line "
                              "that is not JSON)") from None
        if not isinstance(msg, dict):
            self.kill("protocol")
            raise LearnerGone("the submission's process broke the grader's protocol (a message "
                              "that is not an object)")
        if "dying" in msg:                   # the runtime's last words before it exits
            self.last_words = scrub(str(msg["dying"]))[:300]
            raise LearnerGone(self.gone_reason())
        return msg

    def _drain_stderr(self) -> None:
        try:
            chunk = os.read(self.proc.stderr.fileno(), 1 << 16)
        except (BlockingIOError, OSError):
            return
        self.err = (self.err + chunk)[-STDERR_TAIL:]

    last_words = ""

    # -- ending ----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the learner's code to stop (it raises TimeLimit where it is)."""
        try:
            os.kill(self.proc.pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass

    def kill(self, why: str) -> None:
        if self.proc.poll() is None:
            self.killed_by_grader = why
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def gone_reason(self, what: str = "") -> str:
        """What happened to the process, from its exit status (no guesses)."""
        try:
            rc = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill("unresponsive")
            rc = self.proc.returncode
        self._drain_stderr()
        if rc is None:
            return "the submission's process " + (what or "stopped answering")
        if rc < 0:
            name = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else f"signal {-rc}"
            text = f"the submission's process was killed by {name}"
            if self.killed_by_grader:
                text += " (the grader's)"
            elif name == "SIGXCPU":
                text += ": it used up its limit of CPU seconds"
            elif name == "SIGKILL":
                text += " (not sent by the grader)"
        elif rc == 70 and self.last_words:
            text = f"the submission's process failed: {self.last_words}"
        else:
            text = f"the submission's process ended with exit status {rc}"
        tail = scrub(self.err.decode("utf-8", "replace")).strip().splitlines()
        if tail and not self.last_words:
            text += f"; its last words on stderr: {tail[-1][:200]}"
        return text

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send({"exit": True})
            except LearnerGone:
                pass
            try:
                self.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                self.kill("closing")
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc.stderr.close()


class PipePeer:
    """The server's peer for a learner's process: calls with a deadline, serving requests."""

    def __init__(self, process: LearnerProcess, timeout: float):
        self.p = process
        self.timeout = timeout
        self.deadline = None
        self.stopped_at = None
        self.printed = []

    def call(self, msg: dict, server, top: bool) -> dict:
        if top:
            self.deadline = time.monotonic() + self.timeout
            self.stopped_at = None
        self.p.send(msg)
        return self.wait_answer(server, msg.get("call"), ("return", "raise"))

    def wait_answer(self, server, name, keys) -> dict:
        while True:
            limit = self.deadline if self.stopped_at is None else self.stopped_at + GRACE
            m = self.p.receive(limit)
            if m is None:
                if self.stopped_at is None:              # time is up: ask it to stop
                    self.stopped_at = time.monotonic()
                    self.p.stop()
                    continue
                self.p.kill("timeout")
                raise LearnerTimeout(f"{name} did not return within {self.timeout:g} s, and did "
                                     f"not stop when asked: the grader ended its process")
            if "op" in m:
                try:
                    reply = server.handle(m)
                except ProtocolError as e:
                    self.p.kill("protocol")
                    raise LearnerGone(f"the submission's process broke the grader's protocol ({e})") from None
                self.p.send(reply)
                continue
            if any(k in m for k in keys):
                if isinstance(m.get("out"), str):
                    self.printed.append(scrub(m["out"])[:20_000])
                return m
            self.p.kill("protocol")
            raise LearnerGone("the submission's process broke the grader's protocol (an "
                              "unexpected message)")

    def timeout_reason(self, name, trace) -> str:
        where = f"; it was stopped at {trace[-1].strip()}" if trace else ""
        return f"{name} did not return within {self.timeout:g} s{where}"


# -- which tier ---------------------------------------------------------------------------------------

def probe(tier: str) -> str | None:
    """None if a learner's process can be started in tier here, else why not."""
    try:
        slot = Slot(tier)
    except OSError as e:
        return str(e)
    try:
        p = LearnerProcess(slot, 256, 10)
        try:
            p.send({"spec": {}})
            p.send({"load": [["cell 1", "import os\nprint(os.getuid())"]], "functions": []})
            m = p.receive(time.monotonic() + 20)
        finally:
            p.close()
        if not m or not m.get("loaded"):
            return f"the probe did not load: {m}"
        if tier != "user" and m.get("out", "").strip() != str(slot.uid):
            return f"the probe ran as uid {m.get('out', '').strip()}, not {slot.uid}"
        return None
    except (OSError, subprocess.SubprocessError, LearnerGone) as e:
        return f"{type(e).__name__}: {e}"
    finally:
        slot.close()


def choose_tier(wanted: str | None = None) -> tuple:
    """(tier, notes): the strongest tier that works here (or the one asked for, if it works)."""
    notes = []
    # As root, never fall back to running learners as root: "user" only when asked for.
    candidates = [wanted] if wanted else (["namespaces", "uid"] if os.geteuid() == 0 else ["user"])
    for tier in candidates:
        why = probe(tier)
        if why is None:
            return tier, notes
        notes.append(f"tier {tier} not available: {why}")
    raise OSError(errno.EPERM, "; ".join(notes) or "no tier works")
