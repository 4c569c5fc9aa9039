"""Finer kernel paths: the 2.6.18 code, with a step boundary where the model's own path has none.

Instruments (used by the race exercises and their explorer configurations, data
"classes").  The model's fault reads the pte and, meeting a migration entry, calls
migration_entry_wait in the same step: the re-check under the pte lock always sees what the
read saw.  In Linux 2.6.18 handle_pte_fault reads the pte WITHOUT the pte lock and
do_swap_page hands it to migration_entry_wait, which takes the lock and reads it again
(mm/memory.c line 1934 and mm/migrate.c line 258 at v2.6.18; docs/verified-facts.md A10): in
between, another CPU can finish the migration, free the old page, or unmap the address.
UnlockedReadFault puts that window in, so that the explorer can schedule into it.  Like a
mutant, it adds no slots (the explorer may swap the class of a path the kernel created).
"""

from ..memory import user_access
from ..sched import step


class UnlockedReadFault(user_access):
    """A user access whose fault meets a migration entry in one step (the unlocked read of
    handle_pte_fault, do_swap_page) and takes the pte lock for migration_entry_wait in the
    next (migration_entry_wait_locked).  The era's decision (fault_on_migration_entry) is
    read where it always is: only 2.6.18's branch calls migration_entry_wait_start."""
    __slots__ = ()

    def migration_entry_wait_start(self, k, mm):
        """do_swap_page's call: no pte lock yet; the next step takes it."""
        self.pc = "migration_entry_wait_locked"      # orig_pte: what the unlocked read saw

    @step(dead=("pfn",))
    def migration_entry_wait_locked(self, k):
        """migration_entry_wait, from pte_offset_map_lock to the unlock: the kernel path's own
        migration_entry_wait_start (the re-check, get_page; a learner's, if one is plugged
        in), now a step of its own."""
        return user_access.migration_entry_wait_start(self, k, k.mms[self.mm])


CLASSES = {c.__name__: c for c in (UnlockedReadFault,)}
