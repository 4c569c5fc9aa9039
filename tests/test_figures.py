"""The book's figures: charts, the timeline, sequence diagrams and the swap-type picture.

Each figure is one description drawn twice (text and SVG).  These tests check that both
outputs carry the same data, that the SVG scales (viewBox, no fixed page width) and has an
accessible name, that bad input is refused with a clear error, and that the timeline's
sources are verified rows of docs/verified-facts.md section H.
"""

import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from refmodel import MAP_ANONYMOUS, MAP_PRIVATE, MPOL_MF_MOVE_ALL, PAGE_SIZE, PROT_READ, \
    PROT_WRITE, Machine
from refmodel.render.chart import (Chart, Series, bar_chart, chart_svg, line_chart, nice_ticks,
                                  stacked_bar_chart)
from refmodel.render.sequence import Recorder, page_watch
from refmodel.render.swaptypes import load as load_swap_types
from refmodel.render.swaptypes import swap_types_picture
from refmodel.render.timeline import load_events, timeline

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(svg: str):
    """The SVG as XML (it must be well formed) and its root attributes."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def assert_scalable(svg: str):
    root = parse_svg(svg)
    w, h = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {w:g} {h:g}"
    assert "max-width:100%" in root.get("style", "")
    assert root.get("role") == "img" and root.get("aria-label")
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    return root


def svg_texts(svg: str) -> list:
    return ["".join(t.itertext()) for t in parse_svg(svg).iter(f"{SVG}text")]


# -- charts -------------------------------------------------------------------------------

def test_bar_chart_text_and_svg_carry_the_same_numbers():
    c = bar_chart("Work per page", "kernel", "operations", ["2.6.17", "2.6.18"],
                  {"swap slots": [1, 0], "rmap walks": [2, 2]}, note="a caveat")
    text = str(c)
    assert "kernel" in text and "swap slots" in text and "a caveat" in text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()
            if line.startswith("2.6.1")}
    assert rows == {"2.6.17": ["1", "2"], "2.6.18": ["0", "2"]}
    svg = chart_svg(c)
    assert_scalable(svg)
    labels = svg_texts(svg)
    assert "swap slots" in labels and "2.6.17" in labels and "a caveat" in " ".join(labels)
    # one bar per value, each with its value in a tooltip
    bars = [r for r in parse_svg(svg).iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert sorted(b.find(f"{SVG}title").text for b in bars) == [
        "rmap walks, 2.6.17: 2", "rmap walks, 2.6.18: 2", "swap slots, 2.6.17: 1",
        "swap slots, 2.6.18: 0"]


def test_bar_heights_are_proportional():
    svg = chart_svg(bar_chart("t", "x", "y", ["a", "b"], {"s": [10, 40]}))
    heights = {r.find(f"{SVG}title").text: float(r.get("height"))
               for r in parse_svg(svg).iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None}
    assert heights["s, b: 40"] == pytest.approx(4 * heights["s, a: 10"])


def test_line_chart_log2_axis_and_missing_values():
    c = line_chart("t", "pages", "ops", [16, 64, 256], {"a": [1, None, 3]}, x_scale="log2")
    assert "-" in str(c).splitlines()[-1] or "-" in str(c)      # None is drawn as "-"
    svg = chart_svg(c)
    assert_scalable(svg)
    xs = [float(p.split(",")[0]) for p in
          parse_svg(svg).find(f".//{SVG}polyline").get("points").split()]
    assert len(xs) == 2                                          # the missing point is skipped


def test_log2_positions_are_evenly_spaced():
    svg = chart_svg(line_chart("t", "n", "y", [1, 2, 4, 8], {"a": [1, 2, 3, 4]},
                               x_scale="log2"))
    xs = [float(p.split(",")[0]) for p in
          parse_svg(svg).find(f".//{SVG}polyline").get("points").split()]
    gaps = [b - a for a, b in zip(xs, xs[1:])]
    assert max(gaps) - min(gaps) < 0.5


def test_stacked_chart_text_and_svg_carry_the_same_numbers():
    c = stacked_bar_chart("Fields per scenario", "scenario", "fields", ["one", "two"],
                          {"same": [3, 1], "named": [0, 2], "loose": [1, None]}, note="n")
    rows = {line.split()[0]: line.split()[1:] for line in str(c).splitlines()
            if line.startswith(("one", "two"))}
    assert "total" in str(c)
    assert rows == {"one": ["3", "0", "1", "4"], "two": ["1", "2", "-", "3"]}
    svg = chart_svg(c)
    assert_scalable(svg)
    segments = {r.find(f"{SVG}title").text: r for r in parse_svg(svg).iter(f"{SVG}rect")
                if r.find(f"{SVG}title") is not None}
    # zero and missing values draw no segment; the rest are stacked left to right
    assert sorted(segments) == ["loose, one: 1", "named, two: 2", "same, one: 3", "same, two: 1"]
    w = {k: float(r.get("width")) for k, r in segments.items()}
    assert w["same, one: 3"] == pytest.approx(3 * w["loose, one: 1"], abs=0.3)   # drawn to 0.1
    assert w["named, two: 2"] == pytest.approx(2 * w["same, two: 1"], abs=0.3)
    x = {k: float(r.get("x")) for k, r in segments.items()}
    assert x["loose, one: 1"] == pytest.approx(x["same, one: 3"] + w["same, one: 3"], abs=0.2)
    assert "4" in svg_texts(svg) and "3" in svg_texts(svg)          # the totals


def test_stacked_chart_refuses_negative_values():
    with pytest.raises(ValueError, match="at least 0"):
        stacked_bar_chart("t", "x", "y", ["a"], {"s": [-1]})


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="pie"), "unknown chart kind"),
    (dict(series=()), "at least one series"),
    (dict(series=(Series("a", (1,)),)), "1 values for 2 x values"),
    (dict(x_scale="log10"), "unknown x_scale"),
])
def test_bad_charts_are_refused(kwargs, message):
    base = dict(kind="bar", title="t", x_label="x", y_label="y", x=("a", "b"),
                series=(Series("s", (1, 2)),))
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Chart(**base)


def test_log2_needs_positive_x():
    with pytest.raises(ValueError, match="positive"):
        line_chart("t", "x", "y", [0, 1], {"a": [1, 2]}, x_scale="log2")


def test_nice_ticks():
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(6144) == [0, 2000, 4000, 6000, 8000]
    assert nice_ticks(0) == [0, 1]


def test_a_long_legend_wraps_inside_the_picture():
    c = line_chart("t", "x", "y", [1, 2], {"a very long series name " * 6: [1, 2]})
    root = parse_svg(chart_svg(c))
    width = float(root.get("width"))
    for t in root.iter(f"{SVG}text"):
        assert float(t.get("x")) < width


# -- timeline -----------------------------------------------------------------------------

def verified_ids() -> dict:
    text = (ROOT / "docs" / "verified-facts.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| (linux-mm|lkml|commit) \|", text.split("## H.", 1)[1],
                      re.M)
    return dict(rows)


def test_every_timeline_source_is_a_verified_row():
    known = verified_ids()
    events, parts = load_events()
    assert events and set(e.part for e in events) <= set(parts)
    for e in events:
        assert e.sources, e.title
        for s in e.sources:
            if "lore" in s:
                assert s["lore"] in known, (e.title, s)
                assert s["list"] in ("all", known[s["lore"]]), (e.title, s)
            else:
                assert any(k.startswith(s["commit"]) for k, v in known.items()
                           if v == "commit"), (e.title, s)


def test_timeline_is_in_date_order_and_split_in_parts():
    events, _ = load_events()
    assert [e.date for e in events] == sorted(e.date for e in events)
    series = timeline(part="series")
    assert all(e.date < date(2007, 1, 1) for e in series.events)
    assert any("V1 RFC" in e.title for e in series.events)
    assert any("2.6.18" in e.title for e in series.events)


def test_timeline_text_and_svg_list_the_same_events():
    t = timeline()
    text, svg = str(t), t.picture().svg
    assert_scalable(svg)
    drawn = " ".join(svg_texts(svg))
    for e in t.events:
        assert e.date.isoformat() in text and e.title in text
        assert e.title.split()[0] in drawn
    assert "years later" in text and "years later" in drawn


def test_unknown_part_and_kind_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown part"):
        timeline(part="future")
    bad = tmp_path / "t.json"
    bad.write_text('{"parts": {"a": "A"}, "events": [{"date": "2006-01-01", "part": "a", '
                   '"kind": "rumour", "title": "x", "detail": "y", "sources": []}]}')
    with pytest.raises(ValueError, match="unknown event kind"):
        load_events(bad)


# -- sequence diagrams ----------------------------------------------------------------------

def one_page(era="2.6.18"):
    m = Machine(era=era, nodes=2, pages_per_node=64)
    p = m.spawn(node=0, cap_sys_nice=True)
    a = p.mmap(None, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"hello")
    return m, p, a


def test_a_faulting_reader_sleeps_and_wakes_in_its_own_lane():
    m, p, a = one_page()
    rec = Recorder(m, watch=page_watch(m, p, a))
    mig = rec.lane("CPU 0: move_pages()", m.move_pages_path(p, [a], [1], MPOL_MF_MOVE_ALL))
    rd = rec.lane("CPU 1: read", m.access_path(p, a))
    assert rec.run(mig, until=lambda m: m.counters["page_copies"] > 0) == "until"
    assert rec.run(rd) == "blocked"
    rec.run_all([mig, rd])
    m.check()
    d = rec.diagram("one migration")
    outcomes = [(r.lane, r.outcome) for r in d.rows]
    assert (rd, "sleeps") in outcomes and (rd, "wakes") in outcomes
    assert outcomes.index((rd, "sleeps")) < outcomes.index((rd, "wakes"))
    assert outcomes[-1][1] == "done" and (mig, "done") in outcomes
    events = [e for r in d.rows for e in r.events]
    assert events.index("set_migration_pte") < events.index("migration_entry_wait") < \
        events.index("remove_migration_pte")
    assert p.page(a).node == 1 and p.read(a, 5) == b"hello"
    text = str(d)
    assert "migration_entry_wait: sleeps" in text and "migration entry W" in text
    svg = d.picture().svg
    assert_scalable(svg)
    assert "CPU 1: read" in " ".join(svg_texts(svg)) or "CPU 1:" in " ".join(svg_texts(svg))


def test_counters_show_in_the_rows_they_change():
    m, p, a = one_page()
    rec = Recorder(m, watch=page_watch(m, p, a), counters=("migrate_count_mismatch",))
    mig = rec.lane("A", m.move_pages_path(p, [a], [1], MPOL_MF_MOVE_ALL))
    rd = rec.lane("B", m.access_path(p, a))
    rec.run(mig, until=lambda m: p.pte(a).is_migration)
    rec.run(rd)
    rec.run_all([mig, rd])
    rows = [r for r in rec.rows if "migrate_count_mismatch" in r.events]
    assert len(rows) == 1 and rows[0].lane == mig       # the reader's reference was seen


def test_single_type_eras_show_no_read_write():
    m, p, a = one_page("v2-yield")
    rec = Recorder(m, watch=page_watch(m, p, a), counters=("migration_yield",))
    mig = rec.lane("A", m.move_pages_path(p, [a], [1], MPOL_MF_MOVE_ALL))
    rd = rec.lane("B", m.access_path(p, a))
    rec.run(mig, until=lambda m: p.pte(a).is_migration)
    rec.run_all([rd, mig])
    text = str(rec.diagram("v2"))
    assert "migration entry, pfn" in text and "migration entry W" not in text
    assert "migration_yield" in text


def test_identical_steps_fold_into_one_row():
    m, p, a = one_page()
    rec = Recorder(m)                       # no watch: identical repeated steps fold
    lane = rec.lane("A", m.move_pages_path(p, [a], [1], MPOL_MF_MOVE_ALL))
    rec.run(lane)
    assert sum(r.repeat for r in rec.rows) >= len(rec.rows)
    assert "(x" in str(rec.diagram("d")) or all(r.repeat == 1 for r in rec.rows)


def test_run_all_reports_a_deadlock():
    m, p, a = one_page()
    rec = Recorder(m)
    mig = rec.lane("A", m.move_pages_path(p, [a], [1], MPOL_MF_MOVE_ALL))
    rd = rec.lane("B", m.access_path(p, a))
    rec.run(mig, until=lambda m: p.pte(a).is_migration)
    rec.run(rd)                             # B sleeps on the page A holds
    with pytest.raises(RuntimeError, match="every lane sleeps"):
        rec.run_all([rd])                   # ... and A never gets to run


# -- swap types -----------------------------------------------------------------------------

def test_swap_type_layouts_cover_32_types_and_match_2_6_18():
    data = load_swap_types()
    old = next(layout for layout in data["layouts"] if layout["name"] == "2.6.18")
    # 2.6.18 with CONFIG_MIGRATION: MAX_SWAPFILES 30, READ 30, WRITE 31 (verified-facts A19)
    assert [(r["first"], r["last"], r["kind"]) for r in old["ranges"]] == [
        (0, 29, "swap"), (30, 30, "migration"), (31, 31, "migration")]
    s = str(swap_types_picture())
    assert "SWP_MIGRATION_READ_EXCLUSIVE" in s and "0-21" in s
    assert_scalable(swap_types_picture().picture().svg)


def test_a_layout_with_a_hole_is_refused(tmp_path):
    bad = tmp_path / "s.json"
    bad.write_text('{"kinds": {"swap": {"label": "", "payload": ""}}, "layouts": '
                   '[{"name": "x", "ranges": [{"first": 0, "last": 30, "kind": "swap", '
                   '"name": "s"}]}]}')
    with pytest.raises(ValueError, match="does not cover"):
        load_swap_types(bad)


@pytest.mark.parametrize("era", ["rfc-v1", "v2-yield", "2.6.18"])
@pytest.mark.parametrize("arrive", ["early", "late"])
def test_ready_made_fault_diagrams_run_in_every_entry_era(era, arrive):
    from refmodel.render.sequence import fault_during_migration
    d = fault_during_migration(era, arrive, write=True)
    assert d.rows[-1].outcome == "done"
    retried = any("migrate_count_mismatch" in r.events for r in d.rows)
    assert retried == (era == "2.6.18" and arrive == "early")
    with pytest.raises(ValueError, match="arrive"):
        fault_during_migration(era, "never")


def test_sequence_diagram_has_a_narrow_layout_with_the_same_steps(monkeypatch):
    """The phone layout: NARROW_WIDTH units wide (so a 390 px screen draws it about 1:1),
    every step label and state line of the wide one, its title wrapped inside; the static
    book carries both layouts, a live notebook only the wide one."""
    from refmodel.render.sequence import NARROW_WIDTH, WIDTH, fault_during_migration
    pic = fault_during_migration("2.6.18", "early").picture()
    wide, narrow = assert_scalable(pic.svg), assert_scalable(pic.narrow)
    assert float(wide.get("width")) == WIDTH and float(narrow.get("width")) == NARROW_WIDTH
    def words(svg):                      # lines wrap differently; the words are the same
        return set(" ".join(svg_texts(svg)).split())
    assert words(pic.narrow) <= words(pic.svg)
    assert words(pic.svg) - words(pic.narrow) <= {"state", "after", "the", "step"}   # the column head
    for t in parse_svg(pic.narrow).iter(f"{SVG}text"):     # nothing starts outside the width
        assert 0 <= float(t.get("x")) <= NARROW_WIDTH
    monkeypatch.setenv("WORKBOOK_STATIC", "1")
    html = pic._repr_html_()
    assert 'class="refmodel-wide"' in html and 'class="refmodel-narrow"' in html
    monkeypatch.setenv("WORKBOOK_STATIC", "")
    assert "refmodel-narrow" not in pic._repr_html_() and pic.svg in pic._repr_html_()


def test_timeline_has_a_narrow_layout_with_the_same_events(monkeypatch):
    """The timeline's phone layout: NARROW_WIDTH units, the date above each title, every
    word of the wide one, nothing drawn past the right edge's start."""
    from refmodel.render.timeline import NARROW_WIDTH
    pic = timeline().picture()
    narrow = assert_scalable(pic.narrow)
    assert float(narrow.get("width")) == NARROW_WIDTH
    assert set(" ".join(svg_texts(pic.narrow)).split()) == set(" ".join(svg_texts(pic.svg)).split())
    for t in narrow.iter(f"{SVG}text"):
        assert 0 <= float(t.get("x")) <= NARROW_WIDTH
    monkeypatch.setenv("WORKBOOK_STATIC", "1")
    assert 'class="refmodel-narrow"' in pic._repr_html_()


