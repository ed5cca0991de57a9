/* babelscope report: results-table filter and concept browser (vanilla JS, data from #concept-data).
   State in the URL hash: #model=tiny|encoder&k=8&layer=1&lang=en&other=de (&view=concepts scrolls to the
   browser; &selftest=1 renders every space, filter and sort once and reports in #status). */
(function () {
  "use strict";
  var PAGE = 40;
  var status = document.getElementById("status");

  function setStatus(state, text) {
    if (status.dataset.status === "error") { return; }
    status.dataset.status = state;
    status.dataset.readyMs = String(Math.round(performance.now()));  /* since navigation started */
    status.textContent = text;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function unique(values) {
    var seen = {}, out = [];
    values.forEach(function (v) { var key = String(v); if (!seen[key]) { seen[key] = true; out.push(v); } });
    return out;
  }

  /* ---- results table filter ---- */
  function setupTableFilter() {
    var input = document.getElementById("table-filter");
    var count = document.getElementById("table-count");
    var rows = Array.prototype.slice.call(document.querySelectorAll("#results-table tbody tr"));
    var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    function apply() {
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
      rows.forEach(function (row, i) {
        var ok = terms.every(function (t) { return texts[i].indexOf(t) >= 0; });
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      count.textContent = shown + " of " + rows.length + " rows";
    }
    input.addEventListener("input", apply);
    apply();
  }

  /* ---- concept browser ---- */
  var data = JSON.parse(document.getElementById("concept-data").textContent);
  var spaces = data.spaces, colors = data.languages, byId = {};
  spaces.forEach(function (s) { byId[s.id] = s; });
  var sel = {};
  ["model", "k", "layer", "lang", "other", "filter", "sort", "word"].forEach(function (name) {
    sel[name] = document.getElementById("sel-" + name);
  });
  var shown = PAGE;

  function fill(select, values, labels, keep) {
    var previous = keep !== undefined ? keep : select.value;
    while (select.firstChild) { select.removeChild(select.firstChild); }
    values.forEach(function (v, i) {
      var option = el("option", null, labels ? labels[i] : v);
      option.value = String(v);
      select.appendChild(option);
    });
    if (values.map(String).indexOf(String(previous)) >= 0) { select.value = String(previous); }
    select.disabled = values.length === 0;
    select.parentNode.className = values.length === 0 ? "off" : "";
  }

  function matching(filters) {
    return spaces.filter(function (s) {
      return Object.keys(filters).every(function (key) { return String(s[key]) === String(filters[key]); });
    });
  }

  function cascade(state) {
    state = state || {};
    var models = unique(spaces.map(function (s) { return s.model + "|" + s.side; }));
    fill(sel.model, models, models.map(function (m) { return m.replace("|", " · "); }), state.model);
    var parts = sel.model.value.split("|");
    var base = {model: parts[0], side: parts[1]};
    var ks = unique(matching(base).map(function (s) { return s.k; })).sort(function (a, b) { return a - b; });
    fill(sel.k, ks, null, state.k);
    base.k = sel.k.value;
    var layers = unique(matching(base).map(function (s) { return s.layer; })).sort(function (a, b) { return a - b; });
    fill(sel.layer, layers, null, state.layer);
    base.layer = sel.layer.value;
    var langs = unique(matching(base).map(function (s) { return s.lang; }));
    fill(sel.lang, langs, null, state.lang);
    base.lang = sel.lang.value;
    /* one space per measured pair: the other language picks the clustering as well as its partner */
    var partners = unique(matching(base).map(function (s) { return s.partner; }));
    if (partners.length === 1 && partners[0] === "") { partners = []; }
    fill(sel.other, partners, partners.map(function (p) { return p || "none"; }), state.other);
    return currentSpace();
  }

  function partnerOf() { return sel.other.disabled ? "" : sel.other.value; }

  function currentSpace() {
    var parts = sel.model.value.split("|");
    return byId[[parts[0], parts[1], sel.layer.value, sel.k.value, sel.lang.value, partnerOf()].join("|")];
  }

  function sentence(example, joint) {
    var li = el("li"), words = example[2].split(" ");
    var ref = li.appendChild(el("span", "ref", example[0] + (joint ? " · " + example[3] : "")));
    if (joint) { ref.style.color = colors[example[3]] || ""; }
    words.forEach(function (word, i) {
      if (i > 0) { li.appendChild(document.createTextNode(" ")); }
      li.appendChild(i === example[1] ? el("mark", null, word) : document.createTextNode(word));
    });
    return li;
  }

  function conceptBlock(space, id, joint, title, extra) {
    var block = el("div", "side"), cluster = space ? space.clusters[String(id)] : null;
    var h = el("h3", null, title);
    if (cluster) {
      h.appendChild(el("span", "meta", cluster.n_tokens + " occurrences · " + cluster.n_types + " word types"));
    }
    if (extra) { h.appendChild(extra); }
    block.appendChild(h);
    if (!cluster) {
      block.appendChild(el("div", "empty", space ? "this concept has no row in the concepts table" :
        "the other language's concepts are not in the concepts table"));
      return block;
    }
    var words = el("div", "words");
    cluster.words.forEach(function (w) {
      var chip = el("span", joint ? "word lang" : "word", w[0]);
      chip.appendChild(el("span", "count", w[1]));
      if (joint) { chip.style.borderLeftColor = colors[w[2]] || "#999"; chip.title = w[2]; }
      words.appendChild(chip);
    });
    block.appendChild(words);
    var list = el("ul", "examples");
    cluster.examples.forEach(function (e) { list.appendChild(sentence(e, joint)); });
    if (!cluster.examples.length) { list.appendChild(el("li", "empty", "no example sentence")); }
    block.appendChild(list);
    return block;
  }

  function badge(aligned, text) { return el("span", aligned ? "badge ok" : "badge", text); }

  function card(space, id, other, match) {
    var node = el("div", space.joint || !other ? "card single" : "card");
    var label = space.lang + " · concept " + id;
    var extra = other && match ? badge(match[2], match[2] ? "aligned" : "not aligned") : null;
    node.appendChild(conceptBlock(space, id, space.joint, label, extra));
    if (space.joint || !other) { return node; }
    var target = byId[[space.model, space.side, space.layer, space.k, other, space.lang].join("|")];
    var right;
    if (!match || match[0] < 0) {
      right = el("div", "side other");
      right.appendChild(el("h3", null, other));
      right.appendChild(el("div", "empty", "no concept of " + other + " contains a translation of these words"));
    } else {
      var share = match[1] === null ? "" : "match share " + match[1].toFixed(2);
      right = conceptBlock(target, match[0], false, other + " · concept " + match[0], el("span", "meta", share));
      right.className = match[2] ? "side other aligned" : "side other";
    }
    var targets = match && match[3] ? match[3] : [];
    if (targets.length > 1 || (targets.length === 1 && targets[0] !== match[0])) {  /* every aligned target */
      var all = el("div", "targets", "aligned to " + targets.length + " concepts of " + other + ": ");
      targets.forEach(function (t, i) {
        var words = target && target.clusters[String(t)] ?
          target.clusters[String(t)].words.slice(0, 3).map(function (w) { return w[0]; }).join(", ") : "";
        all.appendChild(el("span", "target", (i ? " · " : "") + t + (words ? " (" + words + ")" : "")));
      });
      right.appendChild(all);
    }
    node.appendChild(right);
    return node;
  }

  function legend(space) {
    var box = document.getElementById("legend");
    while (box.firstChild) { box.removeChild(box.firstChild); }
    if (!space || !space.joint) { return; }
    space.langs.forEach(function (lang) {
      var item = el("span"), swatch = el("span", "swatch");
      swatch.style.background = colors[lang] || "#999";
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(lang));
      box.appendChild(item);
    });
  }

  function render() {
    var space = currentSpace(), cards = document.getElementById("cards");
    var summary = document.getElementById("browser-summary"), more = document.getElementById("more");
    while (cards.firstChild) { cards.removeChild(cards.firstChild); }
    legend(space);
    if (!space) { summary.textContent = "no concepts for this choice"; more.hidden = true; return 0; }
    var other = partnerOf();
    var align = other ? space.align[other] || {} : {};
    var ids = Object.keys(space.clusters);
    var query = sel.word.value.trim().toLowerCase(), filter = sel.filter.value;
    var nAligned = ids.filter(function (id) { return align[id] && align[id][2]; }).length;
    ids = ids.filter(function (id) {
      var m = align[id];
      if (filter === "aligned" && !(m && m[2])) { return false; }
      if (filter === "unaligned" && m && m[2]) { return false; }
      if (!query) { return true; }
      return space.clusters[id].words.some(function (w) { return w[0].toLowerCase().indexOf(query) >= 0; });
    });
    var key = {
      size: function (id) { return -space.clusters[id].n_tokens; },
      share: function (id) { return align[id] && align[id][1] !== null ? -align[id][1] : 1; },
      id: function (id) { return Number(id); }
    }[sel.sort.value];
    ids.sort(function (a, b) { return key(a) - key(b) || Number(a) - Number(b); });
    var total = Object.keys(space.clusters).length;
    summary.textContent = space.lang + " at layer " + space.layer + " (K=" + space.k + "): " + total +
      " non-empty concepts" + (other ? ", " + nAligned + " aligned to " + other + " (" +
      (100 * nAligned / Math.max(total, 1)).toFixed(0) + " %)" : "") + "; showing " +
      Math.min(shown, ids.length) + " of " + ids.length + ".";
    ids.slice(0, shown).forEach(function (id) { cards.appendChild(card(space, id, other, align[id])); });
    more.hidden = ids.length <= shown;
    return Math.min(shown, ids.length);
  }

  function readHash() {
    var state = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var kv = part.split("=");
      if (kv.length === 2) { state[decodeURIComponent(kv[0])] = decodeURIComponent(kv[1]); }
    });
    return state;
  }

  function writeHash() {
    var state = ["model", "k", "layer", "lang", "other"].map(function (name) {
      return name + "=" + encodeURIComponent(sel[name].value);
    }).join("&");
    try { history.replaceState(null, "", "#" + state); } catch (e) { /* file:// without history: ignore */ }
  }

  function changed(event) {
    var state = {};
    ["model", "k", "layer", "lang", "other"].forEach(function (name) { state[name] = sel[name].value; });
    if (event && event.target === sel.model) { state = {model: sel.model.value}; }
    cascade(state);
    shown = PAGE;
    render();
    writeHash();
  }

  function selftest() {
    var cards = 0;
    spaces.forEach(function (space) {
      var state = {model: space.model + "|" + space.side, k: space.k, layer: space.layer, lang: space.lang,
                   other: space.partner};
      if (cascade(state) !== space) { throw new Error("space " + space.id + " cannot be chosen in the browser"); }
      ["all", "aligned", "unaligned"].forEach(function (f) {
        sel.filter.value = f;
        ["size", "share", "id"].forEach(function (s) { sel.sort.value = s; shown = 100000; cards += render(); });
      });
    });
    sel.filter.value = "all";
    sel.sort.value = "size";
    shown = PAGE;
    return cards;
  }

  function layoutFacts() {  /* for tests and screenshots: where the browser starts, how tall the page is */
    status.dataset.conceptsTop = String(Math.round(document.getElementById("concepts").getBoundingClientRect().top +
      window.scrollY));
    status.dataset.pageHeight = String(document.documentElement.scrollHeight);
  }

  setupTableFilter();
  if (sel.model && spaces.length) {
    ["model", "k", "layer", "lang", "other"].forEach(function (name) {
      sel[name].addEventListener("change", changed);
    });
    sel.filter.addEventListener("change", function () { shown = PAGE; render(); });
    sel.sort.addEventListener("change", function () { shown = PAGE; render(); });
    sel.word.addEventListener("input", function () { shown = PAGE; render(); });
    document.getElementById("more").addEventListener("click", function () { shown += PAGE; render(); });
    var state = readHash(), tested = state.selftest ? selftest() : null;
    cascade(state);
    render();
    if (state.view && document.getElementById(state.view)) { document.getElementById(state.view).scrollIntoView(); }
    layoutFacts();
    setStatus("ok", "ok: " + spaces.length + " concept spaces" + (tested !== null ? "; selftest rendered " +
      tested + " cards" : ""));
  } else {
    layoutFacts();
    setStatus("ok", "ok: no concepts");
  }
})();
