"""One source per exercise (issue #13): exercises/source/exN-*.ipynb holds the answer between
nbgrader's markers; `make exercises` (refmodel.grading.generate) makes the learner's
exercises/exN-*.ipynb from it.  Here: the committed learner notebooks are exactly what the
generator makes, and through the real batch grader every source solution scores full marks
and every stub zero, for every exercise of exercises.json.

    exercises/source/ex2-....ipynb --generate--> exercises/ex2-....ipynb (stub, committed)
          |  (solutions)                                |  (stubs)
          +------------> python -m refmodel.grade <-----+
                         full marks                 zero
"""

import json
import shutil
from pathlib import Path

import pytest

import submissions as S
from refmodel import exercises as E
from refmodel.grading import cli
from refmodel.grading import generate as G

EXERCISES = E.exercises()


def test_every_exercise_has_a_source_and_a_learner_notebook_and_nothing_else_is_there():
    for ex, body in EXERCISES.items():
        assert (S.ROOT / body["notebook"]).is_file(), ex
        assert S.source_notebook(ex).is_file(), f"{ex}: no source notebook {S.source_notebook(ex)}"
    names = {Path(b["notebook"]).name for b in EXERCISES.values()}
    assert {p.name for p in G.sources()} == names
    assert {p.name for p in (S.ROOT / "exercises").glob("*.ipynb")} == names


def test_the_committed_learner_notebooks_are_what_the_generator_makes():
    made = G.generated()
    assert made
    stale = [p.name for p, text in made.items() if p.read_text(encoding="utf-8") != text]
    assert not stale, f"run `make exercises`: {stale} differ from their source"
    assert G.main(["--check"]) == 0


def test_the_generator_is_deterministic_and_writes_only_into_its_out_folder(tmp_path):
    out1, out2 = tmp_path / "a", tmp_path / "b"
    out1.mkdir(), out2.mkdir()
    nodocs = str(tmp_path / "no-docs.md")
    assert G.main(["--out", str(out1), "--docs", nodocs]) == 0
    assert G.main(["--out", str(out2), "--docs", nodocs]) == 0
    names = sorted(p.name for p in out1.iterdir())
    assert names == sorted(p.name for p in G.sources())
    for n in names:
        assert (out1 / n).read_bytes() == (out2 / n).read_bytes() == \
            (S.ROOT / "exercises" / n).read_bytes()
    (out1 / names[0]).write_text("{}")
    assert G.main(["--check", "--out", str(out1), "--docs", nodocs]) == 1          # a stale notebook is told


def test_the_table_of_exercises_in_the_docs_is_current_and_complete():
    text = G.DOCS.read_text(encoding="utf-8")
    assert G.with_table(text, G.exercise_table()) == text, "run `make exercises`: docs/exercises.md's table is stale"
    table = G.exercise_table()
    for ex, body in EXERCISES.items():
        row = next(r for r in table.splitlines() if r.startswith(f"| [{ex}]("))
        assert body["patch"] in row and body["chapter"].split("/")[-1] in row
        assert row.endswith(f"| {len(body['cases'])} | {sum(c.get('points', 1) for c in body['cases']):g} |")
    with pytest.raises(G.SourceError, match="no table markers"):
        G.with_table("# no table here\n", table)


def test_every_notebook_links_its_chapter_and_says_how_long_it_takes():
    """exercises.json's chapter is the page the book links to the exercise from; the notebook
    links back to it ({doc}, resolved by the book's build), and the chapter is in the book."""
    toc = (S.ROOT / "_toc.yml").read_text(encoding="utf-8")
    for ex, body in EXERCISES.items():
        assert f"file: {body['chapter']}" in toc, (ex, body["chapter"])
        assert f"file: {body['notebook'][:-len('.ipynb')]}" in toc, (ex, "learner notebook not in _toc.yml")
        nb = json.loads((S.ROOT / body["notebook"]).read_text(encoding="utf-8"))
        text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        assert f"{{doc}}`../{body['chapter']}`" in text, (ex, "no link back to its chapter")
        assert "**Time:**" in text and "elixir.bootlin.com/linux/v2.6.1" in text, ex


