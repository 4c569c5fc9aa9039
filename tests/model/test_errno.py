"""The model states the kernel's error numbers (refmodel/errno.py, 2.6.18's
include/asm-generic/errno-base.h and errno.h), not the host's: every -errno of the kernel
layer and every OSError of the façade comes from that one table."""

import ast
import os
import sys
from pathlib import Path

import pytest

from refmodel import Machine, errno
from refmodel.practice.common import ENOENT as PRACTICE_ENOENT
from refmodel.practice.common import ERRNO_NAMES

ROOT = Path(__file__).resolve().parents[2] / "refmodel"
# The values of include/asm-generic/errno-base.h and errno.h at 2.6.18 (4ba3a12d), read there.
KERNEL_2_6_18 = {"EPERM": 1, "ENOENT": 2, "ESRCH": 3, "EIO": 5, "E2BIG": 7, "EBADF": 9,
                 "EAGAIN": 11, "ENOMEM": 12, "EACCES": 13, "EFAULT": 14, "EBUSY": 16,
                 "EEXIST": 17, "ENODEV": 19, "EINVAL": 22, "ENOSYS": 38, "EOVERFLOW": 75}


def test_the_table_holds_the_kernel_values():
    for name, value in KERNEL_2_6_18.items():
        assert getattr(errno, name) == value, name
        assert errno.errorcode[value] == name


def test_no_model_file_uses_the_hosts_errno_module():
    """Only grading/ (which reports the host's own system calls) may import Python's errno."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if "grading" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import) and any(a.name == "errno" for a in node.names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "errno":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"import the kernel's table (from . import errno): {offenders}"


def test_the_facade_raises_the_kernel_numbers():
    m = Machine()
    p = m.spawn()
    with pytest.raises(OSError) as e:
        m.mbind(p, 1, 4096, 0)                      # unaligned start
    assert e.value.errno == 22
    with pytest.raises(OSError) as e:
        m.move_pages(p, [0x1000], [0], flags=1 << 7)
    assert e.value.errno == errno.EINVAL == 22


def test_the_practice_pages_name_errors_from_the_same_table():
    assert PRACTICE_ENOENT == errno.ENOENT
    for value, name in ERRNO_NAMES.items():
        assert errno.errorcode[value] == name


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.uname().machine != "x86_64",
                    reason="the host's numbers are the kernel's only on Linux x86-64")
def test_same_numbers_as_the_host_on_linux():
    """So an OSError from the façade compares equal with Python's errno constants here."""
    import errno as host
    for name, value in KERNEL_2_6_18.items():
        assert getattr(host, name) == value, name
