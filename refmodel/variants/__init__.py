"""Variants of the kernel: code of another kernel version that replaces a whole 2.6.18
function rather than differing from it at one decision point.

Kernel layer.  An era (eras.py) is a preset of the decision table; where a version's code
differs from 2.6.18's by more than a branch, that code lives here under its kernel name,
one module per kernel file and version, and the 2.6.18 caller picks it at one decision
point (for example mempolicy.migrate_to_node picks 2.6.17's migrate_pages when the era's
`migration` decision says "swapcache"):

    migrate_2_6_17.py   mm/migrate.c of Linux 2.6.17: migration through the swap cache

Later kernels go here too: a "modern" era (say, folio-based migration with the anon_vma
reference of 2.6.35 and migration entries for THP) would add modules such as
migrate_6_1.py, a preset in eras.py, and the decision points that select them.
"""
