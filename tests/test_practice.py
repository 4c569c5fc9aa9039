"""Practice questions (refmodel.practice): seeded, answered by the model, checked here
against independent computations -- re-encoding, a replay of the program written for the
test, and the kernel facts each era is known for -- plus the CLI and predict's two faces.

    questions(topic, seed, n) --same seed--> same questions
         |                                   answers == what the test computes on its own
    predict(topic, seed)  --WORKBOOK_STATIC=1--> <form> (no <script>, answer [hidden])
                          --live-------------->  ipywidgets (Check reveals the answer)
"""

import subprocess
import sys
from html.parser import HTMLParser

import pytest

from refmodel import ERAS, MAP_ANONYMOUS, MAP_PRIVATE, MPOL_MF_MOVE_ALL, PAGE_SIZE, PROT_READ, \
    PROT_WRITE, Machine, PteView
from refmodel.pgtable import pfn_pte
from refmodel.practice import TOPICS, make_question, parse_numbers, predict, questions
from refmodel.practice.__main__ import main
from refmodel.practice.pte import FLAG_BITS
from refmodel.swapops import swp_entry, swp_entry_to_pte

SEEDS = range(40)
P = PAGE_SIZE


def each(topic, eras=None, seeds=SEEDS, n=2):
    """Every question of topic for SEEDS, per era (the era as drawn and each one forced)."""
    for seed in seeds:
        yield from questions(topic, seed, n)
    for era in eras or TOPICS[topic].eras:
        for seed in seeds[:10]:
            yield make_question(topic, seed, 0, era)


# -- seeds --------------------------------------------------------------------------------

@pytest.mark.parametrize("topic", list(TOPICS))
def test_same_seed_same_questions_and_answers(topic):
    a, b = questions(topic, 7, 4), questions(topic, 7, 4)
    assert a == b
    assert [q.answer_text() for q in a] == [q.answer_text() for q in b]
    texts = {q.text() for seed in range(12) for q in questions(topic, seed, 1)}
    assert len(texts) > 3, "the seed must change the questions"


def test_predict_is_the_cli_question_of_the_same_index():
    for topic in TOPICS:
        qs = questions(topic, 3, 3)
        assert predict(topic, seed=3, index=2).question == qs[2]
        assert predict(topic, seed=3).question == qs[0]


def test_unknown_topic_or_era_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown topic 'swap'"):
        questions("swap")
    with pytest.raises(ValueError, match="no questions for era '2.6.17'"):
        make_question("counts", era="2.6.17")
    with pytest.raises(ValueError, match="n must be"):
        questions("pte", n=-1)


# -- pte: the decoded fields re-encode to the same value -----------------------------------

def test_pte_answers_reencode_and_agree_with_the_pte_view():
    seen = set()
    for q in each("pte", n=3):
        f, raw, types = q.facts, q.facts["raw"], ERAS[q.era].swap_types
        view = PteView(raw, types)
        seen.add((q.era, f["kind"], f.get("rw")))
        if f["kind"] == "none":
            assert raw == 0 and view.none
        elif f["kind"] == "present":
            bits = sum(FLAG_BITS[name] for name in f["flags"]) | f["other_bits"]
            assert pfn_pte(f["pfn"], bits) == raw and view.present and view.pfn == f["pfn"]
            assert ("RW" in f["flags"]) == view.writable
        else:
            assert swp_entry_to_pte(swp_entry(f["type"], f["offset"])) == raw
            assert (view.swp_type, view.swp_offset) == (f["type"], f["offset"])
            is_mig = f["type"] in (types.migration_read, types.migration_write)
            assert (f["kind"] == "migration") == is_mig == view.is_migration
            if is_mig:
                assert (f["rw"] == "WRITE") == (f["type"] == types.migration_write) \
                    == view.is_write_migration
        # the right choice says what the fields say
        word = {"none": "empty", "present": "present", "swap": "swap"}.get(f["kind"]) \
            or {"WRITE": "WRITE", "READ": "READ", None: "single type"}[f["rw"]]
        assert word in q.choices[q.answer]
        assert q.check(q.answer) and q.check("abcdef"[q.answer])
        assert not q.check((q.answer + 1) % len(q.choices))
    # The era decides what type 31 means: every era and kind turns up.
    assert ("2.6.17", "swap", None) in seen and ("rfc-v1", "migration", None) in seen
    assert ("2.6.18", "migration", "WRITE") in seen and ("2.6.18", "migration", "READ") in seen
    assert not any(era == "2.6.17" and kind == "migration" for era, kind, _ in seen)


# -- counts: a replay written for the test gives the same views ------------------------------

