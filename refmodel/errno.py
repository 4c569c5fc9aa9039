"""The kernel's error numbers: the values every -errno of the model and every OSError of the
façade carries.

Models include/asm-generic/errno-base.h and include/asm-generic/errno.h of Linux 2.6.18, as
x86-64 uses them (include/asm-x86_64/errno.h includes the generic table):
https://elixir.bootlin.com/linux/v2.6.18/source/include/asm-generic/errno-base.h
Python's own errno module gives the host's numbers: the same on Linux, different elsewhere
(under Pyodide ENOENT is 44), so the model states the kernel's numbers itself.
"""

EPERM = 1          # Operation not permitted
ENOENT = 2         # No such file or directory
ESRCH = 3          # No such process
EIO = 5            # I/O error
E2BIG = 7          # Argument list too long
EBADF = 9          # Bad file number
EAGAIN = 11        # Try again
ENOMEM = 12        # Out of memory
EACCES = 13        # Permission denied
EFAULT = 14        # Bad address
EBUSY = 16         # Device or resource busy
EEXIST = 17        # File exists
ENODEV = 19        # No such device
EINVAL = 22        # Invalid argument
ENOSYS = 38        # Function not implemented (asm-generic/errno.h)
EOVERFLOW = 75     # Value too large for defined data type (asm-generic/errno.h)

# number -> name, for messages ("-EFAULT") and tables; like Python's errno.errorcode.
errorcode = {v: n for n, v in globals().items() if n.startswith("E") and isinstance(v, int)}
