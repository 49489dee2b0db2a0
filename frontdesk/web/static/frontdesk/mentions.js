/* @mentions in an internal note: "@" at the start of the box or after a space, in Note
   mode, opens a picker of the workspace's members (read from the thread header's assignee
   menu), filtered as you type by name. Arrow keys move, Enter or Tab takes one, Escape
   closes; a click takes one too. It replaces the "@query" typed with "@Display Name ",
   which the server reads as a mention. */
(function () {
  "use strict";

  var TRIGGER = /(^|\s)@([^\s@]{0,40})$/;
  var state = null;   // {area, form, start, items, index, list}
  var dismissedAt = -1;

  function load() {
    var items = [];
    document.querySelectorAll("#thread-header [data-member-name]").forEach(function (el) {
      items.push({ name: el.dataset.memberName });
    });
    return Promise.resolve(items);
  }

  function matches(items, query) {
    var q = query.toLowerCase();
    var first = [], then = [];
    items.forEach(function (item) {
      var name = item.name.toLowerCase();
      if (name.indexOf(q) === 0) first.push(item);
      else if (name.indexOf(q) !== -1) then.push(item);
    });
    return first.concat(then).slice(0, 20);
  }

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
      list.className = "tm-canned-picker tm-mention-picker";
      list.id = "mention-picker";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", "Members to mention");
      box.appendChild(list);
      state.area.setAttribute("aria-controls", "mention-picker");
      state.area.setAttribute("aria-expanded", "true");
    }
    list.textContent = "";
    if (!state.shown.length) {
      var none = document.createElement("li");
      none.className = "tm-canned-empty";
      none.textContent = "No member matches @" + state.query;
      list.appendChild(none);
      state.area.removeAttribute("aria-activedescendant");
      return;
    }
    state.shown.forEach(function (item, i) {
      var li = document.createElement("li");
      li.className = "tm-canned-option tm-mention-option";
      li.id = "mention-option-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === state.index ? "true" : "false");
      li.dataset.index = String(i);
      li.textContent = "@" + item.name;
      list.appendChild(li);
    });
    state.area.setAttribute("aria-activedescendant", "mention-option-" + state.index);
    var current = list.children[state.index];
    if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest" });
  }

  function update(area) {
    var form = area.closest("[data-composer]");
    var caret = area.selectionStart;
    var note = form && form.querySelector("input[name=mode][value=note]");
    if (!form || caret !== area.selectionEnd || !note || !note.checked) { close(); return; }
    var m = TRIGGER.exec(area.value.slice(0, caret));
    if (!m) { dismissedAt = -1; close(); return; }
    var start = caret - m[2].length - 1;  // where the "@" is
    if (start === dismissedAt) return;     // closed with Escape: stays closed for this "@"
    load(form).then(function (items) {
      if (document.activeElement !== area) return;
      if (!state || state.area !== area) { close(); state = { area: area, form: form }; }
      state.start = start;
      state.query = m[2];
      state.items = items;
      state.shown = matches(items, m[2]);
      state.index = 0;
      render();
    });
  }

  function choose(i) {
    if (!state || !state.shown[i]) return;
    var area = state.area;
    var end = area.selectionStart;
    area.setRangeText("@" + state.shown[i].name + " ", state.start, end, "end");
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
    var option = e.target.closest && e.target.closest(".tm-mention-option");
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
})();
