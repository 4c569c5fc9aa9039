"""The renderer's pictures and steppers (refmodel/render): pictures that fit a phone, and
steppers whose frames come from the model running its migration path.

    Machine(era) + one written page on node 0
        |  migration_stepper(era): m.step on the era's migrate path, a frame whenever
        v  a migration kernel function returns or a step changes the picture
    [before] -> ... -> [pte becomes an entry] -> ... -> [pte maps the new page] -> [done]
"""

import re

import pytest

from refmodel import MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, Machine
from refmodel.render import Stepper, pte_picture, show, static
from refmodel.render.stepper import Frame
from refmodel.steppers import entry_stepper, game_stepper, migration_stepper

SVG = re.compile(r'<svg [^>]*width="(\d+)" height="(\d+)" viewBox="0 0 (\d+) (\d+)"')


def _machine():
    m = Machine(era="2.6.17", nodes=2, pages_per_node=16, swap_pages=8)
    p = m.spawn()
    a = p.mmap(None, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"x")
    p.fork()
    m.reclaim(p, a)
    p.read(a, 1)
    return m


def test_pictures_have_a_viewbox_and_stay_narrow():
    """Every block of a state picture and the pte picture: a viewBox the size of the
    drawing, at most 400 px wide (a phone's column), text of 12 px or more."""
    m = _machine()
    pics = [m.picture(), pte_picture(0x123453E), pte_picture(0x8000000000001067)]
    for pic in pics:
        html = pic._repr_html_()
        sizes = SVG.findall(html)
        assert sizes, pic.title
        for w, h, vw, vh in sizes:
            assert (w, h) == (vw, vh)
            assert int(w) <= 400, f"{pic.title}: {w} px wide"
        fonts = [int(f) for f in re.findall(r'font-size="(\d+)"', html)]
        assert fonts and min(fonts) >= 12


def test_state_picture_text_is_the_description():
    """The text form is still one row per line (what tests and terminals read)."""
    m = _machine()
    text = m.picture().text
    assert text.splitlines()[0].startswith("process 1 (mm 1)")
    assert "swap entry type 0 offset 1" in text and "swap cache: 0:1->pfn1" in text


@pytest.mark.parametrize("era, upto_patch, entry", [
    ("2.6.17", None, "swap entry type 0"),
    ("rfc-v1", 1, "swap entry type 0"),
    ("rfc-v1", 3, "migration entry SWP_TYPE_MIGRATION"),
    ("rfc-v1", 4, "migration entry SWP_TYPE_MIGRATION"),
    ("rfc-v1", 6, "migration entry SWP_TYPE_MIGRATION"),
    ("v2-yield", None, "migration entry SWP_TYPE_MIGRATION"),
    ("2.6.18", None, "migration entry WRITE"),
])
def test_migration_stepper_shows_each_stage(era, upto_patch, entry):
    """The frames show the pte become an entry, the page counts drop, the pte come back
    to the new page on node 1 (except after patch 3, which cannot put it back)."""
    s = migration_stepper(era=era, upto_patch=upto_patch)
    frames = s.frames
    texts = [f.text for f in frames]
    assert frames[0].title == "before" and "node0" in texts[0]
    became = [i for i, t in enumerate(texts) if entry in t]
    assert became, f"no frame shows the {entry}"
    assert any(f.title in ("try_to_unmap_one", "try_to_unmap(page, migration=1)")
               for f in frames[:became[0] + 1])
    if upto_patch == 3:
        assert "nothing can" in frames[-1].title or "no function" in frames[-1].title
        return
    back = [i for i, t in enumerate(texts) if i > became[0] and "pfn 16" in t and entry not in t
            and "-> node1" in t]
    assert back, "no frame shows the pte mapping the new page"
    assert frames[-1].title == "done" and "(old): free" in texts[-1]
    assert len(frames) >= 8
    for f in frames:                                 # every frame: a picture that fits
        assert all(int(w) <= 400 for w, *_ in SVG.findall(f.html))


def test_migration_stepper_refuses_patch_5():
    with pytest.raises(ValueError, match="not a meaningful kernel"):
        migration_stepper(era="rfc-v1", upto_patch=5).frames


def test_static_html_embeds_every_frame_and_no_script():
    """The static form: one <li> per frame, controls hidden until workbook.js runs, no
    inline script, and the same HTML on every run (stored outputs are compared)."""
    s = migration_stepper(era="2.6.18", fork=True)
    html = s._repr_html_()
    assert html.count('class="wb-frame"') == len(s) >= 10
    assert '<div class="wb-controls" hidden>' in html
    assert "<script" not in html
    assert html == migration_stepper(era="2.6.18", fork=True)._repr_html_()
    text = s.text()
    assert text.count("\n[") >= len(s) - 1 and "remove_migration_pte" in text


def test_widget_drives_the_model_one_step_at_a_time():
    """widget() pulls frames from the running model as next is pressed."""
    pytest.importorskip("ipywidgets")
    s = migration_stepper(era="2.6.18")
    w = s.widget()
    assert len(s._frames) == 1                       # nothing computed beyond the first
    buttons = {b.description: b for b in w.children[0].children}
    for _ in range(4):
        buttons["next"].click()
    assert len(s._frames) == 5 and not s._done
    buttons["back"].click()
    assert "4/" in w.children[1].value


def test_show_is_static_under_workbook_static(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    s = Stepper([Frame("one", "text", "<svg/>")])
    monkeypatch.setenv("WORKBOOK_STATIC", "1")
    assert static()
    show(s)
    assert shown[-1] is s                            # its _repr_html_ is what the page gets
    monkeypatch.setenv("WORKBOOK_STATIC", "")
    pytest.importorskip("ipywidgets")
    show(s)
    assert type(shown[-1]).__name__ == "VBox"


def test_entry_stepper_pairs_read_and_write():
    s = entry_stepper(pfns=(0x12345, 0x1))
    assert [f.title for f in s.frames[:2]] == ["WRITE entry for pfn 0x12345", "READ entry for pfn 0x12345"]
    for f in s.frames:
        labels = dict(f.choices)
        assert s.frames[labels["READ"]].title.startswith("READ") and \
            s.frames[labels["WRITE"]].title.startswith("WRITE")
    assert "SWP_MIGRATION_READ" in s.frames[1].html


def test_game_stepper_is_a_tree_that_reaches_the_goal():
    """Every choice leads to a frame whose parent is where it was chosen, and following
    the choices from the start reaches the goal."""
    s = game_stepper("orphan")
    frames = s.frames
    for i, f in enumerate(frames):
        for _, j in f.choices:
            assert frames[j].parent == i
    assert any(f.caption.startswith("goal reached") for f in frames)
    assert s.mode == "tree" and len(frames) <= 40


def test_stepper_rejects_a_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        Stepper([], mode="circle")
