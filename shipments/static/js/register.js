// Suggest the carrier while a tracking number is typed (register form).
(function () {
  "use strict";
  var form = document.getElementById("register-form");
  if (!form) { return; }
  var number = form.querySelector("[name=number]");
  var carrier = form.querySelector("[name=carrier]");
  var note = document.getElementById("carrier-suggestion");
  var timer = null;
  var lastAsked = "";
  var carrierTouched = false;
  carrier.addEventListener("change", function () { carrierTouched = carrier.value !== ""; });

  function show(candidates) {
    if (!candidates.length) { note.textContent = note.dataset.textNone; return; }
    var best = candidates[0];
    var words = note.dataset.textGuess + " " + candidates.map(function (c) { return c.name; }).join(" / ");
    if (best.needs_phone) { words += " · " + note.dataset.textPhone; }
    note.textContent = words;
    if (!carrierTouched) { carrier.value = best.carrier; }
  }

  function ask() {
    var value = number.value.trim();
    if (value.length < 6 || value === lastAsked) { return; }
    lastAsked = value;
    fetch(form.dataset.suggestUrl + "?number=" + encodeURIComponent(value), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (list) { if (number.value.trim() === value) { show(list); } })
      .catch(function () { /* offline: the server detects the carrier on submit anyway */ });
  }

  number.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 250); });
})();
