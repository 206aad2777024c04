// The Channels page: the disconnect and "Connect WhatsApp number" dialogs for browsers without
// invoker commands (`commandfor`/`command`), the connect dialog reopened when the page comes back
// with its errors (no htmx), and initials in place of a profile picture that fails to load.
// No inline handlers: the CSP forbids them.
(function () {
  "use strict";

  var invokers = "command" in HTMLButtonElement.prototype;

  // Instagram ends its redirect with "#_", which the browser carries over to this page.
  if (window.location.hash === "#_") {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  var reopen = document.querySelector("dialog[data-open-on-load]");
  if (reopen && typeof reopen.showModal === "function" && !reopen.open) {
    reopen.showModal();
  }

  if (!invokers) {
    document.addEventListener("click", function (event) {
      var opener = event.target.closest("[data-dialog-open]");
      if (opener) {
        var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
        if (dialog && typeof dialog.showModal === "function") {
          dialog.showModal();
        }
        return;
      }
      var closer = event.target.closest("[data-dialog-close]");
      if (closer) {
        var open = closer.closest("dialog");
        if (open) {
          open.close();
        }
      }
    });
  }

  // Give the focus back to the button that opened the dialog when it closes.
  document.addEventListener(
    "close",
    function (event) {
      var dialog = event.target;
      if (!(dialog instanceof HTMLDialogElement)) {
        return;
      }
      var opener = document.querySelector('[data-dialog-open="' + dialog.id + '"]');
      if (opener) {
        opener.focus();
      }
    },
    true
  );

  // A click on the backdrop (outside the dialog's box) closes it, like Escape does.
  document.addEventListener("click", function (event) {
    var dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement) || !dialog.open) {
      return;
    }
    var box = dialog.getBoundingClientRect();
    var inside =
      event.clientX >= box.left &&
      event.clientX <= box.right &&
      event.clientY >= box.top &&
      event.clientY <= box.bottom;
    if (!inside) {
      dialog.close();
    }
  });

  // Instagram's picture URLs expire; show the initials underneath instead of a broken image.
  document.addEventListener(
    "error",
    function (event) {
      var img = event.target;
      if (img instanceof HTMLImageElement && img.closest("[data-avatar]")) {
        img.remove();
      }
    },
    true
  );
})();
