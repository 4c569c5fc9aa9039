"""Every page of the book as readers meet it, at 1280 px (a laptop) and 390 px (a phone),
in headless Chromium (the fixtures are in bookbrowser.py):

    page at 1280 / 390 px
      - the page never scrolls sideways (document wider than the window)
      - every SVG is fully inside its container: its drawing inside its viewBox, and the
        element not cut by the column or by an ancestor that hides overflow; for a stepper,
        in every one of its frames
      - no JavaScript error, no failed request, nothing requested off this machine
      - each stepper shows its controls, and its next button (or, in a tree, its first
        choice) changes the picture
      - each "predict, then check" cell hides its answer until a guess is checked; a wrong
        guess (first cell of a page) or the right one (the others) then shows the verdict
        and the answer, and locks the inputs; the page still fits with every answer shown
      - at 390 px: the menu button opens the navigation (the table of contents)

One browser and one page per width are reused for all pages, to keep the time down.
"""

import pytest

from bookbrowser import browser, record_problems, site, toc_pages  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.book, pytest.mark.browser]

WIDTHS = (1280, 390)

# Runs in the page: problems with the layout as a list of strings (empty when all is well).
LAYOUT_JS = r"""() => {
  const out = [];
  const de = document.scrollingElement;
  if (de.scrollWidth > de.clientWidth + 1)
    out.push(`the page scrolls sideways: ${de.scrollWidth} px wide in a ${de.clientWidth} px window`);
  const column = document.querySelector("main article") || document.querySelector("main");
  const colBox = column.getBoundingClientRect();
  const svgs = [...column.querySelectorAll("svg")].filter(s =>
      !(s.parentElement && s.parentElement.closest("svg")) && s.getClientRects().length > 0);
  for (const s of svgs) {
    const r = s.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;                  // icons hidden by the theme
    if (s.closest(".toggle-hidden, details:not([open])")) continue;   // folded: not shown
    const name = s.getAttribute("aria-label") || s.className.baseVal || "svg";
    // 1. the drawing inside the viewport of the svg (its viewBox, else its own box)
    const vb = s.viewBox && s.viewBox.baseVal && s.viewBox.baseVal.width ? s.viewBox.baseVal : null;
    let bb = null;
    try { bb = s.getBBox(); } catch (e) {}
    if (bb && bb.width > 0) {
      const x0 = vb ? vb.x : 0, y0 = vb ? vb.y : 0;
      const w = vb ? vb.width : r.width, h = vb ? vb.height : r.height;
      if (bb.x < x0 - 1 || bb.y < y0 - 1 || bb.x + bb.width > x0 + w + 1 || bb.y + bb.height > y0 + h + 1)
        out.push(`${name}: the drawing (${Math.round(bb.width)}x${Math.round(bb.height)}) is cut by its ` +
                 `${vb ? "viewBox" : "box"} (${Math.round(w)}x${Math.round(h)})`);
    }
    // 2. the element inside the column and inside any ancestor that clips
    if (r.left < colBox.left - 1 || r.right > colBox.right + 1)
      out.push(`${name}: ${Math.round(r.width)} px wide, sticks out of the ${Math.round(colBox.width)} px column`);
    for (let a = s.parentElement; a && a !== column; a = a.parentElement) {
      const st = getComputedStyle(a);
      if (st.overflowX !== "visible" || st.overflowY !== "visible") {
        const ab = a.getBoundingClientRect();
        if (r.right > ab.right + 1 || r.bottom > ab.bottom + 1 || r.left < ab.left - 1)
          out.push(`${name}: cut by <${a.tagName.toLowerCase()} class="${a.className}">`);
        break;
      }
    }
  }
  return out;
}"""

# Runs in the page: every stepper, every frame shown in turn and checked with LAYOUT_JS;
# then back to the first frame, and the first move forward must change the picture.
STEPPER_JS = r"""(layout) => {
  const check = eval(layout);
  const out = [];
  const boxes = [...document.querySelectorAll(".wb-stepper")];
  boxes.forEach((box, n) => {
    const label = `stepper ${n + 1} (${(box.querySelector(".wb-stepper-title") || {}).textContent || ""})`;
    const controls = box.querySelector(".wb-controls");
    if (!controls || controls.hidden || !box.classList.contains("wb-live")) {
      out.push(`${label}: its controls were not switched on (workbook.js did not run?)`); return;
    }
    const frames = [...box.querySelectorAll(".wb-frame")];
    const shown = () => frames.filter(f => !f.hidden);
    // Step through: next for linear steppers, the choices (depth first) for trees.
    const goto = i => { const b = [...box.querySelectorAll("[data-wb-goto]")].find(x => +x.dataset.wbGoto === i);
                        if (b) { b.click(); return true; } return false; };
    const first = box.querySelector(".wb-first"), next = box.querySelector(".wb-next");
    for (let i = 0; i < frames.length; i++) {
      if (next) { first.click(); for (let j = 0; j < i; j++) next.click(); }
      else if (i === 0) first.click();
      else if (!goto(i)) { out.push(`${label}: no button leads to frame ${i + 1}`); return; }
      const vis = shown();
      if (vis.length !== 1) { out.push(`${label}: ${vis.length} frames shown at once`); return; }
      for (const p of check()) out.push(`${label}, frame ${i + 1}: ${p}`);
    }
    first.click();
    const before = shown()[0];
    const pic = before.querySelector("figure").innerHTML;
    if (next) next.click();
    else { const c = before.querySelector("[data-wb-goto]"); if (c) c.click(); }
    const after = shown()[0];
    if (after === before || after.querySelector("figure").innerHTML === pic)
      out.push(`${label}: moving on from the first frame did not change the picture`);
    first.click();
  });
  return {count: boxes.length, problems: out};
}"""


