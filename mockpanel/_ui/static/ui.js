// mockpanel dashboard: polls the page's sections and sends its controls. No libraries.
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base");
  var dot = document.getElementById("live-dot");
  var toast = document.getElementById("toast");
  var query = document.body.getAttribute("data-live-query");  // an order's page polls its order
  var busy = false;
  var timer = null;
  var PERIOD = 1000;
  var errors = {};  // a control's last refusal, shown beside it (kept across live updates) until it succeeds

  function controlId(el) { return (el.getAttribute("data-method") || "POST") + " " + el.getAttribute("data-post"); }

  function showErrors() {
    document.querySelectorAll(".form-error").forEach(function (p) {
      if (!errors[p.getAttribute("data-for")]) { p.remove(); }
    });
    document.querySelectorAll("[data-post]").forEach(function (el) {
      var id = controlId(el);
      if (!errors[id]) { return; }
      var next = el.nextElementSibling;
      if (!(next && next.classList.contains("form-error") && next.getAttribute("data-for") === id)) {
        next = document.createElement("p");
        next.className = "form-error";
        next.setAttribute("role", "alert");
        next.setAttribute("data-for", id);
        el.insertAdjacentElement("afterend", next);
      }
      next.textContent = errors[id];
    });
  }

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
    return fetch(base + "/live" + (query === null ? location.search : query), { headers: { "Accept": "application/json" }, cache: "no-store" })
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
        showErrors();
        syncKeys();
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

  function syncKeys() {  // a key added since the page loaded joins the fault form's list
    var list = document.querySelector("#add-fault select[name=key]");
    if (!list) { return; }
    var have = {};
    list.querySelectorAll("option").forEach(function (o) { have[o.value] = true; });
    document.querySelectorAll(".keys-table tr[id^='key-']").forEach(function (row) {
      var id = row.id.slice(4);
      if (have[id]) { return; }
      var option = document.createElement("option");
      option.value = id;
      option.textContent = row.querySelector("td").textContent.trim();
      list.appendChild(option);
    });
  }

  function act(el) {
    var method = el.getAttribute("data-method") || "POST";
    var question = el.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { return Promise.resolve(); }
    var payload = body(el);
    var id = controlId(el);
    return fetch(base + "/" + el.getAttribute("data-post"), {
      method: method,
      headers: { "Content-Type": "application/json", "X-Mockpanel-UI": "1" },
      body: method === "DELETE" ? null : JSON.stringify(payload)
    })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        if (!res.ok) { errors[id] = res.j.error || "refused"; say("refused: see beside the control", true); return; }
        delete errors[id];
        if (el.tagName === "FORM") { el.reset(); }
        say("done");
      })
      .catch(function (e) { errors[id] = "could not reach the panel: " + e.message; say(errors[id], true); })
      .then(function () { showErrors(); })
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
  document.addEventListener("click", function (ev) {  // the API's URL, copied
    var el = ev.target.closest("button[data-copy]");
    if (!el) { return; }
    var field = document.getElementById(el.getAttribute("data-copy"));
    field.select();
    var done = function () { say("copied " + field.value); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  var searching = null;
  document.addEventListener("input", function (ev) {  // a big catalogue's services, searched as one types
    var field = ev.target;
    if (!field.hasAttribute || !field.hasAttribute("data-search")) { return; }
    clearTimeout(searching);
    searching = setTimeout(function () {
      fetch(base + "/services?q=" + encodeURIComponent(field.value), { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (found) {
          var list = document.getElementById(field.getAttribute("list"));
          list.textContent = "";
          found.services.forEach(function (s) {
            var option = document.createElement("option");
            option.value = String(s.id);
            option.textContent = s.id + " · " + s.name;
            list.appendChild(option);
          });
          field.title = found.total + " services match" + (found.total > found.services.length ? " (the first " + found.services.length + " listed)" : "");
        })
        .catch(function () {});
    }, 200);
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  schedule();
}());
