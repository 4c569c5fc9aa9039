// "Predict, then check" in the static book.  SPDX-License-Identifier: GPL-2.0-only
//
// refmodel/practice/cell.py writes each question as a <form class="predict"> with
// data-kind ("choice" | "numbers"), data-answer (the choice's index, or the numbers
// joined by commas) and the model's answer in a <div class="predict-answer" hidden>.
// Check compares the reader's guess with data-answer, says whether the model agrees,
// shows the answer and locks the inputs: the guess is committed before it is seen.
(function () {
  "use strict";

  function numbers(text) {
    return (String(text).match(/-?\d+/g) || []).map(function (s) { return String(parseInt(s, 10)); });
  }

  // The reader's guess in data-answer's format, or null if there is none yet.
  function guessOf(form) {
    if (form.dataset.kind === "choice") {
      var picked = form.querySelector("input[type=radio]:checked");
      return picked ? picked.value : null;
    }
    var box = form.querySelector("input[type=text]");
    var got = numbers(box ? box.value : "");
    return got.length ? got.join(",") : null;
  }

  function check(form, verdict, answer) {
    if (form.dataset.checked) { return; }
    var guess = guessOf(form);
    if (guess === null) {
      verdict.textContent = form.dataset.kind === "choice"
        ? "Pick one first: commit to a prediction, then check it."
        : "Type your prediction first, then check it.";
      verdict.className = "predict-verdict predict-empty";
      return;
    }
    var right = guess === form.dataset.answer;
    form.dataset.checked = right ? "right" : "wrong";
    verdict.textContent = right ? "Right: the model agrees." : "Not what the model says.";
    verdict.className = "predict-verdict " + (right ? "predict-right" : "predict-wrong");
    if (form.dataset.kind === "choice") {
      var good = form.querySelector('input[type=radio][value="' + form.dataset.answer + '"]');
      if (good && good.parentNode) { good.parentNode.classList.add("predict-correct"); }
    }
    answer.hidden = false;
    Array.prototype.forEach.call(form.querySelectorAll("input, button"), function (el) {
      el.disabled = true;
    });
  }

  function setUp(form) {
    if (form.dataset.predictReady) { return; }
    var button = form.querySelector(".predict-check");
    var verdict = form.querySelector(".predict-verdict");
    var answer = form.querySelector(".predict-answer");
    if (!button || !verdict || !answer) { return; }
    form.dataset.predictReady = "1";
    var go = function (ev) { ev.preventDefault(); check(form, verdict, answer); };
    button.addEventListener("click", go);
    form.addEventListener("submit", go);        // Enter in the text box
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("form.predict"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
