"""`make autograder`: the zip Gradescope runs on its own machines, one submission each.

    python -m refmodel.grading.autograder --out _grade/autograder.zip [--cases hidden.json]
        [--timeout S] [--budget S] [--memory MB] [--hidden-visibility V]

The zip holds setup.sh (Gradescope runs it once, as root, on its Ubuntu image: installs a
Python >= 3.11 and the refmodel wheel built from this checkout into /autograder/venv),
run_autograder (grades /autograder/submission into /autograder/results/results.json), the
wheel, the hidden cases if given, and grade.conf (the grader's options).  AUTOGRADER_ROOT
and AUTOGRADER_PYTHON override /autograder and its venv's python (the tests use them).
"""

import argparse
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .cli import CasesFileError, load_hidden_cases

ROOT = Path(__file__).resolve().parents[2]

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
PY=""
for p in python3.13 python3.12 python3.11; do
    if command -v "$p" >/dev/null; then PY="$p"; break; fi
done
if [ -z "$PY" ]; then
    apt-get update -q
    apt-get install -y -q python3.11 python3.11-venv     # Ubuntu 22.04: jammy-updates
    PY=python3.11
fi
"$PY" -m venv /autograder/venv 2>/dev/null || {
    apt-get update -q && apt-get install -y -q "${PY}-venv" && "$PY" -m venv /autograder/venv; }
/autograder/venv/bin/pip install -q --no-index ./refmodel-*.whl
/autograder/venv/bin/python -c "import refmodel.grade"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for each submission: /autograder/submission -> results/results.json.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
mkdir -p "$ROOT/results"
# The learner's process runs under a uid of its own: it must not read the hidden cases,
# the submission folder or the results (the grader, root, reads them itself).
chmod -R go-rwx "$HERE" "$ROOT/submission" "$ROOT/results" 2>/dev/null || true
ARGS=()
[ -f "$HERE/grade.conf" ] && read -r -a ARGS < "$HERE/grade.conf"
[ -f "$HERE/hidden_cases.json" ] && ARGS+=(--cases "$HERE/hidden_cases.json")
cd /tmp
"$PY" -m refmodel.grade "$ROOT/submission" --out "$ROOT/results/grade" \
    --results "$ROOT/results/results.json" "${ARGS[@]}"
rc=$?
if [ ! -s "$ROOT/results/results.json" ]; then
    echo '{"score": 0, "output": "grader error: the grader could not run. Please report this to your instructor.", "tests": []}' \
        > "$ROOT/results/results.json"
fi
exit 0
"""


def build_wheel(dest: Path) -> Path:
    """The refmodel wheel of this checkout, built into dest (from a copy of the sources, so
    that the build leaves nothing behind in the checkout)."""
    src = dest / "src"
    shutil.copytree(ROOT / "refmodel", src / "refmodel",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for f in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / f, src / f)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "-w", str(dest), str(src)], check=True, capture_output=True)
    wheels = sorted(dest.glob("refmodel-*.whl"))
    if not wheels:
        raise RuntimeError("pip wheel made no refmodel wheel")
    return wheels[-1]


def build(out: Path, cases: Path | None = None, options: list | None = None) -> Path:
    """Write the autograder zip to out."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16
                z.writestr(info, text)
            z.write(wheel, wheel.name)
            z.writestr("grade.conf", " ".join(shlex.quote(o) for o in (options or [])) + "\n")
            if cases is not None:
                z.write(cases, "hidden_cases.json")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m refmodel.grading.autograder", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("_grade/autograder.zip"))
    ap.add_argument("--cases", type=Path, help="hidden cases to ship (a JSON file like exercises.json)")
    ap.add_argument("--timeout", type=float)
    ap.add_argument("--budget", type=float)
    ap.add_argument("--memory", type=int)
    ap.add_argument("--hidden-visibility")
    args = ap.parse_args(argv)
    if args.cases is not None:
        try:
            load_hidden_cases(args.cases)
        except CasesFileError as e:
            ap.error(str(e))
    options = []
    for flag in ("timeout", "budget", "memory", "hidden_visibility"):
        v = getattr(args, flag)
        if v is not None:
            options += [f"--{flag.replace('_', '-')}", str(v)]
    out = build(args.out, args.cases, options)
    print(f"wrote {out} ({out.stat().st_size} bytes): upload it as the assignment's autograder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
