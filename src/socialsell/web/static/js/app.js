// Small behaviours of the socialsell UI: toasts, the phone drawer, header menus, the theme
// toggle, and htmx glue (CSRF header, loading bar, error toasts, focus on the first error).
// Everything is attached with addEventListener: the CSP forbids inline handlers.
(function () {
  "use strict";

  var THEMES = ["system", "light", "dark"];
  var TOAST_MS = { success: 5000, info: 5000, warning: 8000, error: 10000 };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // ---------------------------------------------------------------- toasts
  function dismiss(toast) {
    toast.classList.add("is-leaving");
    window.setTimeout(function () {
      toast.remove();
    }, 220);
  }

  function schedule(toast) {
    var level = (toast.className.match(/toast--(\w+)/) || [])[1] || "info";
    window.setTimeout(function () {
      dismiss(toast);
    }, TOAST_MS[level] || 5000);
  }

  function showToast(level, message) {
    var template = document.getElementById("toast-template");
    var region = document.getElementById("toasts");
    if (!template || !region || !message) {
      return;
    }
    var toast = template.content.firstElementChild.cloneNode(true);
    toast.classList.add("toast--" + level);
    toast.querySelector(".toast__message").textContent = message;
    region.appendChild(toast);
    schedule(toast);
  }

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-toast-close]");
    if (close) {
      dismiss(close.closest("[data-toast]"));
    }
  });

  // ---------------------------------------------------------------- drawer (phones)
  function app() {
    return document.querySelector(".app");
  }

  // While the drawer is open the page behind it is inert: no focus, no clicks, no screen
  // reader wandering out of the menu.
  function setPageInert(inert) {
    var page = document.querySelector(".shell");
    if (page) {
      page.inert = inert;
    }
  }

  function openDrawer() {
    var shell = app();
    if (!shell) {
      return;
    }
    shell.setAttribute("data-drawer", "open");
    setPageInert(true);
    document.querySelectorAll("[data-drawer-open]").forEach(function (b) {
      b.setAttribute("aria-expanded", "true");
    });
    var first = shell.querySelector(".sidebar .nav__link");
    if (first) {
      first.focus();
    }
  }

  function closeDrawer(restoreFocus) {
    var shell = app();
    if (!shell || shell.getAttribute("data-drawer") !== "open") {
      return;
    }
    shell.setAttribute("data-drawer", "closed");
    setPageInert(false);
    var opener = document.querySelector("[data-drawer-open]");
    if (opener) {
      opener.setAttribute("aria-expanded", "false");
      if (restoreFocus) {
        opener.focus();
      }
    }
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-drawer-open]")) {
      openDrawer();
    } else if (event.target.closest("[data-drawer-close]")) {
      closeDrawer(true);
    }
  });

  // Rotating a tablet past the breakpoint shows the sidebar in place; drop the drawer state.
  var phone = window.matchMedia("(max-width: 767px)");
  phone.addEventListener("change", function (event) {
    if (!event.matches) {
      closeDrawer(false);
    }
  });

  // ---------------------------------------------------------------- menus (<details>)
  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) {
        menu.removeAttribute("open");
      }
    });
  }

  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details[data-menu]"));
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var open = document.querySelector("details[data-menu][open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
      return;
    }
    closeDrawer(true);
  });

  // ---------------------------------------------------------------- theme toggle
  function nextTheme(current) {
    var index = THEMES.indexOf(current);
    return THEMES[(index + 1) % THEMES.length];
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-theme-toggle]");
    if (!button) {
      return;
    }
    var root = document.documentElement;
    var theme = nextTheme(root.getAttribute("data-theme") || "system");
    root.setAttribute("data-theme", theme);
    try {
      window.localStorage.setItem("socialsell-theme", theme);
    } catch (e) {
      // Not stored in this browser; the account preference below still is.
    }
    var url = button.getAttribute("data-theme-url");
    if (url) {
      window.fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "X-CSRF-Token": csrfToken(),
        },
        body: "theme=" + encodeURIComponent(theme),
      });
    }
  });

  // ---------------------------------------------------------------- htmx glue
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  document.addEventListener("htmx:beforeRequest", function () {
    document.body.classList.add("is-loading");
  });

  document.addEventListener("htmx:afterRequest", function () {
    document.body.classList.remove("is-loading");
  });

  // The server names the problem in an HX-Trigger "toast"; this is for answers that don't.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr.getResponseHeader("HX-Trigger")) {
      var text = document.getElementById("i18n-generic-error");
      showToast("error", text ? text.textContent : "Error");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    var text = document.getElementById("i18n-network-error");
    showToast("error", text ? text.textContent : "Network error");
  });

  document.addEventListener("toast", function (event) {
    showToast(event.detail.level || "info", event.detail.message);
  });

  // When a form comes back with errors, put the cursor in its first field to fix. htmx:load
  // fires for each piece of new content (and for the whole page on a full load), so a fragment
  // swapped elsewhere on the page never steals the focus.
  document.addEventListener("htmx:load", function (event) {
    var root = event.detail.elt;
    var invalid = root && root.querySelector ? root.querySelector('[aria-invalid="true"]') : null;
    if (invalid) {
      invalid.focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts [data-toast]").forEach(schedule);
  });
})();
