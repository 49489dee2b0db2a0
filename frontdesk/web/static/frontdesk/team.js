/* Teamwork in the inbox: held replies and who is on which conversation in the list.

   Held reply: the composer's hidden after_message_id (web/inbox/_reply_fields.html) is the
   newest message on screen. It follows new messages only while the box is empty, so a
   message that arrives while someone writes holds their reply: the server answers 409 with
   what is new (web/inbox/_held.html), swapped above the box; Send anyway sends it knowing
   the new messages, Edit keeps the text and hides the notice. */
(function () {
  "use strict";

  var app = document.getElementById("app");
  if (!app) return;
  var me = app.dataset.me || "";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function composer() { return $("#reply-form"); }
  function afterField(form) { return form ? form.querySelector("[data-tm-after]") : null; }
  function seen(form, id) {
    var f = afterField(form);
    id = Number(id);
    if (f && id && id > Number(f.value || 0)) f.value = String(id);
  }

  /* --- held reply ---------------------------------------------------------------------- */

  document.body.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    var src = (e.detail.requestConfig && e.detail.requestConfig.elt) || e.detail.elt;  // who asked
    var form = src && src.closest ? src.closest("[data-composer]") : null;
    if (!xhr || xhr.status !== 409 || !form) return;
    $$("[data-tm-held]", form).forEach(function (el) { el.remove(); });
    e.detail.shouldSwap = true;
    e.detail.isError = false;
  });

  document.body.addEventListener("htmx:afterSwap", function (e) {
    var held = e.detail.target && e.detail.target.querySelector && e.detail.target.querySelector("[data-tm-held]");
    if (held) { var b = held.querySelector("[data-tm-send-anyway]"); if (b) b.focus({ preventScroll: true }); }
    renderRowPresence();
  });

  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target : e.target.parentElement;
    var button = t && t.closest("[data-tm-send-anyway], [data-tm-edit]");
    if (!button) return;
    var held = button.closest("[data-tm-held]");
    var form = button.closest("[data-composer]");
    if (!held || !form) return;
    seen(form, held.dataset.newest);
    held.remove();
    if (button.matches("[data-tm-send-anyway]")) {
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    } else {
      var area = form.querySelector("[data-composer-input]");
      if (area) area.focus();
    }
  });

  document.addEventListener("composer:sent", function (e) {
    var form = e.target;
    $$("[data-tm-held]", form).forEach(function (el) { el.remove(); });
    var m = /data-id="(\d+)"/.exec((e.detail && e.detail.xhr && e.detail.xhr.responseText) || "");
    if (m) seen(form, m[1]);
  });

  /* --- live events: what is on screen, who is where -------------------------------------- */

  var presence = {}; // user_id -> {name, conversation_id, typing, at, typingAt}

  document.addEventListener("fd:event", function (e) {
    var ev = e.detail || {};
    if (ev.type === "message.created") {
      var form = composer();
      var area = form && form.querySelector("[data-composer-input]");
      if (form && String(ev.conversation_id) === form.dataset.conversation && area && !area.value.trim()) {
        seen(form, ev.message_id);
      }
    } else if (ev.type === "presence" && String(ev.user_id) !== me) {
      var old = presence[ev.user_id] || {};
      presence[ev.user_id] = {
        name: ev.name, conversation_id: ev.conversation_id, typing: ev.typing, at: Date.now(),
        typingAt: ev.typing ? Date.now() : (old.typingAt || 0)
      };
      renderRowPresence();
    }
  });

  /* Each list row shows who else has it open ("Priya viewing", "Priya typing…"). */
  function renderRowPresence() {
    var now = Date.now();
    var byConversation = {};
    Object.keys(presence).forEach(function (uid) {
      var p = presence[uid];
      if (!p.conversation_id || now - p.at > 25000) return;
      var typing = p.typing && now - p.typingAt < 6000;
      (byConversation[p.conversation_id] = byConversation[p.conversation_id] || []).push({ name: p.name, typing: typing });
    });
    $$("#rows .row").forEach(function (row) {
      var people = byConversation[row.dataset.id] || [];
      var badge = row.querySelector(".tm-row-presence");
      if (!people.length) { if (badge) badge.remove(); return; }
      var typing = people.filter(function (p) { return p.typing; });
      var text = typing.length
        ? typing.map(function (p) { return p.name; }).join(", ") + " typing…"
        : people.map(function (p) { return p.name; }).join(", ") + " viewing";
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "tm-row-presence";
        var bottom = row.querySelector(".row-bottom") || row;
        bottom.appendChild(badge);
      }
      badge.classList.toggle("is-typing", typing.length > 0);
      if (badge.textContent !== text) badge.textContent = text;
    });
  }
  setInterval(renderRowPresence, 3000);
})();
