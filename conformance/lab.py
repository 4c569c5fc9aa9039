"""The conformance lab: run the scenarios on a real Linux 6.1 kernel in QEMU, run the
same scenarios on the Python model, and compare.  `make conformance` runs this.

Stages: fetch pinned Debian packages into conformance/.cache/, compile the guest
program, pack an initramfs, boot qemu-system-x86_64 (TCG, 2 NUMA nodes), parse the
serial console, run the model (model_side.py), compare (compare.py), and write
conformance/results/latest.json.

Exit codes: 0 everything matched; 1 a mismatch, a guest failure, or (under CI=true)
a missing prerequisite or a field the model did not run; 2 a prerequisite is missing on a learner's machine (the
message says what and how to get it)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conformance import newc, scenarios  # noqa: E402

# Downloads and builds; CONFORMANCE_CACHE moves them (e.g. to share one cache between clones).
CACHE = Path(os.environ.get("CONFORMANCE_CACHE") or HERE / ".cache").resolve()
DEBS = CACHE / "debs"
BUILD = CACHE / "build"
RESULTS = HERE / "results"
PINS = json.loads((HERE / "pins.json").read_text())
TIMEOUT = 180           # seconds before the guest is killed
T0 = time.monotonic()


class Missing(Exception):
    """A prerequisite is missing; the message says what and how to get it."""


def progress(msg: str) -> None:
    """Print one progress line with the seconds since the lab started."""
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a command, capturing its output as text."""
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def is_root() -> bool:
    return os.geteuid() == 0


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- stage 1: prerequisites ------------------------------------------------

APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
APT_LOCK = ["-o", "DPkg::Lock::Timeout=300"]


def apt_update() -> None:
    progress("apt-get update")
    r = run(["apt-get", *APT_LOCK, "update"], env=APT_ENV)
    if r.returncode:
        raise Missing(f"apt-get update failed:\n{r.stderr[-2000:]}")


def ensure_qemu() -> str:
    """Return the path of qemu-system-x86_64, installing the Debian package if we may."""
    q = PINS["qemu"]
    path = shutil.which(q["binary"])
    if path:
        return path
    how = f"apt-get install -y --no-install-recommends {q['package']}"
    if not is_root() or not shutil.which("apt-get"):
        raise Missing(f"{q['binary']} is not installed.  Install it with:\n    sudo {how}\n"
                      f"(Debian/Ubuntu package {q['package']}; tested with {q['tested_version']})")
    progress(f"installing {q['package']} (apt-get, --no-install-recommends)")
    cmd = ["apt-get", *APT_LOCK, "install", "-y", "--no-install-recommends", q["package"]]
    if run(cmd, env=APT_ENV).returncode:
        apt_update()
        r = run(cmd, env=APT_ENV)
        if r.returncode:
            raise Missing(f"`{how}` failed:\n{r.stderr[-2000:]}")
    path = shutil.which(q["binary"])
    if not path:
        raise Missing(f"{q['package']} installed but {q['binary']} is still not on PATH")
    return path


def download_deb(pin: dict) -> Path:
    """apt-get download the pinned package version into the cache; verify its sha256."""
    DEBS.mkdir(parents=True, exist_ok=True)
    spec = f"{pin['package']}={pin['version']}"
    for deb in DEBS.glob(f"{pin['package']}_*.deb"):
        if sha256(deb) == pin["deb_sha256"]:
            return deb
        deb.unlink()
    if not shutil.which("apt-get"):
        raise Missing(f"apt-get is needed to download {spec} (a Debian package)")
    progress(f"apt-get download {spec}")
    cmd = ["apt-get", "download", spec]
    r = run(cmd, cwd=DEBS)
    if r.returncode:
        if not is_root():
            raise Missing(f"`apt-get download {spec}` failed; the package lists may be stale.\n"
                          f"Run `sudo apt-get update` and try again.\n{r.stderr[-1500:]}")
        apt_update()
        r = run(cmd, cwd=DEBS)
        if r.returncode:
            raise Missing(f"`apt-get download {spec}` failed.  The pinned version may have left "
                          f"the archive: pick a new one in conformance/pins.json on purpose.\n"
                          f"{r.stderr[-1500:]}")
    debs = list(DEBS.glob(f"{pin['package']}_*.deb"))
    if len(debs) != 1 or sha256(debs[0]) != pin["deb_sha256"]:
        raise Missing(f"downloaded {spec} does not match the pinned sha256 {pin['deb_sha256']}")
    return debs[0]


