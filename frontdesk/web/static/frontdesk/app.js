/* Frontdesk inbox: live updates over the websocket, keyboard shortcuts (the reply box: composer.js).
   Every action is a plain form (htmx-enhanced); this file only makes the page feel alive. */
(function () {
  "use strict";

  var app = document.getElementById("app");
  if (!app) return;
  var me = app.dataset.me;
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  // A plain form that undoes something (Disconnect): asks first; Cancel sends nothing.
  document.addEventListener("submit", function (e) {
    var form = e.target.closest && e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
  }, true);

  function openId() {
    var t = $("#thread");
    return t ? t.dataset.conversation : null;
  }

  function listQuery() {
    return window.location.search.replace(/^\?/, "");
  }

  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
  }

  function fragment(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    return tpl.content;
  }

  function toast(text) {
    var el = $("#toast");
    if (!el) return;
    el.textContent = text;
    el.classList.add("show");
    clearTimeout(toast.t);
    toast.t = setTimeout(function () { el.classList.remove("show"); }, 3000);
  }

  /* --- the thread ------------------------------------------------------------------ */

  function scroller() { return $("#messages-scroll"); }

  function nearBottom() {
    var s = scroller();
    return !s || s.scrollHeight - s.scrollTop - s.clientHeight < 160;
  }

  function toBottom() {
    var s = scroller();
    if (s) s.scrollTop = s.scrollHeight;
  }

  /* A search result opened the thread (``data-found``): its message is scrolled into view
     and marked instead of the newest. Emails above it grow as their frames load, so it is
     kept in view for a moment, until the member scrolls. */
  function toFound() {
    var thread = $("#thread");
    var el = thread && thread.dataset.found && document.getElementById("m-" + thread.dataset.found);
    if (!el) return false;
    el.classList.add("found");
    el.setAttribute("tabindex", "-1");
    var center = function () { el.scrollIntoView({ block: "center" }); };
    center();
    if (window.ResizeObserver) {
      var box = $("#messages"), watch = new ResizeObserver(center);
      var stop = function () { watch.disconnect(); };
      watch.observe(box);
      setTimeout(stop, 2500);
      ["wheel", "touchstart", "keydown"].forEach(function (t) { scroller().addEventListener(t, stop, { once: true }); });
    }
    return true;
  }
  function toFoundOrBottom() { if (!toFound()) toBottom(); }

  /* Insert or replace one message (by id) so the same message never shows twice. */
  function upsertMessage(html) {
    var box = $("#messages");
    if (!box) return;
    var frag = fragment(html);
    var node = frag.firstElementChild;
    if (!node || !node.id) return;
    var existing = document.getElementById(node.id);
    var stick = nearBottom();
    if (existing) {
      existing.replaceWith(node);
    } else {
      var last = $$(".day", box).pop();
      if (node.dataset.day && (!last || last.dataset.day !== node.dataset.day)) {
        var day = document.createElement("div");
        day.className = "day";
        day.dataset.day = node.dataset.day;
        var span = document.createElement("span");
        span.textContent = "Today";
        day.appendChild(span);
        box.appendChild(day);
      }
      box.appendChild(node);
      if (window.htmx) htmx.process(node);
    }
    if (stick) toBottom();
  }

  function dedupeMessages() {
    var seen = {};
    $$("#messages [data-id]").reverse().forEach(function (el) {
      if (seen[el.id]) el.remove(); else seen[el.id] = true;
    });
  }

  function fetchMessage(conversationId, messageId) {
    var url = "/c/" + conversationId + "/m/" + messageId;
    return get(url).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (html && openId() === String(conversationId)) upsertMessage(html);
    });
  }

  /* Reading is a POST once the thread is really shown: a GET of the page changes nothing, so
     a prefetched or prerendered conversation (or one in a background tab) stays unread. */
  function csrfToken() {
    try { return JSON.parse(app.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function shown() {
    return !document.hidden && !document.prerendering;
  }

  function showRead(row) {
    if (!row) return;
    row.classList.remove("unread");
    var dot = row.querySelector(".unread-dot");
    if (dot) dot.remove();
  }

  function markOpenRead() {
    var t = $("#thread");
    if (!t || t.dataset.unread !== "1" || !shown()) return;
    var id = t.dataset.conversation;
    delete t.dataset.unread;
    fetch("/c/" + id + "/read", {
      method: "POST", credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() }
    }).then(function (r) {
      if (!r.ok) { if (openId() === id) t.dataset.unread = "1"; return; }
      showRead(document.getElementById("conv-" + id));
      refreshCounts();
    }, function () { if (openId() === id) t.dataset.unread = "1"; });
  }
  document.addEventListener("visibilitychange", markOpenRead);
  document.addEventListener("prerenderingchange", markOpenRead);

  function refreshHeader(conversationId) {
    get("/c/" + conversationId + "/header").then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      var head = $("#thread-header");
      if (!html || !head || openId() !== String(conversationId)) return;
      if (head.querySelector(".htmx-request") || head.classList.contains("htmx-request")) {
        setTimeout(function () { refreshHeader(conversationId); }, 400); // our own change is landing
        return;
      }
      var menuOpen = head.querySelector("details[open]");
      if (menuOpen || head.contains(document.activeElement)) return; // do not yank a control from under the user
      var node = fragment(html).firstElementChild;
      head.replaceWith(node);
      if (window.htmx) htmx.process(node);
    });
  }

  /* The contact panel of the open conversation, fetched again (e.g. after a merge). */
  function refreshContact(conversationId) {
    get("/c/" + conversationId + "/contact").then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      var pane = $("#contact-pane");
      if (!html || !pane || openId() !== String(conversationId)) return;
      if (pane.querySelector(".htmx-request")) {
        setTimeout(function () { refreshContact(conversationId); }, 400); // our own change is landing
        return;
      }
      if (pane.contains(document.activeElement)) return; // do not yank the search from under the user
      pane.innerHTML = html;
      if (window.htmx) htmx.process(pane);
    });
  }

  /* The contact panel's lead line ("Convert to lead", or the lead it became). */
  function refreshLeadPanel(conversationId) {
    get("/c/" + conversationId + "/lead/panel").then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      var box = $("#lead-actions");
      if (!html || !box || openId() !== String(conversationId) || box.querySelector(".htmx-request")) return;
      var node = fragment(html).firstElementChild;
      box.replaceWith(node);
      if (window.htmx) htmx.process(node);
    });
  }

  /* The open lead's page, after someone else changed the lead: its header, stage bar and
     form (not a part the user is working in). */
  function refreshLeadPage(leadId) {
    var main = $("main[data-lead]");
    if (!main || main.dataset.lead !== String(leadId)) return;
    get("/leads/" + Number(leadId) + "/").then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (!html) return;
      var page = new DOMParser().parseFromString(html, "text/html");
      ["#lead-head", "#stage-path", "#lead-form"].forEach(function (selector) {
        var shown = $(selector), fresh = page.querySelector(selector);
        if (!shown || !fresh || shown.contains(document.activeElement) || shown.querySelector(".htmx-request")) return;
        var node = document.importNode(fresh, true);
        shown.replaceWith(node);
        if (window.htmx) htmx.process(node);
      });
    });
  }

  /* --- the list ----------------------------------------------------------------------- */

  function refreshRow(conversationId, moveToTop) {
    var q = listQuery();
    var active = openId() === String(conversationId) ? "active=1" : "";
    var url = "/c/" + conversationId + "/row?" + [q, active].filter(Boolean).join("&");
    get(url).then(function (r) {
      if (r.status === 204 || r.status === 404) return "";
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html === null) return;
      var rows = $("#rows");
      if (!rows) return;
      var existing = document.getElementById("conv-" + conversationId);
      if (existing && existing.querySelector(".htmx-request")) {
        // The user just clicked it: replacing the link now would orphan its request.
        setTimeout(function () { refreshRow(conversationId, moveToTop); }, 400);
        return;
      }
      if (html === "") { if (existing) existing.remove(); return; }
      var node = fragment(html).firstElementChild;
      // The open thread is being read (markOpenRead): a row rendered before that landed
      // must not bring the unread mark back.
      if (openId() === String(conversationId) && shown()) showRead(node);
      // Oldest first (also the "Waiting longest" list): a row that is new to the list
      // belongs at its end, shown now if the list is all here, else when the user scrolls.
      var oldest = /(^|&)(sort=oldest|view=waiting|waiting=1)(&|$)/.test(listQuery());
      if (existing && !(moveToTop && !oldest)) {
        existing.replaceWith(node);
      } else {
        if (existing) existing.remove();
        if (oldest) {
          if (rows.querySelector(".more")) return;
          rows.appendChild(node);
        } else {
          rows.insertBefore(node, rows.firstChild);
        }
      }
      if (window.htmx) htmx.process(node);
      var empty = $(".empty-list");
      if (empty) empty.remove();
    });
  }

  var countsTimer = null;
  function refreshCounts() {
    clearTimeout(countsTimer);
    countsTimer = setTimeout(function () {
      if (window.htmx) htmx.trigger(document.body, "fd:counts");
    }, 150);
  }

  function showImport(ev) {
    $$('[data-import-progress="' + Number(ev.channel_id) + '"]').forEach(function (el) {
      el.textContent = ev.text || "";
    });
    if (!ev.text && ev.synced_at) {  // finished: the time of the last sync, now
      $$('[data-last-sync="' + Number(ev.channel_id) + '"]').forEach(function (el) {
        var time = document.createElement("time");
        time.dateTime = ev.synced_at;
        time.textContent = "just now";
        el.replaceChildren(time);
      });
    }
  }

  function setActiveRow(id) {
    $$("#rows .row.active").forEach(function (el) { el.classList.remove("active"); var a = el.querySelector("a"); if (a) a.removeAttribute("aria-current"); });
    var row = document.getElementById("conv-" + id);
    if (row) {
      row.classList.add("active");
      showRead(row);
      var a = row.querySelector("a");
      if (a) a.setAttribute("aria-current", "true");
    }
  }

  /* --- presence: who else is viewing or typing ------------------------------------------ */

  var presence = {}; // user_id -> {name, conversation_id, typing, at}
  function renderPresence() {
    var box = $("#presence");
    if (!box) return;
    var id = openId();
    var now = Date.now();
    var viewing = [], typing = [];
    Object.keys(presence).forEach(function (uid) {
      var p = presence[uid];
      if (uid === me || String(p.conversation_id) !== id) return;
      if (now - p.at > 25000) return;
      if (p.typing && now - p.typingAt < 6000) typing.push(p.name); else viewing.push(p.name);
    });
    var parts = [];
    if (typing.length) parts.push(typing.join(", ") + (typing.length > 1 ? " are" : " is") + " typing…");
    if (viewing.length) parts.push(viewing.join(", ") + (viewing.length > 1 ? " are" : " is") + " also viewing");
    box.textContent = parts.join(" · ");
    box.classList.toggle("on", parts.length > 0);
  }
  setInterval(renderPresence, 3000);

  /* --- the websocket ------------------------------------------------------------------ */

  var socket = null, backoff = 500, lastTyping = 0;
  function send(obj) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(obj));
  }
  function announce(typing) {
    var id = openId();
    send({ type: "presence", conversation_id: id ? Number(id) : null, typing: !!typing });
  }
  setInterval(function () { announce(false); }, 10000);

  function onEvent(ev) {
    var cid = ev.conversation_id;
    var isOpen = cid && openId() === String(cid);
    switch (ev.type) {
      case "message.created":
        if (isOpen) {
          fetchMessage(cid, ev.message_id);
          if (ev.direction === "inbound") {  // the reader sees it now, or when they come back
            $("#thread").dataset.unread = "1";
            markOpenRead();
          }
        }
        refreshRow(cid, true);
        refreshCounts();
        break;
      case "message.status":
      case "message.updated":  // reactions, a file that arrived later
        if (isOpen) fetchMessage(cid, ev.message_id);
        break;
      case "conversation.assigned":
      case "conversation.status":
      case "conversation.labels":
        if (isOpen) {
          refreshHeader(cid);
          if (ev.message_id) fetchMessage(cid, ev.message_id);
        }
        refreshRow(cid, false);
        refreshCounts();
        break;
      case "contact.merged":  // the contact of these conversations changed
        (ev.conversations || []).forEach(function (c) {
          if (openId() === String(c.id)) {
            $("#thread").dataset.contactId = String(ev.contact_id);  // for its next contact.updated
            refreshHeader(c.id);
            refreshContact(c.id);
            fetchMessage(c.id, c.message_id);
          }
          refreshRow(c.id, false);
        });
        break;
      case "contact.updated":  // a new picture, a profile filled in by the worker
        var thread = $("#thread");
        if (thread && thread.dataset.contactId === String(ev.contact_id)) refreshContact(openId());
        $$('#rows .row[data-contact-id="' + Number(ev.contact_id) + '"]').forEach(function (row) {
          refreshRow(row.dataset.id, false);
        });
        break;
      case "conversation.read":
        if (String(ev.user_id) === me) {
          showRead(document.getElementById("conv-" + cid));
          refreshCounts();
        }
        break;
      case "channel.status":
        refreshCounts();
        break;
      case "channel.progress":  // a history import moved on: Apps and the sidebar say how far
        showImport(ev);
        break;
      case "labels.changed":  // a label renamed, recoloured or deleted: the sidebar and rows
        refreshCounts();
        catchUp();
        break;
      case "lead.created":
      case "lead.updated":
        if (isOpen) {
          refreshLeadPanel(cid);
          if (ev.message_id) fetchMessage(cid, ev.message_id);
        }
        if (window.htmx) htmx.trigger(document.body, "fd:leads");  // the leads board, if shown
        if (ev.type === "lead.updated" && String(ev.user_id) !== me) refreshLeadPage(ev.lead_id);
        break;
      case "presence":
        var old = presence[ev.user_id] || {};
        presence[ev.user_id] = {
          name: ev.name, conversation_id: ev.conversation_id, typing: ev.typing, at: Date.now(),
          typingAt: ev.typing ? Date.now() : (old.typingAt || 0)
        };
        renderPresence();
        break;
    }
  }

  /* Events sent while the socket was closed, or between the page's render and the socket
     opening, never arrive: on every (re)connect, compare the list with the server's and
     take the server's when they differ (not while a row is being opened). */
  function rowsKey(root) {
    return Array.prototype.map.call(root.querySelectorAll("#rows > li[id]"), function (li) {
      return li.id + ":" + li.className.replace(/\b(active|htmx-\S+)\b/g, "") + ":" + li.textContent.replace(/\s+/g, " ");
    }).join("|");
  }
  /* Every swap of the list (a search typed, a filter changed) counts: an answer asked for
     before one is stale, even when it arrives after it. */
  var listSwaps = 0;
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "conv-list") listSwaps++;
  });
  function catchUp() {
    refreshCounts();
    var list = $("#conv-list");
    if (!list) return;
    var asked = window.location.pathname + window.location.search;
    var swapsBefore = listSwaps;
    fetch(asked, {
      credentials: "same-origin", headers: { "HX-Request": "true", "HX-Target": "conv-list" }
    }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (html === null || list.querySelector(".htmx-request")) return;
      // The user searched or filtered meanwhile: this answer is of the list before that.
      if (listSwaps !== swapsBefore || window.location.pathname + window.location.search !== asked) return;
      var fresh = document.createElement("div");
      fresh.innerHTML = html;
      if (rowsKey(fresh) === rowsKey(list)) return;
      list.innerHTML = html;
      if (window.htmx) htmx.process(list);
      var id = openId();
      if (id) setActiveRow(id);
    });
  }

  function connect() {
    var proto = window.location.protocol === "https:" ? "wss://" : "ws://";
    try { socket = new WebSocket(proto + window.location.host + "/ws/"); } catch (e) { return; }
    socket.onopen = function () {
      backoff = 500; app.dataset.live = "on"; announce(false);
      catchUp();
      document.dispatchEvent(new CustomEvent("fd:reconnect"));
    };
    socket.onmessage = function (msg) {
      var ev;
      try { ev = JSON.parse(msg.data); onEvent(ev); } catch (e) { return; /* ignore a malformed event */ }
      // Other modules (teamwork.js) listen for the same events.
      document.dispatchEvent(new CustomEvent("fd:event", { detail: ev }));
    };
    socket.onclose = function () {
      app.dataset.live = "off";
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }
  /* The socket opens once every deferred script has run and htmx has processed the page
     (DOMContentLoaded; "load" in case this file came after it): opened earlier, its
     "reconnect" (each module's catch-up) could fire before crm.js or teamwork.js listen,
     or before htmx wired the element it triggers, and be lost. A deferred script runs
     while readyState is already "interactive", so that state does not tell. */
  var started = false;
  function start() {
    if (started) return;
    started = true;
    connect();
  }
  if (document.readyState === "complete") start();
  else {
    document.addEventListener("DOMContentLoaded", start);
    window.addEventListener("load", start);
  }

  /* --- htmx glue ------------------------------------------------------------------------ */

  /* An action's answer appends its event line out of band ("assigned this to Dana"); the
     live event may have brought the same line a moment earlier: keep one. */
  document.body.addEventListener("htmx:oobAfterSwap", function (e) {
    var box = $("#messages");
    if (!box || e.detail.target !== box) return;
    var seen = {};
    Array.prototype.slice.call(box.children).forEach(function (el) {
      if (!el.id) return;
      if (seen[el.id]) el.remove(); else seen[el.id] = true;
    });
  });

  document.body.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail.target;
    if (target && target.id === "thread-pane") {
      app.dataset.pane = "thread";
      setActiveRow(openId());
      toFoundOrBottom();
      announce(false);
      renderPresence();
      refreshCounts();
      markOpenRead();
    }
    if (target && target.id === "messages") { dedupeMessages(); toBottom(); }
  });

  /* A conversation that answers after the user moved on to another one is not shown. */
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    if (!e.detail.target || e.detail.target.id !== "thread-pane") return;
    var asked = /^\/c\/(\d+)\//.exec(e.detail.pathInfo.requestPath);
    var active = $("#rows .row.active");
    if (asked && active && asked[1] !== active.dataset.id) e.detail.shouldSwap = false;
  });

  /* Keep the reading position when older messages are prepended. */
  var before = null;
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.elt && e.detail.elt.classList && e.detail.elt.classList.contains("older")) {
      var s = scroller();
      before = s ? s.scrollHeight - s.scrollTop : null;
    }
  });
  document.body.addEventListener("htmx:afterSettle", function (e) {
    if (before !== null) {
      var s = scroller();
      if (s) s.scrollTop = s.scrollHeight - before;
      before = null;
    }
  });

  /* The filters ask again on "change" when the search box loses focus, i.e. when a result
     or row is clicked: the same question would replace the list under the link being
     opened (and its answer would find no contact pane). Unchanged filters are not sent. */
  var filters = $("#filters");
  var asked = filters ? new URLSearchParams(new FormData(filters)).toString() : null;
  document.body.addEventListener("htmx:configRequest", function (e) {
    if (e.detail.elt !== filters || !e.detail.formData) return;
    var key = new URLSearchParams(e.detail.formData).toString();
    if (key === asked) e.preventDefault();
    asked = key;
  });

  /* A 422 is a form's own message to show where the answer says (HX-Retarget), not a failure. */
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr && e.detail.xhr.status === 422) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });

  document.body.addEventListener("htmx:responseError", function (e) {
    if (e.detail.xhr && e.detail.xhr.status >= 500) toast("Something went wrong. Please try again.");
  });
  document.body.addEventListener("htmx:sendError", function () { toast("You seem to be offline."); });

  /* --- the reply box (composer.js): tell teammates someone is typing ----------------------- */

  document.addEventListener("input", function (e) {
    if (e.target && e.target.id === "reply-text") {
      var now = Date.now();
      if (now - lastTyping > 3000) { lastTyping = now; announce(true); }
    }
  });

  /* --- clicks ----------------------------------------------------------------------------- */

  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target : e.target.parentElement;
    if (!t) return;
    var showImages = t.closest("[data-show-images]");
    if (showImages) {
      var frame = document.getElementById(showImages.dataset.showImages);
      if (frame) frame.src = frame.src.split("?")[0] + "?images=1";
      showImages.closest(".imgbar").remove();
      return;
    }
    if (t.closest("[data-back]")) { app.dataset.pane = "list"; return; }
    if (t.closest("[data-contact]")) { app.dataset.pane = app.dataset.pane === "contact" ? "thread" : "contact"; return; }
    if (t.closest("[data-contact-close]")) { app.dataset.pane = "thread"; return; }
    if (t.closest("[data-shortcuts]")) { showShortcuts(); return; }
    var row = t.closest("#rows .row a");
    if (row) setActiveRow(row.parentElement.dataset.id);
  });

  function showShortcuts() {
    var d = $("#shortcuts");
    if (d && d.showModal && !d.open) d.showModal();
  }

  /* --- keyboard shortcuts ------------------------------------------------------------------ */

  function typingInField(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function step(delta) {
    var rows = $$("#rows .row");
    if (!rows.length) return;
    var current = rows.findIndex(function (r) { return r.classList.contains("active"); });
    var next = current === -1 ? 0 : Math.max(0, Math.min(rows.length - 1, current + delta));
    var link = rows[next].querySelector("a");
    if (link) {
      link.click();
      link.focus({ preventScroll: true });
      rows[next].scrollIntoView({ block: "nearest" });
    }
  }

  /* A header shortcut pressed while the previous one's answer is on its way waits for it:
     that answer replaces the header, and a request sent from the old header would lose its
     out-of-band parts (htmx looks for #messages under the detached element). */
  function whenHeaderIdle(action, tries) {
    var head = $("#thread-header");
    var busy = head && (head.classList.contains("htmx-request") || head.querySelector(".htmx-request"));
    if (busy && (tries || 0) < 150) {
      setTimeout(function () { whenHeaderIdle(action, (tries || 0) + 1); }, 100);
      return;
    }
    action();
  }
  function submitHeader(selector) {
    whenHeaderIdle(function () {
      var btn = $(selector);
      if (btn) btn.closest("form").requestSubmit(btn);
    });
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      if (typingInField(e.target)) e.target.blur();
      return;
    }
    if (typingInField(e.target) || $("dialog[open]")) return;
    switch (e.key) {
      case "j": e.preventDefault(); step(1); break;
      case "k": e.preventDefault(); step(-1); break;
      case "r": var area = $("#reply-text"); if (area) { e.preventDefault(); area.focus(); } break;
      case "e": e.preventDefault(); submitHeader('[data-action="resolve"]'); break;
      case "a":
        if ($("[data-assign-me]")) {
          e.preventDefault();
          whenHeaderIdle(function () {
            var mine = $("[data-assign-me]");
            if (mine && !mine.classList.contains("current")) mine.click();
          });
        }
        break;
      case "/": var q = $("#q"); if (q) { e.preventDefault(); q.focus(); q.select(); } break;
      case "?": e.preventDefault(); showShortcuts(); break;
    }
  });

  /* On first load with a conversation open: start at the newest message (or the one a
     search result opened), and read it. */
  toFoundOrBottom();
  markOpenRead();
  window.addEventListener("popstate", function () { setActiveRow(openId()); });
})();
