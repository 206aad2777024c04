// The composer dialog of the calendar: a new post (one per chosen channel) or an edit. Media come
// from the library or an upload (with progress); carousel items are reordered by dragging (or the
// arrow buttons); the caption has live counters; the preview follows the kind. The server's
// per-field errors are shown next to their fields. Esc closes, Ctrl/Cmd+Enter schedules.
(function () {
  "use strict";

  var dialog = document.querySelector("[data-composer]");
  if (!dialog) {
    return;
  }
  var NIL = "00000000-0000-0000-0000-000000000000";
  var form = dialog.querySelector("[data-composer-form]");
  var mediaList = dialog.querySelector("[data-composer-media]");
  var caption = form.elements.caption;
  var channels = JSON.parse(document.getElementById("composer-channels").textContent || "[]");
  var HASHTAG = /(?<![\p{L}\p{N}_&])#[\p{L}\p{N}_]+/gu;
  var MENTION = /(?<![\p{L}\p{N}_@])@[\p{L}\p{N}_.]+/gu;
  var limits = {
    chars: parseInt(dialog.getAttribute("data-max-chars"), 10),
    hashtags: parseInt(dialog.getAttribute("data-max-hashtags"), 10),
    mentions: parseInt(dialog.getAttribute("data-max-mentions"), 10),
  };
  var state = { post: null, media: [], opener: null, action: "schedule", busy: false };

  function text(name) {
    return dialog.getAttribute("data-text-" + name) || "";
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function toast(level, message) {
    document.dispatchEvent(new CustomEvent("toast", { detail: { level: level, message: message } }));
  }

  function icon(name) {
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "icon icon--sm");
    svg.setAttribute("aria-hidden", "true");
    var use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    var sprite = document.querySelector("svg use");
    var href = sprite ? sprite.getAttribute("href").split("#")[0] : "/static/img/icons.svg";
    use.setAttribute("href", href + "#" + name);
    svg.appendChild(use);
    return svg;
  }

  function kind() {
    var checked = form.querySelector('input[name="kind"]:checked');
    return checked ? checked.value : "feed";
  }

  function selectedChannels() {
    return Array.prototype.map.call(form.querySelectorAll('input[name="channel_ids"]:checked'), function (i) {
      return i.value;
    });
  }

  // ------------------------------------------------------------ errors next to fields
  function clearErrors() {
    dialog.querySelectorAll("[data-error-for]").forEach(function (p) {
      p.hidden = true;
      p.textContent = "";
    });
    dialog.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
    dialog.querySelectorAll(".field--invalid, .is-invalid").forEach(function (el) {
      el.classList.remove("field--invalid", "is-invalid");
    });
    dialog.querySelector("[data-composer-alert]").hidden = true;
  }

  function slotFor(field) {
    var base = field.split(".")[0];
    if (base === "channel_id") {
      base = "channel_ids";
    }
    if (base === "date" || base === "time") {
      base = "scheduled_at";
    }
    return dialog.querySelector('[data-error-for="' + base + '"]');
  }

  function showErrors(body) {
    var errors = (body && body.errors) || [];
    var loose = [];
    var first = null;
    errors.forEach(function (error) {
      var slot = slotFor(error.field || "");
      if (!slot) {
        loose.push(error.message);
        return;
      }
      var parts = (error.field || "").split(".");
      var message = error.message;
      if (parts[0] === "media_ids" && parts.length > 1) {
        var index = parseInt(parts[1], 10);
        var item = mediaList.children[index];
        if (item) {
          item.classList.add("is-invalid");
        }
        message = "#" + (index + 1) + ": " + message;
      }
      var line = document.createElement("span");
      line.textContent = message;
      if (slot.childNodes.length) {
        slot.appendChild(document.createElement("br"));
      }
      slot.appendChild(line);
      slot.hidden = false;
      var holder = slot.closest("[data-field]");
      if (holder) {
        holder.classList.add("field--invalid");
        var input = holder.querySelector("textarea, input:not([type=hidden])");
        if (input) {
          input.setAttribute("aria-invalid", "true");
          first = first || input;
        }
      }
    });
    if (loose.length || !errors.length) {
      var alert = dialog.querySelector("[data-composer-alert]");
      alert.querySelector("[data-composer-alert-text]").textContent =
        loose.join(" ") || (body && body.message) || "";
      alert.hidden = false;
    }
    if (first) {
      first.focus();
    }
  }

  // ------------------------------------------------------------ counters and preview
  function count(pattern) {
    var found = caption.value.match(pattern);
    return found ? found.length : 0;
  }

  function updateCounters() {
    var values = {
      chars: Array.from(caption.value).length,
      hashtags: count(HASHTAG),
      mentions: count(MENTION),
    };
    Object.keys(values).forEach(function (name) {
      var el = dialog.querySelector('[data-counter="' + name + '"]');
      var words = el.textContent.replace(/^\s*[\d,]+\s*\/\s*[\d,]+\s*/, "");
      el.textContent = values[name] + " / " + limits[name] + " " + words;
      el.classList.toggle("is-over", values[name] > limits[name]);
    });
  }

  function mediaThumb(media) {
    return media.kind === "image" ? media.url : media.thumbnail_url;
  }

  function updatePreview() {
    var frame = dialog.querySelector("[data-preview]");
    var k = kind();
    frame.className = "ig-frame ig-frame--" + (k === "carousel" ? "feed" : k);
    var ids = selectedChannels();
    var channel = channels.filter(function (c) {
      return c.id === ids[0];
    })[0];
    var user = channel ? channel.username || channel.label : "";
    dialog.querySelector("[data-preview-user]").textContent = user;
    dialog.querySelector("[data-preview-avatar]").textContent = user.charAt(0).toUpperCase();
    var holder = dialog.querySelector("[data-preview-media]");
    holder.textContent = "";
    var first = state.media[0];
    if (first) {
      var src = mediaThumb(first);
      if (src) {
        var img = document.createElement("img");
        img.src = src;
        img.alt = "";
        holder.appendChild(img);
      }
      if (first.width && first.height && (k === "feed" || k === "carousel")) {
        // Instagram shows feed media at their ratio, within 4:5 ... 1.91:1.
        var ratio = Math.min(1.91, Math.max(0.8, first.width / first.height));
        holder.style.setProperty("aspect-ratio", String(ratio));
      } else {
        holder.style.removeProperty("aspect-ratio");
      }
    }
    var dots = dialog.querySelector("[data-preview-dots]");
    dots.textContent = "";
    if (k === "carousel") {
      state.media.forEach(function (m, i) {
        var dot = document.createElement("span");
        dot.className = "ig-frame__dot" + (i === 0 ? " is-active" : "");
        dots.appendChild(dot);
      });
    }
    var cap = dialog.querySelector("[data-preview-caption]");
    cap.hidden = k === "story";
    cap.textContent = "";
    if (caption.value.trim()) {
      var strong = document.createElement("strong");
      strong.textContent = user + " ";
      cap.appendChild(strong);
      cap.appendChild(document.createTextNode(caption.value));
    } else {
      cap.textContent = text("caption-placeholder");
    }
    dialog.querySelector("[data-share-row]").hidden = k !== "reel";
  }

  // ------------------------------------------------------------ the media list
  function renderMedia() {
    mediaList.textContent = "";
    state.media.forEach(function (media, index) {
      var li = document.createElement("li");
      li.className = "composer-media__item";
      li.draggable = true;
      li.setAttribute("data-media-id", media.id);
      var src = mediaThumb(media);
      if (src) {
        var img = document.createElement("img");
        img.src = src;
        img.alt = media.original_filename || "";
        li.appendChild(img);
      }
      var number = document.createElement("span");
      number.className = "composer-media__number";
      number.textContent = String(index + 1);
      li.appendChild(number);
      var tools = document.createElement("span");
      tools.className = "composer-media__tools";
      [
        ["left", "\u2039", index > 0],
        ["right", "\u203a", index < state.media.length - 1],
      ].forEach(function (spec) {
        if (!spec[2]) {
          return;
        }
        var b = document.createElement("button");
        b.type = "button";
        b.className = "composer-media__tool";
        b.setAttribute("data-move", spec[0]);
        b.setAttribute("aria-label", text(spec[0]) + " (" + (index + 1) + ")");
        b.textContent = spec[1];
        tools.appendChild(b);
      });
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "composer-media__tool";
      remove.setAttribute("data-remove", "");
      remove.setAttribute("aria-label", text("remove") + " (" + (index + 1) + ")");
      remove.appendChild(icon("x"));
      tools.appendChild(remove);
      li.appendChild(tools);
      mediaList.appendChild(li);
    });
    updatePreview();
  }

  function addMedia(media) {
    if (kind() !== "carousel") {
      state.media = [media];
    } else if (
      !state.media.some(function (m) {
        return m.id === media.id;
      })
    ) {
      state.media.push(media);
    }
    renderMedia();
  }

  mediaList.addEventListener("click", function (event) {
    var li = event.target.closest(".composer-media__item");
    if (!li) {
      return;
    }
    var index = Array.prototype.indexOf.call(mediaList.children, li);
    var move = event.target.closest("[data-move]");
    if (move) {
      var to = move.getAttribute("data-move") === "left" ? index - 1 : index + 1;
      var item = state.media.splice(index, 1)[0];
      state.media.splice(to, 0, item);
      renderMedia();
      var again = mediaList.children[to].querySelector('[data-move="' + move.getAttribute("data-move") + '"]');
      (again || mediaList.children[to].querySelector("button")).focus();
    } else if (event.target.closest("[data-remove]")) {
      state.media.splice(index, 1);
      renderMedia();
    }
  });

  var draggedItem = null;
  mediaList.addEventListener("dragstart", function (event) {
    draggedItem = event.target.closest(".composer-media__item");
    if (draggedItem) {
      draggedItem.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", draggedItem.getAttribute("data-media-id"));
    }
  });
  mediaList.addEventListener("dragover", function (event) {
    var over = event.target.closest(".composer-media__item");
    if (!draggedItem || !over) {
      return;
    }
    event.preventDefault();
    if (over === draggedItem) {
      return;
    }
    var box = over.getBoundingClientRect();
    var after = event.clientX > box.left + box.width / 2;
    mediaList.insertBefore(draggedItem, after ? over.nextSibling : over);
  });
  mediaList.addEventListener("drop", function (event) {
    if (draggedItem) {
      event.preventDefault();
    }
  });
  mediaList.addEventListener("dragend", function () {
    if (!draggedItem) {
      return;
    }
    draggedItem.classList.remove("is-dragging");
    draggedItem = null;
    var byId = {};
    state.media.forEach(function (m) {
      byId[m.id] = m;
    });
    state.media = Array.prototype.map.call(mediaList.children, function (li) {
      return byId[li.getAttribute("data-media-id")];
    });
    renderMedia();
  });

  // ------------------------------------------------------------ the library picker
  var library = dialog.querySelector("[data-library]");
  var libraryGrid = dialog.querySelector("[data-library-grid]");
  var libraryMore = dialog.querySelector("[data-library-more]");
  var libraryCursor = null;
  var libraryItems = {};

  function loadLibrary(reset) {
    var url = dialog.getAttribute("data-library-url");
    if (!reset && libraryCursor) {
      url += "?cursor=" + encodeURIComponent(libraryCursor);
    }
    if (reset) {
      libraryGrid.textContent = "";
    }
    return window
      .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json();
      })
      .then(function (page) {
        libraryCursor = page.next_cursor;
        libraryMore.hidden = !libraryCursor;
        if (reset && !page.items.length) {
          var empty = document.createElement("p");
          empty.className = "muted";
          empty.textContent = text("empty-library");
          libraryGrid.appendChild(empty);
        }
        page.items.forEach(function (media) {
          libraryItems[media.id] = media;
          var b = document.createElement("button");
          b.type = "button";
          b.className = "composer-library__item";
          b.setAttribute("data-pick", media.id);
          b.setAttribute("aria-label", media.original_filename || media.id);
          var src = mediaThumb(media);
          if (src) {
            var img = document.createElement("img");
            img.src = src;
            img.alt = "";
            b.appendChild(img);
          } else {
            b.textContent = media.original_filename;
          }
          libraryGrid.appendChild(b);
        });
      });
  }

  dialog.querySelector("[data-library-toggle]").addEventListener("click", function (event) {
    var button = event.currentTarget;
    library.hidden = !library.hidden;
    button.setAttribute("aria-expanded", String(!library.hidden));
    if (!library.hidden) {
      loadLibrary(true);
    }
  });
  libraryMore.addEventListener("click", function () {
    loadLibrary(false);
  });
  libraryGrid.addEventListener("click", function (event) {
    var pick = event.target.closest("[data-pick]");
    if (pick) {
      addMedia(libraryItems[pick.getAttribute("data-pick")]);
    }
  });

  // ------------------------------------------------------------ uploads with progress
  var uploads = dialog.querySelector("[data-composer-uploads]");

  function uploadFile(file) {
    var row = document.createElement("li");
    row.className = "upload-row";
    var name = document.createElement("span");
    name.className = "upload-row__name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    var status = document.createElement("span");
    status.className = "upload-row__status";
    row.appendChild(name);
    row.appendChild(bar);
    row.appendChild(status);
    uploads.appendChild(row);
    var data = new FormData();
    data.append("file", file);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", dialog.getAttribute("data-upload-url"));
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        bar.value = Math.round((event.loaded / event.total) * 100);
      }
    });
    xhr.addEventListener("load", function () {
      var body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (e) {
        body = null;
      }
      if (xhr.status === 201 && body) {
        bar.value = 100;
        row.remove();
        addMedia(body);
      } else {
        row.classList.add("is-failed");
        status.textContent = (body && body.message) || xhr.statusText;
      }
    });
    xhr.addEventListener("error", function () {
      row.classList.add("is-failed");
      var net = document.getElementById("i18n-network-error");
      status.textContent = net ? net.textContent : "Network error";
    });
    xhr.send(data);
  }

  dialog.querySelector("[data-composer-upload]").addEventListener("change", function (event) {
    Array.prototype.forEach.call(event.target.files, uploadFile);
    event.target.value = "";
  });

  // ------------------------------------------------------------ open, close, submit
  function setChannels(post) {
    form.querySelectorAll('input[name="channel_ids"]').forEach(function (input, index) {
      if (post) {
        input.checked = input.value === post.channel_id;
        input.disabled = !input.checked;
      } else {
        input.disabled = false;
        input.checked = index === 0;
      }
    });
  }

  function open(options) {
    options = options || {};
    var post = options.post || null;
    state.post = post;
    state.opener = options.opener || document.activeElement;
    clearErrors();
    form.reset();
    uploads.textContent = "";
    library.hidden = true;
    dialog.querySelector("[data-library-toggle]").setAttribute("aria-expanded", "false");
    setChannels(post);
    var k = post ? post.kind : "feed";
    form.querySelector('input[name="kind"][value="' + k + '"]').checked = true;
    caption.value = post ? post.caption : "";
    form.elements.share_to_feed.checked = post ? post.share_to_feed : true;
    form.elements.date.value = (post && post.local_date) || options.date || dialog.getAttribute("data-default-date");
    form.elements.time.value = (post && post.local_time) || dialog.getAttribute("data-default-time");
    state.media = post
      ? post.items.map(function (item) {
          return item.media;
        })
      : [];
    dialog.querySelector("[data-composer-title]").textContent = post ? text("edit") : text("new");
    dialog.querySelector("[data-composer-delete]").hidden = !post;
    renderMedia();
    updateCounters();
    if (!dialog.open) {
      dialog.showModal();
    }
    (post ? caption : form.querySelector("input:not([disabled])")).focus();
  }

  function close() {
    if (dialog.open) {
      dialog.close();
    }
  }

  dialog.addEventListener("close", function () {
    if (state.opener && document.contains(state.opener)) {
      state.opener.focus();
    }
  });

  dialog.querySelector("[data-composer-close]").addEventListener("click", close);

  dialog.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit("schedule");
    }
  });

  form.addEventListener("input", function (event) {
    if (event.target === caption) {
      updateCounters();
    }
    updatePreview();
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "kind" && event.target.value !== "carousel" && state.media.length > 1) {
      state.media = state.media.slice(0, 1);
      renderMedia();
    }
    updatePreview();
  });

  function request(method, url, payload) {
    return window
      .fetch(url, {
        method: method,
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
        body: payload === undefined ? undefined : JSON.stringify(payload),
      })
      .then(function (response) {
        if (response.status === 204) {
          return { ok: true, body: null };
        }
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (body) {
            return { ok: response.ok, body: body };
          });
      });
  }

  function setBusy(busy, action) {
    state.busy = busy;
    form.querySelectorAll("button[data-action]").forEach(function (b) {
      b.disabled = busy;
      b.classList.toggle("is-loading", busy && b.getAttribute("data-action") === action);
    });
  }

  function submit(action) {
    if (state.busy) {
      return;
    }
    clearErrors();
    var payload = {
      kind: kind(),
      caption: caption.value,
      media_ids: state.media.map(function (m) {
        return m.id;
      }),
      date: form.elements.date.value,
      time: form.elements.time.value,
      share_to_feed: form.elements.share_to_feed.checked,
      action: action,
    };
    var method = "POST";
    var url = dialog.getAttribute("data-create-url");
    if (state.post) {
      method = "PATCH";
      url = dialog.getAttribute("data-post-url-template").replace(NIL, state.post.id);
    } else {
      payload.channel_ids = selectedChannels();
    }
    setBusy(true, action);
    request(method, url, payload)
      .then(function (result) {
        setBusy(false, action);
        if (!result.ok) {
          showErrors(result.body);
          return;
        }
        close();
        toast("success", text({ draft: "saved", schedule: "scheduled", now: "now" }[action]));
        document.dispatchEvent(new CustomEvent("composer:saved", { detail: result.body }));
      })
      .catch(function () {
        setBusy(false, action);
        var net = document.getElementById("i18n-network-error");
        showErrors({ message: net ? net.textContent : "Network error" });
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter;
    submit(button ? button.getAttribute("data-action") : "schedule");
  });

  dialog.querySelector("[data-composer-delete]").addEventListener("click", function () {
    if (!state.post) {
      return;
    }
    var url = dialog.getAttribute("data-post-url-template").replace(NIL, state.post.id);
    request("DELETE", url).then(function (result) {
      if (!result.ok) {
        showErrors(result.body);
        return;
      }
      close();
      toast("success", text("deleted"));
      document.dispatchEvent(new CustomEvent("composer:saved", { detail: null }));
    });
  });

  dialog.querySelectorAll("[data-color]").forEach(function (el) {
    el.style.setProperty("--channel-color", el.getAttribute("data-color"));
  });

  window.SocialsellComposer = { open: open, close: close };
})();
