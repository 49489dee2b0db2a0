/* Frontdesk composer: the reply box of a conversation (web/inbox/_reply.html).

   Reply / Note tabs, light formatting (**bold**, _italic_, "- " and "1. " lists,
   [words](link): the server renders them per channel), an emoji picker, files as chips
   (paperclip, paste, drop) checked against the channel's rules before sending, the channel's
   text limit, and drafts kept per conversation in this browser (shown as "Draft" in the list).
   The form stays a plain htmx form: everything here only helps.

   For features built on it: window.FrontdeskComposer.insert(text) types at the caret of the
   open composer; the form fires "composer:sent" (detail.xhr) after a reply or note went in. */
(function () {
  "use strict";

  var app = document.getElementById("app");
  if (!app) return;
  var me = app.dataset.me || "";
  var DRAFT_PREFIX = "fd-draft:" + me + ":";
  var DRAFT_MAX_AGE = 30 * 24 * 3600 * 1000;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  /* The composer holding this element, set up (htmx announces new content a moment after
     it is in the page: a fast hand may get there first). */
  function composerOf(el) {
    var form = el && el.closest ? el.closest("[data-composer]") : null;
    if (form) init(form);
    return form;
  }
  function areaOf(form) { return form.querySelector("[data-composer-input]"); }
  function isNote(form) { var r = form.querySelector('input[name="mode"][value="note"]'); return !!(r && r.checked); }
  function number(n) { return Number(n).toLocaleString("en-US"); }

  function humanSize(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return Math.max(1, Math.round(bytes / 1024)) + " KB";
    var mb = bytes / (1024 * 1024);
    return (mb >= 10 ? Math.round(mb) : mb.toFixed(1).replace(/\.0$/, "")) + " MB";
  }

  function setError(form, text) {
    var box = form.querySelector("#reply-error");
    if (box) box.textContent = text || "";
  }

  /* --- drafts: per member and conversation, in this browser ---------------------------- */

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  function readDraft(id) {
    var s = storage();
    if (!s || !id) return null;
    try {
      var d = JSON.parse(s.getItem(DRAFT_PREFIX + id) || "null");
      if (!d || !d.text || Date.now() - (d.at || 0) > DRAFT_MAX_AGE) return null;
      return d;
    } catch (e) { return null; }
  }

  function saveDraft(form) {
    var s = storage();
    var id = form.dataset.conversation;
    if (!s || !id) return;
    var text = areaOf(form).value;
    try {
      if (text.trim()) s.setItem(DRAFT_PREFIX + id, JSON.stringify({ text: text, note: isNote(form), at: Date.now() }));
      else s.removeItem(DRAFT_PREFIX + id);
    } catch (e) { /* storage full or refused: the draft lives as long as the page */ }
    markRow(document.getElementById("conv-" + id));
  }

  function clearDraft(form) {
    var s = storage();
    if (s) s.removeItem(DRAFT_PREFIX + form.dataset.conversation);
    markRow(document.getElementById("conv-" + form.dataset.conversation));
  }

  /* A row whose conversation has a draft says so, with the draft's words as its preview. */
  function markRow(row) {
    if (!row || !row.dataset.id) return;
    var draft = readDraft(row.dataset.id);
    var preview = row.querySelector(".preview");
    var tag = row.querySelector(".draft-tag");
    if (!preview) return;
    if (draft) {
      var words = draft.text.replace(/\s+/g, " ").trim();
      if (!tag) {
        tag = document.createElement("span");
        tag.className = "draft-tag";
        tag.textContent = "Draft";
        preview.parentNode.insertBefore(tag, preview);
        preview.dataset.lastMessage = preview.textContent;
      }
      if (preview.textContent !== words) preview.textContent = words;
    } else if (tag) {
      tag.remove();
      if (preview.dataset.lastMessage !== undefined) preview.textContent = preview.dataset.lastMessage;
      delete preview.dataset.lastMessage;
    }
  }

  function markRows(root) { $$(".row[data-id]", root).forEach(markRow); }

  /* Rows are replaced by the live list (app.js); mark each new one. */
  function watchList() {
    var list = $("#conv-list");
    if (!list || list.dataset.draftsWatched) return;
    list.dataset.draftsWatched = "1";
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        Array.prototype.forEach.call(change.addedNodes, function (node) {
          if (node.nodeType !== 1) return;
          if (node.matches(".row[data-id]")) markRow(node); else markRows(node);
        });
      });
    }).observe(list, { childList: true, subtree: true });
    markRows(list);
  }

  /* --- set up a composer when it appears -------------------------------------------------- */

  function init(form) {
    if (form.dataset.ready) return;
    form.dataset.ready = "1";
    form._files = [];
    var area = areaOf(form);
    area.dataset.replyPlaceholder = area.placeholder;
    if (!area.value) {
      var draft = readDraft(form.dataset.conversation);
      if (draft) {
        area.value = draft.text;
        var mode = form.querySelector('input[name="mode"][value="' + (draft.note ? "note" : "reply") + '"]');
        if (mode && !mode.disabled) mode.checked = true;
      }
    } else {
      saveDraft(form); // a refused reply came back in the box: keep it as the draft too
    }
    applyMode(form);
    updateCount(form);
  }

  function initAll(root) {
    $$("[data-composer]", root).forEach(init);
    if (root.querySelector && root.querySelector("#conv-list")) watchList();
    $$("select[data-template-picker]", root).forEach(showTemplate);
  }

  /* --- Reply / Note ----------------------------------------------------------------------- */

  function applyMode(form) {
    var note = isNote(form);
    form.classList.toggle("is-note", note);
    $$("[data-reply-only]", form).forEach(function (el) {
      el.hidden = note;
      $$("input, select, textarea", el).forEach(function (field) { field.disabled = note; });
    });
    var area = areaOf(form);
    area.placeholder = note ? area.dataset.notePlaceholder : area.dataset.replyPlaceholder;
    var send = form.querySelector("#send-btn");
    if (send) send.textContent = note ? "Add note" : "Send";
    updateCount(form);
  }

  /* --- formatting: the same light markup the server renders ------------------------------- */

  function replaceRange(area, start, end, text, selectFrom, selectTo) {
    area.focus();
    area.setRangeText(text, start, end, "end");
    area.setSelectionRange(selectFrom, selectTo);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function wrap(area, mark) {
    var s = area.selectionStart, e = area.selectionEnd, v = area.value;
    var chosen = v.slice(s, e);
    if (v.slice(s - mark.length, s) === mark && v.slice(e, e + mark.length) === mark) {
      replaceRange(area, s - mark.length, e + mark.length, chosen, s - mark.length, e - mark.length);
      return;
    }
    var lead = chosen.match(/^\s*/)[0], trail = chosen.match(/\s*$/)[0];
    var core = chosen.trim() || (mark === "**" ? "bold text" : "italic text");
    var text = lead + mark + core + mark + (chosen.trim() ? trail : "");
    var from = s + lead.length + mark.length;
    replaceRange(area, s, e, text, from, from + core.length);
  }

  function toggleList(area, numbered) {
    var v = area.value;
    var start = v.lastIndexOf("\n", area.selectionStart - 1) + 1;
    var endBreak = v.indexOf("\n", area.selectionEnd);
    var end = endBreak === -1 ? v.length : endBreak;
    var lines = v.slice(start, end).split("\n");
    var marker = numbered ? /^\s*\d{1,3}[.)]\s+/ : /^\s*[-*•]\s+/;
    var all = lines.every(function (l) { return marker.test(l) || !l.trim(); });
    var out = lines.map(function (l, i) {
      if (!l.trim()) return l;
      var bare = l.replace(/^\s*(\d{1,3}[.)]|[-*•])\s+/, "");
      return all ? bare : (numbered ? (i + 1) + ". " : "- ") + bare;
    }).join("\n");
    replaceRange(area, start, end, out, start, start + out.length);
  }

  function insertLink(area) {
    var s = area.selectionStart, e = area.selectionEnd;
    var chosen = area.value.slice(s, e).trim();
    if (/^(https?:\/\/|mailto:)\S+$/.test(chosen)) {
      var text = "[link text](" + chosen + ")";
      replaceRange(area, s, e, text, s + 1, s + 10);
    } else {
      var words = chosen || "link text";
      var link = "[" + words + "](https://)";
      var at = s + words.length + 3;
      replaceRange(area, s, e, link, chosen ? at : s + 1, chosen ? at + 8 : s + 1 + words.length);
    }
  }

  function format(form, what) {
    var area = areaOf(form);
    if (what === "bold") wrap(area, "**");
    else if (what === "italic") wrap(area, "_");
    else if (what === "bullets") toggleList(area, false);
    else if (what === "numbers") toggleList(area, true);
    else if (what === "link") insertLink(area);
  }

  function insertText(area, text) {
    var s = area.selectionStart, e = area.selectionEnd;
    replaceRange(area, s, e, text, s + text.length, s + text.length);
  }

  /* --- the channel's limits ---------------------------------------------------------------- */

  function textProblem(form) {
    var limit = Number(form.dataset.textLimit || 0);
    var length = areaOf(form).value.trim().length;
    if (isNote(form) || !limit || length <= limit || form.hasAttribute("data-splits-long-text")) return "";
    return form.dataset.kindLabel + " takes at most " + number(limit) + " characters in one message: remove " + number(length - limit) + ".";
  }

  function updateCount(form) {
    var out = form.querySelector("[data-composer-count]");
    if (!out) return;
    var limit = Number(form.dataset.textLimit || 0);
    var length = areaOf(form).value.trim().length;
    out.className = "composer-count";
    if (isNote(form) || !limit || length < limit * 0.8) { out.textContent = ""; return; }
    var text = number(length) + " / " + number(limit);
    if (length > limit) {
      if (form.hasAttribute("data-splits-long-text")) {
        out.classList.add("warn");
        text += " · sent as " + Math.ceil(length / limit) + " messages";
      } else {
        out.classList.add("over");
      }
    }
    out.textContent = text;
    out.title = form.dataset.kindLabel + " takes up to " + number(limit) + " characters in one message";
  }

  /* --- files: chips checked against the channel's rules ------------------------------------ */

  function rules(form) {
    if (!form._rules) {
      try { form._rules = JSON.parse(form.dataset.fileRules || "[]"); } catch (e) { form._rules = []; }
    }
    return form._rules;
  }

  function matches(rule, type) {
    var major = type.split("/")[0];
    return rule.types.some(function (t) { return t === type || t === major + "/*" || t === "*/*"; });
  }

  function refusal(form, file) {
    var type = (file.type || "application/octet-stream").toLowerCase();
    var appLimit = Number(form.dataset.maxBytes || 0);
    var list = rules(form);
    var rule = null;
    for (var i = 0; i < list.length; i++) if (matches(list[i], type)) { rule = list[i]; break; }
    if (list.length && !rule) {
      return form.dataset.kindLabel + " does not take this kind of file. It takes " +
        list.map(function (r) { return r.what; }).join("; ") + ".";
    }
    var limit = rule ? Math.min(rule.max, appLimit || rule.max) : appLimit;
    if (limit && file.size > limit) return "Too big: the limit here is " + humanSize(limit) + ".";
    return "";
  }

  function addFiles(form, files) {
    if (!form.querySelector("[data-composer-file-input]")) {
      setError(form, form.dataset.kindLabel + " cannot send files.");
      return;
    }
    if (isNote(form)) {
      var reply = form.querySelector('input[name="mode"][value="reply"]');
      if (reply.disabled) return;  // replying is off here (an unknown sender)
      reply.checked = true;
      applyMode(form);
    }
    Array.prototype.forEach.call(files, function (file) {
      if (file.type.indexOf("image/") === 0 && /^image\.\w+$/.test(file.name)) {
        var stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
        file = new File([file], "pasted-" + stamp + "." + file.name.split(".").pop(), { type: file.type });
      }
      form._files.push({ file: file, refused: refusal(form, file), url: null });
    });
    syncFiles(form);
  }

  function removeFile(form, index) {
    var item = form._files.splice(index, 1)[0];
    if (item && item.url) URL.revokeObjectURL(item.url);
    syncFiles(form);
  }

  function syncFiles(form) {
    var input = form.querySelector("[data-composer-file-input]");
    if (input && window.DataTransfer) {
      var dt = new DataTransfer();
      form._files.forEach(function (item) { if (!item.refused) dt.items.add(item.file); });
      input.files = dt.files;
    }
    renderChips(form);
    if (!form._files.some(function (f) { return f.refused; })) setError(form, "");
  }

  function renderChips(form) {
    var list = form.querySelector("[data-composer-files]");
    if (!list) return;
    list.textContent = "";
    form._files.forEach(function (item, index) {
      var li = document.createElement("li");
      li.className = "file-chip" + (item.refused ? " refused" : "");
      if (item.file.type.indexOf("image/") === 0 && !item.refused) {
        item.url = item.url || URL.createObjectURL(item.file);
        var img = document.createElement("img");
        img.src = item.url;
        img.alt = "";
        img.className = "file-thumb";
        li.appendChild(img);
      } else {
        var icon = document.createElement("span");
        icon.className = "file-icon";
        icon.setAttribute("aria-hidden", "true");
        icon.textContent = (item.file.name.split(".").pop() || "file").slice(0, 4).toUpperCase();
        li.appendChild(icon);
      }
      var body = document.createElement("span");
      body.className = "file-body";
      var name = document.createElement("span");
      name.className = "file-name";
      name.textContent = item.file.name;
      name.title = item.file.name;
      var size = document.createElement("span");
      size.className = "file-size";
      size.textContent = humanSize(item.file.size) + (item.refused ? " · " + item.refused : "");
      body.appendChild(name);
      body.appendChild(size);
      li.appendChild(body);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "file-remove";
      remove.dataset.removeFile = String(index);
      remove.setAttribute("aria-label", "Remove " + item.file.name);
      remove.textContent = "×";
      li.appendChild(remove);
      list.appendChild(li);
    });
  }

  function resetFiles(form) {
    (form._files || []).forEach(function (item) { if (item.url) URL.revokeObjectURL(item.url); });
    form._files = [];
    syncFiles(form);
  }

  /* --- emoji ------------------------------------------------------------------------------- */

  var EMOJI = (
    "😀 grinning smile happy|😃 smiley happy|😄 smile laugh|😁 grin|😆 laughing|😅 sweat smile|🤣 rofl|😂 joy tears laugh|" +
    "🙂 slight smile|😉 wink|😊 blush smile|😇 innocent halo|😍 heart eyes|🤩 star struck|😘 kiss|" +
    "😋 yum|😜 wink tongue|🤪 zany|🤗 hug|🤭 oops|🤫 shush|🤔 thinking|🤐 zipper|😐 neutral|😑 expressionless|" +
    "😶 no mouth|🙄 eye roll|😏 smirk|😬 grimace|😌 relieved|😔 pensive|😪 sleepy|😴 sleeping|😷 mask sick|🤒 ill|" +
    "😎 cool sunglasses|🤓 nerd|🧐 monocle|😕 confused|😟 worried|🙁 frown|😮 open mouth wow|😯 hushed|" +
    "😲 astonished|😳 flushed|😢 cry sad|😭 sob|😱 scream|😖 confounded|😞 disappointed|😓 sweat|" +
    "😩 weary|😫 tired|😤 triumph|😡 angry pout|😠 angry|🤯 mind blown|" +
    "👍 thumbs up yes ok|👎 thumbs down no|👌 ok hand|✌️ victory peace|🤞 fingers crossed luck|🤝 handshake deal|" +
    "🙏 pray thanks please|👏 clap applause|🙌 raised hands celebrate|👋 wave hello bye|💪 muscle strong|👀 eyes look|" +
    "✋ hand stop|👉 point right|👈 point left|👆 point up|👇 point down|☝️ index up|" +
    "❤️ red heart love|🧡 orange heart|💛 yellow heart|💚 green heart|💙 blue heart|💜 purple heart|🖤 black heart|" +
    "💔 broken heart|💯 hundred|✨ sparkles|⭐ star|🌟 glowing star|🔥 fire hot|🎉 tada party|" +
    "🎊 confetti|🎁 gift present|🎂 cake birthday|🏆 trophy win|🚀 rocket launch|⚡ lightning|" +
    "☀️ sun|🌙 moon|🌈 rainbow|☕ coffee|🍕 pizza|🍾 champagne|🍀 clover luck|🌹 rose|💐 bouquet|" +
    "✅ check done yes|☑️ ballot check|✔️ check mark|❌ cross no|❗ exclamation|❓ question|⚠️ warning|🚫 prohibited|" +
    "⏰ alarm clock|⏳ hourglass wait|📅 calendar date|📆 calendar|🕒 clock time|📌 pin|📍 location pin|🔗 link|" +
    "📎 paperclip attach|📄 page document|📝 memo note|📦 package box delivery|🚚 truck shipping delivery|✈️ plane travel|" +
    "🏠 house home|🏢 office building|💼 briefcase work|💰 money bag|💳 card payment|🛒 cart shopping|" +
    "📞 phone call|📱 mobile phone|💻 laptop computer|📧 email mail|✉️ envelope|📣 megaphone|🔔 bell|🔒 lock|🔑 key|" +
    "💡 bulb idea|🔧 wrench fix|⚙️ gear settings|📈 chart up growth|📉 chart down|📊 bar chart|🗓️ planner|🤖 robot|" +
    "👤 person|👥 people team|🙋 raising hand|🤷 shrug|🤦 facepalm|🙈 see no evil|😺 cat smile|🐶 dog|🌍 globe world"
  ).split("|").map(function (entry) {
    var cut = entry.indexOf(" ");
    return { char: entry.slice(0, cut), name: entry.slice(cut + 1) };
  });

  function recentEmoji() {
    try { return JSON.parse((storage() || {}).getItem ? storage().getItem("fd-emoji-recent") || "[]" : "[]"); } catch (e) { return []; }
  }

  function rememberEmoji(char) {
    var s = storage();
    if (!s) return;
    var list = [char].concat(recentEmoji().filter(function (c) { return c !== char; })).slice(0, 16);
    try { s.setItem("fd-emoji-recent", JSON.stringify(list)); } catch (e) { /* ignore */ }
  }

  function emojiButton(item) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "emoji";
    b.dataset.emoji = item.char;
    b.title = item.name.split(" ")[0];
    b.setAttribute("aria-label", item.name.split(" ")[0]);
    b.textContent = item.char;
    return b;
  }

  function fillEmoji(grid, query) {
    grid.textContent = "";
    var q = query.trim().toLowerCase();
    var shown = EMOJI.filter(function (e) { return !q || e.name.indexOf(q) !== -1; });
    if (!q) {
      var recent = recentEmoji();
      if (recent.length) {
        recent.forEach(function (c) {
          var known = EMOJI.filter(function (e) { return e.char === c; })[0] || { char: c, name: "recent" };
          grid.appendChild(emojiButton(known));
        });
        var rule = document.createElement("hr");
        rule.className = "emoji-rule";
        grid.appendChild(rule);
      }
    }
    shown.forEach(function (e) { grid.appendChild(emojiButton(e)); });
    if (!shown.length) {
      var none = document.createElement("p");
      none.className = "emoji-none";
      none.textContent = "No emoji called “" + query + "”";
      grid.appendChild(none);
    }
  }

  function openEmoji(form, toggle) {
    var panel = form.querySelector("[data-emoji-panel]");
    if (!panel) {
      panel = document.createElement("div");
      panel.className = "emoji-panel";
      panel.dataset.emojiPanel = "1";
      panel.setAttribute("role", "dialog");
      panel.setAttribute("aria-label", "Emoji");
      var search = document.createElement("input");
      search.type = "search";
      search.placeholder = "Search emoji";
      search.setAttribute("aria-label", "Search emoji");
      search.dataset.emojiSearch = "1";
      var grid = document.createElement("div");
      grid.className = "emoji-grid";
      grid.dataset.emojiGrid = "1";
      panel.appendChild(search);
      panel.appendChild(grid);
      form.querySelector(".composer-box").appendChild(panel);
    }
    fillEmoji(panel.querySelector("[data-emoji-grid]"), "");
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    var field = panel.querySelector("[data-emoji-search]");
    field.value = "";
    field.focus();
  }

  function closeEmoji(form, refocus) {
    var panel = form.querySelector("[data-emoji-panel]");
    if (!panel || panel.hidden) return;
    panel.hidden = true;
    var toggle = form.querySelector("[data-emoji-toggle]");
    if (toggle) toggle.setAttribute("aria-expanded", "false");
    if (refocus) areaOf(form).focus();
  }

  /* --- WhatsApp-style template picker: only the chosen template's variables, and a preview -- */

  function showTemplate(select) {
    var box = select.closest("[data-template-box]");
    if (!box) return;
    var option = select.selectedOptions[0];
    var vars = option && option.dataset.vars ? option.dataset.vars.split(",").filter(Boolean) : [];
    $$("[data-var]", box).forEach(function (label) {
      var used = vars.indexOf(label.dataset.var) !== -1;
      label.hidden = !used;
      var field = label.querySelector("input");
      if (field) { field.disabled = !used; field.required = used; }
    });
    var preview = box.querySelector("[data-template-preview]");
    if (!preview) return;
    var body = option ? option.dataset.body || "" : "";
    preview.hidden = !body;
    preview.textContent = body.replace(/\{\{\s*(\w+)\s*\}\}/g, function (all, name) {
      var field = box.querySelector('[data-var="' + name + '"] input');
      return field && field.value.trim() ? field.value.trim() : "{{" + name + "}}";
    });
  }

  /* --- sending ------------------------------------------------------------------------------- */

  /* What stops a send before it leaves, in words; empty: it may go. */
  function problem(form) {
    if (isNote(form)) return areaOf(form).value.trim() ? "" : "Write the note first.";
    if (form._files && form._files.some(function (f) { return f.refused; })) {
      return "Remove the files marked in red first: " + form.dataset.kindLabel + " cannot send them.";
    }
    var tooLong = textProblem(form);
    if (tooLong) return tooLong;
    var template = form.querySelector("select[name=x_template]");
    var hasFiles = form._files && form._files.length;
    if (!areaOf(form).value.trim() && !hasFiles && !(template && template.value && !template.disabled)) {
      return "Write a message first.";
    }
    return "";
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("[data-composer]")) return;
    var why = problem(form);
    if (why) {
      e.preventDefault();
      e.stopPropagation(); // htmx listens on the form itself: it never sees this one
      setError(form, why);
      areaOf(form).focus();
    }
  }, true);

  document.body.addEventListener("htmx:beforeRequest", function (e) {
    var form = composerOf(e.detail.elt);
    if (form && e.detail.elt === form) {
      form.classList.add("is-sending");
      setError(form, "");
    }
  });

  document.body.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail.elt;
    if (!form || !form.matches || !form.matches("[data-composer]")) return;
    form.classList.remove("is-sending");
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    if (status >= 200 && status < 300) {
      areaOf(form).value = "";
      resetFiles(form);
      clearDraft(form);
      setError(form, "");
      updateCount(form);
      form.dispatchEvent(new CustomEvent("composer:sent", { bubbles: true, detail: { xhr: e.detail.xhr } }));
    } else if (status === 413) {
      setError(form, "These files are too big to send together. Your message is still here.");
    } else if (status >= 500) {
      setError(form, "The server could not take it. Your message is still here: try again.");
    } else if (status === 400 || status === 403) {
      setError(form, (e.detail.xhr.responseText || "Refused.").slice(0, 300));
    }
  });

  document.body.addEventListener("htmx:sendError", function (e) {
    var form = composerOf(e.detail.elt);
    if (form) {
      form.classList.remove("is-sending");
      setError(form, "You seem to be offline. Your message is still here: send it again when you are back.");
    }
  });

  /* --- events -------------------------------------------------------------------------------- */

  /* A template box outside a composer (New conversation) still shows its variables. */
  function templateOutside(e) {
    var box = e.target.closest && e.target.closest("[data-template-box]");
    if (box) showTemplate(box.querySelector("select[data-template-picker]"));
  }

  var saveTimer = null;
  document.addEventListener("input", function (e) {
    var form = composerOf(e.target);
    if (!form) { templateOutside(e); return; }
    if (e.target.matches("[data-composer-input]")) {
      updateCount(form);
      if (form.querySelector("#reply-error").textContent && !problem(form)) setError(form, "");
      clearTimeout(saveTimer);
      saveTimer = setTimeout(function () { saveDraft(form); }, 250);
    } else if (e.target.matches("[data-emoji-search]")) {
      fillEmoji(form.querySelector("[data-emoji-grid]"), e.target.value);
    } else if (e.target.closest("[data-template-box]")) {
      showTemplate(e.target.closest("[data-template-box]").querySelector("select[data-template-picker]"));
    }
  });

  document.addEventListener("change", function (e) {
    var form = composerOf(e.target);
    if (!form) { templateOutside(e); return; }
    if (e.target.name === "mode") { applyMode(form); saveDraft(form); areaOf(form).focus(); }
    else if (e.target.matches("[data-composer-file-input]")) {
      // The picker replaced the input's files with its choice: add them to the chips.
      addFiles(form, Array.prototype.slice.call(e.target.files));
    } else if (e.target.matches("select[data-template-picker]")) showTemplate(e.target);
  });

  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target : e.target.parentElement;
    var form = composerOf(t);
    if (!form) {
      $$("[data-emoji-panel]:not([hidden])").forEach(function (p) { closeEmoji(composerOf(p), false); });
      return;
    }
    var tool = t.closest("[data-format]");
    if (tool) { format(form, tool.dataset.format); return; }
    var toggle = t.closest("[data-emoji-toggle]");
    if (toggle) {
      var panel = form.querySelector("[data-emoji-panel]");
      if (panel && !panel.hidden) closeEmoji(form, true); else openEmoji(form, toggle);
      return;
    }
    var emoji = t.closest("[data-emoji]");
    if (emoji) {
      rememberEmoji(emoji.dataset.emoji);
      closeEmoji(form, false);
      insertText(areaOf(form), emoji.dataset.emoji);
      return;
    }
    var remove = t.closest("[data-remove-file]");
    if (remove) { removeFile(form, Number(remove.dataset.removeFile)); areaOf(form).focus(); return; }
    if (!t.closest("[data-emoji-panel]")) closeEmoji(form, false);
  });

  document.addEventListener("keydown", function (e) {
    var form = composerOf(e.target);
    if (!form) return;
    if (e.key === "Escape" && e.target.closest("[data-emoji-panel]")) {
      e.preventDefault();
      e.stopPropagation();
      closeEmoji(form, true);
      return;
    }
    if (!e.target.matches("[data-composer-input]")) return;
    var mod = e.ctrlKey || e.metaKey;
    if (mod && !e.altKey && !e.shiftKey) {
      var key = e.key.toLowerCase();
      var what = key === "b" ? "bold" : key === "i" ? "italic" : key === "k" ? "link" : "";
      if (what) { e.preventDefault(); format(form, what); return; }
    }
    if (e.key !== "Enter" || e.isComposing) return;
    var modEnter = form.dataset.sendKey === "mod-enter" && !isNote(form);
    var wantsSend = modEnter ? mod : !(e.shiftKey || e.altKey || mod);
    if (!wantsSend) return;
    e.preventDefault();
    form.requestSubmit();
  });

  document.addEventListener("paste", function (e) {
    var form = composerOf(e.target);
    var data = e.clipboardData;
    if (!form || !data || !data.files || !data.files.length) return;
    e.preventDefault(); // the files become chips; their names are not typed into the box
    addFiles(form, data.files);
  });

  /* Files dragged over the page land in the open composer (and never open in the tab). */
  function dragsFiles(e) {
    return e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types || [], "Files") !== -1;
  }
  var dragDepth = 0;
  document.addEventListener("dragenter", function (e) {
    var form = $("[data-composer]");
    if (!form || !dragsFiles(e)) return;
    dragDepth += 1;
    form.classList.add("is-dragging");
  });
  document.addEventListener("dragleave", function (e) {
    var form = $("[data-composer]");
    if (!form || !dragsFiles(e)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) form.classList.remove("is-dragging");
  });
  document.addEventListener("dragover", function (e) {
    if (!$("[data-composer]") || !dragsFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = composerOf(e.target) ? "copy" : "none";
  });
  document.addEventListener("drop", function (e) {
    var open = $("[data-composer]");
    if (!open || !dragsFiles(e)) return;
    e.preventDefault();
    dragDepth = 0;
    open.classList.remove("is-dragging");
    var form = composerOf(e.target);
    if (form) addFiles(form, e.dataTransfer.files);
  });

  document.body.addEventListener("htmx:load", function (e) { initAll(e.detail.elt); });
  window.addEventListener("storage", function (e) {
    if (e.key && e.key.indexOf(DRAFT_PREFIX) === 0) markRows(document);
  });

  function openComposer() { var form = $("[data-composer]"); if (form) init(form); return form; }

  window.FrontdeskComposer = {
    insert: function (text) { var form = openComposer(); if (form) insertText(areaOf(form), text); },
    problem: function () { var form = openComposer(); return form ? problem(form) : ""; }
  };

  initAll(document);
  /* --- New conversation (web/compose.html): the channel comes first, then the contact ------- */

  function setUpCompose(form) {
    if (form._compose) return;
    form._compose = true;
    // Enter in a field must send, not switch channels: the switch button is for no-JS only.
    $$("select[data-template-picker]", form).forEach(showTemplate);
    var switcher = form.querySelector("[data-compose-switch]");
    if (switcher) switcher.remove();
    var channel = form.querySelector("[data-compose-channel]");
    var to = form.querySelector("[data-compose-to]");
    var name = form.querySelector("[data-compose-name]");
    var list = form.querySelector("[data-compose-contacts]");
    var names = {};
    var timer = null;
    var asked = "";
    channel.addEventListener("change", function () {
      // Re-render with this channel's fields; everything typed travels in the POST.
      var action = document.createElement("input");
      action.type = "hidden"; action.name = "action"; action.value = "switch";
      form.appendChild(action);
      form.submit();
    });
    to.addEventListener("input", function () {
      var handle = to.value.trim();
      if (names[handle] && name && !name.value.trim()) name.value = names[handle];
      clearTimeout(timer);
      if (handle.length < 2 || handle === asked) return;
      timer = setTimeout(function () {
        asked = handle;
        var url = form.dataset.pickerUrl + "?channel=" + encodeURIComponent(channel.value) + "&q=" + encodeURIComponent(handle);
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { contacts: [] }; })
          .then(function (data) {
            list.textContent = "";
            data.contacts.forEach(function (c) {
              var option = document.createElement("option");
              option.value = c.handle;
              option.label = c.name + (c.company ? " · " + c.company : "");
              names[c.handle] = c.name;
              list.appendChild(option);
            });
          })
          .catch(function () { /* the picker only helps: typing an address still works */ });
      }, 150);
    });
  }
  $$("[data-compose-form]").forEach(setUpCompose);
})();
