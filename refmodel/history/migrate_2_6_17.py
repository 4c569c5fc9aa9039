"""Page migration before the series (Linux 2.6.17): pages borrowed swap entries.

Placeholder for the 2.6.17 code path (swap-cache based migrate_pages, migrate_page_remove_references,
remove_from_swap), which is being written; until then the era refuses to migrate and says so.
See https://elixir.bootlin.com/linux/v2.6.17/source/mm/migrate.c
"""

import errno


def check_era(machine) -> None:
    """migrate_prep() of 2.6.17 refused to migrate without swap (-ENODEV)."""
    from ..swapfile import nr_swap_pages
    if nr_swap_pages(machine.k) <= 0:
        raise OSError(errno.ENODEV, "migrate_prep: page migration needs a swap device in 2.6.17")
    raise NotImplementedError("the 2.6.17 swap-based migration path is not modelled yet")
