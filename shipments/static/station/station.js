// The station desk: actions go into a queue in localStorage, each with an
// idempotency key, and are sent when there is a connection. The server
// records a key once, so sending an action twice (a retry, two tabs) is safe.
(function () {
  "use strict";
  var QUEUE = "yx-station-queue";
  var body = document.body;
  var words = document.getElementById("words").dataset;
  var msg = document.getElementById("msg");
  var sending = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(QUEUE) || "[]"); } catch (e) { return []; }
  }
  function save(queue) { localStorage.setItem(QUEUE, JSON.stringify(queue)); showQueue(queue); }
  function showQueue(queue) {
    document.getElementById("queued").textContent = queue.length;
    document.getElementById("queue").hidden = queue.length === 0;
  }
  function say(text, tone) {
    msg.textContent = text;
    msg.className = tone || "";
    msg.hidden = false;
  }
  function newKey() {
    if (window.crypto && crypto.getRandomValues) {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    return Date.now().toString(16) + Math.random().toString(16).slice(2);
  }
  function setNet() {
    var online = navigator.onLine;
    document.getElementById("net").textContent = online ? words.online : words.offline;
    body.classList.toggle("offline", !online);
  }

  function send(action) {
    return fetch(body.dataset.actions, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Station-Request": "1"},
      body: JSON.stringify(action)
    }).then(function (response) {
      return response.json().then(function (data) { return {status: response.status, data: data}; },
        function () { return {status: response.status, data: {}}; });
    });
  }

  // Send queued actions oldest first; stop at the first network failure.
  function flush() {
    if (sending) { return Promise.resolve(); }
    sending = true;
    function next() {
      var queue = load();
      if (!queue.length) { return Promise.resolve(); }
      var action = queue[0];
      return send(action).then(function (answer) {
        if (answer.status >= 500 || answer.status === 401 || answer.status === 403 || answer.status === 400) {
          throw new Error("retry later");  // keep it queued
        }
        save(load().filter(function (a) { return a.key !== action.key; }));
        if (answer.data.ok) {
          say((answer.data.replayed ? words.replayed : words.sent) + " " + answer.data.number + " · " + answer.data.status);
        } else {
          say(words.error + " " + action.number + ": " + (answer.data.message || answer.status), "bad");
        }
        return next();
      });
    }
    return next().catch(function () { say(words.queued, "wait"); }).then(function () { sending = false; });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-kind]"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var action = {key: newKey(), kind: form.dataset.kind, occurred_at: new Date().toISOString()};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name) { action[el.name] = el.value.trim(); }
      });
      var queue = load();
      queue.push(action);
      save(queue);
      form.reset();
      if (navigator.onLine) { flush(); } else { say(words.queued, "wait"); }
    });
  });

  window.addEventListener("online", function () { setNet(); flush(); });
  window.addEventListener("offline", setNet);
  setNet();
  showQueue(load());
  if (navigator.onLine) { flush(); }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(body.dataset.sw, {scope: "/station/"}).catch(function () {});
  }
}());
