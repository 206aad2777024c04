// The content calendar: channel colours on chips, drag and drop to reschedule (a refused move
// snaps back and says why), click to edit in the composer (composer.js), Retry on failed posts,
// keyboard shortcuts, and live post.published / post.failed events that redraw the grid.
(function () {
  "use strict";

  var root = document.querySelector("[data-calendar]");
  if (!root) {
    return;
  }
  var NIL = "00000000-0000-0000-0000-000000000000";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function toast(level, message) {
    document.dispatchEvent(new CustomEvent("toast", { detail: { level: level, message: message } }));
  }

  function text(name) {
    return root.getAttribute("data-text-" + name) || "";
  }

  function urlFor(name, postId) {
    return root.getAttribute("data-" + name + "-url-template").replace(NIL, postId);
  }

  function grid() {
    return document.getElementById("calendar-grid");
  }

  function errorMessage(body, fallback) {
    if (body && body.errors && body.errors.length) {
      return body.errors
        .map(function (e) {
          return e.message;
        })
        .join(" ");
    }
    return (body && body.message) || fallback;
  }

  // Calls of this page: JSON in and out, the session cookie and the CSRF header.
  function call(method, url, payload) {
    var init = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
    };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return window.fetch(url, init).then(function (response) {
      if (response.status === 204) {
        return { ok: true, status: 204, body: null };
      }
      return response
        .json()
        .catch(function () {
          return null;
        })
        .then(function (body) {
          return { ok: response.ok, status: response.status, body: body };
        });
    });
  }

  // ------------------------------------------------------------ colours (no inline styles)
  function paint(scope) {
    scope.querySelectorAll("[data-color]").forEach(function (el) {
      el.style.setProperty("--channel-color", el.getAttribute("data-color"));
    });
  }

  // ------------------------------------------------------------ the grid
  function currentGridUrl() {
    var g = grid();
    var params = new URLSearchParams({ view: g.getAttribute("data-view"), date: g.getAttribute("data-date") });
    return root.getAttribute("data-grid-url") + "?" + params.toString();
  }

  function reloadGrid() {
    return window
      .fetch(currentGridUrl(), { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("grid " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#calendar-grid");
        if (fresh) {
          grid().replaceWith(fresh);
          paint(fresh);
        }
      });
  }
  window.SocialsellCalendar = { reload: reloadGrid };

  // Instagram tells the permalink a moment after publishing: look again a few times.
  var pendingTries = 0;
  function followPermalinks() {
    if (!grid().querySelector("[data-permalink-pending]") || pendingTries >= 5) {
      pendingTries = 0;
      return;
    }
    pendingTries += 1;
    window.setTimeout(function () {
      reloadGrid().then(followPermalinks);
    }, 1500 * pendingTries);
  }

  function postsById() {
    var node = document.getElementById("calendar-posts");
    var list = node ? JSON.parse(node.textContent || "[]") : [];
    var map = {};
    list.forEach(function (p) {
      map[p.id] = p;
    });
    return map;
  }

  // ------------------------------------------------------------ drag and drop
  var dragged = null;

  root.addEventListener("dragstart", function (event) {
    var chip = event.target.closest && event.target.closest("[data-post-chip][data-movable]");
    if (!chip) {
      return;
    }
    dragged = { chip: chip, from: chip.parentElement, next: chip.nextSibling };
    chip.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", chip.getAttribute("data-post-id"));
  });

  root.addEventListener("dragend", function () {
    if (dragged) {
      dragged.chip.classList.remove("is-dragging");
    }
    root.querySelectorAll(".is-drop-target").forEach(function (el) {
      el.classList.remove("is-drop-target");
    });
  });

  function dropTarget(event) {
    return event.target.closest ? event.target.closest("[data-drop-date]") : null;
  }

  root.addEventListener("dragover", function (event) {
    var target = dropTarget(event);
    if (!dragged || !target) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    root.querySelectorAll(".is-drop-target").forEach(function (el) {
      if (el !== target) {
        el.classList.remove("is-drop-target");
      }
    });
    target.classList.add("is-drop-target");
  });

  function snapBack(move) {
    move.from.insertBefore(move.chip, move.next && move.next.parentNode === move.from ? move.next : null);
  }

  root.addEventListener("drop", function (event) {
    var target = dropTarget(event);
    if (!dragged || !target) {
      return;
    }
    event.preventDefault();
    var move = dragged;
    dragged = null;
    target.classList.remove("is-drop-target");
    move.chip.classList.remove("is-dragging");
    var list = target.querySelector(".cal-day__chips") || target;
    if (list === move.from) {
      return;
    }
    list.appendChild(move.chip);
    move.chip.classList.add("is-saving");
    var payload = { date: target.getAttribute("data-drop-date") };
    if (target.hasAttribute("data-drop-hour")) {
      payload.hour = parseInt(target.getAttribute("data-drop-hour"), 10);
    }
    call("POST", urlFor("move", move.chip.getAttribute("data-post-id")), payload)
      .then(function (result) {
        move.chip.classList.remove("is-saving");
        if (!result.ok) {
          snapBack(move);
          var generic = document.getElementById("i18n-generic-error");
          toast("error", errorMessage(result.body, generic ? generic.textContent : ""));
          return;
        }
        toast("success", text("moved"));
        return reloadGrid();
      })
      .catch(function () {
        move.chip.classList.remove("is-saving");
        snapBack(move);
        var net = document.getElementById("i18n-network-error");
        toast("error", net ? net.textContent : "Network error");
      });
  });

  // ------------------------------------------------------------ clicks: edit, retry, compose
  root.addEventListener("click", function (event) {
    var retry = event.target.closest("[data-chip-retry]");
    if (retry) {
      var chip = retry.closest("[data-post-chip]");
      retry.disabled = true;
      call("POST", urlFor("retry", chip.getAttribute("data-post-id"))).then(function (result) {
        retry.disabled = false;
        if (!result.ok) {
          toast("error", errorMessage(result.body, ""));
          return;
        }
        toast("info", text("retried"));
        reloadGrid();
      });
      return;
    }
    var edit = event.target.closest("[data-chip-edit]");
    if (edit && window.SocialsellComposer) {
      var id = edit.closest("[data-post-chip]").getAttribute("data-post-id");
      var post = postsById()[id];
      if (post) {
        window.SocialsellComposer.open({ post: post, opener: edit });
      }
      return;
    }
    var day = event.target.closest("[data-compose-day]");
    if (day && window.SocialsellComposer) {
      window.SocialsellComposer.open({ date: day.getAttribute("data-compose-day"), opener: day });
      return;
    }
    var create = event.target.closest("[data-compose-open]");
    if (create && window.SocialsellComposer) {
      window.SocialsellComposer.open({ opener: create });
    }
  });

  root.addEventListener("keydown", function (event) {
    var face = event.target.closest && event.target.closest("[data-chip-edit]");
    if (face && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      face.click();
    }
  });

  document.addEventListener("composer:saved", function () {
    reloadGrid();
  });

  // ------------------------------------------------------------ keyboard
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var target = event.target;
    if (target.closest("input, textarea, select, dialog[open], [contenteditable]")) {
      return;
    }
    var keys = { t: "today", PageUp: "previous", PageDown: "next" };
    var nav = keys[event.key];
    if (nav) {
      var link = root.querySelector('[data-cal-nav="' + nav + '"]');
      if (link) {
        event.preventDefault();
        link.click();
      }
    } else if (event.key === "n") {
      var button = root.querySelector("[data-compose-open]");
      if (button && !button.disabled) {
        event.preventDefault();
        button.click();
      }
    }
  });

  // ------------------------------------------------------------ live events
  var eventsUrl = root.getAttribute("data-events-url");
  if (eventsUrl && "EventSource" in window) {
    var source = new EventSource(eventsUrl);
    var opened = false;
    source.addEventListener("open", function () {
      // After a break, what happened meanwhile is in the database: redraw from it.
      if (opened) {
        reloadGrid();
      }
      opened = true;
    });
    source.addEventListener("post.published", function () {
      toast("success", text("published"));
      reloadGrid().then(followPermalinks);
    });
    source.addEventListener("post.failed", function (event) {
      var data = {};
      try {
        data = JSON.parse(event.data);
      } catch (e) {
        data = {};
      }
      toast("error", text("failed") + " " + (data.reason || ""));
      reloadGrid();
    });
    window.addEventListener("pagehide", function () {
      source.close();
    });
  }

  // The week opens on the working day (or the first post before it), not at midnight.
  function scrollWeek() {
    var week = root.querySelector(".cal-week");
    if (!week) {
      return;
    }
    var hour = 8;
    week.querySelectorAll("[data-drop-hour]").forEach(function (slot) {
      if (slot.querySelector("[data-post-chip]")) {
        hour = Math.min(hour, parseInt(slot.getAttribute("data-drop-hour"), 10));
      }
    });
    var row = week.querySelector('[data-drop-hour="' + hour + '"]');
    var head = week.querySelector(".cal-week__row--head");
    if (row) {
      week.scrollTop = row.offsetTop - (head ? head.offsetHeight : 0);
    }
  }

  paint(document);
  scrollWeek();
})();
