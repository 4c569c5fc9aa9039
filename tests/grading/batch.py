"""A batch of mixed submissions for measuring the grader (right, wrong and looping answers).

    python tests/grading/batch.py DIR [-n 100] [-s SEED]
    python -m refmodel.grade DIR/* --out DIR/_out -j 2

Each submission is a folder with every exercise's notebook: with probability 0.4 all
right, 0.4 one realistic wrong answer per exercise (tests/grading/wrong_answers.py), 0.2
one exercise whose function loops forever (the rest right).  Prints its seed first.
"""

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import submissions as S            # noqa: E402
import wrong_answers as W          # noqa: E402

from refmodel.exercises import exercises  # noqa: E402

FILES = {ex: Path(body["notebook"]).name for ex, body in sorted(exercises().items())}
RIGHT = S.RIGHT
LOOPS = {"ex1": ("def swp_entry(type_, offset):\n    while True:\n        pass\n", S.EX1_RIGHT[1]),
         "ex2": S.EX2_LOOPS,
         "ex3": ("def change_pte_range(k, mm, start, end, newprot):\n    while True:\n        pass\n",),
         "ex4": ("def try_to_unmap_one(k, page, vma, migration):\n    while True:\n        pass\n",)}
for _ex, _body in exercises().items():      # the others: the right answer, its first function looping
    if _ex not in LOOPS:
        _fn = _body["functions"][0]
        LOOPS[_ex] = (S.RIGHT[_ex][0] + f"\n\ndef {_fn}(*args):\n    while True:\n        pass\n",) + S.RIGHT[_ex][1:]


def build(dest: Path, n: int, seed: int) -> dict:
    rng = random.Random(seed)
    kinds = {}
    for i in range(n):
        r = rng.random()
        kind = "right" if r < 0.4 else "wrong" if r < 0.8 else "loops"
        looping = rng.choice(sorted(FILES)) if kind == "loops" else None
        for ex, f in FILES.items():
            if kind == "wrong":
                cells = W.WRONG[ex][rng.choice(sorted(W.WRONG[ex]))][0]
            elif ex == looping:
                cells = LOOPS[ex]
            else:
                cells = RIGHT[ex]
            S.notebook(f, cells, dest / f"s{i:03}" / f)
        kinds[f"s{i:03}"] = kind
    return kinds


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dest", type=Path)
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("-s", "--seed", type=int, default=1)
    a = ap.parse_args()
    print(f"ARG seed {a.seed}", file=sys.stderr)
    kinds = build(a.dest, a.n, a.seed)
    print({k: list(kinds.values()).count(k) for k in ("right", "wrong", "loops")}, file=sys.stderr)
