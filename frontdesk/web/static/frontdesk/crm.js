/* Frontdesk CRM: small enhancements of plain forms (every action works without this file):
   ticking rows for a bulk action; a record's timeline kept live (app.js re-dispatches every
   websocket event as a "fd:event" DOM event). */
(function () {
  "use strict";

  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  /* --- bulk actions on a list: "Tick all", and how many are ticked ------------------------ */

  function bulkState(form) {
    var boxes = $$('input[name="ids"]', form);
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    var bar = form.querySelector(".bulk-bar");
    var count = form.querySelector("[data-bulk-count]");
    if (bar) bar.classList.toggle("on", ticked > 0);
    if (count) count.textContent = ticked ? ticked + " ticked" : count.dataset.idle || count.textContent;
    $$("[data-bulk-action]", form).forEach(function (b) { b.disabled = ticked === 0; });
    var all = form.querySelector("[data-check-all]");
    if (all) {
      all.checked = ticked > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  function initBulk(root) {
    $$("form[data-bulk]", root).forEach(function (form) {
      var count = form.querySelector("[data-bulk-count]");
      if (count && !count.dataset.idle) count.dataset.idle = count.textContent;
      bulkState(form);
    });
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    var form = t && t.closest ? t.closest("form[data-bulk]") : null;
    if (!form) return;
    if (t.matches("[data-check-all]")) {
      $$('input[name="ids"]', form).forEach(function (b) { b.checked = t.checked; });
    }
    bulkState(form);
  });

  document.addEventListener("DOMContentLoaded", function () { initBulk(document); });

  /* --- a record's timeline: fetched again when something is added to it ------------------ */

  function record() { return document.querySelector("main[data-record]"); }

  function refreshTimeline() {
    var main = record(), tl = document.getElementById("timeline");
    if (!main || !tl || tl.querySelector(".htmx-request") || tl.contains(document.activeElement)) return;
    if (window.htmx) htmx.trigger(document.body, "fd:timeline");
  }

  function concerns(ev) {
    var main = record();
    if (!main) return false;
    var kind = main.dataset.record, id = main.dataset.recordId;
    if (ev.type === "timeline.changed") {
      return (kind === "contacts" && String(ev.contact_id) === id) ||
        (kind === "leads" && String(ev.lead_id) === id);
    }
    if (ev.type === "message.created" || ev.type === "message.updated") {
      return (" " + (main.dataset.conversations || "") + " ").indexOf(" " + ev.conversation_id + " ") !== -1;
    }
    return false;
  }

  document.addEventListener("fd:event", function (e) {
    if (concerns(e.detail || {})) refreshTimeline();
  });
  document.addEventListener("fd:reconnect", refreshTimeline);
  document.addEventListener("htmx:afterSettle", function (e) {
    var form = e.target.closest ? e.target.closest("form[data-bulk]") : null;
    if (form) bulkState(form); else initBulk(e.target);
  });
})();
