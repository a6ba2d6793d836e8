// The parents' app: register the service worker (offline view of the last status) and say when what is shown
// comes from the device's copy (no network, or the school's server unreachable).
(function () {
  var banner = document.getElementById("offline");
  function show(on) { if (banner) banner.hidden = !on; }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/p/sw.js", { scope: "/p/" }).catch(function () {});
  }
  window.addEventListener("offline", function () { show(true); });
  if (!navigator.onLine) show(true);
  if (document.body.dataset.signedIn === "1") {
    fetch("/p/api/children", { credentials: "same-origin" })
      .then(function (r) { show(r.headers.get("x-edge-offline") === "1"); })
      .catch(function () { show(true); });
  }
})();
