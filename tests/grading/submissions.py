"""Submissions for the grader's tests, built from the real exercise notebooks: the student
cells are replaced by the code given here (right answers, wrong ones, and hostile ones).
The right answers are the solutions written in the source notebooks (exercises/source/),
markers taken out: one copy of each answer, the one `make exercises` generates from."""

from pathlib import Path

import nbformat

from refmodel.exercises import exercises
from refmodel.grading.generate import SOURCE_DIR, solution_cells

ROOT = Path(__file__).resolve().parents[2]


def source_notebook(exercise: str) -> Path:
    """The source notebook of an exercise (its learner notebook's name, in exercises/source/)."""
    return SOURCE_DIR / Path(exercises()[exercise]["notebook"]).name


# exercise id -> its student cells, as the source notebook's solutions
RIGHT = {ex: solution_cells(source_notebook(ex)) for ex in sorted(exercises())}

EX1_RIGHT = RIGHT["ex1"]

EX1_NO_MASK = (EX1_RIGHT[0].replace("(offset & SWP_OFFSET_MASK)", "offset"), EX1_RIGHT[1])

EX2_RIGHT = RIGHT["ex2"]

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

EX3_RIGHT = RIGHT["ex3"]

# present ptes only: the pre-0697212a loop
EX3_NO_DOWNGRADE = ('''
def change_pte_range(k, mm, start, end, newprot):
    for vpn in range(start >> PAGE_SHIFT, end >> PAGE_SHIFT):
        pte = mm.pgtable.get(vpn, 0)
        if pte_present(pte):
            mm.pgtable[vpn] = pte_modify(pte, newprot)
''',)

EX4_RIGHT = RIGHT["ex4"]

# 2.6.17's rule: a VM_LOCKED vma refuses migration too
EX4_LOCKED_REFUSES = (EX4_RIGHT[0].replace("if vma.vm_flags & VM_LOCKED and not migration:",
                                           "if vma.vm_flags & VM_LOCKED:"),)
# V1's single entry type: every entry READ
EX4_NO_WRITE_ENTRY = (EX4_RIGHT[0].replace("make_migration_entry(page, pte_write(pte), k.swp_types)",
                                           "make_migration_entry(page, False, k.swp_types)"),)
EX2_READS_INPUT = ("answer = input()\n"
                   "def remove_migration_pte(k, vma, old, new):\n    return\n",)


# ex9 and ex10: the waiting side, two methods of the fault's kernel path (self is the path)
EX9_RIGHT = RIGHT["ex9"]          # (ex10's solution is the same two methods)
