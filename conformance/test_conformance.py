"""Host-side tests of the conformance lab's pure-Python parts: the newc writer, the
scenario data and its C table, parsing a captured serial log, the model runner (through
the one scenario interpreter), and compare's verdicts and mismatch table.  Nothing here boots QEMU or
runs the guest program.  Run: .venv/bin/python -m pytest conformance/ -q"""

from __future__ import annotations

import copy
import json
import shutil
import stat
import subprocess
import sys
import types
from pathlib import Path

import pytest
from builtbook import skip_or_fail   # tests/ is on pythonpath: skip locally, fail under CI

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conformance import compare, lab, model_side, newc, scenarios  # noqa: E402

SERIAL = HERE / "testdata" / "serial-6.1.0-56.log"


@pytest.fixture(scope="module")
def scs():
    return scenarios.load()


@pytest.fixture(scope="module")
def guest():
    return lab.parse_serial(SERIAL.read_text())


# ---- newc ----------------------------------------------------------------------

def test_newc_round_trip_keeps_names_modes_data_and_devices():
    entries = [newc.directory("bin"), newc.directory("dev"),
               newc.chardev("dev/console", 5, 1),
               newc.file("bin/x", b"\x7fELF" + bytes(range(256)) * 3, executable=True),
               newc.file("etc", b""), newc.symlink("bin/sh", "busybox"),
               newc.file("odd-length-name", b"abc")]
    blob = newc.write(entries)
    assert len(blob) % 4 == 0
    assert blob.endswith(b"TRAILER!!!\0" + b"\0" * (-(110 + 11) % 4))
    back = newc.read(blob)
    assert [(e.name, e.mode, e.data, e.rdev) for e in back] == \
           [(e.name, e.mode, e.data, e.rdev) for e in entries]
    assert stat.S_ISCHR(back[2].mode) and back[2].rdev == (5, 1)


def test_newc_headers_are_4_byte_aligned():
    blob = newc.write([newc.file("a", b"1"), newc.file("bb", b"22"), newc.file("ccc", b"333")])
    pos = 0
    for _ in range(4):                      # three files and the trailer
        assert blob[pos:pos + 6] == b"070701" and pos % 4 == 0
        namesize = int(blob[pos + 94:pos + 102], 16)
        filesize = int(blob[pos + 54:pos + 62], 16)
        pos += 110 + namesize
        pos += -pos % 4
        pos += filesize + (-filesize % 4)
    assert pos == len(blob)


def test_newc_agrees_with_cpio_binary_if_present(tmp_path):
    cpio = shutil.which("cpio")
    if not cpio:
        skip_or_fail("cpio binary not installed (cross-check of the newc writer; "
                      "sudo apt-get install cpio)")
    blob = newc.write([newc.directory("d"), newc.file("d/f", b"hello\n")])
    r = subprocess.run([cpio, "-t"], input=blob, capture_output=True)
    assert r.stdout.decode().split() == ["d", "d/f"]


# ---- scenario data ---------------------------------------------------------------

def test_scenarios_cover_the_required_cases(scs):
    ids = {s["id"] for s in scs}
    assert {"anon_exclusive_move", "anon_cow_move", "anon_cow_move_all", "shm_one_mapper",
            "shm_two_mappers", "migrate_pages_buffer", "mbind_move", "race_reader"} <= ids


def test_every_named_difference_is_documented(scs):
    named = {d for sc in scs for st in sc["steps"] for d in scenarios.differences(st)}
    assert named <= set(compare.DIFFERENCES)
    for d in compare.DIFFERENCES.values():
        assert d["2.6.18"] and d["6.1"] and d["sources"]
        for ref in d["checked_by"]:
            sid, k = ref.split("/")
            step = next(s for s in scs if s["id"] == sid)["steps"][int(k)]
            assert d["id"] in scenarios.differences(step), ref


@pytest.mark.parametrize("mutate, message", [
    (lambda sc: sc["steps"].append({"op": "teleport"}), "unknown op"),
    (lambda sc: sc["steps"].insert(0, {"op": "where", "region": "Z"}), "not mapped"),
    (lambda sc: sc["steps"].append({"op": "where", "proc": 1, "region": "A"}), "fork first"),
    (lambda sc: sc["steps"].append({"op": "move", "region": "A", "node": 1}), "missing"),
    (lambda sc: sc["steps"].append({"op": "move", "region": "A", "node": 1,
                                    "flags": "MOVE", "kernels": {"6.1": {}}}), "kernels"),
    (lambda sc: sc["steps"].append({"op": "where", "region": "A", "pages": [5]}), "out of range"),
    (lambda sc: sc["steps"].append({"op": "where", "region": "A", "colour": 1}), "unknown fields"),
])
def test_validation_rejects_bad_steps(scs, mutate, message):
    bad = copy.deepcopy([s for s in scs if s["id"] == "anon_exclusive_move"])
    mutate(bad[0])
    with pytest.raises(ValueError, match=message):
        scenarios.validate(bad)


