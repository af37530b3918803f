// Forms marked data-busy show that they are working: the button is disabled, says so and spins
// (Pico's aria-busy), so a slow upload is not sent twice.
(function () {
  "use strict";
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (!button) { return; }
      button.setAttribute("aria-busy", "true");
      button.textContent = form.getAttribute("data-busy");
      // Disable after the submit has started, so the button's own value still goes with the form.
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  });
})();
