/* Progressive enhancement only: every page works without it.
   - script/language and 长者版 switches keep the section (#anchor) the reader is on;
   - the reader's choice is remembered and offered back (never an automatic redirect);
   - on 长者版 pages: text size (remembered), high contrast (remembered), read aloud. */
(function () {
  "use strict";
  var root = document.documentElement;
  var store = {
    get: function (k) { try { return window.localStorage.getItem("policysite." + k); } catch (e) { return null; } },
    set: function (k, v) { try { window.localStorage.setItem("policysite." + k, v); } catch (e) { /* private mode */ } }
  };

  // Switch links: carry the current #section over, remember the choice.
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[data-keep-hash]");
    if (!a) return;
    if (a.hasAttribute("data-lang-choice")) store.set("lang", a.getAttribute("data-lang-choice"));
    if (a.hasAttribute("data-mode-choice")) store.set("mode", a.getAttribute("data-mode-choice"));
    if (window.location.hash && a.href.indexOf("#") < 0) a.href = a.href + window.location.hash;
  });

  // A remembered script that differs from this page's: offer it, do not redirect.
  var remembered = store.get("lang");
  if (remembered && remembered !== root.lang) {
    var alt = document.querySelector('.lang-switch a[data-lang-choice="' + remembered + '"]');
    var nav = document.querySelector(".switcher");
    if (alt && nav) {
      var p = document.createElement("p");
      p.className = "lang-notice";
      p.setAttribute("role", "note");
      p.appendChild(document.createTextNode((nav.getAttribute("data-notice") || "") + " "));
      var link = alt.cloneNode(true);
      p.appendChild(link);
      var header = document.querySelector(".site-header");
      header.parentNode.insertBefore(p, header.nextSibling);
    }
  }

  if (!root.classList.contains("elder")) return;
  var toolbar = document.querySelector("[data-toolbar]");
  if (!toolbar) return;
  toolbar.hidden = false;

  // Text size: 22, 24, 26, 28, 30, 32 px.
  var sizes = [22, 24, 26, 28, 30, 32];
  var step = Math.max(0, Math.min(sizes.length - 1, parseInt(store.get("size") || "0", 10) || 0));
  var sizeButtons = toolbar.querySelectorAll("[data-text-size]");
  function applySize() {
    root.style.setProperty("--elder-size", sizes[step] + "px");
    sizeButtons.forEach(function (b) {
      var d = parseInt(b.getAttribute("data-text-size"), 10);
      b.disabled = (d < 0 && step === 0) || (d > 0 && step === sizes.length - 1);
    });
  }
  sizeButtons.forEach(function (b) {
    b.addEventListener("click", function () {
      step = Math.max(0, Math.min(sizes.length - 1, step + parseInt(b.getAttribute("data-text-size"), 10)));
      store.set("size", String(step));
      applySize();
    });
  });
  applySize();

  // High contrast.
  var contrast = toolbar.querySelector("[data-contrast]");
  function applyContrast(on) {
    root.classList.toggle("contrast", on);
    contrast.setAttribute("aria-pressed", on ? "true" : "false");
  }
  applyContrast(store.get("contrast") === "1");
  contrast.addEventListener("click", function () {
    var on = !root.classList.contains("contrast");
    store.set("contrast", on ? "1" : "0");
    applyContrast(on);
  });

  // Read aloud with the browser's speech synthesis, in a voice for the page's script.
  var speech = toolbar.querySelector("[data-speech]");
  var article = document.querySelector("[data-speech-root]");
  var synth = window.speechSynthesis;
  if (!speech || !article || !synth || typeof synth.speak !== "function" ||
      typeof window.SpeechSynthesisUtterance !== "function") return;      // no speech: the buttons stay hidden
  speech.hidden = false;
  var speechLang = root.getAttribute("data-speech-lang") || root.lang;     // zh-CN, zh-TW or zh-HK, en
  var buttons = {};
  speech.querySelectorAll("[data-speech-action]").forEach(function (b) { buttons[b.getAttribute("data-speech-action")] = b; });
  function state(playing, paused) {
    buttons.play.disabled = playing;
    buttons.pause.disabled = !playing || paused;
    buttons.resume.disabled = !paused;
    buttons.stop.disabled = !playing;
  }
  function voice() {
    var voices = synth.getVoices() || [];
    var want = speechLang.toLowerCase();
    return voices.filter(function (v) { return v.lang && v.lang.toLowerCase().replace("_", "-") === want; })[0] ||
      voices.filter(function (v) { return v.lang && v.lang.toLowerCase().indexOf(want.slice(0, 2)) === 0; })[0] || null;
  }
  function chunks() {
    var out = [];
    article.querySelectorAll("h1, h2, h3, h4, p, li, dt, dd, td, th").forEach(function (el) {
      if (el.closest("nav, .toolbar")) return;
      if (el.querySelector("p, li")) return;
      var text = el.textContent.replace(/\s+/g, " ").trim();
      if (text) out.push(text);
    });
    return out;
  }
  buttons.play.addEventListener("click", function () {
    synth.cancel();
    var list = chunks(), v = voice();
    list.forEach(function (text, i) {
      var u = new SpeechSynthesisUtterance(text);
      u.lang = speechLang;
      if (v) u.voice = v;
      if (i === list.length - 1) u.onend = function () { state(false, false); };
      synth.speak(u);
    });
    state(true, false);
  });
  buttons.pause.addEventListener("click", function () { synth.pause(); state(true, true); });
  buttons.resume.addEventListener("click", function () { synth.resume(); state(true, false); });
  buttons.stop.addEventListener("click", function () { synth.cancel(); state(false, false); });
  window.addEventListener("pagehide", function () { synth.cancel(); });
})();
