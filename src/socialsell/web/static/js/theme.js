// Runs in <head>, before the first paint, so a stored theme never flashes the wrong colours.
// Signed-in pages are rendered with the account's theme; anonymous pages (sign in, register,
// errors) use the last choice made or seen in this browser.
(function () {
  "use strict";
  var root = document.documentElement;
  try {
    if (root.getAttribute("data-theme-source") === "account") {
      // Remember the account's choice for the pages shown without it (sign in, errors).
      window.localStorage.setItem("socialsell-theme", root.getAttribute("data-theme"));
      return;
    }
    var stored = window.localStorage.getItem("socialsell-theme");
    if (stored === "light" || stored === "dark" || stored === "system") {
      root.setAttribute("data-theme", stored);
    }
  } catch (e) {
    // Storage can be disabled; following the system theme is a fine fallback.
  }
})();
