/* The conversation list's selection and its bulk actions (web/team/_bulk.html).

   Each row has a checkbox that belongs to the #bulk form (form="bulk"). Shift+click ticks the
   range from the last one clicked; "x" ticks the open (or focused) row; Escape clears. The
   bar shows while something is ticked. A row that is fetched again (a live update) keeps its
   tick. One POST does the lot; every member's list then follows the live events. */
(function () {
  "use strict";

  var form = document.getElementById("bulk");
  if (!form) return;
  var picked = {};     // conversation id -> true
  var lastClicked = null;

  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function boxes() { return $$("#rows [data-pick]"); }

  function show() {
    var shown = boxes();
    var ids = {};
    shown.forEach(function (box) {
      ids[box.value] = true;
      box.checked = !!picked[box.value];
      box.closest(".row").classList.toggle("tm-picked", box.checked);
    });
    Object.keys(picked).forEach(function (id) { if (!ids[id]) delete picked[id]; });  // left the list
    var count = Object.keys(picked).length;
    form.hidden = count === 0;
    form.querySelector("[data-bulk-count]").textContent = count + " selected";
    var all = form.querySelector("[data-pick-all]");
    all.checked = count > 0 && count === shown.length;
    all.indeterminate = count > 0 && count < shown.length;
    document.getElementById("app").classList.toggle("tm-picking", count > 0);
  }

  function pick(box, on) {
    if (on) picked[box.value] = true; else delete picked[box.value];
  }

  function clear() {
    picked = {};
    lastClicked = null;
    $$("details[data-bulk-menu]", form).forEach(function (d) { d.open = false; });
    show();
  }

  document.addEventListener("click", function (e) {
    var box = e.target.closest && e.target.closest("#rows [data-pick]");
    if (!box) return;
    var all = boxes();
    if (e.shiftKey && lastClicked && all.indexOf(lastClicked) !== -1) {
      var a = all.indexOf(lastClicked), b = all.indexOf(box);
      all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (other) { pick(other, box.checked); });
    } else {
      pick(box, box.checked);
    }
    lastClicked = box;
    show();
  });

  form.addEventListener("change", function (e) {
    if (!e.target.matches("[data-pick-all]")) return;
    var on = e.target.checked;
    boxes().forEach(function (box) { pick(box, on); });
    show();
  });

  form.addEventListener("click", function (e) {
    if (e.target.closest("[data-pick-none]")) clear();
  });

  function typingInField(el) {
    var tag = el && el.tagName;
    return tag === "INPUT" && el.type !== "checkbox" || tag === "TEXTAREA" || tag === "SELECT" || (el && el.isContentEditable);
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typingInField(e.target) || document.querySelector("dialog[open]")) return;
    if (e.key === "x") {
      var row = (document.activeElement && document.activeElement.closest && document.activeElement.closest("#rows .row")) ||
        document.querySelector("#rows .row.active");
      var box = row && row.querySelector("[data-pick]");
      if (!box) return;
      e.preventDefault();
      pick(box, !picked[box.value]);
      lastClicked = box;
      show();
    } else if (e.key === "Escape" && Object.keys(picked).length) {
      clear();
    }
  });

  /* Rows replaced by a live update or a new page of the list: keep their ticks. */
  var list = document.getElementById("conv-list");
  if (list && window.MutationObserver) {
    new MutationObserver(function () { show(); }).observe(list, { childList: true, subtree: true });
  }

  function csrf() {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function say(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.classList.add("show");
    clearTimeout(say.t);
    say.t = setTimeout(function () { el.classList.remove("show"); }, 3000);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var data = new FormData(form, e.submitter);
    var buttons = $$("button", form);
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST", credentials: "same-origin", body: data,
      headers: { "HX-Request": "true", "X-CSRFToken": csrf() }
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, text: body.text }; });
    }).then(function (answer) {
      say(answer.text);
      if (answer.ok) clear();
    }, function () {
      say("You seem to be offline.");
    }).then(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  });

  show();
})();
