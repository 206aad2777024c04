// The media library page: drop (or choose) several files, each uploaded on its own XHR with a
// progress bar, then shown first in the grid; delete a file (refused with the reason while a
// post not yet published uses it).
(function () {
  "use strict";

  var root = document.querySelector("[data-media-library]");
  if (!root) {
    return;
  }
  var NIL = "00000000-0000-0000-0000-000000000000";
  var list = root.querySelector("[data-upload-list]");
  var zone = root.querySelector("[data-dropzone]");

  function text(name) {
    return root.getAttribute("data-text-" + name) || "";
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function toast(level, message) {
    document.dispatchEvent(new CustomEvent("toast", { detail: { level: level, message: message } }));
  }

  function grid() {
    return root.querySelector("[data-media-grid]");
  }

  function card(media) {
    var template = document.getElementById("media-card-template");
    var li = template.content.firstElementChild.cloneNode(true);
    li.setAttribute("data-media-id", media.id);
    var img = li.querySelector("img");
    var src = media.thumbnail_url || (media.kind === "image" ? media.url : null);
    if (src) {
      img.src = src;
      img.alt = media.original_filename || "";
    } else {
      img.remove();
    }
    li.querySelector(".media-card__kind").textContent = media.kind === "video" ? text("video") : text("photo");
    li.querySelector(".media-card__name").textContent = media.original_filename;
    li.querySelector("[data-media-size]").textContent = media.size_label;
    li.querySelector("[data-media-dims]").textContent =
      media.width && media.height ? media.width + "\u00d7" + media.height : "";
    var del = li.querySelector("[data-media-delete]");
    del.setAttribute("data-url", root.getAttribute("data-delete-url-template").replace(NIL, media.id));
    del.setAttribute("aria-label", text("delete") + " " + (media.original_filename || ""));
    return li;
  }

  function upload(file) {
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
    list.appendChild(row);

    var data = new FormData();
    data.append("file", file);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", root.getAttribute("data-upload-url"));
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
        row.classList.add("is-done");
        status.textContent = text("uploaded");
        var empty = root.querySelector("[data-media-empty]");
        if (empty) {
          empty.remove();
        }
        grid().insertBefore(card(body), grid().firstChild);
      } else {
        row.classList.add("is-failed");
        status.textContent = (body && body.message) || text("failed");
      }
    });
    xhr.addEventListener("error", function () {
      row.classList.add("is-failed");
      status.textContent = text("failed");
    });
    xhr.send(data);
  }

  function uploadAll(files) {
    Array.prototype.forEach.call(files, upload);
  }

  root.querySelector("[data-media-input]").addEventListener("change", function (event) {
    uploadAll(event.target.files);
    event.target.value = "";
  });

  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("is-over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () {
      zone.classList.remove("is-over");
    });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      uploadAll(event.dataTransfer.files);
    }
  });

  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-media-delete]");
    if (!button) {
      return;
    }
    if (!window.confirm(text("confirm"))) {
      return;
    }
    var item = button.closest("[data-media-card]");
    var error = item.querySelector("[data-media-error]");
    error.hidden = true;
    button.disabled = true;
    window
      .fetch(button.getAttribute("data-url"), {
        method: "DELETE",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
      })
      .then(function (response) {
        button.disabled = false;
        if (response.status === 204) {
          item.remove();
          toast("success", text("deleted"));
          return;
        }
        return response.json().then(function (body) {
          error.textContent = body.message;
          error.hidden = false;
          toast("error", body.message);
        });
      })
      .catch(function () {
        button.disabled = false;
        var net = document.getElementById("i18n-network-error");
        toast("error", net ? net.textContent : "Network error");
      });
  });
})();
