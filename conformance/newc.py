"""A tiny writer (and reader, for tests) of the cpio "newc" format that the kernel
unpacks as an initramfs, so the lab does not depend on the cpio binary.
Format: Documentation/driver-api/early-userspace/buffer-format.rst in the kernel
(https://www.kernel.org/doc/html/latest/driver-api/early-userspace/buffer-format.html)."""

from __future__ import annotations

import stat
from dataclasses import dataclass

MAGIC = b"070701"
FIELDS = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
          "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check")
HEADER_LEN = len(MAGIC) + 8 * len(FIELDS)   # 110 bytes


@dataclass
class Entry:
    """One archive member: a path without leading '/', its mode bits and data."""
    name: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)     # (major, minor) of a device node


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _header(ino: int, e: Entry, namesize: int) -> bytes:
    values = dict(ino=ino, mode=e.mode, uid=0, gid=0,
                  nlink=2 if stat.S_ISDIR(e.mode) else 1, mtime=0,
                  filesize=len(e.data), devmajor=0, devminor=0,
                  rdevmajor=e.rdev[0], rdevminor=e.rdev[1],
                  namesize=namesize, check=0)
    return MAGIC + b"".join(b"%08X" % values[f] for f in FIELDS)


def write(entries: list[Entry]) -> bytes:
    """Pack entries (parents before children) into a newc archive with its trailer."""
    out = bytearray()
    for ino, e in enumerate(entries + [Entry("TRAILER!!!", 0)], start=1):
        name = e.name.encode() + b"\0"
        out += _header(ino if e.name != "TRAILER!!!" else 0, e, len(name)) + name
        out += _pad4(HEADER_LEN + len(name))
        out += e.data + _pad4(len(e.data))
    return bytes(out)


def read(blob: bytes) -> list[Entry]:
    """Unpack a newc archive (the inverse of write(); used by the tests)."""
    entries, pos = [], 0
    while True:
        if blob[pos:pos + 6] != MAGIC:
            raise ValueError(f"bad newc magic at offset {pos}")
        f = {k: int(blob[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i, k in enumerate(FIELDS)}
        pos += HEADER_LEN
        name = blob[pos:pos + f["namesize"] - 1].decode()
        pos += f["namesize"]
        pos += -pos % 4
        data = blob[pos:pos + f["filesize"]]
        pos += f["filesize"]
        pos += -pos % 4
        if name == "TRAILER!!!":
            return entries
        entries.append(Entry(name, f["mode"], data, (f["rdevmajor"], f["rdevminor"])))


def directory(name: str) -> Entry:
    return Entry(name, stat.S_IFDIR | 0o755)


def file(name: str, data: bytes, executable: bool = False) -> Entry:
    return Entry(name, stat.S_IFREG | (0o755 if executable else 0o644), data)


def chardev(name: str, major: int, minor: int) -> Entry:
    return Entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))


def symlink(name: str, target: str) -> Entry:
    return Entry(name, stat.S_IFLNK | 0o777, target.encode())
