"""refmodel: an executable Python reference model of the Linux 2.6.18 memory manager
and of page migration before, during and after Christoph Lameter's 2006 swapless
page-migration series.  See README.md and the book for a tour."""

__version__ = "0.1.0"