# Runs in the page: every predict form, answered (the first one wrongly, to see both
# verdicts) and checked; then the layout again, with every answer shown.
PREDICT_JS = r"""(layout) => {
  const check = eval(layout);
  const out = [];
  const forms = [...document.querySelectorAll("form.predict")];
  forms.forEach((f, n) => {
    const label = `predict ${n + 1} (${(f.querySelector(".predict-id") || {}).textContent || ""})`;
    const answer = f.querySelector(".predict-answer"), verdict = f.querySelector(".predict-verdict");
    if (!answer || !answer.hidden) { out.push(`${label}: the answer shows before a guess`); return; }
    const want = f.dataset.answer, wrong = n === 0;
    f.querySelector(".predict-check").click();                 // no guess yet: nothing shown
    if (!answer.hidden) { out.push(`${label}: Check without a guess showed the answer`); return; }
    if (f.dataset.kind === "choice") {
      const radios = [...f.querySelectorAll("input[type=radio]")];
      const pick = wrong ? radios.find(r => r.value !== want) : radios.find(r => r.value === want);
      if (!pick) { out.push(`${label}: no choice to pick`); return; }
      pick.click();
    } else {
      const nums = want.split(",").map(Number);
      if (wrong) nums[0] += 1;
      f.querySelector("input[type=text]").value = nums.join("/");
    }
    f.querySelector(".predict-check").click();
    const said = verdict.textContent;
    if (answer.hidden) out.push(`${label}: checking a guess did not show the answer`);
    if (wrong ? !/^Not what/.test(said) : !/^Right/.test(said))
      out.push(`${label}: a ${wrong ? "wrong" : "right"} guess got the verdict ${JSON.stringify(said)}`);
    if ([...f.querySelectorAll("input")].some(i => !i.disabled)) out.push(`${label}: the inputs stay open`);
  });
  for (const p of check()) out.push(`with every answer shown: ${p}`);
  return {count: forms.length, problems: out};
}"""


@pytest.fixture(scope="module", params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def viewer(request, browser):  # noqa: F811 (browser is a fixture)
    """(page, problems, width): one browser page at this width, reused for every page."""
    width = request.param
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 600 else 844})
    page = context.new_page()
    problems: list = []
    record_problems(page, problems)
    yield page, problems, width
    context.close()


def visit(viewer, site, path):  # noqa: F811
    page, problems, width = viewer
    problems.clear()
    page.goto(f"{site}/{path}", wait_until="load")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(200)
    return page, problems, width


@pytest.mark.parametrize("path", toc_pages())
def test_page_fits_and_works(viewer, site, path):  # noqa: F811
    """No sideways scrolling, no cut SVG (steppers: in every frame), steppers that step,
    predict cells that hide their answer until a guess is checked, and no JavaScript error
    or request off the machine."""
    page, problems, width = visit(viewer, site, path)
    layout = page.evaluate(LAYOUT_JS)
    steppers = page.evaluate(STEPPER_JS, LAYOUT_JS)
    predicts = page.evaluate(PREDICT_JS, LAYOUT_JS)
    page.wait_for_timeout(50)
    assert layout == [], f"{path} at {width} px: {layout}"
    assert steppers["problems"] == [], f"{path} at {width} px: {steppers['problems']}"
    assert predicts["problems"] == [], f"{path} at {width} px: {predicts['problems']}"
    assert problems == [], f"{path} at {width} px: {problems}"


@pytest.mark.parametrize("path", ["book/intro.html", "book/before-the-series.html",
                                  "exercises/ex1-migration-entries.html"])
def test_phone_menu_opens_the_navigation(browser, site, path):  # noqa: F811
    """At 390 px the visible menu button opens the table of contents (the theme bug in
    pydata-sphinx-theme 0.17 bound the only working listener to a hidden button)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    problems: list = []
    record_problems(page, problems)
    page.goto(f"{site}/{path}", wait_until="load")
    page.wait_for_load_state("networkidle")
    buttons = page.locator(".primary-toggle")
    visible = [i for i in range(buttons.count()) if buttons.nth(i).is_visible()]
    link = page.locator("nav.bd-docs-nav a", has_text="Before the series").first
    hidden_before = not link.is_visible()
    if visible:
        buttons.nth(visible[0]).click()
        page.wait_for_timeout(300)
    opened = link.is_visible()
    context.close()
    assert visible, f"{path}: no visible menu button at 390 px"
    assert hidden_before, f"{path}: the navigation shows before the menu is opened"
    assert opened, f"{path}: the menu button did not open the navigation"
    assert problems == [], problems
