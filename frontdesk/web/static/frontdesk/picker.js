/* Pickers in the reply box, opened by a character typed at the start of the box or after a
   space, filtered as you type. Arrow keys move, Enter or Tab takes one, Escape closes (and it
   stays closed for that character); a click takes one too. The chosen item's text replaces
   the "<character><query>" typed.

   - Canned replies: "/" opens the team's saved answers (Settings > Canned replies), matched
     by shortcut then title. The text comes from /c/<id>/canned with its variables already
     filled in for this conversation's client and the member writing.
   - @mentions: "@" in Note mode opens the workspace's members (read from the thread header's
     assignee menu), matched by name; it inserts "@Display Name ", which the server reads as
     a mention.

   One factory, picker(config), holds the state and the keyboard, mouse, focus and htmx
   handling; a config gives the trigger, the loader, the matcher, the text to insert and how
   an option looks. */
(function () {
  "use strict";

  function picker(config) {
    var state = null;   // {area, form, start, query, items, shown, index, list}
    var dismissedAt = -1;

    function close() {
      if (!state) return;
      if (state.list) state.list.remove();
      state.area.removeAttribute("aria-activedescendant");
      state.area.setAttribute("aria-expanded", "false");
      state = null;
    }

    function render() {
      var box = state.area.closest(".composer-box") || state.area.parentElement;
      var list = state.list;
      if (!list) {
        list = state.list = document.createElement("ul");
        list.className = "tm-canned-picker" + (config.className ? " " + config.className : "");
        list.id = config.name + "-picker";
        list.setAttribute("role", "listbox");
        list.setAttribute("aria-label", config.label);
        box.appendChild(list);
        state.area.setAttribute("aria-controls", list.id);
        state.area.setAttribute("aria-expanded", "true");
      }
      list.textContent = "";
      if (!state.shown.length) {
        var none = document.createElement("li");
        none.className = "tm-canned-empty";
        none.textContent = config.empty(state.items, state.query);
        list.appendChild(none);
        state.area.removeAttribute("aria-activedescendant");
        return;
      }
      state.shown.forEach(function (item, i) {
        var li = document.createElement("li");
        li.className = "tm-canned-option" + (config.optionClass ? " " + config.optionClass : "");
        li.id = config.name + "-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === state.index ? "true" : "false");
        li.dataset.index = String(i);
        config.option(li, item);
        list.appendChild(li);
      });
      state.area.setAttribute("aria-activedescendant", config.name + "-option-" + state.index);
      var current = list.children[state.index];
      if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest" });
    }

    function update(area) {
      var form = area.closest("[data-composer]");
      var caret = area.selectionStart;
      if (!form || caret !== area.selectionEnd || (config.when && !config.when(form))) { close(); return; }
      var m = config.trigger.exec(area.value.slice(0, caret));
      if (!m) { dismissedAt = -1; close(); return; }
      var start = caret - m[2].length - 1;  // where the trigger character is
      if (start === dismissedAt) return;     // closed with Escape: stays closed for this one
      config.load(form).then(function (items) {
        if (document.activeElement !== area) return;
        if (!state || state.area !== area) { close(); state = { area: area, form: form }; }
        state.start = start;
        state.query = m[2];
        state.items = items;
        state.shown = config.matches(items, m[2].toLowerCase()).slice(0, 20);
        state.index = 0;
        render();
      });
    }

    function choose(i) {
      if (!state || !state.shown[i]) return;
      var area = state.area;
      var end = area.selectionStart;
      area.setRangeText(config.text(state.shown[i]), state.start, end, "end");
      close();
      area.focus();
      area.dispatchEvent(new Event("input", { bubbles: true }));  // drafts, the counter, typing…
    }

    document.addEventListener("input", function (e) {
      if (e.target && e.target.matches && e.target.matches("[data-composer-input]")) update(e.target);
    });

    // Before the composer's own keys (Enter sends) and the page's (Escape leaves the box).
    window.addEventListener("keydown", function (e) {
      if (!state || e.target !== state.area || e.isComposing) return;
      var n = state.shown ? state.shown.length : 0;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (!n) return;
        state.index = (state.index + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        render();
      } else if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey && n) {
        choose(state.index);
      } else if (e.key === "Escape") {
        dismissedAt = state.start;
        close();
      } else {
        return;
      }
      e.preventDefault();
      e.stopPropagation();
    }, true);

    document.addEventListener("mousedown", function (e) {
      if (!state || !state.list) return;
      var option = e.target.closest && e.target.closest("[role=option]");
      if (option && state.list.contains(option)) {
        e.preventDefault();  // keep the caret in the box
        choose(Number(option.dataset.index));
      } else if (!state.list.contains(e.target)) {
        close();
      }
    });

    document.addEventListener("focusout", function (e) {
      if (state && e.target === state.area) setTimeout(function () { if (state && document.activeElement !== state.area) close(); }, 0);
    });

    // A new thread in the pane: its composer starts without a picker.
    document.body.addEventListener("htmx:beforeSwap", function (e) {
      if (state && e.detail.target && e.detail.target.contains(state.area)) close();
    });
  }

  // Items starting with the query first, then those containing it (in the given fields).
  function ranked(items, q, starts, contains) {
    var first = [], then = [];
    items.forEach(function (item) {
      if (starts(item).indexOf(q) === 0) first.push(item);
      else if (contains(item)) then.push(item);
    });
    return first.concat(then);
  }

  function span(className, text) {
    var el = document.createElement("span");
    el.className = className;
    el.textContent = text;
    return el;
  }

  var canned = {};  // conversation id -> promise of items
  picker({
    name: "canned",
    label: "Canned replies",
    trigger: /(^|\s)\/([A-Za-z0-9_-]{0,40})$/,
    load: function (form) {
      var id = form.dataset.conversation;
      if (!canned[id]) {
        canned[id] = fetch("/c/" + id + "/canned", { credentials: "same-origin", headers: { "HX-Request": "true" } })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (body) { return body.items || []; }, function () { delete canned[id]; return []; });
      }
      return canned[id];
    },
    matches: function (items, q) {
      return ranked(items, q, function (item) { return item.shortcut; }, function (item) {
        return item.shortcut.indexOf(q) !== -1 || item.title.toLowerCase().indexOf(q) !== -1;
      });
    },
    empty: function (items, query) {
      return items.length
        ? "No canned reply matches /" + query
        : "No canned replies yet: add them in Settings › Canned replies";
    },
    option: function (li, item) {
      var head = span("tm-canned-short", "/" + item.shortcut);
      head.appendChild(span("tm-canned-title", item.title));
      li.appendChild(head);
      li.appendChild(span("tm-canned-preview", item.text));
    },
    text: function (item) { return item.text; },
  });

  picker({
    name: "mention",
    label: "Members to mention",
    className: "tm-mention-picker",
    optionClass: "tm-mention-option",
    trigger: /(^|\s)@([^\s@]{0,40})$/,
    when: function (form) {
      var note = form.querySelector("input[name=mode][value=note]");
      return !!(note && note.checked);
    },
    load: function () {
      var items = [];
      document.querySelectorAll("#thread-header [data-member-name]").forEach(function (el) {
        items.push({ name: el.dataset.memberName });
      });
      return Promise.resolve(items);
    },
    matches: function (items, q) {
      function name(item) { return item.name.toLowerCase(); }
      return ranked(items, q, name, function (item) { return name(item).indexOf(q) !== -1; });
    },
    empty: function (items, query) { return "No member matches @" + query; },
    option: function (li, item) { li.textContent = "@" + item.name; },
    text: function (item) { return "@" + item.name + " "; },
  });
})();
