// The rag-service web UI: collections, uploads with live progress, documents, and a cited chat.
// It talks only to the public REST API (api.js), the same one internal tools use.

import { ApiError, apiKey, call, setApiKey, streamAnswer, streamJob, upload } from "./api.js";
import { language, setLanguage, t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
const PAGE_SIZE = 50;
const MAX_HISTORY_SENT = 20;

const state = {
  collections: [],
  current: null,
  history: [],
  documentsOffset: 0,
  busy: false,
  uploadSkipped: [], // files of the last upload that the server did not store, with why
};

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ---- messages -------------------------------------------------------------------------------

function showBanner(message, kind = "error") {
  const banner = $("#banner");
  banner.textContent = message;
  banner.className = `banner ${kind === "error" ? "" : "info"}`;
  banner.hidden = false;
  clearTimeout(showBanner.timer);
  if (kind !== "error") showBanner.timer = setTimeout(() => { banner.hidden = true; }, 4000);
}

function hideBanner() {
  $("#banner").hidden = true;
}

function describeError(error) {
  if (!(error instanceof ApiError)) return t("genericError", { message: error.message || String(error) });
  if (error.status === 0) return t("unreachable");
  if (error.status === 401) return t("unauthorized");
  if (error.status === 403) return t("forbidden");
  if (error.status === 413) return t("tooLarge", { message: error.message });
  if (error.status === 503) return t("backendDown", { message: error.message });
  return t("genericError", { message: error.message });
}

function reportError(error) {
  showBanner(describeError(error));
  if (error instanceof ApiError && error.status === 401) openKeyDialog();
}

// ---- collections ----------------------------------------------------------------------------

async function loadCollections(selectName) {
  try {
    const data = await call("GET", "/api/collections");
    state.collections = data.collections;
  } catch (error) {
    reportError(error);
    return;
  }
  renderCollections();
  const name = selectName ?? state.current?.name;
  const found = state.collections.find((c) => c.name === name);
  if (found) selectCollection(found, false);
  else if (!state.current && state.collections.length) selectCollection(state.collections[0]);
  else if (!found) showCollection(null);
}

function renderCollections() {
  const list = $("#collection-list");
  list.replaceChildren();
  if (!state.collections.length) list.append(element("li", { class: "muted" }, t("noCollections")));
  for (const collection of state.collections) {
    list.append(
      element("li", {},
        element("button", {
          type: "button",
          "aria-current": state.current?.name === collection.name ? "true" : "false",
          onclick: () => selectCollection(collection),
        }, collection.name, element("small", {}, t("stats", collection))),
      ),
    );
  }
}

function selectCollection(collection, resetChat = true) {
  const changed = state.current?.name !== collection.name;
  state.current = collection;
  if (changed && resetChat) newConversation();
  if (changed) state.documentsOffset = 0;
  showCollection(collection);
  renderCollections();
  if (!$("#panel-documents").hidden) loadDocuments();
}

function showCollection(collection) {
  $("#empty-state").hidden = Boolean(collection);
  $("#collection-view").hidden = !collection;
  if (!collection) { state.current = null; return; }
  $("#collection-title").textContent = collection.name;
  $("#collection-stats").textContent = t("stats", collection);
}

async function createCollection(event) {
  event.preventDefault();
  const form = event.target;
  const name = form.name.value.trim();
  try {
    await call("POST", "/api/collections", { name, embedder: form.embedder.value });
    form.reset();
    showBanner(t("created", { name }), "info");
    await loadCollections(name);
    selectTab("upload");
  } catch (error) {
    reportError(error);
  }
}

async function deleteCollection() {
  const name = state.current?.name;
  if (!name || !confirm(t("confirmDelete", { name }))) return;
  try {
    await call("DELETE", `/api/collections/${encodeURIComponent(name)}`);
    state.current = null;
    await loadCollections();
  } catch (error) {
    reportError(error);
  }
}

// ---- tabs -----------------------------------------------------------------------------------

function selectTab(name) {
  for (const tab of ["chat", "upload", "documents"]) {
    const selected = tab === name;
    $(`#tab-${tab}`).setAttribute("aria-selected", String(selected));
    $(`#panel-${tab}`).hidden = !selected;
  }
  if (name === "documents") loadDocuments();
  if (name === "chat") $("#question").focus();
}

// ---- upload ---------------------------------------------------------------------------------

async function filesFromDrop(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files].map((file) => ({ file, path: file.name }));
  const files = [];
  async function walk(entry, prefix) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      files.push({ file, path: prefix + entry.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  }
  for (const entry of entries) await walk(entry, "");
  return files;
}

async function uploadFiles(files) {
  if (!state.current || !files.length) return;
  const collection = state.current.name;
  const status = $("#upload-status");
  status.hidden = false;
  $("#upload-failures").replaceChildren();
  $("#upload-progress").removeAttribute("value");
  $("#upload-text").textContent = t("uploading", { count: files.length });
  let job;
  try {
    job = await upload(collection, files);
    state.uploadSkipped = job.skipped || [];
  } catch (error) {
    $("#upload-text").textContent = describeError(error);
    reportError(error);
    return;
  }
  await followJob(job.job_id, collection);
}

function renderJob(job) {
  const progress = $("#upload-progress");
  if (job.status === "queued") {
    progress.removeAttribute("value");
    $("#upload-text").textContent = t("queued");
  } else if (job.status === "running") {
    progress.max = Math.max(job.files_total, 1);
    progress.value = job.files_done;
    const step = job.current ? ` · ${job.current}` : "";  // a long step of one file: "scan.pdf: OCR page 3 of 40"
    $("#upload-text").textContent = t("progress", { done: job.files_done, total: job.files_total, chunks: job.chunks_embedded }) + step;
  } else {
    progress.max = 1;
    progress.value = 1;
    const summary = job.summary || {};
    const text = {
      done: t("done", { added: summary.added ?? 0, updated: summary.updated ?? 0, unchanged: summary.unchanged ?? 0, failed: job.failures.length }),
      failed: t("jobFailed", { error: job.error || "" }),
      cancelled: t("cancelled"),
      interrupted: t("interrupted"),
    }[job.status];
    $("#upload-text").textContent = text;
  }
  const failures = $("#upload-failures");
  failures.replaceChildren(...[...job.failures, ...state.uploadSkipped].map((f) => element("li", {}, t("failedFile", f))));
}

async function followJob(jobId, collection) {
  try {
    for await (const { data } of streamJob(jobId)) renderJob(data);
  } catch (error) {
    reportError(error);
  }
  if (state.current?.name === collection) await loadCollections(collection);
}

async function syncFolder(event) {
  event.preventDefault();
  if (!state.current) return;
  const path = $("#sync-path").value.trim();
  try {
    const job = await call("POST", `/api/collections/${encodeURIComponent(state.current.name)}/sync`, { path, watch: $("#sync-watch").checked });
    $("#upload-status").hidden = false;
    state.uploadSkipped = [];
    $("#upload-text").textContent = t("syncStarted", { path });
    await followJob(job.job_id, state.current.name);
  } catch (error) {
    reportError(error);
  }
}

// ---- documents ------------------------------------------------------------------------------

async function loadDocuments() {
  if (!state.current) return;
  const name = encodeURIComponent(state.current.name);
  let page;
  try {
    page = await call("GET", `/api/collections/${name}/documents?offset=${state.documentsOffset}&limit=${PAGE_SIZE}`);
  } catch (error) {
    reportError(error);
    return;
  }
  const rows = $("#document-rows");
  rows.replaceChildren();
  if (!page.items.length) rows.append(element("tr", {}, element("td", { colspan: 5, class: "muted" }, t("documentsEmpty"))));
  for (const doc of page.items) {
    rows.append(element("tr", {},
      element("td", { class: "path" }, doc.path),
      element("td", {}, doc.type),
      element("td", {}, doc.chunks),
      element("td", { class: `status-${doc.status}`, title: doc.error || "" }, doc.status === "failed" ? `${doc.status}: ${doc.error}` : doc.status),
      element("td", {}, element("button", { type: "button", class: "ghost danger", onclick: () => deleteDocument(doc) }, t("delete"))),
    ));
  }
  const to = Math.min(page.offset + page.items.length, page.total);
  $("#page-info").textContent = page.total ? t("page", { from: page.offset + 1, to, total: page.total }) : "";
  $("#prev-page").disabled = page.offset === 0;
  $("#next-page").disabled = to >= page.total;
}

async function deleteDocument(doc) {
  if (!confirm(t("confirmDeleteDocument", { path: doc.path }))) return;
  try {
    await call("DELETE", `/api/collections/${encodeURIComponent(state.current.name)}/documents/${doc.id}`);
    await loadCollections(state.current.name);
    await loadDocuments();
  } catch (error) {
    reportError(error);
  }
}

// ---- chat -----------------------------------------------------------------------------------

function newConversation() {
  state.history = [];
  $("#messages").replaceChildren();
}

function placeOf(item) {
  const heading = item.heading || item.heading_path;
  const section = heading ? ` · ${heading.split(" > ").pop()}` : "";
  if (item.page) return `${item.path}${section} · ${t(`${item.page_unit || "page"}N`, { page: item.page })}`;
  if (item.start_line) return `${item.path}${section} · ${t("lines", { start: item.start_line, end: item.end_line })}`;
  return `${item.path}${section}`;
}

// Answers are plain text with fenced code blocks and [n] markers; built from text nodes only, never HTML.
function renderAnswer(container, text, citations, onOpen) {
  container.replaceChildren();
  let last = 0;
  for (const fence of text.matchAll(/```[\w+-]*\n([\s\S]*?)\n?```/g)) {
    appendCited(container, text.slice(last, fence.index).replace(/^\n+|\n+$/g, ""), citations, onOpen);
    container.append(element("pre", { class: "code" }, element("code", {}, fence[1])));
    last = fence.index + fence[0].length;
  }
  appendCited(container, text.slice(last).replace(/^\n+/, ""), citations, onOpen);
}

function appendCode(container, text) {
  let last = 0;
  for (const match of text.matchAll(/`([^`\n]+)`/g)) {
    container.append(text.slice(last, match.index), element("code", {}, match[1]));
    last = match.index + match[0].length;
  }
  container.append(text.slice(last));
}

function appendCited(container, text, citations, onOpen) {
  const byNumber = new Map(citations.map((c) => [c.n, c]));
  let last = 0;
  for (const match of text.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
    appendCode(container, text.slice(last, match.index));
    for (const n of match[1].split(",").map((s) => Number(s.trim()))) {
      const citation = byNumber.get(n);
      container.append(citation
        ? element("a", { href: "#", class: "cite", "aria-label": `${t("sources")} ${n}`, onclick: (e) => { e.preventDefault(); onOpen(citation); } }, `[${n}]`)
        : `[${n}]`);
    }
    last = match.index + match[0].length;
  }
  appendCode(container, text.slice(last));
}

function sourcesList(items, onOpen) {
  return element("ol", { class: "sources" },
    items.map((item) => element("li", { value: item.n ?? item.rank },
      element("button", { type: "button", onclick: () => onOpen(item) }, placeOf(item)))));
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = element("textarea", {}, text);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = t("copied");
  setTimeout(() => { button.textContent = t("copy"); }, 1500);
}

async function ask(event) {
  event.preventDefault();
  const question = $("#question").value.trim();
  if (!question || !state.current || state.busy) return;
  hideBanner();
  state.busy = true;
  $("#ask-button").disabled = true;
  $("#question").value = "";
  const messages = $("#messages");
  messages.append(element("li", { class: "message user" }, question));
  const answer = element("div", { class: "answer" }, t("thinking"));
  const bubble = element("li", { class: "message assistant", "aria-busy": "true" }, answer);
  messages.append(bubble);
  bubble.scrollIntoView({ block: "end" });
  const request = {
    collection: state.current.name,
    top_k: Number($("#top-k").value) || 5,
  };
  try {
    if ($("#search-only").checked) await searchOnly(question, request, bubble, answer);
    else await streamChat(question, request, bubble, answer);
  } catch (error) {
    answer.textContent = describeError(error);
    answer.classList.add("error-text");
    if (error instanceof ApiError && error.status === 401) openKeyDialog();
  } finally {
    bubble.removeAttribute("aria-busy");
    state.busy = false;
    $("#ask-button").disabled = false;
    $("#question").focus();
  }
}

async function searchOnly(question, request, bubble, answer) {
  const { hits } = await call("POST", "/api/search", { ...request, query: question });
  answer.replaceChildren();
  if (!hits.length) answer.textContent = t("noHits");
  for (const hit of hits) {
    bubble.append(element("article", { class: "hit" },
      element("header", {},
        element("button", { type: "button", class: "ghost", onclick: () => openPassage(hit, question, "") }, `[${hit.rank}] ${placeOf(hit)}`),
        element("span", { class: "muted" }, t("score", { score: hit.score.toFixed(3) }))),
      element("p", {}, hit.text)));
  }
}

async function streamChat(question, request, bubble, answer) {
  const backend = $("#backend").value;
  // The server bounds the turns an ask may carry (RAG_MAX_HISTORY_TURNS, 50 by default): send the recent ones.
  const body = { ...request, question, history: state.history.slice(-MAX_HISTORY_SENT) };
  if (backend) body.llm = { backend };
  let text = "";
  let result = null;
  let failure = null;
  answer.textContent = "";
  for await (const { event, data } of streamAnswer(body)) {
    if (event === "token") {
      text += data.text;
      answer.textContent = text;
    } else if (event === "error") {
      failure = data.message;
    } else if (event === "done") {
      result = data;
    }
  }
  if (!result) return;
  const open = (item) => openPassage(item, question, result.answer);
  if (failure) {
    answer.textContent = t("backendDown", { message: failure });
    answer.classList.add("error-text");
    if (result.hits.length) bubble.append(element("h4", {}, t("sources")), sourcesList(result.hits, open));
    return;
  }
  renderAnswer(answer, result.answer, result.citations, open);
  if (!result.answered) bubble.classList.add("declined");
  if (result.citations.length) bubble.append(sourcesList(result.citations, open));
  const copyButton = element("button", { type: "button", class: "ghost", onclick: () => copyText(result.answer, copyButton) }, t("copy"));
  bubble.append(element("div", { class: "actions" }, copyButton));
  state.history.push({ role: "user", content: question }, { role: "assistant", content: result.answer });
}

// ---- passage in context ---------------------------------------------------------------------

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// What to highlight: the answer's sentences that the passage holds verbatim, else the question's words.
function highlightPattern(text, question, answerText) {
  const sentences = answerText.split(/\s*\[\d+(?:\s*,\s*\d+)*\]\s*/).map((s) => s.trim()).filter((s) => s.length > 20);
  const found = sentences.filter((s) => new RegExp(s.split(/\s+/).map(escapeRegExp).join("\\s+")).test(text));
  if (found.length) return new RegExp(found.map((s) => s.split(/\s+/).map(escapeRegExp).join("\\s+")).join("|"), "g");
  const words = [...new Set(question.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) || [])];
  return words.length ? new RegExp(words.map(escapeRegExp).join("|"), "giu") : null;
}

function highlighted(text, pattern) {
  const node = element("div", { class: "focus" });
  if (!pattern) { node.textContent = text; return node; }
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (!match[0]) continue;
    node.append(text.slice(last, match.index), element("mark", {}, match[0]));
    last = match.index + match[0].length;
  }
  node.append(text.slice(last));
  return node;
}

async function openPassage(item, question, answerText) {
  const dialog = $("#passage-dialog");
  $("#passage-title").textContent = placeOf(item);
  const body = $("#passage-body");
  body.replaceChildren(t("thinking"));
  dialog.showModal();
  try {
    const context = await call("GET", `/api/chunks/${item.chunk_id}?neighbours=1`);
    const focus = context.chunk;
    body.replaceChildren(
      ...context.before.map((c) => element("div", { class: "context" }, c.text)),
      focus.heading_path ? element("p", { class: "muted" }, focus.heading_path) : null,
      highlighted(focus.text, highlightPattern(focus.text, question, answerText)),
      ...context.after.map((c) => element("div", { class: "context" }, c.text)),
    );
    body.querySelector("mark")?.scrollIntoView({ block: "center" });
  } catch (error) {
    body.replaceChildren(describeError(error));
  }
}

// ---- API key --------------------------------------------------------------------------------

function openKeyDialog() {
  const dialog = $("#key-dialog");
  if (dialog.open) return;
  $("#key-input").value = apiKey();
  dialog.showModal();
}

function closeKeyDialog() {
  const choice = $("#key-dialog").returnValue;
  if (choice === "save") setApiKey($("#key-input").value.trim());
  if (choice === "clear") setApiKey("");
  if (choice) { hideBanner(); loadCollections(); }
}

// ---- start ----------------------------------------------------------------------------------

async function loadBackends() {
  const select = $("#backend");
  try {
    const info = await call("GET", "/api/backends");
    // Only the backends this server allows and that work now (`backends`); the default when it is one of them.
    const chosen = info.backends.includes(info.default) ? info.default : info.backends[0];
    select.replaceChildren(...info.backends.map((name) => element("option", { value: name, selected: name === chosen }, name)));
    const reasons = (info.details || []).filter((d) => d.allowed && !d.usable).map((d) => `${d.name}: ${d.reason}`);
    select.title = reasons.join("\n");
    if (info.auth_required && !apiKey()) openKeyDialog();
  } catch (error) {
    reportError(error);
  }
}

function bind() {
  $("#lang-select").value = language();
  $("#lang-select").addEventListener("change", (e) => {
    setLanguage(e.target.value);
    renderCollections();
    if (state.current) showCollection(state.current);
  });
  $("#create-form").addEventListener("submit", createCollection);
  $("#delete-collection").addEventListener("click", deleteCollection);
  for (const tab of ["chat", "upload", "documents"]) $(`#tab-${tab}`).addEventListener("click", () => selectTab(tab));
  $("#ask-form").addEventListener("submit", ask);
  $("#question").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("#ask-form").requestSubmit(); }
  });
  $("#new-chat").addEventListener("click", newConversation);
  $("#folder-input").addEventListener("change", (e) => {
    uploadFiles([...e.target.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    e.target.value = "";
  });
  $("#files-input").addEventListener("change", (e) => {
    uploadFiles([...e.target.files].map((file) => ({ file, path: file.name })));
    e.target.value = "";
  });
  const zone = $("#drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    uploadFiles(await filesFromDrop(e.dataTransfer));
  });
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("#folder-input").click(); } });
  $("#sync-form").addEventListener("submit", syncFolder);
  $("#prev-page").addEventListener("click", () => { state.documentsOffset = Math.max(0, state.documentsOffset - PAGE_SIZE); loadDocuments(); });
  $("#next-page").addEventListener("click", () => { state.documentsOffset += PAGE_SIZE; loadDocuments(); });
  $("#key-button").addEventListener("click", openKeyDialog);
  $("#key-dialog").addEventListener("close", closeKeyDialog);
}

setLanguage(language());
bind();
loadBackends();
loadCollections();