def test_a_learner_notebook_has_no_solution_no_output_and_the_sources_ids_and_tags():
    for src in G.sources():
        source = json.loads(src.read_text(encoding="utf-8"))
        learner = json.loads((S.ROOT / "exercises" / src.name).read_text(encoding="utf-8"))
        assert [c["id"] for c in source["cells"]] == [c["id"] for c in learner["cells"]]
        assert source["metadata"] == learner["metadata"]
        for s, l in zip(source["cells"], learner["cells"]):
            assert s["metadata"] == l["metadata"]
            text = "".join(l["source"])
            assert "### BEGIN SOLUTION" not in text and "### HINT" not in text, src.name
            if l["cell_type"] == "code":
                assert l["outputs"] == [] and l["execution_count"] is None
            if "student" in l["metadata"].get("tags", []):
                assert "### BEGIN SOLUTION" in "".join(s["source"]), f"{src.name}: a student cell without a solution"
                assert "raise NotImplementedError" in text
            else:
                assert s["source"] == l["source"]


STUB_SOURCE = '''def f(x):
    """Doc."""
    ### BEGIN SOLUTION
    ### HINT: say "what" to do
    y = x + 1
    return y
    ### END SOLUTION


def g(x):
    if x:
        ### BEGIN SOLUTION
        return 1
        ### END SOLUTION
    return 0'''


def test_stub_and_solution_of_a_cell():
    assert G.stub(STUB_SOURCE) == ('def f(x):\n    """Doc."""\n'
                                   '    raise NotImplementedError("say \\"what\\" to do")\n\n\n'
                                   'def g(x):\n    if x:\n        raise NotImplementedError\n    return 0')
    sol = G.solution(STUB_SOURCE)
    assert "###" not in sol and "    y = x + 1\n    return y\n" in sol and sol.endswith("return 0")
    ns = {}
    exec(sol, ns)
    assert ns["f"](1) == 2 and ns["g"](1) == 1
    ns = {}
    exec(G.stub(STUB_SOURCE), ns)
    with pytest.raises(NotImplementedError, match='say "what" to do'):
        ns["f"](1)


@pytest.mark.parametrize("text, error", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "BEGIN SOLUTION without ### END"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "END SOLUTION without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "inside another"),
    ("### BEGIN SOLUTION\n### HINT: a\n### END SOLUTION\n", "without code"),
    ("### BEGIN SOLUTION\n### HINT: a\n### HINT: b\nx = 1\n### END SOLUTION\n", "second ### HINT"),
    ("### HINT: a\nx = 1\n", "outside a solution region"),
])
def test_broken_markers_are_named_with_their_line(text, error):
    with pytest.raises(G.SourceError, match=error):
        G.stub(text, "ex9.ipynb, cell 3")


def test_markers_outside_a_student_cell_are_refused(tmp_path):
    src = json.loads(G.sources()[0].read_text(encoding="utf-8"))
    cell = next(c for c in src["cells"] if c["cell_type"] == "code" and "student" not in c["metadata"].get("tags", []))
    cell["source"] = ["### BEGIN SOLUTION\n", "x = 1\n", "### END SOLUTION"]
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ex1-bad.ipynb").write_text(json.dumps(src))
    with pytest.raises(G.SourceError, match="not tagged 'student'"):
        G.generated(tmp_path / "src", tmp_path)
    assert G.main(["--source", str(tmp_path / "src"), "--out", str(tmp_path), "--docs", str(tmp_path / "x.md")]) == 2
    assert not (tmp_path / "ex1-bad.ipynb").exists()


def test_through_the_real_grader_sources_score_full_marks_and_stubs_zero(tmp_path):
    """One batch, two learners: one hands in the source notebooks (the solutions), one the
    learner notebooks as shipped (the stubs).  Every exercise of exercises.json is graded."""
    right, stubs = tmp_path / "right", tmp_path / "stubs"
    right.mkdir(), stubs.mkdir()
    for ex, body in EXERCISES.items():
        shutil.copy(S.source_notebook(ex), right / S.source_notebook(ex).name)
        shutil.copy(S.ROOT / body["notebook"], stubs / Path(body["notebook"]).name)
    out = tmp_path / "out"
    assert cli.main([str(right), str(stubs), "--out", str(out), "-j", "2"]) == 0
    full = sum(c.get("points", 1) for body in EXERCISES.values() for c in body["cases"])
    res = json.loads((out / "right" / "results.json").read_text())
    assert res["score"] == full, [t["output"] for t in res["tests"] if t["score"] < t["max_score"]]
    res = json.loads((out / "stubs" / "results.json").read_text())
    assert res["score"] == 0 and len(res["tests"]) == sum(len(b["cases"]) for b in EXERCISES.values())
    assert all("NotImplementedError" in t["output"] for t in res["tests"]), res["tests"][0]
