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

// Settings: subscribe this device to Web Push with the school's VAPID key; the centre stores the subscription.
(function () {
  var button = document.getElementById("push-on");
  if (!button) return;
  function b64(s) {
    var pad = "=".repeat((4 - (s.length % 4)) % 4);
    var raw = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function say(ok) {
    document.getElementById(ok ? "push-state" : "push-error").hidden = false;
    document.getElementById(ok ? "push-error" : "push-state").hidden = true;
  }
  button.addEventListener("click", function () {
    var csrf = button.dataset.csrf;
    Promise.all([fetch("/p/api/push-key").then(function (r) { return r.json(); }), navigator.serviceWorker.ready])
      .then(function (got) {
        return got[1].pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(got[0].publicKey) });
      })
      .then(function (sub) {
        var body = sub.toJSON();
        body.label = navigator.userAgent.slice(0, 120);
        return fetch("/p/api/push-subscription", {
          method: "POST", credentials: "same-origin",
          headers: { "content-type": "application/json", "x-csrf-token": csrf },
          body: JSON.stringify(body),
        });
      })
      .then(function (r) { say(r.status === 201); })
      .catch(function () { say(false); });
  });
})();
