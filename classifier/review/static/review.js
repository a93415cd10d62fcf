// tukipyynto review page: plain JavaScript, no external assets, every action on the keyboard.
"use strict";
(function () {
  const TOKEN = document.querySelector('meta[name="review-token"]').content;
  const LANG = document.documentElement.lang === "en" ? "en" : "fi";
  const T = {
    fi: {title: "Tukipyyntöjen tarkistus", random: "Satunnaisotos", tilted: "Painotettu otos", uncertain: "Epävarmimmat ensin",
      note_tilted: "Painotettu otos (siemen {seed}): epävarmat pyynnöt on poimittu todennäköisemmin, tunnetuin todennäköisyyksin; raportti painottaa kunkin tarkistuksen sen mukaan. Tarkista järjestyksessä; ohittaminen vinouttaa otosta.",
      note_random: "Satunnaisotos (siemen {seed}): vain tämän jonon tarkistukset käytetään raportin korjattuihin arvioihin. Tarkista järjestyksessä; ohittaminen vinouttaa otosta.",
      note_uncertain: "Epävarmimmat ensin: pienin varmuus, pienin ero kahden parhaan aiheen välillä tai epävarmin ohjeen kattavuus ensin. Näitä käytetään uudelleenopetukseen, ei arvioihin.",
      progress: "{done} / {total} tarkistettu", topic: "Aihe", guideline: "Ohje", avoidable: "Vältettävissä?",
      alltopics: "Kaikki aiheet", none: "Mikään ohje ei kata tätä", save: "Tallenna ja seuraava", skip: "Ohita", undo: "Kumoa",
      predicted: "Malli", confidence: "varmuus", words: "Sanat aiheen puolesta", yours: "Sinun päätöksesi", yes: "kyllä", no: "ei",
      published: "julkaistu", retired: "poistunut", in_force: "voimassa pyynnön päivänä", not_in_force: "ei voimassa pyynnön päivänä",
      matched: "mallin valinta", notext: "(Pyynnön tekstiä ei ole tällä koneella: sivu näyttää tekstit, jotka label ja analyse säilyttävät koneella, jolla ne ajettiin, tai --with-text-valinnalla merkityn tiedoston tekstit.)", saved: "Tallennettu",
      undone: "Kumottu", skipped: "Ohitettu", done: "Jono on käyty läpi.", nothing_to_undo: "Ei kumottavaa",
      later: "Myöhemmin julkaistu ohje", search: "Hae ohjeista", similar: "Samankaltaisia jo tarkistettuja",
      similarity: "samankaltaisuus",
      help: "Näppäimet: 1–3 aihe · t kaikki aiheet · a–d ohje · n ei ohjetta · / hae ohjetta · Enter tallenna · s ohita · u kumoa · q vaihda jonoa"},
    en: {title: "Support request review", random: "Random sample", tilted: "Tilted sample", uncertain: "Least certain first",
      note_tilted: "Tilted sample (seed {seed}): uncertain requests were drawn more often, with known probabilities; the report weights each review accordingly. Review in order; skipping biases the sample.",
      note_random: "Random sample (seed {seed}): only this queue's reviews feed the report's corrected estimates. Review in order; skipping biases the sample.",
      note_uncertain: "Least certain first: lowest confidence, smallest margin between the top two topics or least certain coverage first. For retraining, not for estimates.",
      progress: "{done} / {total} reviewed", topic: "Topic", guideline: "Guideline", avoidable: "Avoidable?",
      alltopics: "All topics", none: "No guideline covers this", save: "Save and next", skip: "Skip", undo: "Undo",
      predicted: "Model", confidence: "confidence", words: "Words for the topic", yours: "Your decision", yes: "yes", no: "no",
      published: "published", retired: "retired", in_force: "in force on the request's date", not_in_force: "not in force on the request's date",
      matched: "model's match", notext: "(The request's text is not on this machine: the page shows the texts label and analyse keep where they ran, or those of a file labelled with --with-text.)", saved: "Saved",
      undone: "Undone", skipped: "Skipped", done: "This queue is done.", nothing_to_undo: "Nothing to undo",
      later: "Guideline published later", search: "Search guidelines", similar: "Similar requests already reviewed",
      similarity: "similarity",
      help: "Keys: 1–3 topic · t all topics · a–d guideline · n no guideline · / search guidelines · Enter save · s skip · u undo · q switch queue"}
  }[LANG];
  const $ = (id) => document.getElementById(id);
  const fmt = (s, o) => s.replace(/\{(\w+)\}/g, (_, k) => (k in o ? o[k] : ""));
  const pct = (p) => (p == null ? "–" : (100 * p).toFixed(1).replace(".", LANG === "fi" ? "," : ".") + " %");
  let state = null, queue = null, card = null, sel = {topic: null, guideline: null}, extraGl = [], history = [];

  async function api(path, params) {
    const u = new URL(path, location.origin);
    Object.entries(params || {}).forEach(([k, v]) => { if (v != null) u.searchParams.set(k, v); });
    const r = await fetch(u, {headers: {"X-Review-Token": TOKEN}});
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || r.status);
    return j;
  }
  async function post(path, body) {
    const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json", "X-Review-Token": TOKEN},
      body: JSON.stringify(body)});
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || r.status);
    return j;
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v; });
    kids.flat().forEach((k) => e.append(k instanceof Node ? k : document.createTextNode(String(k))));
    return e;
  }
  function say(msg) { $("status").textContent = msg; }

  function statics() {
    document.title = T.title; $("title").textContent = T.title;
    ["topic", "guideline", "avoidable"].forEach((k) => { $("h-" + k).textContent = T[k]; });
    $("l-alltopics").textContent = T.alltopics; $("l-none").textContent = T.none; $("l-save").textContent = T.save;
    $("l-skip").textContent = T.skip; $("l-undo").textContent = T.undo; $("help").textContent = T.help;
    $("gl-search").placeholder = T.search;
    const s = $("topic-select");
    s.replaceChildren(...state.topics.map((t) => el("option", {value: t.id, textContent: t.label})));
  }
  function renderProgress() {
    // the first tab is the session's sample queue (random or tilted), the second the uncertainty queue
    [[$("q-random"), state.sample_queue], [$("q-uncertain"), "uncertain"]].forEach(([b, q]) => {
      const p = state.progress[q];
      b.dataset.queue = q;
      b.textContent = `${T[q]} (${p.done}/${p.total})`;
      b.classList.toggle("active", q === queue);
    });
    const p = state.progress[queue];
    $("progress").textContent = fmt(T.progress, p);
    $("queue-note").textContent = fmt(T["note_" + queue], {seed: state.seed});
  }
  async function refreshState() { state = await api("/api/state"); queue = queue || state.sample_queue; renderProgress(); }

  async function showNext() {
    const n = await api("/api/next", {queue});
    if (!n.id) { card = null; $("card").hidden = true; $("done").hidden = false; $("done").textContent = T.done; return; }
    await showCard(n.id);
  }
  async function showCard(id) {
    card = await api("/api/card", {id});
    const d = card.decision, p = card.predicted;
    const topics = state.topics.map((t) => t.id);
    sel.topic = d ? d.topic : (topics.includes(p.topic) ? p.topic : (p.candidates[0] || {}).id || topics[0]);
    sel.guideline = d ? d.guideline_id : (p.guideline_id || null);
    extraGl = [];
    if (sel.guideline && !card.guidelines.some((g) => g.id === sel.guideline)) {
      const r = await api("/api/guidelines", {q: sel.guideline, id: card.id});
      extraGl = r.results.filter((g) => g.id === sel.guideline);
    }
    $("done").hidden = true; $("card").hidden = false;
    $("c-pos").textContent = `${T[card.queue]} #${card.position}`;
    $("c-channel").textContent = card.channel_label;
    $("c-time").textContent = card.local || "–";
    $("c-id").textContent = card.id;
    $("c-subject").textContent = card.subject || "–";
    $("c-text").textContent = card.text || T.notext;
    $("c-pred-topic").textContent = `${T.predicted}: ${p.label} (${T.confidence} ${pct(p.confidence)})`;
    $("c-words").textContent = p.words.length ? `${T.words}: ${p.words.join(", ")}` : "";
    $("c-pred-avoid").textContent = `${T.predicted}: ${p.avoidable ? T.yes : T.no} – ${p.reason_label || ""}` +
      (p.avoidable_probability != null ? ` (${pct(p.avoidable_probability)})` : "");
    $("gl-search").value = ""; $("gl-results").replaceChildren();
    renderSimilar();
    await renderChoices();
  }
  function renderSimilar() {
    // the nearest requests already reviewed (review --semantic), with what the reviewer decided: text only
    const s = card.similar || [];
    $("similar-box").hidden = !s.length;
    $("h-similar").textContent = T.similar;
    $("c-similar").replaceChildren(...s.map((x) => el("li", {"data-similar": x.id},
      el("span", {class: "gl-title"}, `${x.topic_label} · ` + (x.guideline_id ? `${x.guideline_id} ${x.guideline_title || ""}` : T.none) +
        ` · ${T.avoidable} ${x.avoidable ? T.yes : T.no}`),
      el("span", {class: "gl-dates"}, ` · ${T.similarity} ${x.similarity.toFixed(2)}`),
      el("div", {class: "gl-open"}, (x.subject ? `${x.subject}: ` : "") + x.opening))));
  }
  function glItem(g, key, matched) {
    const dates = `${T.published} ${g.published}` + (g.retired ? ` · ${T.retired} ${g.retired}` : "") +
      ` · ${g.in_force ? T.in_force : T.not_in_force}` + (matched ? ` · ${T.matched}` : "");
    const li = el("li", {"data-gl": g.id, class: g.id === sel.guideline ? "sel" : ""},
      key ? el("kbd", {}, key) : "", " ", el("span", {class: "gl-title"}, `${g.id} ${g.title}`),
      el("div", {class: "gl-open"}, g.opening), el("div", {class: "gl-dates" + (g.in_force ? "" : " off")}, dates));
    li.addEventListener("click", () => pickGuideline(g.id));
    return li;
  }
  async function renderChoices() {
    const p = card.predicted;
    $("topic-cands").replaceChildren(...p.candidates.map((c, i) => {
      const li = el("li", {"data-topic": c.id, class: c.id === sel.topic ? "sel" : ""}, el("kbd", {}, String(i + 1)), ` ${c.label} – ${pct(c.p)}`);
      li.addEventListener("click", () => pickTopic(c.id));
      return li;
    }));
    $("topic-select").value = sel.topic;
    const keys = "abcd";
    const list = card.guidelines.concat(extraGl.filter((g) => !card.guidelines.some((h) => h.id === g.id)));
    $("gl-cands").replaceChildren(...list.map((g, i) => glItem(g, keys[i] || "", g.id === p.guideline_id)));
    $("gl-none").classList.toggle("sel", sel.guideline == null);
    const pv = await api("/api/preview", {id: card.id, topic: sel.topic, guideline_id: sel.guideline || ""});
    const yn = el("span", {class: pv.avoidable ? "yes" : "no"}, pv.avoidable ? T.yes : T.no);
    $("c-your-avoid").replaceChildren(`${T.yours}: `, yn, ` – ${pv.reason_label}`);
  }
  async function pickTopic(t) { sel.topic = t; await renderChoices(); }
  async function pickGuideline(id) {
    sel.guideline = id;
    if (id && !card.guidelines.some((g) => g.id === id) && !extraGl.some((g) => g.id === id)) {
      const r = await api("/api/guidelines", {q: id, id: card.id});
      extraGl = extraGl.concat(r.results.filter((g) => g.id === id));
    }
    await renderChoices();
  }
  async function search(q) {
    const r = await api("/api/guidelines", {q, id: card.id});
    $("gl-results").replaceChildren(...r.results.map((g) => glItem(g, "", false)));
    return r.results;
  }
  async function save() {
    if (!card) return;
    const id = card.id;
    await post("/api/decide", {id, topic: sel.topic, guideline_id: sel.guideline, queue: card.queue});
    history.push(id);
    say(T.saved);
    await refreshState();
    await showNext();
  }
  async function skip() {
    if (!card) return;
    await post("/api/skip", {id: card.id});
    say(T.skipped);
    await showNext();
  }
  async function undo() {
    const id = history.pop();
    if (!id) { say(T.nothing_to_undo); return; }
    await post("/api/undo", {id});
    say(T.undone);
    await refreshState();
    await showCard(id);
  }
  async function switchQueue(q) {
    queue = q || (queue === "uncertain" ? state.sample_queue : "uncertain");
    renderProgress();
    await showNext();
  }

  // actions run one after another, in the order the keys were pressed
  let chain = Promise.resolve(), pending = 0;
  function run(fn) {
    pending += 1;
    document.body.dataset.pending = String(pending);
    chain = chain.then(fn).catch((e) => say(String(e.message || e))).then(() => {
      pending -= 1;
      document.body.dataset.pending = String(pending);
    });
    return chain;
  }
  function onKey(k) {
    if (!card && !["q", "u"].includes(k)) return;
    if (k === "Enter") return save();
    if (["1", "2", "3"].includes(k)) { const c = card.predicted.candidates[Number(k) - 1]; return c ? pickTopic(c.id) : null; }
    if ("abcd".includes(k)) {
      const li = Array.from(document.querySelectorAll("#gl-cands li"))["abcd".indexOf(k)];
      return li ? pickGuideline(li.dataset.gl) : null;
    }
    if (k === "n") return pickGuideline(null);
    if (k === "s") return skip();
    if (k === "u") return undo();
    if (k === "q") return switchQueue();
  }
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && t.id === "gl-search") {
      if (ev.key === "Escape") { t.blur(); ev.preventDefault(); }
      else if (ev.key === "Enter") {
        ev.preventDefault();
        const q = t.value;
        t.blur();
        run(async () => { const r = await search(q); if (r.length) await pickGuideline(r[0].id); });
      }
      return;
    }
    if (t && t.id === "topic-select") {
      if (ev.key === "Enter" || ev.key === "Escape") { ev.preventDefault(); t.blur(); const v = t.value; run(() => pickTopic(v)); }
      return;
    }
    const k = ev.key;
    if (k === "t") { ev.preventDefault(); $("topic-select").focus(); return; }
    if (k === "/") { ev.preventDefault(); $("gl-search").focus(); return; }
    if (["Enter", "1", "2", "3", "a", "b", "c", "d", "n", "s", "u", "q"].includes(k)) {
      ev.preventDefault();
      run(() => onKey(k));
    }
  });
  $("topic-select").addEventListener("change", (ev) => run(() => pickTopic(ev.target.value)));
  $("gl-none").addEventListener("click", () => run(() => pickGuideline(null)));
  $("b-save").addEventListener("click", () => run(save));
  $("b-skip").addEventListener("click", () => run(skip));
  $("b-undo").addEventListener("click", () => run(undo));
  document.querySelectorAll(".queue").forEach((b) => b.addEventListener("click", () => run(() => switchQueue(b.dataset.queue))));
  run(async () => { await refreshState(); statics(); await showNext(); document.body.dataset.ready = "1"; });
})();
