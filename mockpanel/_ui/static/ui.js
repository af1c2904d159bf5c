// mockpanel dashboard: polls the page's sections and sends its controls. No libraries.
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base");
  var dot = document.getElementById("live-dot");
  var toast = document.getElementById("toast");
  var busy = false;
  var timer = null;
  var PERIOD = 1000;

  function say(text, bad) {
    toast.textContent = text;
    toast.className = bad ? "bad" : "good";
    clearTimeout(say.t);
    say.t = setTimeout(function () { toast.textContent = ""; toast.className = ""; }, bad ? 8000 : 2500);
  }

  function interacting(el) {
    var a = document.activeElement;
    return a && a !== document.body && el.contains(a) && (a.tagName === "INPUT" || a.tagName === "SELECT");
  }

  function open(el) {  // the journal answers a reader has expanded stay expanded
    var out = {};
    el.querySelectorAll("details[open]").forEach(function (d) {
      var row = d.closest("tr");
      if (row && row.id) { out[row.id] = true; }
    });
    return out;
  }

  function refresh() {
    if (busy) { return Promise.resolve(); }
    busy = true;
    return fetch(base + "/live" + location.search, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) {
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var html = data.sections[el.getAttribute("data-live")];
          if (html === undefined || interacting(el)) { return; }
          var kept = open(el);
          el.innerHTML = html;
          Object.keys(kept).forEach(function (id) {
            var d = document.querySelector("#" + id + " details");
            if (d) { d.open = true; }
          });
        });
        dot.className = "dot on";
        dot.title = "live: updated " + new Date().toLocaleTimeString();
      })
      .catch(function (e) { dot.className = "dot off"; dot.title = "not updating: " + e.message; })
      .then(function () { busy = false; });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      (document.hidden ? Promise.resolve() : refresh()).then(schedule);
    }, PERIOD);
  }

  function body(el) {
    if (el.tagName === "FORM") {
      var out = {};
      new FormData(el).forEach(function (v, k) { if (v !== "") { out[k] = v; } });
      return out;
    }
    var raw = el.getAttribute("data-body");
    return raw ? JSON.parse(raw) : {};
  }

  function act(el) {
    var method = el.getAttribute("data-method") || "POST";
    var payload = body(el);
    return fetch(base + "/" + el.getAttribute("data-post"), {
      method: method,
      headers: { "Content-Type": "application/json", "X-Mockpanel-UI": "1" },
      body: method === "DELETE" ? null : JSON.stringify(payload)
    })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        if (!res.ok) { say(res.j.error || "refused", true); return; }
        if (el.tagName === "FORM") { el.reset(); }
        say("done");
      })
      .catch(function (e) { say("could not reach the panel: " + e.message, true); })
      .then(function () { if (document.activeElement) { document.activeElement.blur(); } return refresh(); });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.hasAttribute("data-post")) { ev.preventDefault(); act(form); }
  });
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("button[data-post]");
    if (el) { ev.preventDefault(); act(el); }
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  schedule();
}());