def deb_member(deb: Path, member: str, dest: Path) -> None:
    """Copy one file out of a .deb (an ar archive holding data.tar.*), reading only
    until that member: a stdlib stand-in for `dpkg -x` that never unpacks the rest
    (the kernel package unpacks to ~400 MB, of which we need the 8 MB vmlinuz)."""
    with open(deb, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise ValueError(f"{deb} is not an ar archive")
        while True:
            hdr = f.read(60)
            if len(hdr) < 60:
                raise ValueError(f"{deb} has no data.tar member")
            name, size = hdr[:16].decode().strip().rstrip("/"), int(hdr[48:58])
            if not name.startswith("data.tar"):
                f.seek(size + size % 2, 1)
                continue
            with tarfile.open(fileobj=f, mode="r|*") as tar:
                for info in tar:
                    if info.name == member:
                        tmp = dest.with_suffix(".part")
                        tmp.write_bytes(tar.extractfile(info).read())
                        tmp.chmod(0o755)
                        tmp.replace(dest)
                        return
            raise ValueError(f"{member} is not in {deb}")


def ensure_kernel() -> Path:
    """The pinned vmlinuz in the cache; download and extract it on the first run."""
    pin = PINS["kernel"]
    dest = CACHE / Path(pin["member"]).name
    if dest.exists() and (pin["vmlinuz_sha256"] in (None, sha256(dest))):
        return dest
    deb = download_deb(pin)
    progress(f"extracting {pin['member']} from {deb.name}")
    deb_member(deb, pin["member"], dest)
    if pin["vmlinuz_sha256"] and sha256(dest) != pin["vmlinuz_sha256"]:
        raise Missing(f"{dest.name} does not match the pinned vmlinuz_sha256")
    deb.unlink()    # 70 MB we no longer need; vmlinuz alone is cached
    return dest


def ensure_busybox() -> Path:
    pin = PINS["busybox"]
    dest = CACHE / "busybox"
    if dest.exists():
        return dest
    deb = download_deb(pin)
    deb_member(deb, pin["member"], dest)
    return dest


def ensure_gcc() -> str:
    gcc = shutil.which("gcc")
    if not gcc:
        raise Missing("gcc is not installed.  Install it with:\n"
                      "    sudo apt-get install -y gcc libc6-dev")
    return gcc


# ---- stage 2: build the guest program and the initramfs ---------------------

INIT = r"""#!/bin/busybox sh
# /init of the conformance lab initramfs (generated by conformance/lab.py).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
mount -t tracefs tracefs /sys/kernel/tracing
T=/sys/kernel/tracing
echo "@@BEGIN kernel=$(uname -r) nodes=$(ls -d /sys/devices/system/node/node* | wc -l) cpus=$(nproc)"
# The migration entries, one event per pte: set by try_to_migrate_one(),
# removed by remove_migration_pte().
echo 1 > $T/events/migrate/set_migration_pte/enable
echo 1 > $T/events/migrate/remove_migration_pte/enable
# Count waits on a migration entry (migscen reads the hit count in kprobe_profile).
if echo 'p:miglab_wait __migration_entry_wait' > $T/kprobe_events &&
   echo 1 > $T/events/kprobes/miglab_wait/enable; then
    echo "@@KPROBE ok"
else
    echo "@@KPROBE failed"
fi
MIGLAB_GUEST=1 /bin/migscen
echo "@@END rc=$?"
poweroff -f
"""


def compile_guest(scs: list[dict]) -> Path:
    """Generate scenarios.h and compile guest/migscen.c statically (never run here)."""
    gcc = ensure_gcc()
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "scenarios.h").write_text(scenarios.c_header(scs))
    out = BUILD / "migscen"
    cmd = [gcc, "-static", "-O2", "-pthread", "-Wall", "-Wextra", "-Wno-unused-parameter",
           "-I", str(BUILD), "-o", str(out), str(HERE / "guest" / "migscen.c")]
    r = run(cmd)
    if r.returncode and ("cannot find -lc" in r.stderr or "stdio.h" in r.stderr):
        raise Missing("the C library headers or static libc.a are missing.  Install them with:\n"
                      "    sudo apt-get install -y libc6-dev")
    if r.returncode:
        raise RuntimeError(f"gcc failed:\n{r.stderr}")
    if r.stderr.strip():
        print(r.stderr, file=sys.stderr)
    return out


def initramfs(busybox: Path, migscen: Path) -> bytes:
    """The initramfs: busybox, /init, the guest program and a marker file."""
    d, f = newc.directory, newc.file
    entries = [d("bin"), d("dev"), d("etc"), d("proc"), d("sys"), d("tmp"),
               newc.chardev("dev/console", 5, 1),
               f("bin/busybox", busybox.read_bytes(), executable=True),
               f("bin/migscen", migscen.read_bytes(), executable=True),
               f("etc/miglab-initramfs", b"conformance lab initramfs\n"),
               f("init", INIT.encode(), executable=True)]
    return newc.write(entries)


