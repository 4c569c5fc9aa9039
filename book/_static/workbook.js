// Workbook steppers in the static book (refmodel/render/stepper.py writes the HTML).
//
// A stepper is <div class="wb-stepper"> holding every frame the model computed at build
// time, in <li class="wb-frame">.  Without this script all frames show, one under the
// other, and no control does.  With it, one frame shows at a time and the controls
// appear: start / back / next (linear mode), and a frame's choices (buttons that jump to
// another frame: a thread to run, READ or WRITE).  In "tree" mode back goes to the
// frame's parent (data-wb-parent), like undo.  Keys: left and right arrows, Home.
// Licence: GPL-2.0-only, as the rest of the workbook's code.
(function () {
  "use strict";

  function setup(box) {
    if (box.dataset.wbReady) { return; }
    box.dataset.wbReady = "1";
    var frames = Array.prototype.slice.call(box.querySelectorAll(":scope > .wb-frames > .wb-frame"));
    if (frames.length === 0) { return; }
    var tree = box.dataset.wbMode === "tree";
    var controls = box.querySelector(":scope > .wb-controls");
    var pos = controls.querySelector(".wb-pos");
    var first = controls.querySelector(".wb-first");
    var prev = controls.querySelector(".wb-prev");
    var next = controls.querySelector(".wb-next");
    var current = 0;

    function show(i) {
      current = Math.max(0, Math.min(frames.length - 1, i));
      frames.forEach(function (f, j) {
        var on = j === current;
        f.classList.toggle("wb-current", on);
        f.hidden = !on;
      });
      pos.textContent = (current + 1) + " / " + frames.length;
      first.disabled = current === 0;
      prev.disabled = current === 0;
      if (next) { next.disabled = current === frames.length - 1; }
      frames[current].querySelectorAll("[data-wb-goto]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(Number(b.dataset.wbGoto) === current));
      });
    }

    function back() {
      if (tree) {
        var parent = frames[current].dataset.wbParent;
        show(parent === undefined ? 0 : Number(parent));
      } else {
        show(current - 1);
      }
    }

    controls.hidden = false;
    box.classList.add("wb-live");
    box.querySelectorAll(".wb-choices").forEach(function (c) { c.hidden = false; });
    first.addEventListener("click", function () { show(0); });
    prev.addEventListener("click", back);
    if (next) { next.addEventListener("click", function () { show(current + 1); }); }
    box.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-wb-goto]");
      if (b && box.contains(b)) { show(Number(b.dataset.wbGoto)); }
    });
    box.tabIndex = 0;
    box.addEventListener("keydown", function (ev) {
      if (ev.target.closest("summary, a, input")) { return; }
      if (ev.key === "ArrowRight" && next) { show(current + 1); ev.preventDefault(); }
      else if (ev.key === "ArrowLeft") { back(); ev.preventDefault(); }
      else if (ev.key === "Home") { show(0); ev.preventDefault(); }
    });
    show(0);
  }

  function setupAll() {
    document.querySelectorAll(".wb-stepper").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupAll);
  } else {
    setupAll();
  }
})();
