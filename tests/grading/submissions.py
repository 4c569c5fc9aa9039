"""Submissions for the grader's tests, built from the real exercise notebooks: the student
cells are replaced by the code given here (right answers, wrong ones, and hostile ones)."""

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]

EX1_RIGHT = '''
def swp_entry(type_, offset):
    return (type_ << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK)

def swp_type(entry):
    return entry >> SWP_TYPE_SHIFT

def swp_offset(entry):
    return entry & SWP_OFFSET_MASK
''', '''
def is_migration_entry(entry, types=MIGRATION_2_6_18):
    return swp_type(entry) in (types.migration_read, types.migration_write)

def is_write_migration_entry(entry, types=MIGRATION_2_6_18):
    return types.migration_write is not None and swp_type(entry) == types.migration_write

def make_migration_entry_read(entry, types=MIGRATION_2_6_18):
    return swp_entry(types.migration_read, swp_offset(entry))
'''

EX1_NO_MASK = (EX1_RIGHT[0].replace("(offset & SWP_OFFSET_MASK)", "offset"), EX1_RIGHT[1])

EX2_RIGHT = '''
def remove_migration_pte(k, vma, old, new):
    address = page_address_in_vma(k, new, vma)
    if address is None:
        return
    table, vpn = vma.vm_mm.pgtable, address >> PAGE_SHIFT
    pte = table.get(vpn, 0)
    if not is_swap_pte(pte):
        return
    entry = pte_to_swp_entry(pte)
    if not is_migration_entry(entry, k.swp_types) or migration_entry_to_page(k.pages, entry) is not old:
        return
    get_page(new)
    pte = pte_mkold(mk_pte(new, vma.vm_page_prot))
    if is_write_migration_entry(entry, k.swp_types):
        pte = pte_mkwrite(pte)
    table[vpn] = pte
    if PageAnon(new):
        page_add_anon_rmap(new, vma, address)
    else:
        page_add_file_rmap(new)
''',

EX2_NO_WRITE_BIT = (EX2_RIGHT[0].replace("pte = pte_mkwrite(pte)", "pass"),)
EX2_LOOPS = ("def remove_migration_pte(k, vma, old, new):\n    while True:\n        pass\n",)
EX2_LOOPS_AT_LOAD = ("while True:\n    pass\n",)
EX2_EATS_MEMORY = ("def remove_migration_pte(k, vma, old, new):\n    x = bytearray(8 << 30)\n",)  # 8 GiB
EX2_SYNTAX_ERROR = ("def remove_migration_pte(k, vma, old, new)\n    return\n",)
EX2_WRONG_NAME = ("def remove_migration_ptes(k, vma, old, new):\n    return\n",)
EX2_WRITES_A_FILE = ("open('/tmp/grade-was-here', 'w').write('x')\n"
                     "def remove_migration_pte(k, vma, old, new):\n    return\n",)
EX2_STARTS_A_PROCESS = ("import os\nos.system('true')\n"
                        "def remove_migration_pte(k, vma, old, new):\n    return\n",)
EX2_EXITS = ("def remove_migration_pte(k, vma, old, new):\n    import os\n    os._exit(3)\n",)
EX2_PRINTS = ("def remove_migration_pte(k, vma, old, new):\n    print('hello from the submission')\n",)


def notebook(exercise_file: str, student_cells, dest: Path) -> Path:
    """The exercise notebook with its student cells replaced, written to dest."""
    nb = nbformat.read(str(ROOT / "exercises" / exercise_file), as_version=4)
    sources = iter(student_cells)
    keep = []
    for cell in nb.cells:
        if "student" in cell.get("metadata", {}).get("tags", []):
            src = next(sources, None)
            if src is None:
                continue
            cell.source = src
        keep.append(cell)
    nb.cells = keep
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(dest))
    return dest

EX3_RIGHT = ('''
def change_pte_range(k, mm, start, end, newprot):
    for vpn in range(start >> PAGE_SHIFT, end >> PAGE_SHIFT):
        pte = mm.pgtable.get(vpn, 0)
        if pte_present(pte):
            mm.pgtable[vpn] = pte_modify(pte, newprot)
        elif is_swap_pte(pte):
            entry = pte_to_swp_entry(pte)
            if is_write_migration_entry(entry, k.swp_types):
                mm.pgtable[vpn] = swp_entry_to_pte(make_migration_entry_read(entry, k.swp_types))
''',)

# present ptes only: the pre-0697212a loop
EX3_NO_DOWNGRADE = ('''
def change_pte_range(k, mm, start, end, newprot):
    for vpn in range(start >> PAGE_SHIFT, end >> PAGE_SHIFT):
        pte = mm.pgtable.get(vpn, 0)
        if pte_present(pte):
            mm.pgtable[vpn] = pte_modify(pte, newprot)
''',)

EX4_RIGHT = ('''
def try_to_unmap_one(k, page, vma, migration):
    mm = vma.vm_mm
    address = vma_address(page, vma)
    pte = None if address is None else page_check_address(page, mm, address)
    if pte is None:
        return SWAP_AGAIN
    vpn = address >> PAGE_SHIFT
    if vma.vm_flags & VM_LOCKED and not migration:
        return SWAP_FAIL
    if not migration and pte_young(pte):
        mm.pgtable[vpn] = pte_mkold(pte)
        return SWAP_FAIL
    del mm.pgtable[vpn]
    if pte_dirty(pte):
        set_page_dirty(page)
    if PageAnon(page) and PageSwapCache(page):
        swap_duplicate(k, page.private)
        mm.pgtable[vpn] = swp_entry_to_pte(page.private)
        mm.anon_rss -= 1
    elif migration:
        mm.pgtable[vpn] = swp_entry_to_pte(make_migration_entry(page, pte_write(pte), k.swp_types))
    elif PageAnon(page):
        BUG_ON(not migration)
    else:
        mm.file_rss -= 1
    page_remove_rmap(page)
    page_cache_release(k, page)
    return SWAP_AGAIN
''',)

# 2.6.17's rule: a VM_LOCKED vma refuses migration too
EX4_LOCKED_REFUSES = (EX4_RIGHT[0].replace("if vma.vm_flags & VM_LOCKED and not migration:",
                                           "if vma.vm_flags & VM_LOCKED:"),)
# V1's single entry type: every entry READ
EX4_NO_WRITE_ENTRY = (EX4_RIGHT[0].replace("make_migration_entry(page, pte_write(pte), k.swp_types)",
                                           "make_migration_entry(page, False, k.swp_types)"),)
EX2_READS_INPUT = ("answer = input()\n"
                   "def remove_migration_pte(k, vma, old, new):\n    return\n",)


# ex9 and ex10: the waiting side, two methods of the fault's kernel path (self is the path)
EX9_RIGHT = ('''
def migration_entry_wait_start(self, k, mm):
    pte = mm.pgtable.get(self.addr >> PAGE_SHIFT, 0)
    if not is_swap_pte(pte):
        return self._return(k)
    entry = pte_to_swp_entry(pte)
    if not is_migration_entry(entry, k.swp_types):
        return self._return(k)
    page = migration_entry_to_page(k.pages, entry)
    get_page(page)
    self.pfn = page.pfn
    self.pc = "migration_entry_wait"
''', '''
def migration_entry_wait(self, k):
    page = k.pages[self.pfn]
    if PageLocked(page):
        return BLOCKED
    page_cache_release(k, page)
    self._return(k)
''')