# ---- stage 3: boot -----------------------------------------------------------

def qemu_command(qemu: str, kernel: Path, initrd: Path) -> list[str]:
    """TCG only: KVM hangs on this nested machine (see the lab notes)."""
    return [qemu, "-accel", "tcg", "-nographic", "-no-reboot", "-net", "none",
            "-m", "512", "-smp", "2",
            "-object", "memory-backend-ram,id=m0,size=256M",
            "-object", "memory-backend-ram,id=m1,size=256M",
            "-numa", "node,nodeid=0,cpus=0,memdev=m0",
            "-numa", "node,nodeid=1,cpus=1,memdev=m1",
            "-kernel", str(kernel), "-initrd", str(initrd),
            # No automatic NUMA balancing or THP: only the scenarios move pages.
            "-append", "console=ttyS0 quiet panic=-1 numa_balancing=disable "
                       "transparent_hugepage=never"]


def boot(cmd: list[str], log: Path, timeout: int = TIMEOUT) -> tuple[str, bool]:
    """Run the guest, echo progress from its console, kill it after timeout.
    Returns (serial output, finished in time)."""
    lines: list[str] = []
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")

    def reader():
        for line in proc.stdout:
            lines.append(line)
            s = line.strip()
            for marker in ("@@BEGIN", "@@KPROBE", "@@SCENARIO", "@@END", "@@FATAL", "@@DONE"):
                if marker in s:
                    progress("guest: " + s[s.index(marker):][:100])

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        proc.wait(timeout=timeout)
        ok = True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        ok = False
    t.join(5)
    text = "".join(lines)
    log.write_text(text)
    if not ok:
        progress(f"guest killed after {timeout} s; last lines of {log}:")
        print("".join(lines[-40:]))
    return text, ok


# ---- stage 4: parse the serial console ------------------------------------

def parse_serial(text: str) -> dict:
    """Turn the guest's console output into {'kernel', 'kprobe', 'done', 'scenarios'}.
    Trace lines are counted per page of the step's region: 'set' and 'remove'."""
    out = {"kernel": None, "kprobe": None, "done": False, "end_rc": None, "scenarios": {}}
    traces: dict[tuple[str, int], list[str]] = {}
    for raw in text.splitlines():
        line = raw.replace("\r", "")
        if "@@" not in line:
            continue
        line = line[line.index("@@"):]
        if line.startswith("@@BEGIN"):
            m = re.search(r"kernel=(\S+)", line)
            out["kernel"] = m.group(1) if m else None
        elif line.startswith("@@KPROBE"):
            out["kprobe"] = line.split()[1] if len(line.split()) > 1 else None
        elif line.startswith("@@TRACE "):
            _, sid, step, rest = line.split(" ", 3)
            traces.setdefault((sid, int(step)), []).append(rest)
        elif line.startswith("@@RESULT "):
            res = json.loads(line[len("@@RESULT "):])
            out["scenarios"][res["scenario"]] = res
        elif line.startswith("@@DONE"):
            out["done"] = True
        elif line.startswith("@@END"):
            out["end_rc"] = int(line.split("rc=")[1]) if "rc=" in line else None
    for sid, res in out["scenarios"].items():
        for st in res.get("steps", []):
            if st["op"] == "trace":
                st.update(count_trace(traces.get((sid, st["step"]), []),
                                      int(st["base"], 16), st["npages"]))
    return out


def count_trace(lines: list[str], base: int, npages: int) -> dict:
    """Per page of a region: how many set_/remove_migration_pte events hit it."""
    counts = {"set": [0] * npages, "remove": [0] * npages}
    for line in lines:
        m = re.search(r"\b(set|remove)_migration_pte: addr=([0-9a-f]+)", line)
        if m:
            page = (int(m.group(2), 16) - base) // scenarios.PAGE_SIZE
            if 0 <= page < npages:
                counts[m.group(1)][page] += 1
    counts["trace_lines"] = lines
    return counts


# ---- main ----------------------------------------------------------------------

def prerequisites() -> tuple[str, Path, Path]:
    progress("checking prerequisites (qemu, pinned kernel, busybox, gcc)")
    qemu = ensure_qemu()
    kernel = ensure_kernel()
    busybox = ensure_busybox()
    ensure_gcc()
    return qemu, kernel, busybox


