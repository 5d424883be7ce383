// Prism console: uploads files into the pipeline and shows what comes out, by polling
// the app's own JSON API. Plain DOM code, no framework and nothing fetched from
// elsewhere. Every string from a result goes in with textContent, never as HTML.
"use strict";

(() => {
  const API = `${document.body.dataset.api}/v1`;
  const KEY = new URLSearchParams(window.location.search).get("code") || "";
  const RESULTS_EVERY_MS = 1500;
  const STATS_EVERY_MS = 5000;
  // Results per page (the API takes 1–500); ?page_size= on the page's address changes it.
  const requestedPageSize = Number(new URLSearchParams(window.location.search).get("page_size"));
  const PAGE_SIZE = Number.isInteger(requestedPageSize) && requestedPageSize >= 1 && requestedPageSize <= 500
    ? requestedPageSize : 50;
  const SVG = "http://www.w3.org/2000/svg";
  const TIERS = ["Hot", "Cool", "Cold", "Archive"];

  const $ = (id) => document.getElementById(id);
  const results = new Map(); // id → the newest document (or a pending placeholder)
  const uploadedNames = new Map(); // id → the file's own name, for uploads from here
  const uploadStates = new Map(); // id → the upload's status line, until its result is in
  let filters = {}; // the filter form's values, as the API's query parameters
  let olderToken = null; // the continuation of the oldest page shown, if there is more
  let olderShown = false; // whether pages past the first are shown (polls then keep the token)
  // Counts filter changes: an answer to a query asked under older filters is dropped, or a
  // poll in flight when the filters change would show results the new filters exclude.
  let filtersVersion = 0;

  // ---- small DOM helpers ------------------------------------------------------------

  function el(tag, options = {}, children = []) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = String(options.text);
    for (const [name, value] of Object.entries(options.attrs || {})) node.setAttribute(name, value);
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function svg(tag, attrs = {}, children = []) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    for (const child of children) node.append(child);
    return node;
  }

  const percent = (value) => `${Math.round(value * 100)}%`;
  const fixed = (value, digits = 1) => (value === null || value === undefined ? "–" : Number(value).toFixed(digits));
  const clip = (text, width) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);
  const megabytes = (bytes) => (bytes ? (bytes / 1e6).toFixed(1) : "–");

  function notice(message) {
    const box = $("notice");
    box.textContent = message;
    box.hidden = !message;
  }

  // ---- the API ------------------------------------------------------------------------

  async function call(path) {
    const response = await fetch(`${API}${path}`, { headers: { "x-functions-key": KEY } });
    const body = await response.json().catch(() => ({}));
    if (response.status === 401) {
      throw new Error("The function key is missing or wrong: open this page with ?code=<function key>.");
    }
    if (!response.ok && response.status !== 503) {
      const error = body.error || {};
      throw new Error(`${path}: ${error.code || response.status} ${error.message || ""}`.trim());
    }
    return body;
  }

  // Calls that fail show a notice and leave the last good view in place.
  async function refresh(task) {
    try {
      await task();
    } catch (error) {
      notice(error.message);
    }
  }

  // ---- uploads -----------------------------------------------------------------------

  function upload(file) {
    const progress = el("progress", { attrs: { max: "100", value: "0", "aria-label": `Uploading ${file.name}` } });
    const state = el("span", { className: "state", text: "uploading…" });
    const item = el("li", {}, [el("span", { className: "name", text: file.name }), state, progress]);
    $("uploads").prepend(item);

    const request = new XMLHttpRequest();
    request.open("POST", `${API}/files?name=${encodeURIComponent(file.name)}`);
    request.setRequestHeader("x-functions-key", KEY);
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = Math.round((100 * event.loaded) / event.total);
    });
    request.addEventListener("load", () => {
      const body = request.response || {};
      if (request.status === 202) {
        progress.value = 100;
        state.textContent = "uploaded · processing";
        uploadedNames.set(body.id, file.name);
        uploadStates.set(body.id, state);
        if (!results.has(body.id)) {
          results.set(body.id, { id: body.id, status: "pending", source: { name: file.name } });
        }
        renderResults();
      } else {
        const error = body.error || { code: String(request.status), message: request.statusText };
        state.textContent = `${error.code}: ${error.message}`;
        state.classList.add("bad");
      }
    });
    request.addEventListener("error", () => {
      state.textContent = "the upload failed: the app did not answer";
      state.classList.add("bad");
    });
    request.send(file);
  }

  function setUpDropZone() {
    const zone = $("drop-zone");
    const input = $("file-input");
    input.addEventListener("change", () => {
      for (const file of input.files) upload(file);
      input.value = "";
    });
    for (const type of ["dragenter", "dragover"]) {
      zone.addEventListener(type, (event) => {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    }
    for (const type of ["dragleave", "drop"]) {
      zone.addEventListener(type, () => zone.classList.remove("dragging"));
    }
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      for (const file of event.dataTransfer.files) upload(file);
    });
  }

  // ---- results -----------------------------------------------------------------------

  // Blob names carry an 8-hex prefix that keeps same-named uploads apart.
  const displayName = (doc) =>
    uploadedNames.get(doc.id) || String(doc.source?.name || doc.id).replace(/^[0-9a-f]{8}-/, "");

  function bars(items, valueOf, format) {
    return el(
      "ul",
      { className: "bars" },
      items.map((item) => {
        const fill = el("span");
        fill.style.width = percent(Math.max(0, Math.min(1, valueOf(item))));
        return el("li", {}, [
          el("span", { className: "label", text: item.label }),
          el("span", { className: "bar", attrs: { "aria-hidden": "true" } }, [fill]),
          el("span", { className: "value", text: format(valueOf(item)) }),
        ]);
      }),
    );
  }

  function timeline(result) {
    const width = 300;
    const duration = Math.max(result.duration, 0.001);
    const segments = result.speech_segments || [];
    const spoken = segments.map((s) => `${fixed(s.start)}–${fixed(s.end)} s`).join(", ") || "no speech";
    const picture = svg(
      "svg",
      { viewBox: `0 0 ${width} 30`, class: "timeline", role: "img", "aria-label": `Speech at ${spoken} of ${fixed(duration)} s` },
      [svg("rect", { class: "track", x: 0, y: 4, width, height: 12, rx: 2 })],
    );
    const span = (cls, segment, y, height) => {
      const x = (segment.start / duration) * width;
      const w = Math.max(1, ((segment.end - segment.start) / duration) * width);
      return svg("rect", { class: cls, x: x.toFixed(1), y, width: w.toFixed(1), height, rx: 1 });
    };
    for (const segment of segments) picture.append(span("speech", segment, 4, 12));
    // What was said, under the speech it was heard in (its words as the mark's title).
    for (const said of result.transcript?.segments || []) {
      const mark = span("said", said, 17, 3);
      const title = svg("title");
      title.textContent = `${fixed(said.start)}–${fixed(said.end)} s: ${said.text}`;
      mark.append(title);
      picture.append(mark);
    }
    for (const [x, anchor, label] of [[0, "start", "0 s"], [width, "end", `${fixed(duration)} s`]]) {
      const text = svg("text", { x, y: 28, "text-anchor": anchor });
      text.textContent = label;
      picture.append(text);
    }
    return picture;
  }

  function keyResult(doc) {
    if (doc.status === "pending") return el("p", { className: "key meta", text: "waiting for its result…" });
    if (doc.error) {
      return el("p", { className: "key" }, [
        el("code", { className: "error-code", text: doc.error.code }),
        el("span", { text: ` ${doc.error.message}` }),
      ]);
    }
    const result = doc.result || {};
    if (doc.modality === "image") {
      return el("div", { className: "key" }, [
        bars(result.labels.slice(0, 3), (l) => l.probability, percent),
        result.text ? el("p", { className: "excerpt", text: `“${clip(result.text, 160)}”` }) : null,
        el("p", { className: "meta", text: `${result.width}×${result.height} ${result.format}${result.lines ? ` · ${result.lines.length} lines of text` : ""}` }),
      ]);
    }
    if (doc.modality === "video") {
      const said = result.audio?.transcript?.text;
      const codecs = [result.video_codec, result.audio_codec].filter(Boolean).join("/");
      return el("div", { className: "key" }, [
        bars(result.labels.slice(0, 3), (l) => l.probability, percent),
        result.audio ? timeline(result.audio) : null,
        said ? el("p", { className: "transcript", text: `“${said}”` }) : null,
        el("p", { className: "meta", text: `${fixed(result.duration)} s · ${result.frames.length} frame${result.frames.length === 1 ? "" : "s"} labelled · ${result.width}×${result.height} ${codecs}` }),
      ]);
    }
    if (doc.modality === "audio") {
      const said = result.transcript?.text;
      return el("div", { className: "key" }, [
        timeline(result),
        said ? el("p", { className: "transcript", text: `“${said}”` }) : null,
        el("p", { className: "meta", text: `${fixed(result.duration)} s · speech ${percent(result.speech_ratio)} · ${result.sample_rate} Hz` }),
      ]);
    }
    if (doc.modality === "text") {
      return el("div", { className: "key" }, [
        bars(result.labels, (l) => l.score, (v) => v.toFixed(2)),
        el("p", { className: "meta", text: `${result.tokens} tokens${result.truncated ? " · truncated" : ""}` }),
      ]);
    }
    if (doc.modality === "document") {
      const ocr = result.ocr_pages ? ` · ${result.ocr_pages} read by OCR` : "";
      const opening = (result.pages || []).map((p) => p.text).join(" ").trim();
      return el("div", { className: "key" }, [
        bars(result.labels || [], (l) => l.score, (v) => v.toFixed(2)),
        opening ? el("p", { className: "excerpt", text: clip(opening, 160) }) : null,
        el("p", { className: "meta", text: `${result.page_count} page${result.page_count === 1 ? "" : "s"}${ocr} · ${result.characters} characters` }),
      ]);
    }
    return el("p", { className: "key" });
  }

  function resultItem(doc) {
    const status = doc.status;
    const details = el("button", { className: "button", text: "Details", attrs: { type: "button" } });
    details.addEventListener("click", () => showDetail(doc.id));
    details.disabled = status === "pending";
    const timings = doc.timings_ms || {};
    const meta = [
      doc.created_at ? new Date(doc.created_at).toLocaleTimeString() : "",
      timings.inference !== undefined ? `inference ${fixed(timings.inference)} ms` : "",
      doc.cache === "hit" ? "cache hit" : "",
    ].filter(Boolean).join(" · ");
    return el("li", { className: `result ${status}`, attrs: { "data-id": doc.id, "data-status": status } }, [
      el("div", { className: "result-head" }, [
        el("span", { className: "result-name", text: displayName(doc) }),
        doc.modality ? el("span", { className: `badge ${doc.modality}`, text: doc.modality }) : null,
        el("span", { className: `status ${status}`, text: status }),
        details,
      ]),
      keyResult(doc),
      meta ? el("p", { className: "meta", text: meta }) : null,
    ]);
  }

  // Newest first; pending uploads (no created_at yet) on top.
  function renderResults() {
    const ordered = [...results.values()].sort((a, b) => String(b.created_at || "~").localeCompare(String(a.created_at || "~")));
    const list = $("result-list");
    const shown = new Map([...list.children].map((item) => [item.dataset.id, item]));
    const fresh = ordered.map((doc) => {
      const old = shown.get(doc.id);
      // Re-render only what changed, so a screen reader hears new results once.
      return old && old.dataset.status === doc.status ? old : resultItem(doc);
    });
    list.replaceChildren(...fresh);
    $("results-empty").hidden = fresh.length > 0;
  }

  function resultsQuery(extra = {}) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), ...filters, ...extra });
    return `/results?${query}`;
  }

  function showOlderButton() {
    $("results-more").hidden = !olderToken;
  }

  async function pollResults() {
    const askedUnder = filtersVersion;
    const body = await call(resultsQuery());
    if (askedUnder !== filtersVersion) return;
    mergeResults(body.results);
    if (!olderShown) olderToken = body.continuation;
    showOlderButton();
  }

  async function showOlder() {
    const button = $("results-more");
    if (!olderToken || button.disabled) return;
    // One page at a time: a second click while this one loads would ask for it again.
    button.disabled = true;
    try {
      const askedUnder = filtersVersion;
      const body = await call(resultsQuery({ continuation: olderToken }));
      if (askedUnder !== filtersVersion) return;
      olderShown = true;
      olderToken = body.continuation;
      mergeResults(body.results);
    } finally {
      button.disabled = false;
      showOlderButton();
    }
  }

  function applyFilters(event) {
    event.preventDefault();
    const form = new FormData($("result-filters"));
    filters = {};
    filtersVersion += 1;
    for (const [name, value] of form.entries()) {
      if (String(value).trim()) filters[name] = String(value).trim();
    }
    // Only the uploads still waiting stay: every result shown must meet the filters.
    for (const [id, doc] of results) if (doc.status !== "pending") results.delete(id);
    olderToken = null;
    olderShown = false;
    renderResults();
    refresh(pollResults);
  }

  const LOOKUP_STATES = {
    done: "processed: its result is shown below",
    pending: "uploaded, not processed yet",
    gone: "no longer in the incoming container; the newest result of this name is shown below",
  };

  async function lookUp(event) {
    event.preventDefault();
    const name = $("lookup-name").value.trim();
    const state = $("lookup-state");
    if (!name) return;
    state.textContent = "looking…";
    try {
      const file = await call(`/files?${new URLSearchParams({ name })}`);
      state.textContent = `${name}: ${LOOKUP_STATES[file.state] || file.state}`;
      // Shown in the detail view, not added to the list (it may not meet the filters).
      if (file.result) showDetail(file.result.id, file.result);
    } catch (error) {
      state.textContent = /not_found/.test(error.message)
        ? `${name}: no file and no result with this name`
        : error.message;
    }
  }

  // ---- search by meaning ---------------------------------------------------------------

  function searchHit(hit) {
    const details = el("button", { className: "button", text: "Details", attrs: { type: "button" } });
    details.addEventListener("click", () => refresh(async () => {
      showDetail(hit.id, await call(`/results/${encodeURIComponent(hit.id)}`));
    }));
    const matched = hit.matched === "embedding" ? "by its text" : `by “${hit.matched}”`;
    return el("li", { className: "result ok", attrs: { "data-id": hit.id } }, [
      el("div", { className: "result-head" }, [
        el("span", { className: "result-name", text: hit.name }),
        el("span", { className: `badge ${hit.modality}`, text: hit.modality }),
        el("span", { className: "score", text: hit.score.toFixed(3) }),
        details,
      ]),
      el("p", { className: "meta", text: matched }),
    ]);
  }

  async function search(event) {
    event.preventDefault();
    const form = new FormData($("search"));
    const query = new URLSearchParams();
    for (const [name, value] of form.entries()) {
      if (String(value).trim()) query.set(name, String(value).trim());
    }
    const state = $("search-state");
    if (!query.get("q")) return;
    state.textContent = "searching…";
    try {
      const body = await call(`/search?${query}`);
      $("search-results").replaceChildren(...body.results.map(searchHit));
      state.textContent = body.count
        ? `${body.count} nearest in meaning to “${body.query}”, best first`
        : `nothing stored to compare with “${body.query}”`;
    } catch (error) {
      state.textContent = error.message;
    }
  }

  function mergeResults(documents) {
    let arrived = false;
    for (const doc of documents) {
      arrived ||= results.get(doc.id)?.status !== doc.status;
      results.set(doc.id, doc);
      const state = uploadStates.get(doc.id);
      if (state) {
        state.textContent = doc.error ? `rejected · ${doc.error.code}` : "processed";
        state.classList.toggle("bad", Boolean(doc.error));
        uploadStates.delete(doc.id);
      }
    }
    renderResults();
    notice("");
    if (arrived) refresh(pollStats); // counters follow new results without waiting
  }

  // ---- the detail view ---------------------------------------------------------------

  // Long number arrays and long strings (the text embedding, as floats in schema 1 or
  // int8 base64 in schema 2) would drown the document: shown abbreviated.
  function abbreviate(key, value) {
    if (Array.isArray(value) && value.length > 12 && value.every((v) => typeof v === "number")) {
      return `[${value.slice(0, 4).map((v) => v.toFixed(4)).join(", ")}, … ${value.length} numbers]`;
    }
    if (typeof value === "string" && value.length > 120) {
      return `${value.slice(0, 24)}… (${value.length} characters)`;
    }
    return value;
  }

  // The transcript of a recording, segment by segment with its times.
  // A document's pages, each with its text and whether OCR read it.
  function documentPages(doc) {
    const pages = doc.modality === "document" ? doc.result?.pages || [] : [];
    if (!pages.length) return [];
    return [
      el("h3", { text: "Pages" }),
      el("ol", { className: "document-pages" }, pages.map((p) => el("li", {}, [
        el("span", { className: "meta", text: `page ${p.page} · ${p.source === "ocr" ? "read by OCR" : "text layer"}${p.lines ? ` · ${p.lines.length} lines` : ""} ` }),
        el("span", { text: p.text || "(no text)" }),
        p.lines ? ocrLines(p.lines) : null,
      ]))),
    ];
  }

  // A video's frames and what was said, in time order.
  function videoTimeline(doc) {
    const entries = doc.modality === "video" ? doc.result?.timeline || [] : [];
    if (!entries.length) return [];
    return [
      el("h3", { text: "Timeline" }),
      el("ol", { className: "video-timeline" }, entries.map((e) => el("li", { className: "speech" in e ? "said" : "shown" }, [
        el("span", { className: "meta", text: `${fixed(e.start)}–${fixed(e.end)} s ${"speech" in e ? "speech" : "frame"} ` }),
        el("span", { text: "speech" in e ? `“${e.speech}”` : e.labels.join(", ") + (e.text ? ` · on screen: “${e.text}”` : "") }),
      ]))),
    ];
  }

  // Lines OCR read, each with its box (x0, y0, x1, y1 in pixels) and confidence.
  function ocrLines(lines) {
    return el("ol", { className: "ocr-lines" }, lines.map((l) => el("li", {}, [
      el("span", { text: l.text }),
      el("span", { className: "meta", text: ` · box ${l.box.join(", ")} · ${percent(l.confidence)}` }),
    ])));
  }

  // The words OCR found in an image.
  function imageWords(doc) {
    const lines = doc.modality === "image" ? doc.result?.lines || [] : [];
    if (!lines.length) return [];
    return [el("h3", { text: "Words in the image" }), ocrLines(lines)];
  }

  function transcriptSegments(doc) {
    const segments = doc.modality === "audio" ? doc.result?.transcript?.segments || [] : [];
    if (!segments.length) return [];
    return [
      el("h3", { text: "Transcript" }),
      el("ol", { className: "transcript-segments" }, segments.map((s) => el("li", {}, [
        el("span", { className: "meta", text: `${fixed(s.start)}–${fixed(s.end)} s ` }),
        el("span", { text: s.text }),
      ]))),
    ];
  }

  function showDetail(id, doc = results.get(id)) {
    if (!doc) return;
    $("detail-title").textContent = displayName(doc);
    $("detail-summary").replaceChildren(keyResult(doc), ...transcriptSegments(doc), ...documentPages(doc),
      ...videoTimeline(doc), ...imageWords(doc));
    const timings = Object.entries(doc.timings_ms || {}).map(([k, v]) => `${k} ${fixed(v)} ms`).join(", ");
    const model = doc.model ? `${doc.model.name} ${doc.model.version}` : "–";
    const fields = [
      ["id", doc.id],
      ["modality", doc.modality],
      ["status", doc.status],
      ["error", doc.error ? `${doc.error.code}: ${doc.error.message}` : "–"],
      ["model", model],
      ["cache", doc.cache || "–"],
      ["timings", timings || "–"],
      ["size", doc.source?.size !== undefined ? `${doc.source.size} bytes` : "–"],
      ["sha-256", doc.content_sha256 || "–"],
      ["created", doc.created_at || "–"],
    ];
    $("detail-fields").replaceChildren(...fields.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: value })]));
    $("detail-json").textContent = JSON.stringify(doc, abbreviate, 2);
    $("detail").showModal();
    $("detail-close").focus();
  }

  // ---- counters, queues, models --------------------------------------------------------

  function fillTable(id, rows) {
    $(id).tBodies[0].replaceChildren(
      ...rows.map((cells) =>
        el("tr", {}, cells.map(([text, className], index) =>
          el(index === 0 ? "th" : "td", { text, className, attrs: index === 0 ? { scope: "row" } : {} }))),
      ),
    );
  }

  async function pollStats() {
    const stats = await call("/stats");
    $("counters-window").textContent = `From the newest ${stats.window} results of each modality.`;
    fillTable("counters", Object.entries(stats.modalities).map(([modality, c]) => [
      [modality],
      [String(c.processed), "num"],
      [String(c.rejected), "num"],
      [String(c.cache_hits), "num"],
      [fixed(c.p50_ms), "num"],
      [fixed(c.p95_ms), "num"],
    ]));
    fillTable("queues", stats.queues.map((q) => [
      [q.queue],
      [String(q.depth), "num"],
      [String(q.poison_depth), q.poison_depth ? "num bad" : "num"],
    ]));
  }

  // Each gated figure beside its threshold, as the build measured it.
  function gateText(row) {
    const gated = Object.entries(row.gate_thresholds || {}).filter(([, t]) => typeof t === "object");
    if (!gated.length) return ["no gate (kept fp32)", ""];
    const figures = gated.map(([name, t]) => {
      const value = row.gate[name];
      const bound = t.min !== undefined ? `≥ ${t.min}` : `≤ ${t.max}`;
      return `${name.replaceAll("_", " ")} ${value === undefined ? "–" : value.toFixed(3)} (${bound})`;
    });
    return [`${row.gate_passed ? "pass" : "FAIL"}: ${figures.join("; ")}`, row.gate_passed ? "gate-pass" : "gate-fail"];
  }

  async function loadModels() {
    const body = await call("/models");
    fillTable("models", body.models.map((row) => {
      const runtime = row.runtime_precision === "int8" ? row.int8_bytes : row.fp32_bytes;
      return [
        [row.name],
        [row.modality],
        [`${row.version} · ${row.runtime_precision}`],
        [megabytes(runtime), "num"],
        [megabytes(row.fp32_bytes), "num"],
        gateText(row),
      ];
    }));
  }

  async function checkHealth() {
    const pill = $("health");
    const report = await call("/health");
    const ok = report.status === "ok";
    pill.textContent = ok ? "Healthy" : `Degraded: ${Object.entries(report.checks || {}).filter(([, c]) => !c.ok).map(([n]) => n).join(", ")}`;
    pill.className = `pill ${ok ? "ok" : "bad"}`;
  }

  // ---- the lifecycle chart ------------------------------------------------------------

  function lifecycleChart(view) {
    const width = 720, height = 360, left = 56, right = 16, top = 12, split = 200, bottom = 36;
    const series = view.series;
    const lastDay = series[series.length - 1].day;
    const x = (day) => left + ((width - left - right) * day) / lastDay;
    const storedMax = Math.max(...series.map((p) => TIERS.reduce((sum, t) => sum + p.gigabytes[t], 0)));
    const costMax = Math.max(...series.map((p) => Math.max(p.cumulative_cost, p.baseline_cumulative_cost)));
    const yStored = (gb) => split - 8 - ((split - 8 - top) * gb) / storedMax;
    const yCost = (cost) => height - bottom - ((height - bottom - split - 16) * cost) / costMax;
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `Stored gigabytes by access tier, and cumulative cost, over ${lastDay + 1} days`,
    });
    // Tier areas stacked from the hottest up.
    let below = series.map(() => 0);
    for (const tier of TIERS) {
      const above = series.map((p, i) => below[i] + p.gigabytes[tier]);
      const upper = series.map((p, i) => `${x(p.day).toFixed(1)},${yStored(above[i]).toFixed(1)}`);
      const lower = series.map((p, i) => `${x(p.day).toFixed(1)},${yStored(below[i]).toFixed(1)}`).reverse();
      chart.append(svg("polygon", { class: tier.toLowerCase(), points: [...upper, ...lower].join(" ") }));
      below = above;
    }
    for (const [cls, field] of [["baseline", "baseline_cumulative_cost"], ["policy", "cumulative_cost"]]) {
      const points = series.map((p) => `${x(p.day).toFixed(1)},${yCost(p[field]).toFixed(1)}`).join(" ");
      chart.append(svg("polyline", { class: cls, points }));
    }
    const label = (text, at, y, anchor = "end") => {
      const node = svg("text", { x: at, y, "text-anchor": anchor });
      node.textContent = text;
      chart.append(node);
    };
    chart.append(svg("line", { class: "axis", x1: left, x2: width - right, y1: split - 8, y2: split - 8 }));
    chart.append(svg("line", { class: "axis", x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }));
    label(`${Math.round(storedMax)} GB`, left - 4, top + 10);
    label("0", left - 4, split - 8);
    label(`${view.currency} ${Math.round(costMax)}`, left - 4, split + 26);
    label("0", left - 4, height - bottom);
    for (const day of [0, 90, 180, 270, lastDay]) {
      label(`day ${day}`, x(day), height - bottom + 16, day === 0 ? "start" : day === lastDay ? "end" : "middle");
    }
    return chart;
  }

  async function loadLifecycle() {
    const view = await call("/lifecycle");
    $("lifecycle-chart").replaceChildren(lifecycleChart(view));
    const policy = view.policy.costs.total, baseline = view.baseline_all_hot.costs.total;
    $("lifecycle-summary").textContent =
      `${view.policy_file} on ${view.workload_file}, ${view.days} days: ` +
      `${view.currency} ${policy.toFixed(0)} with the policy against ${view.currency} ${baseline.toFixed(0)} ` +
      `all hot (−${view.savings_percent.toFixed(0)} %). Top: stored GB by tier; bottom: cumulative cost.`;
    $("lifecycle-legend").replaceChildren(
      ...TIERS.map((t) => el("li", {}, [el("span", { className: `swatch ${t.toLowerCase()}` }), el("span", { text: `${t} (GB)` })])),
      el("li", {}, [el("span", { className: "swatch policy" }), el("span", { text: "cost with the policy" })]),
      el("li", {}, [el("span", { className: "swatch baseline" }), el("span", { text: "cost all hot" })]),
    );
  }

  // ---- start -------------------------------------------------------------------------

  function every(milliseconds, task) {
    const run = () => {
      if (!document.hidden) refresh(task);
    };
    run();
    window.setInterval(run, milliseconds);
  }

  setUpDropZone();
  $("detail-close").addEventListener("click", () => $("detail").close());
  $("result-filters").addEventListener("submit", applyFilters);
  $("results-more").addEventListener("click", () => refresh(showOlder));
  $("lookup").addEventListener("submit", lookUp);
  $("search").addEventListener("submit", search);
  refresh(checkHealth);
  refresh(loadModels);
  refresh(loadLifecycle);
  every(RESULTS_EVERY_MS, pollResults);
  every(STATS_EVERY_MS, pollStats);
})();
