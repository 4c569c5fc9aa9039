"""`make autograder`: the zip for Gradescope, unpacked into a folder laid out as Gradescope's
/autograder and run with the venv's python (AUTOGRADER_ROOT and AUTOGRADER_PYTHON point
run_autograder there): results/results.json comes out, hidden cases with their visibility.

    tmp/autograder/source/      run_autograder, setup.sh, refmodel-*.whl, hidden_cases.json
    tmp/autograder/submission/  the learner's upload (any names, any folders)
    tmp/autograder/results/     results.json  <- what Gradescope reads
"""

import json
import os
import subprocess
import sys
import zipfile

import submissions as S
from refmodel import exercises as E


def test_the_autograder_zip_grades_a_submission_laid_out_as_on_gradescope(tmp_path):
    hidden = tmp_path / "hidden.json"
    hidden.write_text(json.dumps({"exercises": {"ex2": {"cases": [dict(
        E.exercises()["ex2"]["cases"][0], name="hidden-one", title="an instructor's case")]}}}))
    z = tmp_path / "autograder.zip"
    r = subprocess.run([sys.executable, "-m", "refmodel.grading.autograder", "--out", str(z),
                        "--cases", str(hidden), "--timeout", "1.5"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(z) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "hidden_cases.json", "grade.conf"} <= names
        assert any(n.startswith("refmodel-") and n.endswith(".whl") for n in names)
        zf.extractall(root / "source")
        assert zf.getinfo("run_autograder").external_attr >> 16 & 0o111
    S.notebook("ex2-remove-migration-pte.ipynb", S.EX2_RIGHT,
               root / "submission" / "my work" / "ex2 (final).ipynb")
    S.notebook("ex1-migration-entries.ipynb", S.EX1_NO_MASK, root / "submission" / "ex1.ipynb")
    (root / "results").mkdir()
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    r = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    res = json.loads((root / "results" / "results.json").read_text())
    by_name = {t["name"]: t for t in res["tests"]}
    ex2 = [t for n, t in by_name.items() if n.startswith("ex2: ")]
    ex1 = [t for n, t in by_name.items() if n.startswith("ex1: ")]
    assert ex2 and all(t["status"] == "passed" for t in ex2)
    assert ex1 and any(t["status"] == "failed" for t in ex1)
    assert by_name["ex2: an instructor's case"]["visibility"] == "after_published"
    assert res["score"] == sum(t["score"] for t in res["tests"])
    assert "isolation tier" in r.stderr and "[1/1]" in r.stderr
    assert "timeout 1.5 s per call" in r.stderr


def test_run_autograder_always_leaves_a_results_json(tmp_path):
    """Even when the grader cannot start at all (here: no such python)."""
    from refmodel.grading.autograder import RUN_AUTOGRADER
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "source" / "run_autograder").write_text(RUN_AUTOGRADER)
    (root / "submission").mkdir()
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON="/nonexistent/python")
    subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                   capture_output=True, text=True, timeout=60)
    res = json.loads((root / "results" / "results.json").read_text())
    assert res["score"] == 0 and "grader error" in res["output"]
