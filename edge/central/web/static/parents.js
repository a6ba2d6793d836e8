// The parents' app: register the service worker (offline view of the last status) and show when offline.
(function () {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/p/sw.js", { scope: "/p/" }).catch(function () {});
  }
  function mark() {
    var el = document.getElementById("offline");
    if (el) el.hidden = navigator.onLine;
  }
  window.addEventListener("online", mark);
  window.addEventListener("offline", mark);
  mark();
})();
