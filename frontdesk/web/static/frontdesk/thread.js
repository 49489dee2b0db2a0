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

  window.FrontdeskThread = { sizeFrame: sizeFrame };
})();