def test_swap_types_picture_has_a_narrow_layout_and_12_unit_labels():
    """The tagged union on a phone: NARROW_WIDTH units, every text inside it; on a laptop no
    label below 12 units (the issue's 12 px at 1280, where the picture is drawn 1:1)."""
    from refmodel.render.swaptypes import NARROW_WIDTH
    pic = swap_types_picture().picture()
    narrow = assert_scalable(pic.narrow)
    assert float(narrow.get("width")) == NARROW_WIDTH
    for t in narrow.iter(f"{SVG}text"):
        assert 0 <= float(t.get("x")) <= NARROW_WIDTH
    sizes = [float(t.get("font-size")) for t in parse_svg(pic.svg).iter(f"{SVG}text")]
    assert min(sizes) >= 12


@pytest.mark.parametrize("kind", ["bar", "line", "stacked"])
def test_charts_have_a_narrow_layout_with_the_same_data(kind, monkeypatch):
    """A chart on a phone: NARROW_WIDTH units (so its labels keep about their size on a
    390 px screen instead of shrinking to half), every word of the wide drawing (a long title
    wraps), every text starting inside the width; the static book carries both layouts."""
    from refmodel.render.chart import NARROW_WIDTH, WIDTH, stacked_bar_chart
    title = "Swap slots, swap-cache and radix-tree operations per migrated page, by kernel"
    series = {"swap slots": [1, 0, 0], "radix-tree updates": [3, 1, 1]}
    if kind == "bar":
        c = bar_chart(title, "kernel", "operations", ["2.6.17", "rfc-v1", "2.6.18"], series)
    elif kind == "line":
        c = line_chart(title, "pages", "operations", [64, 256, 1024], series, x_scale="log2")
    else:
        c = stacked_bar_chart(title, "scenario", "fields", ["hole-and-unmapped", "fork", "tmpfs"],
                              series)
    pic = c.picture()
    wide, narrow = assert_scalable(pic.svg), assert_scalable(pic.narrow)
    assert float(wide.get("width")) == WIDTH and float(narrow.get("width")) == NARROW_WIDTH
    assert set(" ".join(svg_texts(pic.narrow)).split()) == set(" ".join(svg_texts(pic.svg)).split())
    assert len([t for t in svg_texts(pic.narrow) if t in title]) >= 2     # the title wrapped
    for t in narrow.iter(f"{SVG}text"):
        if t.get("transform") is None:                # the rotated y label is placed by it
            assert 0 <= float(t.get("x")) <= NARROW_WIDTH
    monkeypatch.setenv("WORKBOOK_STATIC", "1")
    assert 'class="refmodel-narrow"' in pic._repr_html_()
