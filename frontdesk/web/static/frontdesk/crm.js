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

  /* A select that stands for its whole form (the deals page's pipeline). */
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.matches && t.matches("select[data-autosubmit]") && t.form) t.form.submit();
  });

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
        (kind === "leads" && String(ev.lead_id) === id) ||
        (kind === "deals" && String(ev.deal_id) === id);
    }
    if (ev.type === "message.created" || ev.type === "message.updated") {
      return (" " + (main.dataset.conversations || "") + " ").indexOf(" " + ev.conversation_id + " ") !== -1;
    }
    return false;
  }

  document.addEventListener("fd:event", function (e) {
    var ev = e.detail || {};
    if (concerns(ev)) refreshTimeline();
    if (ev.type === "deal.changed" && window.htmx) htmx.trigger(document.body, "fd:deals");
    if (ev.type === "followups.changed" && mine(ev.user_ids)) refreshFollowupCount();
  });
  document.addEventListener("fd:reconnect", refreshTimeline);
  document.addEventListener("fd:reconnect", refreshFollowupCount);

  /* The sidebar's count of due follow-ups: fetched again when one of mine fell due, was
     done, moved or given to someone else. */
  function mine(userIds) {
    var app = document.getElementById("app");
    var me = app ? app.dataset.me : "";
    return (userIds || []).some(function (id) { return String(id) === me; });
  }
  function refreshFollowupCount() {
    if (window.htmx && document.querySelector('[data-count="followups"]')) {
      htmx.trigger(document.body, "fd:followups");
    }
  }

  /* --- boards: drag a card to another column (its "Move to" menu does the same by keyboard) */

  var dragged = null;

  function csrf() {
    var app = document.getElementById("app");
    try { return JSON.parse(app.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function toast(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.classList.add("show");
    setTimeout(function () { el.classList.remove("show"); }, 3000);
  }

  /* Move a card: optimistically into the column, then the board (counts, totals) is fetched
     again. A deal dropped on a lost stage asks for the reason first (board.dataset.askLost). */
  function move(card, column, extra) {
    var body = new URLSearchParams({ stage: column.dataset.dropStage, from: "board" });
    Object.keys(extra || {}).forEach(function (k) { body.set(k, extra[k]); });
    var board = column.closest("[data-board]");
    var list = column.querySelector("ul");
    if (list) {
      var empty = list.querySelector(".board-empty");
      if (empty) empty.remove();
      list.insertBefore(card, list.firstChild);
    }
    return fetch(card.dataset.moveUrl, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "HX-Request": "true", "X-CSRFToken": csrf() }
    }).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { toast(t || "That move did not work."); });
    }, function () { toast("You seem to be offline."); }).then(function () {
      if (window.htmx && board) htmx.trigger(document.body, "fd:" + board.dataset.board);
    });
  }

  document.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest("[draggable=true][data-move-url]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.id || "");
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    $$(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });

  document.addEventListener("dragover", function (e) {
    var column = dragged && e.target.closest && e.target.closest("[data-drop-stage]");
    if (!column || !column.closest("[data-board]").contains(dragged)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    $$(".drop-target").forEach(function (c) { if (c !== column) c.classList.remove("drop-target"); });
    column.classList.add("drop-target");
  });

  document.addEventListener("drop", function (e) {
    var column = dragged && e.target.closest && e.target.closest("[data-drop-stage]");
    if (!column) return;
    e.preventDefault();
    column.classList.remove("drop-target");
    var card = dragged;
    if (card.closest("[data-drop-stage]") === column) return;
    var ask = column.dataset.askReason;
    if (ask) { askReason(card, column); return; }
    move(card, column);
  });

  /* A board's redraw (fd:leads / fd:deals: a live event, or our own move) waits while one of
     its cards' Move menus is open, its move is on its way, or a card is being dragged: the
     swap would close the menu or drop the card from under the mouse. It happens once, when
     the menu closes, the move's answer is in, or the drag ends. */
  var waiting = {};  // board name -> a redraw was held back

  function busy(board) {
    return !!(dragged || board.querySelector("details.card-move[open], form.card-moving"));
  }

  function redrawWaiting() {
    Object.keys(waiting).forEach(function (name) {
      var board = document.querySelector('[data-board="' + name + '"]');
      if (!waiting[name] || !board || busy(board)) return;
      waiting[name] = false;
      if (window.htmx) htmx.trigger(document.body, "fd:" + name);
    });
  }

  function redraw(e) {  // the board's own GET, about to leave or to be swapped in
    var board = e.target;
    return board.matches && board.matches("[data-board]") && e.detail.elt === board ? board : null;
  }
  document.addEventListener("htmx:confirm", function (e) {
    var board = redraw(e);
    if (!board || e.detail.verb !== "get") return;
    waiting[board.dataset.board] = busy(board);
    if (waiting[board.dataset.board]) e.preventDefault();
  });
  // A menu opened while the redraw was on its way: this answer is dropped, the next one waits.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var board = redraw(e);
    if (!board || !busy(board)) return;
    e.detail.shouldSwap = false;
    waiting[board.dataset.board] = true;
  });

  // A stage chosen in a card's menu: the menu closes, the board redraws on the move's answer.
  document.addEventListener("submit", function (e) {
    var menu = e.target.closest && e.target.closest("details.card-move");
    if (!menu) return;
    e.target.classList.add("card-moving");
    menu.open = false;
  }, true);
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.target.classList && e.target.classList.contains("card-moving")) {
      e.target.classList.remove("card-moving");
      redrawWaiting();
    }
  });
  document.addEventListener("toggle", function (e) {
    if (e.target.matches && e.target.matches("details.card-move") && !e.target.open) redrawWaiting();
  }, true);
  document.addEventListener("dragend", redrawWaiting);  // after the one above: dragged is null

  /* A deal dropped on a lost stage: the reason is asked in a small dialog. */
  function askReason(card, column) {
    var dialog = document.getElementById("lost-dialog");
    if (!dialog || !dialog.showModal) { move(card, column); return; }
    var form = dialog.querySelector("form");
    form.reset();
    dialog.showModal();
    form.onsubmit = function (ev) {
      ev.preventDefault();
      var reason = form.querySelector("[name=lost_reason]").value;
      dialog.close();
      move(card, column, { lost_reason: reason });
    };
    var cancel = dialog.querySelector("[data-cancel]");
    if (cancel) cancel.onclick = function () { dialog.close(); };
  }
  document.addEventListener("htmx:afterSettle", function (e) {
    var form = e.target.closest ? e.target.closest("form[data-bulk]") : null;
    if (form) bulkState(form); else initBulk(e.target);
  });
  /* --- follow-ups: typing a day or time picks "Pick" ------------------------------------- */

  document.addEventListener("input", function (e) {
    var field = e.target;
    if (!field.closest || !field.closest(".crm-fu-custom")) return;
    var pick = field.form && field.form.querySelector('input[name="when"][value="custom"]');
    if (pick) pick.checked = true;
  });
})();

/* A CSV file over the import's size limit is refused before it is sent, in words. */
(function () {
  "use strict";
  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!(input instanceof HTMLInputElement) || !input.dataset.maxBytes || !input.files) return;
    var file = input.files[0];
    var tooLarge = !!file && file.size > Number(input.dataset.maxBytes);
    input.setCustomValidity(tooLarge ? input.dataset.tooLarge || "This file is too large." : "");
    var error = document.getElementById("import-error");
    if (error) {
      error.textContent = tooLarge ? input.dataset.tooLarge || "" : "";
      error.hidden = !tooLarge;
    }
  });
})();
