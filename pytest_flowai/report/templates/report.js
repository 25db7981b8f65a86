// Filters of the flowai HTML report: plain JS, no server (file:// works). The URL fragment holds the
// filters (#status=failed&mark=smoke&transport=rest&q=pizza; expand=1 opens every test), so a link opens
// the same view.
(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (event) {
    errors.push(String(event.message));
    document.body.setAttribute("data-errors", errors.join("\n"));
  });
  var form = document.getElementById("filters");
  var tests = Array.prototype.slice.call(document.querySelectorAll("article.test"));
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=status]"));
  var mark = document.getElementById("filter-mark");
  var transport = document.getElementById("filter-transport");
  var query = document.getElementById("filter-q");
  var texts = tests.map(function (t) { return t.textContent.toLowerCase(); });

  function words(value) { return value ? value.split(" ") : []; }

  function apply() {
    var statuses = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    var q = query.value.trim().toLowerCase();
    var shown = 0;
    tests.forEach(function (t, i) {
      var outcome = t.getAttribute("data-outcome");
      // An outcome with no box of its own (rare ones) follows the "failed" or "passed" box.
      var known = boxes.some(function (b) { return b.value === outcome; });
      var ok = known ? statuses.indexOf(outcome) >= 0 : statuses.length === boxes.length;
      ok = ok && (!mark.value || words(t.getAttribute("data-marks")).indexOf(mark.value) >= 0);
      ok = ok && (!transport.value || words(t.getAttribute("data-transports")).indexOf(transport.value) >= 0);
      ok = ok && (!q || texts[i].indexOf(q) >= 0);
      t.hidden = !ok;
      if (ok) { shown += 1; }
    });
    document.getElementById("shown").textContent = shown + " of " + tests.length + " shown";
    document.getElementById("nothing").hidden = shown > 0;
  }

  function save() {
    var parts = [];
    var statuses = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    if (statuses.length !== boxes.length) { parts.push("status=" + encodeURIComponent(statuses.join(","))); }
    if (mark.value) { parts.push("mark=" + encodeURIComponent(mark.value)); }
    if (transport.value) { parts.push("transport=" + encodeURIComponent(transport.value)); }
    if (query.value) { parts.push("q=" + encodeURIComponent(query.value)); }
    var hash = parts.length ? "#" + parts.join("&") : "";
    try {
      history.replaceState(null, "", window.location.pathname + window.location.search + hash);
    } catch (e) {
      // Some browsers refuse replaceState on file:// pages; the filters work all the same.
    }
  }

  function load() {
    var hash = window.location.hash.replace(/^#/, "");
    if (!hash) { return; }
    hash.split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at < 0) { return; }
      var key = part.slice(0, at);
      var value = decodeURIComponent(part.slice(at + 1).replace(/\+/g, " "));
      if (key === "status") {
        var wanted = value.split(",");
        boxes.forEach(function (b) { b.checked = wanted.indexOf(b.value) >= 0; });
      } else if (key === "mark") {
        mark.value = value;
      } else if (key === "transport") {
        transport.value = value;
      } else if (key === "q") {
        query.value = value;
      } else if (key === "expand") {
        tests.forEach(function (t) { t.querySelector("details").open = value !== "0"; });
      }
    });
  }

  function openAll(open) {
    tests.forEach(function (t) { if (!t.hidden) { t.querySelector("details").open = open; } });
  }

  load();
  apply();
  form.addEventListener("input", function () { apply(); save(); });
  form.addEventListener("change", function () { apply(); save(); });
  document.getElementById("expand").addEventListener("click", function () { openAll(true); });
  document.getElementById("collapse").addEventListener("click", function () { openAll(false); });
  window.addEventListener("hashchange", function () { load(); apply(); });
  document.body.setAttribute("data-ready", "1");
})();
