"""python -m refmodel.explore: settings echoed first (OSTEP style), --list, --json, exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from refmodel.explore import bugs, configs, mutants
from refmodel.explore.world import BUG_CLASSES, check_bug_classes

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, "-m", "refmodel.explore", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=110)


def test_list_names_everything_one_per_line():
    r = run("--list")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert [x.split()[1] for x in lines if x.startswith("config ")] == list(configs())
    assert [x.split()[1] for x in lines if x.startswith("mutant ")] == list(mutants())
    assert [x.split()[1] for x in lines if x.startswith("bug ")] == list(bugs())
    assert all(len(x.split()) == 2 for x in lines if not x.startswith("bug "))


def test_list_and_json_show_each_bugs_class():
    """A bug's class follows its name in --list; --json and a --bug run carry it too."""
    lines = [x.split() for x in run("--list").stdout.splitlines() if x.startswith("bug ")]
    assert {name: cls for _, name, cls in lines} == {n: b["class"] for n, b in bugs().items()}
    assert {cls for _, _, cls in lines} == set(BUG_CLASSES)
    d = json.loads(run("--bug", "anon-vma-freed", "--json").stdout)
    assert d["class"] == "later-kernel"
    assert json.loads(run("reader", "--json").stdout)["class"] is None
    r = run("--bug", "v1-fault-uaf")
    assert "CLASS our-reading (our reading of the code as posted)" in r.stdout


def test_loader_refuses_a_bug_without_a_known_class():
    table = {"x": {"class": "series"}, "y": {"class": "rumour"}}
    with pytest.raises(ValueError, match="bug 'y' has class 'rumour'"):
        check_bug_classes(table)
    with pytest.raises(ValueError, match="bug 'z' has class None"):
        check_bug_classes({"z": {"title": "no class"}})


def test_a_clean_run_exits_0_and_echoes_its_settings_first():
    r = run("writer")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["ARG config writer", "ARG era 2.6.18", "ARG mutant None"]
    assert "no violation" in r.stdout


def test_a_mutant_exits_1_with_the_table():
    r = run("canonical", "--mutant", "no-rollback")
    assert r.returncode == 1
    assert "ARG mutant no-rollback" in r.stdout and "VIOLATED" in r.stdout


def test_bug_runs_in_its_own_configuration_and_era():
    r = run("--bug", "v1-lost-write-bit")
    assert r.returncode == 1
    assert "ARG config writer" in r.stdout and "ARG era rfc-v1" in r.stdout
    assert bugs()["v1-lost-write-bit"]["link"] in r.stdout


def test_json_has_the_documented_keys():
    r = run("--bug", "anon-vma-head", "--json")
    assert r.returncode == 1
    d = json.loads(r.stdout)
    for key in ("config", "era", "mutant", "states", "transitions", "seconds", "violations", "trace",
                "class"):
        assert key in d
    assert d["config"] == "fork-shared" and d["violations"] and len(d["trace"]) <= 12
    ok = run("reader", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["violations"] == []


def test_seed_means_random_mode_labelled_not_exhaustive():
    r = run("reader", "-s", "42")
    assert r.returncode == 0
    assert "ARG mode random" in r.stdout and "ARG seed 42" in r.stdout
    assert "NOT exhaustive" in r.stdout


def test_unknown_names_are_usage_errors():
    assert run("nosuch").returncode == 2
    assert run("canonical", "--mutant", "nosuch").returncode == 2
