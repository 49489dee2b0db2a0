/* Teamwork in the shell: the notification bell and its panel (live over the websocket).
   app.js re-dispatches every socket event as a "fd:event" DOM event; this file listens. */
(function () {
  "use strict";

  var app = document.getElementById("app");
  if (!app) return;
  var me = app.dataset.me;

  function bell() { return document.getElementById("bell"); }
  function panel() { return document.getElementById("notif-panel"); }
  function isOpen() { var p = panel(); return !!p && !p.hidden; }

  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { return r.ok ? r.text() : null; });
  }

  function loadPanel() {
    return get("/notifications/panel").then(function (html) {
      var p = panel();
      if (html === null || !p) return;
      if (p.contains(document.activeElement) && p.querySelector(".htmx-request")) return;
      p.innerHTML = html;
      if (window.htmx) htmx.process(p);
    });
  }

  function syncExpanded() {
    var b = bell();
    if (b) b.setAttribute("aria-expanded", isOpen() ? "true" : "false");
  }

  function openPanel() {
    var p = panel();
    if (!p) return;
    p.hidden = false;
    syncExpanded();
    loadPanel().then(function () {
      var first = p.querySelector(".notif-open, [data-read-all], a");
      if (first && isOpen()) first.focus({ preventScroll: true });
    });
  }

  function closePanel(focusBell) {
    var p = panel();
    if (!p || p.hidden) return;
    p.hidden = true;
    syncExpanded();
    if (focusBell && bell()) bell().focus();
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target : e.target.parentElement;
    if (!t) return;
    if (t.closest("[data-bell]")) {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return; // a new tab: the page
      e.preventDefault();
      if (isOpen()) closePanel(false); else openPanel();
      return;
    }
    if (isOpen() && !t.closest("#notif-panel")) closePanel(false);
  });

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && isOpen()) { e.preventDefault(); e.stopPropagation(); closePanel(true); }
  }, true);

  function refreshNotifications() {
    if (window.htmx) htmx.trigger(document.body, "fd:notifications");
    if (isOpen()) loadPanel();
  }

  document.addEventListener("fd:event", function (e) {
    var ev = e.detail || {};
    if ((ev.type === "notification.created" || ev.type === "notification.read") && String(ev.user_id) === me) {
      refreshNotifications();
    }
  });
  document.addEventListener("fd:reconnect", refreshNotifications);

  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "bell") syncExpanded();
  });
  document.body.addEventListener("htmx:afterSettle", function () { syncExpanded(); });
})();
