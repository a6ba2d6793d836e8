// Today, live: one EventSource per page. Each "checkin" event carries the person, the local time and the new
// counts of the person's class; the page adds a line to the feed and rewrites that class's counts and the totals.
// The browser reconnects by itself and sends Last-Event-ID; the server replays what was stored meanwhile.
(function () {
  "use strict";
  var badge = document.getElementById("live-state");
  var feed = document.getElementById("feed");
  var table = document.getElementById("summary");
  if (!badge || !window.EventSource) { return; }
  var site = badge.getAttribute("data-site");
  var after = badge.getAttribute("data-after");
  // first connection: from what the page shows; reconnections: the browser's Last-Event-ID wins
  var source = new EventSource("/s/" + encodeURIComponent(site) + "/live" + (after ? "?after=" + encodeURIComponent(after) : ""));
  var seen = {};

  function text(tag, cls, value) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    el.textContent = value == null ? "" : String(value);  // textContent: names are never parsed as HTML
    return el;
  }

  function setCounts(className, counts) {
    if (!table || !counts) { return; }
    var rows = table.querySelectorAll("tbody tr");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-class") !== className) { continue; }
      var cells = rows[i].querySelectorAll("[data-status]");
      for (var j = 0; j < cells.length; j++) {
        var s = cells[j].getAttribute("data-status");
        if (counts[s] !== undefined) { cells[j].textContent = String(counts[s]); }
      }
    }
    var totals = table.querySelectorAll("tfoot [data-status]");
    for (var k = 0; k < totals.length; k++) {
      var st = totals[k].getAttribute("data-status");
      var sum = 0;
      var cellsOf = table.querySelectorAll("tbody [data-status='" + st + "']");
      for (var m = 0; m < cellsOf.length; m++) { sum += parseInt(cellsOf[m].textContent, 10) || 0; }
      totals[k].textContent = String(sum);
    }
  }

  // leaving the page closes the stream now (a page kept in the back/forward cache would hold it open)
  window.addEventListener("pagehide", function () { source.close(); });
  window.addEventListener("pageshow", function (ev) { if (ev.persisted) { window.location.reload(); } });
  source.addEventListener("open", function () { badge.classList.remove("off"); });
  source.addEventListener("error", function () { badge.classList.add("off"); });
  source.addEventListener("checkin", function (msg) {
    var e;
    try { e = JSON.parse(msg.data); } catch (err) { return; }
    if (seen[e.event_id]) { return; }
    seen[e.event_id] = true;
    if (!e.today) { return; }
    if (feed && e.name) {
      var li = document.createElement("li");
      li.className = "fresh dir-" + e.direction;
      li.setAttribute("data-event-id", e.event_id);
      li.appendChild(text("time", "", e.time));
      li.appendChild(text("span", "name", e.name));
      li.appendChild(text("span", "cls", e.class_name));
      // the words come from the server in the viewer's language (tap_words.py); codes only from an older server
      li.appendChild(text("span", "meta", e.meta || [e.direction, e.method || "", e.gate || ""].join(" · ")));
      feed.insertBefore(li, feed.firstChild);
      while (feed.children.length > 50) { feed.removeChild(feed.lastChild); }
    }
    setCounts(e.class_name, e.counts);
  });
})();