def replay(era, ops):
    """Run a counts program with the façade, independently of practice/counts.py."""
    m = Machine(era=era, nodes=2, pages_per_node=32)
    procs = {"P": m.spawn(node=0, cap_sys_nice=True)}
    a, mig = None, None
    for op in ops:
        if op[0] == "mmap":
            a = procs["P"].mmap(None, op[1] * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
        elif op[0] == "touch":
            proc, addr = procs[op[1]], a + op[2] * P
            proc.write(addr, b"t") if op[3] == "write" else proc.read(addr, 1)
        elif op[0] == "fork":
            procs["C"] = procs["P"].fork()
        elif op[0] == "move_pages":
            m.move_pages(procs["P"], [a + op[1] * P], [1], MPOL_MF_MOVE_ALL)
        elif op[0] == "migrate_entries":
            pfn = procs["P"].pte(a + op[1] * P).pfn
            mig = m.kernel_migrate_path([pfn], 1)
            while m.page(pfn).mapcount:
                assert m.step(mig) != "blocked"
        elif op[0] == "migrate_finish":
            m.finish(mig)
            mig = None
        else:
            raise AssertionError(op)
    return m, procs, a, mig


def test_counts_answers_equal_a_replay_and_the_ptes_that_map_the_page():
    kinds = set()
    for q in each("counts"):
        f = q.facts
        m, procs, a, mig = replay(q.era, f["ops"])
        npages = f["ops"][0][1]
        assert {w: tuple(p.pte(a + j * P).raw for j in range(npages)) for w, p in procs.items()} \
            == f["ptes"]
        page = m.page(f["pfn"])
        assert (page.count, page.mapcount) == (f["count"], f["mapcount"])
        # mapcount is the number of present ptes that map the page, in every process
        present = sum(1 for p in procs.values() for j in range(npages)
                      if p.pte(a + j * P).present and p.pte(a + j * P).pfn == f["pfn"])
        assert page.mapcount == present
        assert "unexplained" not in [who for who, _ in f["extras"]]
        m.check([mig] if mig else [])
        if q.kind == "numbers":
            assert q.check(f"{page.count}/{page.mapcount}") and q.check(f"{page.count}, {page.mapcount}")
            assert not q.check(f"{page.count + 1}/{page.mapcount}")
        kinds.add(q.kind)
        kinds.update(op[0] for op in f["ops"])
    assert {"numbers", "choice", "fork", "move_pages", "migrate_entries", "migrate_finish"} <= kinds


def test_counts_fork_during_migration_downgrades_write_entries_in_2_6_18_only():
    """
        P: [ WRITE entry -> O ]  --fork-->  P: [ READ entry ]   C: [ READ entry ]  (2.6.18)
                                             rfc-v1/v2: the single type, copied as it is
    """
    found = set()
    for seed in range(200):
        q = make_question("counts", seed, 0)
        ops = [op[0] for op in q.facts["ops"]]
        if ops[-2:] != ["migrate_entries", "fork"] or q.facts["who"] != "C":
            continue
        m, procs, a, _ = replay(q.era, q.facts["ops"])
        view = procs["C"].pte(a + q.facts["page"] * P)
        assert view.is_migration and not view.is_write_migration
        found.add(q.era)
    assert "2.6.18" in found


# -- move: what each case is known to give ---------------------------------------------------

# The status of x in each case, when move_pages also moves an ordinary page (so that the
# call itself succeeds): the kernel's rules, written out here as the check.
EXPECTED_STATUS = {
    "moved": {"*": "moved"}, "untouched": {"*": -2}, "zero": {"*": -2}, "below": {"*": -2},
    "above": {"*": -14}, "there": {"*": "there"}, "shared": {"*": -13}, "shared_all": {"*": "moved"},
    "pinned": {"*": -11}, "mlocked": {"2.6.18": "moved", "rfc-v1": -1, "v2-yield": -1},
}


def test_move_pages_statuses_are_the_kernels_rules():
    seen = set()
    for q in each("move", eras=("rfc-v1", "v2-yield", "2.6.18"), n=3):
        if q.era == "2.6.17":
            continue
        f = q.facts
        rule = EXPECTED_STATUS[f["case"]]
        want = rule.get(q.era, rule.get("*"))
        if f["statuses"] is None:                      # nothing isolated: the call fails
            assert q.answer == len(q.choices) - 1
            assert want in (-2, -14, -13, "there"), f"{f['case']} should not fail the call"
            seen.add("fails")
            continue
        if want == "moved":
            assert f["status"] == 1 and f["node_after"] == 1 and q.answer == 0
        elif want == "there":
            assert f["status"] == 0 and q.answer == 1
        else:
            assert f["status"] == want and q.choices[q.answer] == {
                -1: "-EPERM", -2: "-ENOENT", -11: "-EAGAIN", -13: "-EACCES", -14: "-EFAULT"}[want]
            if want == -11:                           # every pass retried, then gave up
                passes = ERAS[q.era].max_passes
                assert f["counters"]["migrate_passes"] == passes and f["ret"] >= 1
        seen.add(f["case"])
    assert {"moved", "pinned", "mlocked", "shared", "untouched", "above", "fails"} <= seen


def test_migrate_pages_in_2_6_17():
    """2.6.17 has no move_pages; migrate_pages(2) borrows a swap slot, or moves nothing."""
    seen = set()
    for seed in SEEDS:
        q = make_question("move", seed, 0, "2.6.17")
        f = q.facts
        ret, node = q.answer
        if f["case"] == "moved":
            assert (ret, node) == (0, 1) and f["counters"]["migrate_add_to_swap"] == 1
        elif f["case"] == "pinned":
            assert (ret, node) == (1, 0) and f["counters"]["migrate_passes"] == 11
        else:                                          # noswap, mlocked, shared, zero
            assert (ret, node) == (0, 0) and not f["counters"]
        assert q.check(f"{ret}, {node}") and not q.check(f"{ret + 1} {node}")
        seen.add(f["case"])
    assert {"moved", "noswap", "pinned", "mlocked"} <= seen


# -- fault: each era's answer to a fault on an entry ---------------------------------------

FAULT_ON_ENTRY = {"2.6.17": 0, "rfc-v1": 0, "v2-yield": 2, "2.6.18": 1}


def test_fault_on_an_entry_in_each_era():
    """
        migration: entries in, page O locked      P: [ entry -> O ]   P reads/writes a
        2.6.17, rfc-v1: do_swap_page sleeps in lock_page      v2-yield: faults again
        2.6.18: migration_entry_wait sleeps; before the count check its reference makes
        that pass fail (verified-facts A10), so the access uses the old page
    """
    seen = set()
    for q in each("fault"):
        f, era = q.facts, q.era
        assert f["choice"] == FAULT_ON_ENTRY[era], (era, f["first"])
        if q.ask.startswith("What does the fault do"):
            assert q.answer == FAULT_ON_ENTRY[era]
        else:
            assert q.answer == f["where"]
        used_old = era == "2.6.17" or (era == "2.6.18" and f["window"] == "unmapped")
        assert (f["used"] == f["old"]) == used_old
        assert f["final_node"] == 1                    # it moves in the end
        c = f["counters"]
        assert (c.get("migration_yield", 0) > 0) == (era == "v2-yield")
        assert c.get("migration_entry_waits", 0) == (1 if era == "2.6.18" else 0)
        assert c.get("pswpin", 0) == 0                 # never read back from a swap area
        seen.add((era, f["window"], f["write"]))
    assert len(seen) == 1 * 2 + 3 * 2 * 2


# -- the CLI ------------------------------------------------------------------------------

def test_cli_echoes_its_settings_and_answers_only_with_c(capsys):
    assert main(["fault", "-s", "5", "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:5] == ["ARG topic fault", "ARG seed 5", "ARG num 2",
                                    "ARG era random", "ARG compute False"]
    assert "Question 2" in out and "Answer" not in out and "run again with -c" in out
    assert main(["fault", "-s", "5", "-n", "2", "-c"]) == 0
    out_c = capsys.readouterr().out
    for q in questions("fault", 5, 2):
        assert q.summary in out_c and q.setting.splitlines()[0] in out_c
    assert main(["fault", "-s", "5", "-n", "2", "-c"]) == 0
    assert capsys.readouterr().out == out_c            # same seed, same run


def test_cli_list_names_every_topic(capsys):
    assert main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(TOPICS)
    assert all(len(line) > 40 for line in lines)


@pytest.mark.parametrize("argv, message", [
    (["nope"], "unknown topic 'nope'"),
    (["counts", "-e", "2.6.17"], "knows eras"),
    (["pte", "-e", "2.6.19"], "knows eras"),
    (["pte", "-s", "x"], "invalid int value"),
    (["pte", "-n", "0"], "-n must be at least 1"),
    ([], "name a topic"),
])
def test_cli_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_cli_as_a_module_exits_2():
    r = subprocess.run([sys.executable, "-m", "refmodel.practice", "nope"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown topic" in r.stderr and r.stdout == ""


# -- predict: the static face -----------------------------------------------------------------

class _Walk(HTMLParser):
    """Text outside and inside [hidden] elements, scripts, handlers, checked inputs."""

    VOID = {"input", "br", "img", "hr", "meta", "link"}

    def __init__(self):
        super().__init__()
        self.stack, self.visible, self.hidden, self.bad, self.checked = [], [], [], [], 0
        self.form = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" or any(k.startswith("on") for k in a):
            self.bad.append(tag)
        if tag == "form":
            self.form = a
        if tag == "input" and "checked" in a:
            self.checked += 1
        if tag not in self.VOID:
            self.stack.append("hidden" in a)

    def handle_endtag(self, tag):
        if tag not in self.VOID:
            self.stack.pop()

    def handle_data(self, data):
        (self.hidden if any(self.stack) else self.visible).append(data)


def static_bundle(monkeypatch, topic, seed):
    monkeypatch.setenv("WORKBOOK_STATIC", "1")
    return predict(topic, seed=seed)._repr_mimebundle_()


@pytest.mark.parametrize("topic", list(TOPICS))
def test_static_html_has_no_script_and_hides_the_answer(topic, monkeypatch):
    for seed in range(6):
        bundle = static_bundle(monkeypatch, topic, seed)
        q = predict(topic, seed=seed).question
        html = bundle["text/html"]
        assert "<script" not in html.lower() and "javascript:" not in html.lower()
        w = _Walk()
        w.feed(html)
        assert not w.bad and w.checked == 0 and not w.stack
        visible, hidden = "".join(w.visible), "".join(w.hidden)
        for line in q.details.splitlines():
            assert line in hidden and line not in visible
        assert "The model:" in hidden and "The model:" not in visible
        assert q.ask in visible and q.setting.splitlines()[0] in visible
        # what predict.js compares the guess with
        want = str(q.answer) if q.kind == "choice" else ",".join(map(str, q.answer))
        assert w.form["data-answer"] == want and w.form["data-kind"] == q.kind
        assert bundle["text/plain"].startswith("Predict, then check")


def test_static_is_off_unless_set(monkeypatch):
    from refmodel.practice.cell import static_build
    monkeypatch.delenv("WORKBOOK_STATIC", raising=False)
    assert not static_build()
    monkeypatch.setenv("WORKBOOK_STATIC", "0")
    assert not static_build()
    monkeypatch.setenv("WORKBOOK_STATIC", "1")
    assert static_build()


def test_book_loads_predict_js_and_css():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    config = (root / "_config.yml").read_text()
    assert '"predict.js"' in config and '"predict.css"' in config
    js = (root / "book/_static/predict.js").read_text()
    # the names cell.py writes are the ones predict.js reads
    for hook in ("form.predict", "dataset.kind", "dataset.answer", ".predict-answer",
                 ".predict-check", ".predict-verdict", "answer.hidden = false"):
        assert hook in js, hook
    assert "http" not in js                           # nothing fetched from anywhere


# -- predict: the live face -------------------------------------------------------------------

def test_live_widget_commits_a_guess_before_showing_the_answer(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.delenv("WORKBOOK_STATIC", raising=False)
    cell = predict("pte", seed=4)
    assert "application/vnd.jupyter.widget-view+json" in cell._repr_mimebundle_()
    box = cell.widget()
    _, guess, button, result = box.children
    button.click()
    assert "first" in result.value and not button.disabled
    q = cell.question
    guess.value = (q.answer + 1) % len(q.choices)
    button.click()
    assert "Not what the model says" in result.value and q.summary.split(":")[0] in result.value
    assert button.disabled and guess.disabled
    numbers = predict("counts", seed=1)
    box = numbers.widget()
    box.children[1].value = "/".join(map(str, numbers.question.answer))
    box.children[2].click()
    assert "Right" in box.children[3].value


def test_check_accepts_letters_indexes_text_and_numbers():
    q = make_question("fault", 0, 0, "2.6.18")
    assert q.check(q.answer) and q.check("abcd"[q.answer] + ")") and q.check(q.choices[q.answer])
    assert not q.check("z") and not q.check(99)
    assert parse_numbers("count 2, mapcount -1") == (2, -1)
    assert predict("fault", 0).check("").right is None


# -- runs where the book's live notebooks may run: stdlib and refmodel only ----------------

def test_imports_only_the_standard_library_and_refmodel():
    code = ("import sys\n"
            "startup = set(sys.modules)          # site's own hooks (.pth files) load first\n"
            "from refmodel.practice import questions, TOPICS, predict\n"
            "for t in TOPICS: questions(t, 1, 3)\n"
            "predict('pte').static_html()\n"
            "mods = {m.split('.')[0] for m in set(sys.modules) - startup}\n"
            "print(sorted(mods - set(sys.stdlib_module_names) - {'refmodel'}))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_the_example_session_in_the_docs_is_what_the_command_prints(capsys):
    from pathlib import Path
    import re
    text = (Path(__file__).resolve().parents[1] / "docs" / "practice.md").read_text()
    block = re.search(r"```\n\$ python -m refmodel\.practice (.*?)\n(.*?)```", text, re.S)
    argv, shown = block.group(1).split(), block.group(2)
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == shown.strip()
