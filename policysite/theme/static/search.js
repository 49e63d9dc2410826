/* Search page (issue 17): runs the query of the form, or of ?q= on load, with Pagefind's API
   (search/pagefind/pagefind.js, the index of this page's <html lang>, or of its first subtag:
   the Chinese locales share one, "zh"; on a large site the first shard of the index that holds
   it, the others merged), and lists the results.
   Results link to the page in this page's own script and mode: each record names its page
   relative to the locale's prefix (meta.path), and this page is at <prefix>search/. A record of
   the shared index holds every Chinese locale's text (outputs/search.py, record_html): its
   title, issuer and state in this page's script are meta.title_<lang> where they differ, each
   of its filters' values is there once for each script, after its key ("zh-hant:…"), and each
   section is shown once, in this page's script where that matched.
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
  var merged = (form.dataset.pagefindMerge || '').split(' ').filter(Boolean).map(function (u) {
    return new URL(u, location.href).pathname;
  });
  // the bundles of recent edits (outputs/search.py, RECENT_LIST): listed in a file of their own,
  // so that an edit does not change the search pages; those holding this page's locale are merged
  var recentList = form.dataset.pagefindRecent ? new URL(form.dataset.pagefindRecent, location.href).pathname : null;
  var moreRow = document.querySelector('[data-search-more]');
  var moreButton = moreRow && moreRow.querySelector('button');
  var PAGE = 20;            // results shown at a time (each is a file fetched; the rest on asking)
  var current = null;       // the answer shown
  var pagefind = null;
  var chosen = {};          // filter name -> value ("" for any)
  var run = 0;
  var lang = document.documentElement.lang.toLowerCase();

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

  function recentBundles() {
    if (!recentList) return Promise.resolve();
    var folder = recentList.replace(/[^/]*$/, '');
    return pagefindJson(folder + 'recent.json').then(function (listed) {
      (listed.bundles || []).forEach(function (b) {
        if ((b.tags || []).indexOf(form.dataset.pagefindTag) >= 0) merged.push(new URL(b.folder, location.origin + folder).pathname);
      });
    }, function () {});                     // no list: no recent bundle to merge
  }

  function load() {
    if (!pagefind) {
      pagefind = Promise.all([import(new URL('pagefind.js', base).href), recentBundles()]).then(function (got) {
        var pf = got[0];
        return pf.options({ basePath: base.pathname, excerptLength: 36 }).then(function () {
          // the index's other shards that hold this page's language (outputs/search.py), merged
          // while the first is set up
          return Promise.all([pf.init()].concat(merged.map(function (u) { return pf.mergeIndex(u); })));
        }).then(function () {
          if (merged.length) prefetchShards();
          return pf.filters();                  // every filter's values (and the count by shard)
        }).then(function () { return pf; });
      });
    }
    return pagefind;
  }

  function valuesOf(values) {               // a filter's values for this page: [shown, value]
    var keyed = Object.keys(values).filter(function (v) { return /^[a-z]{2,3}(-[a-z0-9]+)*:/.test(v); });
    var mine = keyed.filter(function (v) { return v.indexOf(lang + ':') === 0; });
    if (keyed.length < Object.keys(values).length || !mine.length) {
      return Object.keys(values).map(function (v) { return [v, v]; });
    }
    return mine.map(function (v) { return [v.slice(lang.length + 1), v]; });   // a shared index's
  }

  function own(m, key) {                   // a record's metadata in this page's script (see the top)
    var mine = m[key + '_' + lang];
    return mine != null ? mine : m[key];
  }

  function showFilters(pf) {
    return pf.filters().then(function (available) {
      var names = [['issuer', t.issuer], ['state', t.state]].filter(function (f) {
        return available[f[0]] && valuesOf(available[f[0]]).length > 1;
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
        valuesOf(available[f[0]]).sort(function (x, y) { return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0; })
          .forEach(function (v) { select.appendChild(new Option(v[0], v[1])); });
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

  /* The parts of a result that matched, each once, in page order: the top of the page (id "")
     and its sections (id "#s2"); of a shared index's record (its headings' ids end in "~" and
     the locale's key, the top's is "~" and the key), the copy in this page's script where that
     matched, else a copy of a locale in this page's script (a copy the same as another is held
     once: Hong Kong's as Taiwan's), else the other script's; its title then the heading of this
     page's script, from the record's anchors; as {id, s: the sub-result, title}. */
  function sectionsOf(d) {
    var m = d.meta || {};
    var keys = (m.locales || '').split(' ').filter(Boolean), scripts = (m.scripts || '').split(' ');
    var script = scripts[keys.indexOf(lang)];
    var near = keys.filter(function (k, i) { return k !== lang && script && scripts[i] === script; });
    function rank(key) {                   // 0: this page's copy; 1: its script's; 2: another script's
      if (keys.indexOf(key) < 0 || key === lang) return 0;
      return near.indexOf(key) >= 0 ? 1 : 2;
    }
    var found = {}, order = [], headings = {}, absent = {};
    function encoded(id) {                 // as the hash Pagefind gives a sub-result
      var u = new URL(location.href);
      u.hash = id;
      return u.hash;
    }
    (d.anchors || []).forEach(function (a) {
      if (a.id) headings[encoded(a.id)] = (a.text || '').trim();
    });
    // a section this page lacks (a text written by hand, cut differently): no link to it; a
    // match there leaves the result itself, which opens the page at its top
    (m.absent || '').split(' ').forEach(function (a) {
      var at = a.lastIndexOf('~');
      if (at > 0 && a.slice(at + 1) === lang) absent[encoded(decodeURIComponent(a.slice(0, at)))] = true;
    });
    (d.sub_results || []).forEach(function (s) {
      var hash = hashOf(s.url);
      var at = hash.lastIndexOf('~'), key = at > 0 ? hash.slice(at + 1) : '';
      var id = keys.indexOf(key) >= 0 ? hash.slice(0, at) : hash;
      if (id === '#') id = '';
      if (id && absent[id]) return;
      var r = rank(key);
      if (!found[id]) order.push(id);
      if (!found[id] || r < found[id].rank) found[id] = { id: id, s: s, rank: r };
    });
    return order.map(function (id) {
      var part = found[id], title = null;
      [lang].concat(near).forEach(function (k) { title = title || (part.rank > 0 && headings[id + '~' + k]); });
      part.title = title || part.s.title;
      return part;
    });
  }

  function item(d) {                       // one result: title, issuer · version state, snippet, sections
    var m = d.meta || {};
    var li = el('li', 'search-result');
    var h = el('h2', 'search-result-title');
    var a = el('a', null, own(m, 'title') || d.url);
    var page = '../' + (own(m, 'path') || '');
    a.href = page;
    h.appendChild(a);
    li.appendChild(h);
    var meta = el('p', 'search-result-meta');
    meta.appendChild(el('span', 'search-result-issuer', (own(m, 'issuer') || '')));
    meta.appendChild(document.createTextNode(' · '));
    meta.appendChild(el('span', 'search-result-version', t.version + ' ' + (m.version || '')));
    meta.appendChild(document.createTextNode(' '));
    meta.appendChild(el('span', 'badge badge-state-' + (m.state_key || ''), own(m, 'state') || ''));
    li.appendChild(meta);
    var parts = sectionsOf(d);
    var top = parts.length && parts[0].id === '' ? parts[0].s : null;
    var subs = parts.filter(function (p) { return p.id; }).slice(0, 3);
    li.appendChild(excerpt(top ? top.excerpt : (subs[0] ? subs[0].s.excerpt : d.excerpt)));
    if (subs.length) {
      var ul = el('ul', 'search-result-sections');
      subs.forEach(function (sub, i) {
        var s = sub.s;
        var item = el('li');
        var link = el('a', null, t.section + sub.title);
        link.href = page + sub.id;
        item.appendChild(link);
        if (i > 0 || top) item.appendChild(excerpt(s.excerpt));
        ul.appendChild(item);
      });
      li.appendChild(ul);
    }
    return li;
  }

  function render(q, shown) {
    list.textContent = '';
    shown.datas.forEach(function (d) { list.appendChild(item(d)); });
    var n = shown.n;
    status.textContent = n ? fill(n === 1 ? t.countOne : t.count, { n: n, q: q }) : fill(t.none, { q: q });
    results.hidden = !n;
    all.hidden = true;
    showMoreRow(shown.more());
  }

  function showMoreRow(on) {               // (a site's own search.html from before it may lack the row)
    if (moreRow) moreRow.hidden = !on;
  }

  /* "Show more results": the next PAGE results, the reader's focus on the first of them. */
  function showMore() {
    var shown = current, mine = run;
    if (!shown || !shown.more()) return;
    moreButton.disabled = true;
    shown.next().then(function (datas) {
      if (mine !== run) return;
      var first = null;
      datas.forEach(function (d) {
        var li = item(d);
        first = first || li;
        list.appendChild(li);
      });
      moreButton.disabled = false;
      showMoreRow(shown.more());
      if (first) first.querySelector('a').focus();
    }).catch(function (err) {
      moreButton.disabled = false;
      if (window.console) console.warn('search:', err);
    });
  }

  /* A sharded index (outputs/search.py) answers as one index would. Pagefind matches each word
     of a query with the words of an index that begin with it (人脸 → 人脸, 人脸识别) or, if the
     index has none, with the longest word it begins with (人脸 → 人). A shard that lacks a word
     other shards have would so answer with pages one index would not give (人脸识别 → every page
     with 人). So for each shard with results, the words of its index chunks that may begin a word
     of the query or be begun by it (read back from Pagefind's files) tell how it matched each
     word (Pagefind's rule: search.rs find_word_extensions), and only the shards that matched
     every word best count: their results, and their number. (Chinese pages: Pagefind
     stems English words, which this page cannot; and browsers without DecompressionStream get
     Pagefind's answer as it is.) */
  var PUNCT = /^\p{Pd}|\p{Pe}|\p{Pf}|\p{Pi}|\p{Po}|\p{Ps}$/u;      // what Pagefind drops from a query
  var utf8 = new TextEncoder();
  var files = {};                                                   // URL -> promise of its value

  function words(q, lang) {                // the words of a query, as pagefind.js cuts it for the index
    var g = new Intl.Segmenter(lang, { granularity: 'grapheme' });
    var cut = Array.from(new Intl.Segmenter(lang, { granularity: 'word' }).segment(q), function (w) {
      return Array.from(g.segment(w.segment), function (x) { return x.segment; })
        .filter(function (x) { return !PUNCT.test(x); }).join('').toLocaleLowerCase();
    });
    return cut.join(' ').normalize('NFD').replace(/\p{M}/gu, '').split(/\s+/).filter(Boolean);
  }

  function cbor(bytes, wordsOnly) {        // Pagefind's files: CBOR (arrays, strings, integers)
    var view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    var text = new TextDecoder();
    var i = 0;
    function size(info) {
      var val = info;
      if (info === 24) { val = bytes[i]; i += 1; }
      else if (info === 25) { val = view.getUint16(i); i += 2; }
      else if (info === 26) { val = view.getUint32(i); i += 4; }
      else if (info === 27) { val = view.getUint32(i) * 4294967296 + view.getUint32(i + 4); i += 8; }
      else if (info > 27) throw new Error('CBOR item ' + info);
      return val;
    }
    function item(keep) {
      var head = bytes[i++], major = head >> 5, val = size(head & 31);
      if (major === 0) return val;
      if (major === 1) return -1 - val;
      if (major === 2 || major === 3) {
        var t = keep && major === 3 ? text.decode(bytes.subarray(i, i + val)) : null;
        i += val;
        return t;
      }
      if (major === 4 || major === 5) {
        var out = keep ? [] : null;
        for (var k = 0; k < val * (major === 5 ? 2 : 1); k++) {
          var x = item(keep);
          if (keep) out.push(x);
        }
        return out;
      }
      return null;                                                  // simple values
    }
    if (!wordsOnly) return item(true);
    // an index chunk: [[[word, pages, meta pages] …]]: the words alone, the rest stepped over
    var found = [];
    size(bytes[i++] & 31);
    var n = size(bytes[i++] & 31);
    for (var k = 0; k < n; k++) {
      var parts = size(bytes[i++] & 31);
      found.push(item(true));
      for (var j = 1; j < parts; j++) item(false);
    }
    return found;
  }

  function pagefindFile(url, wordsOnly) {
    if (!files[url]) {
      files[url] = fetch(url).then(function (r) {
        if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
        return r.arrayBuffer();
      }).then(function (buf) {
        var magic = new TextDecoder().decode(new Uint8Array(buf, 0, Math.min(12, buf.byteLength)));
        if (magic === 'pagefind_dcd') return buf;
        return new Response(new Blob([buf]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
      }).then(function (buf) { return cbor(new Uint8Array(buf, 12), wordsOnly); });
    }
    return files[url];
  }

  function cmp(a, b) {                     // bytes, as Rust compares strings
    for (var i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  }

  function chunksFor(chunks, term) {       // every chunk that may hold a word term begins, or that begins it
    var first = String.fromCodePoint(term.codePointAt(0));
    var c = utf8.encode(first), next = utf8.encode(String.fromCodePoint(term.codePointAt(0) + 1));
    return chunks.filter(function (chunk) {     // [from, to, hash]; such words all begin with term's first character
      return cmp(utf8.encode(chunk[0]), next) < 0 && cmp(utf8.encode(chunk[1]), c) >= 0;
    }).map(function (chunk) { return chunk[2]; });
  }

  function matchOf(words, term) {          // search.rs find_word_extensions: Infinity, or the prefix's length
    var best = 0;
    for (var i = 0; i < words.length; i++) {
      var w = words[i];
      if (w.indexOf(term) === 0) return Infinity;
      if (term.indexOf(w) === 0) best = Math.max(best, utf8.encode(w).length);
    }
    return best;
  }

  function howShardMatched(folder, lang, ws) {
    return shardMeta(folder, lang).then(function (meta) {
      if (!meta) return null;
      var hashes = [].concat.apply([], ws.map(function (w) { return chunksFor(meta[2], w); }));
      var wanted = hashes.filter(function (h, k) { return hashes.indexOf(h) === k; });
      return Promise.all(wanted.map(function (h) {
        return pagefindFile(folder + 'index/' + h + '.pf_index', true);
      })).then(function (loaded) {         // the words of those chunks
        var all = [].concat.apply([], loaded);
        return ws.map(function (w) { return matchOf(all, w); });
      });
    });
  }

  function pagefindJson(url) {
    if (!files[url]) {
      files[url] = fetch(url, { cache: 'no-cache' }).then(function (r) {
        if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
        return r.json();
      });
    }
    return files[url];
  }

  /* The bundles of recent edits (outputs/search.py, RECENT), merged like shards: each one's entry
     file names the policy whose records in the shards it replaces, and those are left out of
     every answer (the shards' records carry their policy as a filter; the recent bundles' not). */
  function hidden() {
    if (!merged.length) return Promise.resolve([]);
    return Promise.all([base.pathname].concat(merged).map(function (folder) {
      return pagefindJson(folder + 'pagefind-entry.json').then(function (entry) { return entry.hides || []; });
    })).then(function (lists) { return [].concat.apply([], lists); });
  }

  function indexFor(languages, lang) {     // the index pagefind.js reads for a language (its findIndex)
    var index = languages[lang] || languages[lang.split('-')[0]];
    if (index) return index;
    return Object.keys(languages).map(function (k) { return languages[k]; })
      .sort(function (x, y) { return y.page_count - x.page_count; })[0] || null;
  }

  function shardMeta(folder, lang) {       // a shard's index of its words, for this page's language
    return pagefindJson(folder + 'pagefind-entry.json').then(function (entry) {
      var index = indexFor(entry.languages || {}, lang);
      return index ? pagefindFile(folder + 'pagefind.' + index.hash + '.pf_meta') : null;
    });
  }

  function prefetchShards() {              // while the reader types: what asOne reads of each shard
    if (typeof DecompressionStream === 'undefined') return;
    [base.pathname].concat(merged).forEach(function (f) { shardMeta(f, lang).catch(function () {}); });
  }

  function asOne(q, found) {               // null: Pagefind's answer stands; or {good: {shard: bool}, n}
    var counts = (found.filters && found.filters.shard) || {};
    if (!/^zh\b/.test(lang) || typeof DecompressionStream === 'undefined' || !Intl.Segmenter ||
        /^\s*".+"\s*$/.test(q)) return null;
    var ws = words(q, lang);
    var present = Object.keys(counts).filter(function (s) { return counts[s] > 0; });
    if (!ws.length || present.length < 2) return null;
    var folders = {};
    [base.pathname].concat(merged).forEach(function (f) { folders[f.replace(/\/$/, '').split('/').pop()] = f; });
    return Promise.all(present.map(function (s) {
      return folders[s] ? howShardMatched(folders[s], lang, ws) : null;
    })).then(function (how) {
      if (how.some(function (h) { return h === null; })) return null;
      var best = ws.map(function (w, k) { return Math.max.apply(null, how.map(function (h) { return h[k]; })); });
      var good = {};
      present.forEach(function (s, j) { good[s] = how[j].every(function (c, k) { return c === best[k]; }); });
      return { good: good, n: present.reduce(function (sum, s) { return sum + (good[s] ? counts[s] : 0); }, 0) };
    }, function (err) {
      if (window.console) console.warn('search: reading the shards', err);
      return null;
    });
  }

  /* A Traditional query, cut two ways. Pagefind's indexer (its Chinese segmenter has a
     Simplified dictionary) cuts Traditional text mostly into single characters, but keeps some
     words (a title such as 隱私保護) whole; pagefind.js cuts the query with the browser's word
     segmenter, which keeps 隱私 whole. So on a Traditional page 隱私 as typed found only the
     pages where the indexer kept a word beginning with it (one of four imported policies, where
     隐私 found all four), and cut into characters it misses those. The query is asked both
     ways, and the answer is every page either finds (as a single index finds them: see asOne). */
  var HAN = /(\p{Script=Han})/gu;
  function ways(q) {
    var chars = q.replace(HAN, ' $1 ').replace(/\s+/g, ' ').trim();
    return /^zh-(hant|tw|hk|mo)\b/.test(lang) && chars !== q ? [q, chars] : [q];
  }

  function ask(pf, q, filters) {           // Pagefind's results, and which of their shards count
    return pf.search(q, { filters: filters }).then(function (found) {
      return Promise.resolve(merged.length ? asOne(q, found) : null).then(function (one) {
        return { results: found.results, one: one, n: one ? one.n : found.results.length };
      });
    });
  }

  function shardOfPages() {                // page id -> its shard's name, from each shard's metadata
    return Promise.all([base.pathname].concat(merged).map(function (f) {
      return shardMeta(f, lang).then(function (meta) {
        return { name: f.replace(/\/$/, '').split('/').pop(), pages: meta ? meta[1] : [] };
      });
    })).then(function (all) {
      var of = {};
      all.forEach(function (s) { s.pages.forEach(function (p) { of[p[0]] = s.name; }); });
      return of;
    }, function () { return null; });
  }

  function joined(asked) {                 // the pages any way found, in the shards that count for it
    if (asked.length === 1) return Promise.resolve(asked[0]);
    var judged = asked.some(function (a) { return a.one; });
    return (judged ? shardOfPages() : Promise.resolve(null)).then(function (shardOf) {
      var best = {};
      asked.forEach(function (a) {
        a.results.forEach(function (r) {
          if (a.one && shardOf && !a.one.good[shardOf[r.id] || '']) return;
          if (!best[r.id] || best[r.id].score < r.score) best[r.id] = r;
        });
      });
      var results = Object.keys(best).map(function (id) { return best[id]; })
        .sort(function (x, y) { return y.score - x.score; });
      return { results: results, one: null, n: results.length };
    });
  }

  /* The answer to a query: how many found, the first PAGE of them, and the rest on asking. */
  function answer(pf, typed, filters) {
    return Promise.all(ways(typed).map(function (q) { return ask(pf, q, filters); })).then(joined).then(function (best) {
      var found = best.results, one = best.one, at = 0;
      function counts(d) { return !one || one.good[d.filters && d.filters.shard ? d.filters.shard[0] : '']; }
      function next() {                    // the next PAGE results (of the shards that count)
        var take = found.slice(at, at + PAGE);
        at += take.length;
        return Promise.all(take.map(function (r) { return r.data(); })).then(function (datas) {
          datas = datas.filter(counts);
          return datas.length || at >= found.length ? datas : next();
        });
      }
      return next().then(function (datas) {
        return { n: best.n, datas: datas, next: next, more: function () { return at < found.length; } };
      });
    });
  }

  function search(q) {
    q = (q || '').trim();
    var mine = ++run;
    if (!q) {
      status.textContent = '';
      results.hidden = true;
      showMoreRow(false);
      all.hidden = false;
      return Promise.resolve();
    }
    status.textContent = t.searching;
    return load().then(function (pf) {
      var filters = {};
      Object.keys(chosen).forEach(function (k) { if (chosen[k]) filters[k] = chosen[k]; });
      // the filters first: the search's count of results by shard needs them loaded
      return showFilters(pf).then(hidden).then(function (hides) {
        if (hides.length) filters.policy = { none: hides };
        return answer(pf, q, filters);
      }).then(function (shown) {
        if (mine !== run) return;
        current = shown;
        render(q, current);
      });
    }).catch(function (err) {
      if (mine !== run) return;
      status.textContent = t.error;
      results.hidden = true;
      showMoreRow(false);
      all.hidden = false;
      if (nojs) nojs.hidden = true;
      if (window.console) console.warn('search:', err);
    });
  }

  if (moreButton) moreButton.addEventListener('click', showMore);

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var q = input.value.trim();
    var url = new URL(location.href);
    if (q) url.searchParams.set('q', q); else url.searchParams.delete('q');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    search(q);
  });

  // the index starts loading when the reader comes to the search box, while they type
  input.addEventListener('focus', function () {
    load().catch(function (err) { if (window.console) console.warn('search:', err); });
  }, { once: true });

  var initial = new URLSearchParams(location.search).get('q');
  if (initial) {
    input.value = initial;
    search(initial);
  }
}());
