// policysite's preview: reload this page when the server says its own file was rewritten
// (issue 19), keeping the reader's scroll position and the section they were reading.
// Served same-origin as /livereload.js, so the pages' strict CSP holds (no inline script).
// Speaks livereload's protocol (official-7); a reload message's "paths" lists the pages
// written (decoded URL paths); without "paths", every page reloads (a failed or repaired build).
(function () {
  "use strict";
  var KEY = "policysite-reload:" + location.pathname;
  if ("scrollRestoration" in history) history.scrollRestoration = "manual";

  function sectionInView() {
    // the section being read: the last heading that starts in the top third of the window or
    // above it (a heading lower down has not been reached yet)
    var best = null, line = window.innerHeight / 3;
    var nodes = document.querySelectorAll("h1[id], h2[id], h3[id], h4[id], h5[id], h6[id]");
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].getBoundingClientRect().top <= line) best = nodes[i]; else break;
    }
    return best;
  }

  function remember() {
    var el = sectionInView(), state = { y: window.scrollY, hash: location.hash };
    if (el) { state.section = el.id; state.offset = el.getBoundingClientRect().top; }
    try { sessionStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  function restore() {
    var raw = null;
    try { raw = sessionStorage.getItem(KEY); sessionStorage.removeItem(KEY); } catch (e) { return; }
    if (!raw) return;
    var state = JSON.parse(raw);
    function place() {
      var el = state.section && document.getElementById(state.section);
      if (el) window.scrollTo({ top: el.getBoundingClientRect().top + window.scrollY - state.offset, behavior: "instant" });
      else window.scrollTo({ top: state.y, behavior: "instant" });
    }
    place();
    window.addEventListener("load", place, { once: true });      // again once fonts and images are in
  }

  function reload() { remember(); location.reload(); }

  function mine(paths) {
    var here = location.pathname;
    try { here = decodeURIComponent(here); } catch (e) { /* keep it as it is */ }
    return paths.indexOf(here) >= 0;
  }

  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/livereload");
    ws.onopen = function () {
      ws.send(JSON.stringify({ command: "hello", protocols: ["http://livereload.com/protocols/official-7"] }));
      ws.send(JSON.stringify({ command: "info", url: location.href, plugins: {} }));
    };
    ws.onmessage = function (event) {
      var m;
      try { m = JSON.parse(event.data); } catch (e) { return; }
      if (m.command !== "reload") return;
      if (!m.paths || mine(m.paths)) reload();
    };
    ws.onclose = function () { setTimeout(connect, 500); };      // the server restarted: reconnect
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", restore);
  else restore();
  connect();
})();