def test_expected_merges_kernel_specific_values(scs):
    step = next(s for s in scs if s["id"] == "anon_cow_move")["steps"][4]
    assert scenarios.expected(step, "6.1") == {"ret": 0, "status": [-13, -13]}
    assert scenarios.expected(step, "2.6.18") == {"ret": -2, "status": None}


def test_c_header_has_one_row_per_step(scs):
    h = scenarios.c_header(scs)
    assert f"#define N_SCENARIOS {len(scs)}" in h
    assert h.count(".op = OP_") == sum(len(s["steps"]) for s in scs)
    assert '{ "anon_exclusive_move", 0, ' in h
    # flags: MOVE|STRICT for the mbind step, MOVE_ALL (4) for a move
    assert ".op = OP_MBIND" in h and ".flags = 3" in h and ".flags = 4" in h
    assert ".pages = 0x2u" in h                  # munmap of page 1 only


def test_c_program_compiles_with_the_generated_table(scs, tmp_path):
    """Compile only (never run): the binary migrates pages and refuses to run on a host."""
    gcc = shutil.which("gcc")
    if not gcc:
        skip_or_fail("gcc not installed (sudo apt-get install gcc)")
    (tmp_path / "scenarios.h").write_text(scenarios.c_header(scs))
    r = subprocess.run([gcc, "-fsyntax-only", "-Wall", "-Wextra", "-Wno-unused-parameter",
                        "-I", str(tmp_path), str(HERE / "guest" / "migscen.c")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr, r.stderr


def test_pattern_differs_between_tags_and_pages():
    assert len(scenarios.pattern(1, 0)) == scenarios.PAGE_SIZE
    assert len({scenarios.pattern(t, p) for t in range(4) for p in range(4)}) == 16


# ---- serial log parsing ------------------------------------------------------------

def test_parse_serial_reads_markers_results_and_traces(guest, scs):
    assert guest["kernel"] == "6.1.0-56-amd64" and guest["kprobe"] == "ok"
    assert guest["done"] and guest["end_rc"] == 0
    assert set(guest["scenarios"]) == {s["id"] for s in scs}
    trace = guest["scenarios"]["anon_cow_move_all"]["steps"][6]
    assert trace["op"] == "trace" and trace["set"] == [2, 2] and trace["remove"] == [2, 2]
    assert len(trace["trace_lines"]) == 8


def test_count_trace_buckets_events_per_page():
    lines = ["x-1 [000] 1.0: set_migration_pte: addr=7f0000001000, pte=1 order=0",
             "x-1 [000] 1.0: remove_migration_pte: addr=7f0000001000, pte=2 order=0",
             "x-2 [000] 1.0: set_migration_pte: addr=7f0000003000, pte=3 order=0",
             "x-2 [000] 1.0: set_migration_pte: addr=7f0000009000, pte=3 order=0"]
    c = lab.count_trace(lines, 0x7f0000000000, 4)
    assert c["set"] == [0, 1, 0, 1] and c["remove"] == [0, 1, 0, 0]


def test_parse_serial_survives_a_truncated_log():
    text = SERIAL.read_text()
    cut = text[:text.index("@@SCENARIO shm_one_mapper")]
    g = lab.parse_serial(cut)
    assert not g["done"] and len(g["scenarios"]) == 3


# ---- compare ---------------------------------------------------------------------

def test_guest_log_meets_every_6_1_expectation(scs, guest):
    report = compare.compare(scs, dict(guest, finished=True), None)
    s = report["summary"]
    assert s["guest_failed"] == 0 and s["ok"] and s["model_compared"] == 0


def _model_from_guest(guest: dict) -> dict:
    """A 'model' that saw exactly what the guest saw, adjusted to 2.6.18 where named."""
    model = {"available": True, "reason": None, "scenarios": copy.deepcopy(guest["scenarios"])}
    for sc in scenarios.load():
        for k, st in enumerate(sc["steps"]):
            if "kernels" in st:
                model["scenarios"][sc["id"]]["steps"][k].update(st["kernels"]["2.6.18"])
    return model


def test_a_model_that_behaves_like_2_6_18_passes(scs, guest):
    report = compare.compare(scs, dict(guest, finished=True), _model_from_guest(guest))
    s = report["summary"]
    assert s["ok"] and s["model_mismatched"] == 0 and s["model_compared"] == s["fields"]


def test_a_synthetic_mismatch_prints_a_side_by_side_table(scs, guest):
    model = _model_from_guest(guest)
    model["scenarios"]["anon_cow_move_all"]["steps"][6]["set"] = [1, 1]     # one pte only
    model["scenarios"]["zero_page"]["steps"][2]["status"] = [-14]          # 6.1's answer
    report = compare.compare(scs, dict(guest, finished=True), model)
    assert not report["summary"]["ok"] and report["summary"]["model_mismatched"] == 2
    text = compare.render(report)
    assert "MISMATCHES" in text and "CONFORMANCE FAILED" in text
    row = next(l for l in text.splitlines() if l.startswith("anon_cow_move_all/6 trace[p0].set"))
    assert "[2,2]" in row and "[1,1]" in row and "DIFFERENT" in row
    row = next(l for l in text.splitlines() if l.startswith("zero_page/2 where[p0].status"))
    assert "model BAD" in row          # held to 2.6.18 (-ENOENT), not to the guest
    assert "zero_page_status" in text  # and the difference is named


def test_a_guest_that_missed_an_expectation_fails(scs, guest):
    g = copy.deepcopy(guest)
    g["scenarios"]["race_reader"]["steps"][2]["waits"] = 0
    report = compare.compare(scs, dict(g, finished=True), None)
    assert not report["summary"]["ok"]
    assert "race_reader/2 race[p0].waits" in compare.render(report)


# ---- the model runner on a fake façade -----------------------------------------------

def test_model_runner_agrees_with_the_guest(scs, guest):
    """The model runner goes through the one scenario interpreter (refmodel.scenario)."""
    model = model_side.run_all(scs, only={"anon_exclusive_move"})
    res = model["scenarios"]["anon_exclusive_move"]
    assert "error" not in res and "unsupported" not in res, res
    assert res["steps"][7] == {"step": 7, "op": "move", "proc": 0, "ret": -2, "status": None}
    report = compare.compare([s for s in scs if s["id"] == "anon_exclusive_move"],
                             dict(guest, finished=True), model)
    s = report["summary"]
    assert s["ok"] and s["model_compared"] == s["fields"] > 0, compare.render(report)


def test_model_runner_reports_missing_features_instead_of_crashing(scs, monkeypatch):
    from refmodel import scenario
    monkeypatch.delitem(scenario.VERBS, "file")
    monkeypatch.delitem(scenario.PATHS, "move_pages")
    model = model_side.run_all(scs, only={"shm_one_mapper", "race_reader"})
    assert "support file" in model["scenarios"]["shm_one_mapper"]["unsupported"]
    assert "does not support" in model["scenarios"]["race_reader"]["unsupported"]
    report = compare.compare(scs, {"scenarios": {}, "finished": True}, model)
    assert "model does not support" in compare.render(report)


def test_model_runner_without_a_facade_says_so(scs, monkeypatch):
    monkeypatch.setitem(sys.modules, "refmodel", types.ModuleType("refmodel"))
    model = model_side.run_all(scs)
    assert model["available"] is False and "does not export Machine" in model["reason"]


def test_committed_results_are_a_finished_real_run(scs):
    res = json.loads((HERE / "results" / "latest.json").read_text())
    assert res["lab"]["finished"] and res["lab"]["guest_kernel"].startswith("6.1.0-")
    report = compare.compare(scs, {"scenarios": res["guest"], "finished": True}, None)
    assert report["summary"]["guest_failed"] == 0


# ---- lab.py's exit codes -------------------------------------------------------------

@pytest.mark.parametrize("ci, code, word", [("true", 1, "FAILED"), ("", 2, "SKIPPED")])
def test_a_missing_prerequisite_fails_under_ci_and_skips_loudly_elsewhere(
        monkeypatch, capsys, ci, code, word):
    def no_qemu(scs, timeout):
        raise lab.Missing("qemu-system-x86_64 is not installed.  Install it with: ...")
    monkeypatch.setattr(lab, "guest_run", no_qemu)
    monkeypatch.setenv("CI", ci)
    assert lab.main(["--no-save"]) == code
    err = capsys.readouterr().err
    assert err.startswith(word) and "qemu-system-x86_64 is not installed" in err


@pytest.mark.parametrize("ci, code", [("true", 1), ("", 0)])
def test_fields_the_model_did_not_run_fail_under_ci(monkeypatch, capsys, ci, code):
    real = model_side.run_all

    def with_a_hole(scs, only=None):
        model = real(scs, only)
        model["scenarios"]["race_reader"] = {"scenario": "race_reader", "steps": [],
                                             "unsupported": "model does not support X yet"}
        return model
    monkeypatch.setattr(model_side, "run_all", with_a_hole)
    monkeypatch.setenv("CI", ci)
    assert lab.main(["--reuse-guest", "--no-save"]) == code
    out, err = capsys.readouterr()
    assert "model does not support X yet" in out
    assert ("did not run" in err) == (ci == "true")


def test_the_model_runs_every_field_of_the_committed_guest_run(scs):
    res = json.loads((HERE / "results" / "latest.json").read_text())
    model = model_side.run_all(scs)
    report = compare.compare(scs, {"scenarios": res["guest"], "finished": True}, model)
    s = report["summary"]
    assert s["model_not_run"] == 0 and s["model_mismatched"] == 0, compare.render(report)
    race = model["scenarios"]["race_reader"]["steps"][2]
    assert race["bad_reads"] == 0 and race["waits"] >= 1 and race["moved"] >= 1
    assert race["waits"] == race["wait_events"]


def test_from_log_compares_without_booting(capsys):
    assert lab.main(["--from-log", str(SERIAL), "--guest-only"]) == 0
    import re
    m = re.search(r"guest \(Linux 6.1\): (\d+)/(\d+) checked fields as expected",
                  capsys.readouterr().out)
    assert m and m.group(1) == m.group(2)
