"""refmodel: an executable Python reference model of the Linux 2.6.18 memory manager
and of page migration before, during and after Christoph Lameter's 2006 swapless
page-migration series.  See README.md and the book for a tour.

    from refmodel import Machine, PAGE_SIZE, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS
    m = Machine(era="2.6.18", nodes=2, pages_per_node=4096, swap_pages=0)
    p = m.spawn(node=0)
    a = p.mmap(None, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"hello"); assert p.read(a, 5) == b"hello"
"""

from .check import InvariantError
from .eras import ERAS, Era
from .machine import Machine, PageView, Process, PteView, SegmentationFault
from .mmap import (MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_NONE,
                   PROT_READ, PROT_WRITE)
from .mempolicy import (MPOL_BIND, MPOL_DEFAULT, MPOL_INTERLEAVE, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL,
                        MPOL_MF_STRICT, MPOL_PREFERRED)
from .pgtable import PAGE_SHIFT, PAGE_SIZE
from .sched import Deadlock
from .swapops import BUG



def __getattr__(name):
    """refmodel.explore: the interleaving explorer, imported on first use (so that
    `python -m refmodel.explore` runs it once, as __main__).  The module is callable:
    refmodel.explore(config, ...) runs a search; refmodel.explore.replay & co. are in it."""
    if name == "explore":
        import importlib
        return importlib.import_module(".explore", __name__)
    raise AttributeError(f"module 'refmodel' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = ["Machine", "Process", "PteView", "PageView", "SegmentationFault", "InvariantError",
           "BUG", "Deadlock", "Era", "ERAS", "PAGE_SIZE", "PAGE_SHIFT", "PROT_NONE", "PROT_READ",
           "PROT_WRITE", "PROT_EXEC", "MAP_PRIVATE", "MAP_SHARED", "MAP_ANONYMOUS", "MAP_FIXED",
           "MPOL_MF_MOVE", "MPOL_MF_MOVE_ALL", "MPOL_MF_STRICT", "MPOL_DEFAULT", "MPOL_PREFERRED",
           "MPOL_BIND", "MPOL_INTERLEAVE", "explore"]
