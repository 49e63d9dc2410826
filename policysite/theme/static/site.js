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

  // "More": a second row of tools (high contrast, reading speed, read from a paragraph).
  var more = toolbar.querySelector("[data-more]");
  var morePanel = document.getElementById(more ? more.getAttribute("aria-controls") : "");
  if (more && morePanel) {
    more.addEventListener("click", function () {
      var open = more.getAttribute("aria-expanded") !== "true";
      more.setAttribute("aria-expanded", open ? "true" : "false");
      morePanel.hidden = !open;
    });
  }

  // Text size: 24 px (18 pt, the MIIT 适老化 main-text size), 26, 28, 30, 32 px.
  var sizes = [24, 26, 28, 30, 32];
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

  // Read aloud with the browser's speech synthesis, in a voice for the page's script. Offered only
  // when the browser has such a voice (voices often arrive later, with "voiceschanged"). One
  // utterance per paragraph, so that the paragraph being read is shown, a reader can start from a
  // chosen paragraph, and the state resets when reading ends or fails.
  var speech = toolbar.querySelector("[data-speech]");
  var options = toolbar.querySelector("[data-speech-options]");
  var controls = toolbar.querySelector("[data-speech-controls]");
  var status = toolbar.querySelector("[data-speech-status]");
  var article = document.querySelector("[data-speech-root]");
  var synth = window.speechSynthesis;
  if (!speech || !article || !synth || typeof synth.speak !== "function" ||
      typeof window.SpeechSynthesisUtterance !== "function") return;      // no speech: the buttons stay hidden
  var speechLang = root.getAttribute("data-speech-lang") || root.lang;     // zh-CN, zh-TW or zh-HK, en
  var buttons = {};
  toolbar.querySelectorAll("[data-speech-action]").forEach(function (b) { buttons[b.getAttribute("data-speech-action")] = b; });
  var rate = toolbar.querySelector("[data-speech-rate]");
  var chosenVoice = null;

  function findVoice() {
    var voices = [];
    try { voices = synth.getVoices() || []; } catch (e) { voices = []; }
    var want = speechLang.toLowerCase(), base = want.split("-")[0];
    var norm = function (v) { return (v.lang || "").toLowerCase().replace(/_/g, "-"); };
    var exact = voices.filter(function (v) { return norm(v) === want; })[0];
    if (exact) return exact;
    if (base === "zh") {
      // Chinese: the same script, never Cantonese or Mandarin of the other script by accident:
      // zh-TW and zh-HK both read Traditional text; zh-CN (and zh-SG) Simplified
      var same = want === "zh-cn" ? ["zh-cn", "zh-sg", "zh-hans", "zh", "cmn-hans-cn"] : ["zh-tw", "zh-hk", "zh-hant", "cmn-hant-tw"];
      return voices.filter(function (v) { return same.indexOf(norm(v)) >= 0; })[0] || null;
    }
    return voices.filter(function (v) { return norm(v).split("-")[0] === base; })[0] || null;
  }
  function offer() {
    if (chosenVoice) return;
    chosenVoice = findVoice();
    if (!chosenVoice) return;
    speech.hidden = false;
    if (options) options.hidden = false;
  }
  offer();
  if (typeof synth.addEventListener === "function") synth.addEventListener("voiceschanged", offer);
  else synth.onvoiceschanged = offer;

  if (rate) {
    var remembered = store.get("rate");
    if (remembered && rate.querySelector('option[value="' + remembered + '"]')) rate.value = remembered;
    rate.addEventListener("change", function () {
      store.set("rate", rate.value);
      if (reading && !paused) speakFrom(current);     // the new speed from the paragraph being read
    });
  }

  function paragraphs() {
    var out = [];
    article.querySelectorAll("h1, h2, h3, h4, h5, h6, p, li, dt, dd, td, th").forEach(function (el) {
      if (el.closest("nav, .toolbar, .print-address")) return;
      if (el.querySelector("p, li")) return;
      if (!el.getClientRects().length) return;
      if (el.textContent.replace(/\s+/g, "")) out.push(el);
    });
    return out;
  }
  var list = [], current = -1, reading = false, paused = false, token = 0;

  function say(key, n) {
    if (!status) return;
    var text = key ? (status.getAttribute("data-" + key) || "") : "";
    status.textContent = text.replace("{n}", n + 1).replace("{total}", list.length);
  }
  function mark(i) {
    list.forEach(function (el) { el.classList.remove("speech-current"); });
    if (i >= 0 && list[i]) {
      list[i].classList.add("speech-current");
      if (list[i].scrollIntoView) list[i].scrollIntoView({block: "nearest"});
    }
  }
  function show() {
    buttons.play.disabled = reading;
    controls.hidden = !reading;
    buttons.pause.disabled = !reading || paused;
    buttons.resume.disabled = !reading || !paused;
    buttons.stop.disabled = !reading;
    if (buttons.pick) buttons.pick.disabled = false;
  }
  function reset(key) {
    token++;
    reading = false; paused = false; current = -1;
    mark(-1);
    show();
    say(key);
  }
  function speakFrom(i) {
    var mine = ++token;
    synth.cancel();                    // (an utterance cancelled here ends with an error we ignore: `mine` is stale)
    reading = true; paused = false; current = i;
    show();
    if (i >= list.length) { reset("ended"); return; }
    mark(i);
    say("playing", i);
    var u = new SpeechSynthesisUtterance(list[i].textContent.replace(/\s+/g, " ").trim());
    u.lang = speechLang;
    if (chosenVoice) u.voice = chosenVoice;
    u.rate = rate ? parseFloat(rate.value) || 1 : 1;
    u.onend = function () { if (mine === token) speakFrom(i + 1); };
    u.onerror = function (ev) {
      if (mine !== token) return;
      var why = ev && ev.error;
      if (why === "interrupted" || why === "canceled") return;
      synth.cancel();
      reset("error");
    };
    synth.speak(u);
  }
  function start(i) {
    pick(false);
    list = paragraphs();
    speakFrom(Math.max(0, i || 0));
  }

  // Read from a chosen paragraph: "read from a paragraph" makes the paragraphs focusable; a tap,
  // or Enter on one, starts reading there. While reading, a tap on another paragraph jumps to it.
  var picking = false;
  function pick(on) {
    picking = on;
    if (buttons.pick) buttons.pick.setAttribute("aria-pressed", on ? "true" : "false");
    if (on) article.setAttribute("data-speech-pick", ""); else article.removeAttribute("data-speech-pick");
    paragraphs().forEach(function (el) {
      el.classList.toggle("speech-para", on);
      if (on) el.setAttribute("tabindex", "0"); else el.removeAttribute("tabindex");
    });
    if (on) say("pick"); else if (!reading) say("");
  }
  function chosen(target) {
    if (!target.closest || target.closest("a, button, select, nav")) return -1;
    var el = target.closest(".speech-para, .speech-current") || target.closest("h1, h2, h3, h4, h5, h6, p, li, dt, dd, td, th");
    if (!el || !article.contains(el)) return -1;
    var all = paragraphs();
    for (var k = 0; k < all.length; k++) if (all[k] === el || all[k].contains(el) || el.contains(all[k])) return k;
    return -1;
  }
  article.addEventListener("click", function (ev) {
    if (!picking && !reading) return;
    var i = chosen(ev.target);
    if (i < 0) return;
    // a tap on the paragraph being read pauses or resumes (the toolbar may be scrolled away)
    if (reading && !picking && i === current) { if (paused) resume(false); else pause(false); return; }
    start(i);
  });
  article.addEventListener("keydown", function (ev) {
    if (!picking) return;
    if (ev.key === "Escape") { pick(false); if (buttons.pick) buttons.pick.focus(); return; }
    if (ev.key !== "Enter" && ev.key !== " ") return;
    var i = chosen(ev.target);
    if (i >= 0) { ev.preventDefault(); start(i); }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    if (picking) { pick(false); if (buttons.pick) buttons.pick.focus(); }
    else if (reading) { synth.cancel(); reset(""); }         // Esc stops reading, wherever the reader is
  });

  buttons.play.addEventListener("click", function () { start(0); });
  if (buttons.pick) buttons.pick.addEventListener("click", function () { pick(!picking); });
  // (focus moves to the button that replaces the one pressed, not when a paragraph was tapped)
  function pause(focus) { synth.pause(); paused = true; show(); say("paused"); if (focus) buttons.resume.focus(); }
  function resume(focus) { synth.resume(); paused = false; show(); say("playing", current); if (focus) buttons.pause.focus(); }
  buttons.pause.addEventListener("click", function () { pause(true); });
  buttons.resume.addEventListener("click", function () { resume(true); });
  buttons.stop.addEventListener("click", function () { synth.cancel(); reset(""); buttons.play.focus(); });
  window.addEventListener("pagehide", function () { token++; synth.cancel(); });
})();
