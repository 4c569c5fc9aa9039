"""The conformance lab: the same scenarios on Linux 6.1 in QEMU and on refmodel (see README.md)."""
