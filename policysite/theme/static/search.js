/* Search page (issue 17): runs the query of the form, or of ?q= on load, with Pagefind's API
   (search/pagefind/pagefind.js, the index of this page's <html lang>), and lists the results.
   Results link to the page in this page's own script and mode: each record names its page
   relative to the locale's prefix (meta.path), and this page is at <prefix>search/.
   Without JavaScript the page is the list of every policy, with the form explained. */
(function () {
  'use strict';
  var form = document.querySelector('[data-search-form]');
  if (!form) return;
  var input = form.querySelector('input[name="q"]');
  var status = document.querySelector('[data-search-status]');
  var results = document.querySelector('[data-search-results]');
  var list = document.querySelector('[data-search-list]');
  var filtersBox = document.querySelector('[data-search-filters]');
  var all = document.querySelector('[data-search-all]');
  var nojs = document.querySelector('[data-search-nojs]');
  var t = {};               // the page's strings: data-t-count-one="…" -> t.countOne
  Object.keys(form.dataset).forEach(function (k) {
    if (/^t[A-Z]/.test(k)) t[k.charAt(1).toLowerCase() + k.slice(2)] = form.dataset[k];
  });
  var base = new URL(form.dataset.pagefind, location.href);
  var MAX = 50;
  var pagefind = null;
  var chosen = {};          // filter name -> value ("" for any)
  var run = 0;

  if (nojs) nojs.hidden = true;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  /* Pagefind's excerpts are HTML with <mark> around the words found: kept as text and marks only. */
  function excerpt(htmlText) {
    var p = el('p', 'search-result-excerpt');
    var doc = new DOMParser().parseFromString('<p>' + htmlText + '</p>', 'text/html');
    doc.body.firstChild.childNodes.forEach(function (node) {
      if (node.nodeName === 'MARK') p.appendChild(el('mark', null, node.textContent));
      else p.appendChild(document.createTextNode(node.textContent));
    });
    return p;
  }

  function hashOf(url) {
    var i = url.indexOf('#');
    return i < 0 ? '' : url.slice(i);
  }

  function load() {
    if (!pagefind) {
      pagefind = import(new URL('pagefind.js', base).href).then(function (pf) {
        return pf.options({ basePath: base.pathname, excerptLength: 36 }).then(function () {
          return pf.init();
        }).then(function () { return pf; });
      });
    }
    return pagefind;
  }

  function showFilters(pf) {
    return pf.filters().then(function (available) {
      var names = [['issuer', t.issuer], ['state', t.state]].filter(function (f) {
        return available[f[0]] && Object.keys(available[f[0]]).length > 1;
      });
      if (!names.length || filtersBox.childNodes.length) return;
      var fs = el('fieldset', 'search-filter-set');
      fs.appendChild(el('legend', null, t.filters));
      names.forEach(function (f) {
        var id = 'search-filter-' + f[0];
        var wrap = el('div', 'search-filter');
        var label = el('label', null, f[1]);
        label.htmlFor = id;
        var select = el('select');
        select.id = id;
        select.name = f[0];
        select.appendChild(new Option(t.any, ''));
        Object.keys(available[f[0]]).sort().forEach(function (v) { select.appendChild(new Option(v, v)); });
        select.addEventListener('change', function () {
          chosen[f[0]] = select.value;
          search(input.value);
        });
        wrap.appendChild(label);
        wrap.appendChild(select);
        fs.appendChild(wrap);
      });
      filtersBox.appendChild(fs);
      filtersBox.hidden = false;
    });
  }

  function render(q, found, datas) {
    list.textContent = '';
    datas.forEach(function (d) {
      var m = d.meta || {};
      var li = el('li', 'search-result');
      var h = el('h2', 'search-result-title');
      var a = el('a', null, m.title || d.url);
      var page = '../' + (m.path || '');
      a.href = page;
      h.appendChild(a);
      li.appendChild(h);
      var meta = el('p', 'search-result-meta');
      meta.appendChild(el('span', 'search-result-issuer', (m.issuer || '')));
      meta.appendChild(document.createTextNode(' · '));
      meta.appendChild(el('span', 'search-result-version', t.version + ' ' + (m.version || '')));
      meta.appendChild(document.createTextNode(' '));
      meta.appendChild(el('span', 'badge badge-state-' + (m.state_key || ''), m.state || ''));
      li.appendChild(meta);
      var subs = (d.sub_results || []).filter(function (s) { return hashOf(s.url); }).slice(0, 3);
      var top = (d.sub_results || [])[0];
      li.appendChild(excerpt(top && !hashOf(top.url) ? top.excerpt : (subs[0] ? subs[0].excerpt : d.excerpt)));
      if (subs.length) {
        var ul = el('ul', 'search-result-sections');
        subs.forEach(function (s, i) {
          var item = el('li');
          var link = el('a', null, t.section + s.title);
          link.href = page + hashOf(s.url);
          item.appendChild(link);
          if (i > 0 || (top && !hashOf(top.url))) item.appendChild(excerpt(s.excerpt));
          ul.appendChild(item);
        });
        li.appendChild(ul);
      }
      list.appendChild(li);
    });
    var n = found.results.length;
    status.textContent = n ? fill(n === 1 ? t.countOne : t.count, { n: n, q: q }) : fill(t.none, { q: q });
    results.hidden = !n;
    all.hidden = true;
  }

  function search(q) {
    q = (q || '').trim();
    var mine = ++run;
    if (!q) {
      status.textContent = '';
      results.hidden = true;
      all.hidden = false;
      return Promise.resolve();
    }
    status.textContent = t.searching;
    return load().then(function (pf) {
      return showFilters(pf).then(function () {
        var filters = {};
        Object.keys(chosen).forEach(function (k) { if (chosen[k]) filters[k] = chosen[k]; });
        return pf.search(q, { filters: filters });
      }).then(function (found) {
        return Promise.all(found.results.slice(0, MAX).map(function (r) { return r.data(); })).then(function (datas) {
          if (mine === run) render(q, found, datas);
        });
      });
    }).catch(function (err) {
      if (mine !== run) return;
      status.textContent = t.error;
      results.hidden = true;
      all.hidden = false;
      if (nojs) nojs.hidden = true;
      if (window.console) console.warn('search:', err);
    });
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var q = input.value.trim();
    var url = new URL(location.href);
    if (q) url.searchParams.set('q', q); else url.searchParams.delete('q');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    search(q);
  });

  var initial = new URLSearchParams(location.search).get('q');
  if (initial) {
    input.value = initial;
    search(initial);
  }
}());
