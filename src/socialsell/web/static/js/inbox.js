// The Inbox page, live: an EventSource on /events (the browser resumes it with Last-Event-ID),
// and for each event the server-rendered fragment is fetched and swapped in: a message of the
// open thread (upserted by id), the conversation list, the composer when the messaging window
// opens or closes. This file never builds markup from strings; it moves server HTML around.
// Also: Enter sends, the image preview, the Idempotency-Key of each send, the window countdown,
// the unread count in the tab title and the sidebar badge, older messages on scroll up; and for
// WhatsApp: quoting a message in the reply, the reaction menu, and the template picker's states.
(function () {
  "use strict";

  var root = document.querySelector("[data-inbox]");
  if (!root) {
    return;
  }
  var ZERO = "00000000-0000-0000-0000-000000000000";
  var ONE = "11111111-1111-1111-1111-111111111111";
  var i18n = document.getElementById("inbox-i18n").dataset;
  var baseTitle = document.title;
  var pendingToasts = {};
  var listTimer = null;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)[sd]/g, function (_, name) {
      return values[name] === undefined ? "" : String(values[name]);
    });
  }

  function toast(level, message) {
    document.dispatchEvent(new CustomEvent("toast", { detail: { level: level, message: message } }));
  }

  function openConversation() {
    var thread = document.getElementById("thread");
    return thread ? thread.getAttribute("data-thread") || "" : "";
  }

  function fetchHtml(url) {
    return window
      .fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      });
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // ------------------------------------------------------------ unread count: title and badge
  function setUnread(total) {
    var n = parseInt(total, 10) || 0;
    document.title = (n > 0 ? "(" + n + ") " : "") + baseTitle;
    document.querySelectorAll("[data-inbox-badge]").forEach(function (badge) {
      badge.hidden = n === 0;
      var count = badge.querySelector("[data-inbox-count]");
      if (count) {
        count.textContent = String(n);
      }
    });
  }

  function syncUnreadFromList() {
    var list = document.getElementById("conversation-list");
    if (list) {
      setUnread(list.getAttribute("data-unread-total"));
    }
  }

  // ------------------------------------------------------------ the conversation list
  var afterList = [];

  function runAfterList() {
    var callbacks = afterList;
    afterList = [];
    callbacks.forEach(function (callback) {
      callback();
    });
  }

  function refreshList() {
    window.clearTimeout(listTimer);
    listTimer = window.setTimeout(function () {
      var form = document.querySelector("[data-inbox-filters]");
      var params = new URLSearchParams(form ? new FormData(form) : undefined);
      params.set("selected", openConversation());
      fetchHtml(root.getAttribute("data-list-url") + "?" + params.toString())
        .then(function (html) {
          var fresh = parse(html).getElementById("conversation-list");
          var current = document.getElementById("conversation-list");
          if (fresh && current) {
            current.replaceWith(fresh);
            if (window.htmx) {
              window.htmx.process(fresh);
            }
            syncUnreadFromList();
          }
          runAfterList();
        })
        .catch(runAfterList);
    }, 120);
  }

  // Named as the list names the contact (the server's words), once the list shows the row.
  function toastNewMessage(conversation) {
    var contact = conversation.contact || {};
    var fallback = contact.name || (contact.username ? "@" + contact.username : i18n.someone);
    afterList.push(function () {
      var row = document.querySelector(
        '[data-conversation-row="' + conversation.id + '"] .conv__name'
      );
      var name = row ? row.textContent.trim() : fallback;
      toast("info", format(i18n.newMessage, { name: name }));
    });
  }

  function markSelected(id) {
    document.querySelectorAll("[data-conversation-row]").forEach(function (li) {
      var on = li.getAttribute("data-conversation-row") === id;
      li.classList.toggle("is-selected", on);
      var link = li.querySelector(".conv__link");
      if (on) {
        li.classList.remove("conv--unread");
        link.setAttribute("aria-current", "true");
      } else {
        link.removeAttribute("aria-current");
      }
    });
    var input = document.querySelector("[data-selected-input]");
    if (input) {
      input.value = id;
    }
  }

  // ------------------------------------------------------------ the thread
  function scroller() {
    return document.getElementById("thread-scroll");
  }

  function nearBottom() {
    var box = scroller();
    return !box || box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  }

  function toBottom() {
    var box = scroller();
    if (box) {
      box.scrollTop = box.scrollHeight;
    }
  }

  // A day separator is shown once: drop one that repeats the day of the message above it, or
  // that has no message after it.
  function tidySeparators() {
    var list = document.getElementById("thread-messages");
    if (!list) {
      return;
    }
    var day = null;
    Array.prototype.slice.call(list.children).forEach(function (item) {
      if (item.hasAttribute("data-day-sep")) {
        var next = item.nextElementSibling;
        var sepDay = item.getAttribute("data-day-sep");
        if (sepDay === day || !next || next.hasAttribute("data-day-sep")) {
          item.remove();
        } else {
          day = sepDay;
        }
      } else if (item.hasAttribute("data-message")) {
        day = item.getAttribute("data-day");
      }
    });
  }

  function messageUrl(conversationId, messageId) {
    return root
      .getAttribute("data-message-url-template")
      .replace(ZERO, conversationId)
      .replace(ONE, messageId);
  }

  // Two events about one message (created, then updated when its photo is copied) fetch its
  // fragment twice; the answers may come back in either order. Only the latest request's
  // answer is shown, so an older state never replaces a newer one.
  var upserts = {};

  function upsertMessage(conversationId, messageId) {
    var ticket = (upserts[messageId] || 0) + 1;
    upserts[messageId] = ticket;
    return fetchHtml(messageUrl(conversationId, messageId)).then(function (html) {
      if (openConversation() !== conversationId || upserts[messageId] !== ticket) {
        return;
      }
      var fragment = parse(html);
      var fresh = fragment.querySelector("[data-message]");
      var list = document.getElementById("thread-messages");
      if (!fresh || !list) {
        return;
      }
      var existing = document.getElementById(fresh.id);
      var stick = nearBottom();
      if (existing) {
        existing.replaceWith(fresh);
      } else {
        list.appendChild(fragment);
      }
      if (window.htmx) {
        window.htmx.process(fresh);
      }
      tidySeparators();
      if (stick || !existing) {
        toBottom();
        // A photo grows the bubble once it loads: stay at the bottom.
        fresh.querySelectorAll("img").forEach(function (img) {
          img.addEventListener("load", toBottom, { once: true });
        });
      }
    });
  }

  function markRead(conversationId) {
    if (document.visibilityState !== "visible") {
      return;
    }
    window.fetch(root.getAttribute("data-read-url-template").replace(ZERO, conversationId), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    });
  }

  document.addEventListener("visibilitychange", function () {
    var id = openConversation();
    var row = id && document.querySelector('[data-conversation-row="' + id + '"].conv--unread');
    if (document.visibilityState === "visible" && row) {
      markRead(id);
    }
  });

  function refreshComposer(conversationId) {
    var url = root.getAttribute("data-thread-url-template").replace(ZERO, conversationId);
    fetchHtml(url + "?part=composer").then(function (html) {
      var fresh = parse(html).getElementById("composer");
      var current = document.getElementById("composer");
      if (fresh && current && openConversation() === conversationId) {
        current.replaceWith(fresh);
        if (window.htmx) {
          window.htmx.process(fresh);
        }
        prepareComposer();
      }
    });
  }

  // ------------------------------------------------------------ live events
  function onMessage(event, created) {
    var data = JSON.parse(event.data);
    var message = data.message || {};
    if (message.conversation_id === openConversation()) {
      upsertMessage(message.conversation_id, message.id).catch(function () {});
      if (created && message.direction === "inbound") {
        markRead(message.conversation_id);
      }
    } else if (created && message.direction === "inbound") {
      pendingToasts[message.conversation_id] = true;
    }
  }

  function onConversation(event) {
    var data = JSON.parse(event.data);
    var conversation = data.conversation || {};
    if (pendingToasts[conversation.id]) {
      delete pendingToasts[conversation.id];
      toastNewMessage(conversation);
    }
    refreshList();
    if (conversation.id === openConversation()) {
      var composer = document.getElementById("composer");
      var window_ = conversation.window;
      var canReply = window_ ? String(window_.can_reply) : null;
      if (composer && canReply !== null && composer.getAttribute("data-can-reply") !== canReply) {
        refreshComposer(conversation.id);
      }
    }
  }

  // Reload the views from the truth: when the log no longer holds the events missed during a
  // break (see resume), or when the server sends "reset".
  function onReset() {
    refreshList();
    var id = openConversation();
    if (id) {
      var url = root.getAttribute("data-thread-url-template").replace(ZERO, id);
      if (window.htmx) {
        window.htmx.ajax("GET", url, { target: "#thread", swap: "outerHTML" });
      }
    }
  }

  // The stream starts after the newest event the page was rendered with, and a dropped stream
  // resumes after the last event seen, so nothing in between is missed or shown twice.
  var eventsUrl = root.getAttribute("data-events-url");
  var lastEventId = root.getAttribute("data-events-after") || "0";
  var source = null;
  var retryTimer = null;

  function track(handler) {
    return function (event) {
      if (event.lastEventId) {
        lastEventId = event.lastEventId;
      }
      handler(event);
    };
  }

  function connect() {
    source = new EventSource(eventsUrl + "?after=" + encodeURIComponent(lastEventId));
    source.addEventListener(
      "message.created",
      track(function (e) {
        onMessage(e, true);
      })
    );
    source.addEventListener(
      "message.updated",
      track(function (e) {
        onMessage(e, false);
      })
    );
    source.addEventListener("conversation.updated", track(onConversation));
    source.addEventListener("reset", track(onReset));
    source.addEventListener("error", function () {
      // Reconnect ourselves from the last event seen: the browser's own retry would repeat
      // the first URL, whose ?after= the server reads before Last-Event-ID.
      source.close();
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(resume, 2000);
    });
  }

  // After a break, ask first whether the log still holds everything after the last event
  // seen; if it was pruned meanwhile, reload the list and the thread from the truth.
  function resume() {
    var resumeUrl = root.getAttribute("data-resume-url");
    window
      .fetch(resumeUrl + "?after=" + encodeURIComponent(lastEventId), {
        credentials: "same-origin",
      })
      .then(function (response) {
        return response.ok ? response.json() : { reload: false };
      })
      .then(function (answer) {
        if (answer.reload) {
          lastEventId = String(answer.latest);
          onReset();
        }
        connect();
      })
      .catch(function () {
        window.clearTimeout(retryTimer);
        retryTimer = window.setTimeout(resume, 5000);
      });
  }

  if (eventsUrl && "EventSource" in window) {
    connect();
    window.addEventListener("pagehide", function () {
      window.clearTimeout(retryTimer);
      if (source) {
        source.close();
      }
    });
  }

  // ------------------------------------------------------------ composer
  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function prepareComposer() {
    var form = document.querySelector("[data-composer-form]");
    if (!form) {
      return;
    }
    var key = form.querySelector("[data-idempotency-key]");
    if (key && !key.value) {
      key.value = newKey();
    }
    tickWindow();
  }

  // Each send carries the key the form was given: a double click or a retry after a lost
  // answer replays the stored message; the next message gets a new composer and a new key.
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.matches && form.matches("[data-composer-form]")) {
      var key = form.querySelector("[data-idempotency-key]");
      if (key) {
        if (!key.value) {
          key.value = newKey();
        }
        event.detail.headers["Idempotency-Key"] = key.value;
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    var text = event.target;
    if (!text.matches || !text.matches("[data-composer-text]")) {
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      var form = text.closest("form");
      var hasImage = form.querySelector("[data-image-input]");
      if (text.value.trim() || (hasImage && hasImage.files.length)) {
        form.requestSubmit();
      }
    }
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-image-input]")) {
      return;
    }
    var form = input.closest("form");
    var preview = form.querySelector("[data-image-preview]");
    var img = form.querySelector("[data-image-preview-img]");
    if (img.src) {
      URL.revokeObjectURL(img.src);
    }
    if (input.files && input.files[0]) {
      img.src = URL.createObjectURL(input.files[0]);
      preview.hidden = false;
    } else {
      img.removeAttribute("src");
      preview.hidden = true;
    }
  });

  document.addEventListener("click", function (event) {
    var remove = event.target.closest("[data-image-remove]");
    if (remove) {
      var form = remove.closest("form");
      var input = form.querySelector("[data-image-input]");
      input.value = "";
      input.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    var quote = event.target.closest("[data-quote-message]");
    if (quote) {
      startQuote(quote);
      return;
    }
    var cancel = event.target.closest("[data-quote-cancel]");
    if (cancel) {
      clearQuote();
      return;
    }
    // One reaction menu open at a time; a click elsewhere closes it.
    document.querySelectorAll("[data-react-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.open = false;
      }
    });
    var close = event.target.closest("[data-panel-close]");
    if (close) {
      // The panel covers the thread on narrower screens: closing gives the focus back.
      var owner = close.closest("[data-thread]");
      owner.setAttribute("data-panel", "closed");
      var opener = owner.querySelector("[data-panel-toggle]");
      opener.setAttribute("aria-expanded", "false");
      opener.focus();
      return;
    }
    var toggle = event.target.closest("[data-panel-toggle]");
    if (toggle) {
      var thread = toggle.closest("[data-thread]");
      var open = thread.getAttribute("data-panel") === "open";
      thread.setAttribute("data-panel", open ? "closed" : "open");
      toggle.setAttribute("aria-expanded", open ? "false" : "true");
    }
  });

  // ------------------------------------------------------------ WhatsApp: quoting a message
  function startQuote(button) {
    var form = document.querySelector("[data-composer-form]");
    var preview = form && form.querySelector("[data-quote-preview]");
    if (!preview) {
      return;
    }
    form.querySelector("[data-quote-input]").value = button.getAttribute("data-quote-message");
    form.querySelector("[data-quote-preview-text]").textContent =
      button.getAttribute("data-quote-text") || "";
    preview.hidden = false;
    var text = form.querySelector("[data-composer-text]");
    if (text) {
      text.focus();
    }
  }

  function clearQuote() {
    var form = document.querySelector("[data-composer-form]");
    var preview = form && form.querySelector("[data-quote-preview]");
    if (!preview) {
      return;
    }
    form.querySelector("[data-quote-input]").value = "";
    form.querySelector("[data-quote-preview-text]").textContent = "";
    preview.hidden = true;
    var text = form.querySelector("[data-composer-text]");
    if (text) {
      text.focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var menu = event.target.closest && event.target.closest("[data-react-menu][open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
      return;
    }
    if (event.target.matches && event.target.matches("[data-composer-text]")) {
      var preview = document.querySelector("[data-quote-preview]");
      if (preview && !preview.hidden) {
        clearQuote();
      }
    }
  });

  // The template picker (WhatsApp) is another helper's fragment: if it cannot be loaded, say so
  // in the box instead of leaving the spinner.
  function pickerFailed(event) {
    var target = event.detail && event.detail.target;
    if (target && target.hasAttribute && target.hasAttribute("data-template-picker")) {
      var note = document.createElement("p");
      note.className = "composer__templates-error";
      note.setAttribute("role", "alert");
      note.textContent = i18n.pickerFailed;
      target.replaceChildren(note);
    }
  }

  document.addEventListener("htmx:responseError", pickerFailed);
  document.addEventListener("htmx:sendError", pickerFailed);

  // ------------------------------------------------------------ the messaging window countdown
  function tickWindow() {
    var box = document.querySelector("[data-window-until]");
    if (!box || !box.getAttribute("data-window-until")) {
      return;
    }
    var left = new Date(box.getAttribute("data-window-until")).getTime() - Date.now();
    var out = box.querySelector("[data-window-left]");
    if (left <= 0) {
      out.textContent = i18n.closed;
      var id = openConversation();
      if (id && !box.hasAttribute("data-expired")) {
        box.setAttribute("data-expired", "");
        refreshComposer(id);
      }
      return;
    }
    var minutes = Math.floor(left / 60000);
    var hours = Math.floor(minutes / 60);
    if (out.hasAttribute("data-window-short")) {
      // WhatsApp: "Window closes in 3 h 12 min" (never more than 24 h).
      out.textContent =
        hours > 0
          ? format(i18n.hmShort, { h: hours, m: minutes % 60 })
          : format(i18n.mShort, { m: Math.max(1, minutes) });
      return;
    }
    if (hours >= 24) {
      out.textContent = format(i18n.daysLeft, { d: Math.floor(hours / 24) });
    } else if (hours > 0) {
      out.textContent = format(i18n.hmLeft, { h: hours, m: minutes % 60 });
    } else {
      out.textContent = format(i18n.mLeft, { m: Math.max(1, minutes) });
    }
  }

  window.setInterval(tickWindow, 30000);

  // ------------------------------------------------------------ htmx swaps on this page
  document.addEventListener("inbox:upsert", function (event) {
    var detail = event.detail || {};
    (detail.messages || []).forEach(function (id) {
      upsertMessage(detail.conversation, id).catch(function () {});
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "thread") {
      var thread = document.getElementById("thread");
      var id = thread ? thread.getAttribute("data-thread") || "" : "";
      root.setAttribute("data-open", id ? "thread" : "list");
      root.setAttribute("data-conversation", id);
      markSelected(id);
      tidySeparators();
      toBottom();
      prepareComposer();
      var text = document.querySelector("[data-composer-text]");
      if (text && window.matchMedia("(min-width: 768px)").matches) {
        text.focus();
      }
    }
    if (target && target.id === "composer") {
      prepareComposer();
      var again = document.querySelector("[data-composer-text]");
      if (again) {
        again.focus();
      }
    }
    if (event.detail.elt && event.detail.elt.hasAttribute && event.detail.elt.hasAttribute("data-older")) {
      tidySeparators();
    }
    if (target && target.closest && target.closest("#thread-messages")) {
      tidySeparators();
    }
    syncUnreadFromList();
  });

  // Older messages are inserted above what the seller is reading: keep it where it was.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-older")) {
      var box = scroller();
      var before = box.scrollHeight - box.scrollTop;
      document.addEventListener(
        "htmx:afterSettle",
        function () {
          box.scrollTop = box.scrollHeight - before;
          tidySeparators();
        },
        { once: true }
      );
    }
  });

  // A search hit opens its conversation at the message found.
  function revealHash() {
    var hash = window.location.hash;
    if (hash && hash.indexOf("#m-") === 0) {
      var target = document.getElementById(hash.slice(1));
      if (target) {
        target.scrollIntoView({ block: "center" });
        target.classList.add("is-found");
        return true;
      }
    }
    return false;
  }

  // ------------------------------------------------------------ start
  syncUnreadFromList();
  prepareComposer();
  if (!revealHash()) {
    toBottom();
  }
})();
