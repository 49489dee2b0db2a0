/* Frontdesk thread: email frames sized to their content, the assignee picker, menus kept on
   screen. Everything here enhances plain HTML that works without it. */
(function () {
  "use strict";

  /* --- email frames: as tall as the email (the frame is same-origin, never scripted) ----- */

  var MIN = 48;

  function sizeFrame(frame) {
    var doc;
    try { doc = frame.contentDocument; } catch (err) { return; }
    if (!doc || !doc.body) return;
    frame.style.height = MIN + "px"; // shrink first so a narrower layout can report less
    var h = Math.max(doc.documentElement.scrollHeight, doc.body.scrollHeight);
    frame.style.height = Math.max(MIN, h + 2) + "px";
    frame.classList.add("fd-sized");
    if (!doc.fdToggleWatched) {
      // Opening the folded quote ("…", a <details>) changes the email's height.
      doc.fdToggleWatched = true;
      doc.addEventListener("toggle", function () { sizeFrame(frame); }, true);
    }
  }

  document.addEventListener("load", function (e) {
    var t = e.target;
    if (t && t.classList && t.classList.contains("email-frame")) sizeFrame(t);
  }, true);

  function sizeLoaded() {
    Array.prototype.forEach.call(document.querySelectorAll("iframe.email-frame"), function (f) {
      var doc = null;
      try { doc = f.contentDocument; } catch (err) { /* not ours */ }
      if (doc && doc.readyState === "complete" && doc.URL !== "about:blank") sizeFrame(f);
    });
  }
  // Frames that finished before this script ran.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", sizeLoaded);
  else sizeLoaded();

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      Array.prototype.forEach.call(document.querySelectorAll("iframe.email-frame.fd-sized"), sizeFrame);
    }, 150);
  });

  /* --- the assignee picker: a menu of teammates with a search box (plain forms inside) ---- */

  function assignOptions(menu) {
    return Array.prototype.filter.call(menu.querySelectorAll("[data-assign-option]"), function (li) {
      return !li.hidden;
    });
  }

  /* A menu opened near the screen's edge moves back inside it (8 px margin). */
  function keepOnScreen(body) {
    body.style.transform = "";
    var box = body.getBoundingClientRect();
    var shift = 0;
    if (box.right > window.innerWidth - 8) shift = window.innerWidth - 8 - box.right;
    if (box.left + shift < 8) shift = 8 - box.left;
    if (shift) body.style.transform = "translateX(" + Math.round(shift) + "px)";
  }

  function filterAssign(menu) {
    var words = menu.querySelector("[data-assign-filter]").value.trim().toLowerCase().split(/\s+/);
    var shown = 0;
    Array.prototype.forEach.call(menu.querySelectorAll("[data-assign-option]"), function (li) {
      var hay = li.dataset.search || "";
      li.hidden = !words.every(function (w) { return hay.indexOf(w) !== -1; });
      if (!li.hidden) shown++;
    });
    menu.querySelector("[data-assign-empty]").hidden = shown > 0;
  }

  // Every header menu (assign, snooze, labels) opens where it fits: a button near the
  // screen's left edge on a phone would otherwise open its right-aligned panel off screen.
  document.addEventListener("toggle", function (e) {
    var menu = e.target;
    if (!menu.matches || !menu.matches("details") || !menu.open) return;
    var body = menu.querySelector(":scope > .menu-body");
    if (body) keepOnScreen(body);
    if (!menu.matches("[data-assign-menu]")) return;
    var filter = menu.querySelector("[data-assign-filter]");
    filter.hidden = false;
    filterAssign(menu);
    filter.focus();
  }, true);

  // The search starts empty each time: cleared as the menu closes, not as it opens, so
  // nothing typed right after opening it is wiped by the (asynchronous) toggle event.
  document.addEventListener("toggle", function (e) {
    var menu = e.target;
    if (!menu.matches || !menu.matches("[data-assign-menu]") || menu.open) return;
    menu.querySelector("[data-assign-filter]").value = "";
    filterAssign(menu);
  }, true);

  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("[data-assign-filter]")) {
      filterAssign(e.target.closest("[data-assign-menu]"));
    }
  });

  document.addEventListener("keydown", function (e) {
    var menu = e.target.closest && e.target.closest("[data-assign-menu]");
    if (!menu || !menu.open) return;
    var buttons = assignOptions(menu).map(function (li) { return li.querySelector("button"); });
    var at = buttons.indexOf(document.activeElement);
    if (e.key === "Escape") {
      e.preventDefault();
      menu.open = false;
      menu.querySelector("summary").focus();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!buttons.length) return;
      var next = e.key === "ArrowDown" ? at + 1 : (at === -1 ? buttons.length - 1 : at - 1);
      if (next < 0 || next >= buttons.length) menu.querySelector("[data-assign-filter]").focus();
      else buttons[next].focus();
    } else if (e.key === "Enter" && e.target.matches("[data-assign-filter]")) {
      e.preventDefault(); // Enter in the search box picks the first match
      if (buttons.length) buttons[0].click();
    }
  });

  // A click outside closes the open menu, as a menu does.
  document.addEventListener("click", function (e) {
    Array.prototype.forEach.call(document.querySelectorAll("details[data-assign-menu][open]"), function (menu) {
      if (!menu.contains(e.target)) menu.open = false;
    });
  });

  window.FrontdeskThread = { sizeFrame: sizeFrame };
})();