def guest_run(scs: list[dict], timeout: int) -> dict:
    """Build, boot and parse: the guest half of the lab."""
    qemu, kernel, busybox = prerequisites()
    progress("compiling guest/migscen.c (gcc -static; it runs only inside the guest)")
    migscen = compile_guest(scs)
    progress("packing the initramfs (newc)")
    initrd = BUILD / "initramfs.cpio"
    initrd.write_bytes(initramfs(busybox, migscen))
    progress(f"booting {Path(qemu).name} -accel tcg, 2 NUMA nodes (timeout {timeout} s)")
    t = time.monotonic()
    text, finished = boot(qemu_command(qemu, kernel, initrd), CACHE / "serial.log", timeout)
    parsed = parse_serial(text)
    parsed["boot_seconds"] = round(time.monotonic() - t, 1)
    parsed["finished"] = finished
    parsed["qemu_version"] = run([qemu, "--version"]).stdout.splitlines()[0]
    progress(f"guest finished={finished} in {parsed['boot_seconds']} s, "
             f"{len(parsed['scenarios'])}/{len(scs)} scenario results")
    return parsed


def lab_facts(guest: dict) -> dict:
    """What ran, where and how long: the 'lab' part of results/latest.json."""
    return {"kernel_package": f"{PINS['kernel']['package']}={PINS['kernel']['version']}",
            "guest_kernel": guest["kernel"], "qemu": guest.get("qemu_version"),
            "host": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "boot_seconds": guest.get("boot_seconds"),
            "total_seconds": round(time.monotonic() - T0, 1),
            "kprobe": guest["kprobe"], "finished": guest["finished"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=int, default=TIMEOUT, help="guest timeout in seconds")
    ap.add_argument("--guest-only", action="store_true", help="skip the model and comparison")
    ap.add_argument("--from-log", type=Path, help="parse a saved serial log instead of booting")
    ap.add_argument("--reuse-guest", action="store_true",
                    help="no QEMU: take the guest results from results/latest.json, "
                         "run the model again and compare (for model work)")
    ap.add_argument("--no-save", action="store_true", help="do not write results/latest.json")
    args = ap.parse_args(argv)
    ci = os.environ.get("CI", "").lower() == "true"
    print(f"ARG timeout {args.timeout}  CI {ci}  kernel {PINS['kernel']['package']}="
          f"{PINS['kernel']['version']}", flush=True)
    scs = scenarios.load()
    previous = None
    try:
        if args.reuse_guest:
            previous = json.loads((RESULTS / "latest.json").read_text())
            guest = {"scenarios": previous["guest"], "kernel": previous["lab"]["guest_kernel"],
                     "kprobe": previous["lab"]["kprobe"], "finished": previous["lab"]["finished"],
                     "boot_seconds": previous["lab"]["boot_seconds"],
                     "qemu_version": previous["lab"]["qemu"]}
            progress(f"reusing the guest run of {previous['lab']['date']} from results/latest.json")
        elif args.from_log:
            guest = parse_serial(args.from_log.read_text())
            guest.update(finished=guest["done"], boot_seconds=None, qemu_version=None)
        else:
            guest = guest_run(scs, args.timeout)
    except Missing as e:
        if ci:
            print(f"FAILED: conformance lab prerequisite missing under CI:\n{e}", file=sys.stderr)
            return 1
        print(f"SKIPPED: the conformance lab cannot run here.\n{e}", file=sys.stderr)
        return 2
    from conformance import compare, model_side
    model = None
    if not args.guest_only:
        progress("running the same scenarios on the Python model (refmodel)")
        model = model_side.run_all(scs)
    progress("comparing")
    report = compare.compare(scs, guest, model)
    print(compare.render(report))
    results = {
        "lab": previous["lab"] if previous else lab_facts(guest),
        "summary": report["summary"],
        "guest": guest["scenarios"],
        "model": model,
        "comparison": report["checks"],
    }
    # Only a finished guest run replaces the committed results the book reads.
    if not args.no_save and not args.from_log:
        out = RESULTS / "latest.json" if guest["finished"] else CACHE / "unfinished-results.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n")
        progress(f"wrote {out}")
    ok = report["summary"]["ok"]
    holes = report["summary"]["model_not_run"]
    if ci and not args.guest_only and holes:
        # Every scenario runs on the model now: under CI a field it did not run is a hole
        # that would let a broken model pass, so it fails like a mismatch.
        print(f"FAILED under CI: the model did not run {holes} of "
              f"{report['summary']['fields']} fields (see MODEL NOT RUN above)", file=sys.stderr)
        ok = False
    progress("done")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
