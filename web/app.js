// The rag-service web UI: collections, uploads with live progress, documents, and a cited chat kept as saved
// conversations with feedback. It talks only to the public REST API (api.js), the same one internal tools use.

import { ApiError, apiKey, call, setApiKey, streamAnswer, streamJob, upload } from "./api.js";
import { language, setLanguage, t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
const PAGE_SIZE = 50;
const COUNTS_REFRESH_MS = 2000; // how often a running job's collection counts are fetched again
const LAST_COLLECTION = "rag-service.collection";
const conversationKey = (collection) => `rag-service.conversation.${collection}`;
// Scripts an English-only embedder does not read: Han, kana, Hangul (what the issue met: Chinese questions).
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]/;

const state = {
  collections: [],
  current: null,
  conversationId: null,
  conversations: [],
  documentsOffset: 0,
  busy: false,
  jobs: new Map(), // collection name -> its current or last job: {job, skipped (by the upload), since, base}
  features: { server_sync: false, max_question_chars: 4000, embedder_scripts: {} },
  backendDetails: [],
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

function showBanner(message, kind = "error", detail = "") {
  const banner = $("#banner");
  $("#banner-text").textContent = message;
  $("#banner-detail-text").textContent = detail;
  $("#banner-details").hidden = !detail;
  $("#banner-details").open = false;
  banner.className = `banner ${kind === "error" ? "" : "info"}`;
  banner.hidden = false;
  clearTimeout(showBanner.timer);
  if (kind !== "error") showBanner.timer = setTimeout(() => { banner.hidden = true; }, 4000);
}

function hideBanner() {
  $("#banner").hidden = true;
}

// One human sentence for the person, and the server's own words behind a "details" toggle.
function describeError(error) {
  if (!(error instanceof ApiError)) return { text: t("genericError"), detail: error.message || String(error) };
  const detail = error.message || "";
  if (error.status === 0) return { text: t("unreachable"), detail: "" };
  if (error.status === 401) return { text: t("unauthorized"), detail };
  if (error.status === 403) return { text: t("forbidden"), detail };
  if (error.status === 404) return { text: t("notFound"), detail };
  if (error.status === 413) return { text: t("tooLarge"), detail };
  if (error.status === 422 && detail.startsWith("question:")) {
    return { text: t("questionTooLong", { max: state.features.max_question_chars }), detail };
  }
  if (error.status === 400 || error.status === 422) return { text: t("invalidInput"), detail };
  if (error.status === 503) return { text: t("backendUnavailable"), detail };
  if (error.status === 504) return { text: t("timeout"), detail };
  return { text: t("genericError"), detail };
}

function errorBlock({ text, detail }) {
  return element("div", { class: "error-text" }, text,
    detail ? element("details", { class: "error-details" }, element("summary", {}, t("details")), element("pre", {}, detail)) : null);
}

function reportError(error) {
  const { text, detail } = describeError(error);
  showBanner(text, "error", detail);
  if (error instanceof ApiError && error.status === 401) openKeyDialog();
}

// ---- drawer (phones) ------------------------------------------------------------------------

function setDrawer(open) {
  $("#sidebar").classList.toggle("open", open);
  $("#drawer-backdrop").hidden = !open;
  $("#drawer-button").setAttribute("aria-expanded", String(open));
}

// ---- collections ----------------------------------------------------------------------------

const embedderLabel = (name) => t(`embedder_${name}`) === `embedder_${name}` ? name : t(`embedder_${name}`);
const stats = (collection) => t("stats", { ...collection, embedder: embedderLabel(collection.embedder) });

async function loadCollections(selectName) {
  try {
    const data = await call("GET", "/api/collections");
    state.collections = data.collections;
  } catch (error) {
    reportError(error);
    return;
  }
  renderCollections();
  const name = selectName ?? state.current?.name ?? localStorage.getItem(LAST_COLLECTION);
  const found = state.collections.find((c) => c.name === name);
  if (found) selectCollection(found);
  else if (state.collections.length) selectCollection(state.collections[0]);
  else showCollection(null);
  if (!state.collections.length) setDrawer(true); // nothing to ask yet: the create form is what to do first
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
          onclick: () => { selectCollection(collection); setDrawer(false); },
        }, collection.name, element("small", {}, stats(collection))),
      ),
    );
  }
}

function selectCollection(collection) {
  const changed = state.current?.name !== collection.name;
  state.current = collection;
  localStorage.setItem(LAST_COLLECTION, collection.name);
  showCollection(collection);
  renderCollections();
  if (changed) {
    state.documentsOffset = 0;
    renderUploadPanel();
    if (!state.jobs.has(collection.name)) restoreLastJob(collection.name);
    const saved = Number(localStorage.getItem(conversationKey(collection.name)));
    if (saved) openConversation(saved);
    else newConversation();
    loadConversations();
    updateScriptHint();
    if (!$("#panel-documents").hidden) loadDocuments();
  }
}

function showCollection(collection) {
  $("#empty-state").hidden = Boolean(collection);
  $("#collection-view").hidden = !collection;
  $("#conversations").hidden = !collection;
  if (!collection) { state.current = null; return; }
  $("#collection-title").textContent = collection.name;
  $("#collection-stats").textContent = stats(collection);
}

// A running job's collection: its counts grow file by file, so fetch them again now and then.
async function refreshCounts(name) {
  try {
    const info = await call("GET", `/api/collections/${encodeURIComponent(name)}`);
    const index = state.collections.findIndex((c) => c.name === name);
    if (index >= 0) state.collections[index] = info;
    if (state.current?.name === name) { state.current = info; showCollection(info); }
    renderCollections();
  } catch { /* the next refresh or the job's end says more */ }
}

function checkName(input) {
  input.setCustomValidity("");
  if (input.validity.patternMismatch || input.validity.tooLong || /\s/.test(input.value)) input.setCustomValidity(t("nameInvalid"));
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
    setDrawer(false);
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
    localStorage.removeItem(conversationKey(name));
    state.jobs.delete(name);
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

// The upload panel shows the selected collection's current or last job only; a message of its own otherwise.
function setUploadMessage(collection, text) {
  state.jobs.set(collection, { message: text });
  renderUploadPanel();
}

async function uploadFiles(files) {
  if (!state.current) return;
  const collection = state.current.name;
  if (!files.length) { setUploadMessage(collection, t("emptySelection")); return; }
  state.jobs.set(collection, { message: t("uploading", { count: files.length }), uploading: true });
  renderUploadPanel();
  let accepted;
  try {
    accepted = await upload(collection, files);
  } catch (error) {
    setUploadMessage(collection, describeError(error).text);
    reportError(error);
    return;
  }
  await followJob(accepted.job_id, collection, accepted.skipped || []);
}

function duration(seconds) {
  const s = Math.max(1, Math.round(seconds));
  return s >= 60 ? t("minutes", { m: Math.floor(s / 60), s: s % 60 }) : t("seconds", { s });
}

// Time left from the work seen so far: reading/splitting and embedding/writing each count half of a file.
function timeLeft(entry) {
  const job = entry.job;
  if (!job.files_total || !entry.since) return t("etaUnknown");
  const work = (job.files_read + job.files_done) / (2 * job.files_total);
  const doneSince = work - entry.base;
  const elapsed = (Date.now() - entry.since) / 1000;
  if (doneSince <= 0.01 || elapsed < 2) return t("etaUnknown");
  return t("eta", { time: duration((elapsed * (1 - work)) / doneSince) });
}

function renderUploadPanel() {
  const entry = state.current && state.jobs.get(state.current.name);
  const status = $("#upload-status");
  status.hidden = !entry;
  if (!entry) return;
  const progress = $("#upload-progress");
  $("#upload-failures").replaceChildren();
  $("#skipped-box").hidden = true;
  $("#cancel-job").hidden = true;
  $("#upload-counts").textContent = "";
  if (!entry.job) {
    if (entry.uploading) progress.removeAttribute("value");
    else { progress.max = 1; progress.value = 0; }
    progress.hidden = !entry.uploading;
    $("#upload-text").textContent = entry.message;
    return;
  }
  progress.hidden = false;
  const job = entry.job;
  if (job.status === "queued") {
    progress.removeAttribute("value");
    $("#upload-text").textContent = t("queued");
  } else if (job.status === "running") {
    progress.max = Math.max(2 * job.files_total, 1);
    progress.value = job.files_read + job.files_done;
    const step = job.current ? ` · ${job.current}` : "";  // a long step of one file: "scan.pdf: OCR page 3 of 40"
    $("#upload-text").textContent = (entry.cancelling ? t("cancelling") : timeLeft(entry)) + step;
    $("#upload-counts").textContent = t("progressRead", {
      read: job.files_read, total: job.files_total, split: job.chunks_split, embedded: job.chunks_embedded, done: job.files_done,
    });
  } else {
    progress.max = 1;
    progress.value = 1;
    const summary = job.summary || {};
    const text = {
      done: t("done", { added: summary.added ?? 0, updated: summary.updated ?? 0, unchanged: summary.unchanged ?? 0, failed: job.failures.length }),
      failed: t("jobFailed", { error: job.error || "" }),
      cancelled: t("cancelledKept", { done: job.files_done, total: job.files_total, left: Math.max(0, job.files_total - job.files_done) }),
      interrupted: t("interrupted"),
    }[job.status];
    $("#upload-text").textContent = text;
  }
  $("#cancel-job").hidden = !["queued", "running"].includes(job.status) || entry.cancelling;
  $("#upload-failures").replaceChildren(...job.failures.map((f) => element("li", {}, t("failedFile", f))));
  const skipped = [...entry.skipped, ...(job.skipped || [])];
  $("#skipped-box").hidden = !skipped.length;
  $("#skipped-summary").textContent = t("skippedCount", { count: skipped.length });
  $("#skipped-list").replaceChildren(...skipped.map((f) => element("li", {}, t("skippedFile", f))));
}

// After a reload the panel still shows the collection's last job: followed if it runs, its outcome if not.
async function restoreLastJob(collection) {
  let jobs;
  try {
    jobs = await call("GET", `/api/jobs?collection=${encodeURIComponent(collection)}`);
  } catch { return; /* nothing to show is the panel's empty state */ }
  if (!jobs.length || state.jobs.has(collection)) return;
  const job = jobs[0];
  if (job.status === "queued" || job.status === "running") { followJob(job.id, collection, job.skipped || []); return; }
  state.jobs.set(collection, { jobId: job.id, job, skipped: job.skipped || [], since: 0, base: 0 });
  if (state.current?.name === collection) renderUploadPanel();
}

async function followJob(jobId, collection, skipped) {
  const entry = { jobId, job: null, skipped, since: 0, base: 0 };
  state.jobs.set(collection, entry);
  let lastCounts = 0;
  try {
    for await (const { data } of streamJob(jobId)) {
      if (state.jobs.get(collection) !== entry) return; // a newer job of this collection took the panel
      entry.job = data;
      if (data.status === "running" && !entry.since) {
        entry.since = Date.now();
        entry.base = data.files_total ? (data.files_read + data.files_done) / (2 * data.files_total) : 0;
      }
      if (state.current?.name === collection) renderUploadPanel();
      if (data.status === "running" && Date.now() - lastCounts > COUNTS_REFRESH_MS) {
        lastCounts = Date.now();
        refreshCounts(collection);
      }
    }
  } catch (error) {
    reportError(error);
  }
  await refreshCounts(collection);
}

async function cancelJob() {
  const entry = state.current && state.jobs.get(state.current.name);
  if (!entry?.jobId) return;
  entry.cancelling = true;
  renderUploadPanel();
  try {
    await call("DELETE", `/api/jobs/${entry.jobId}`);
  } catch (error) {
    entry.cancelling = false;
    reportError(error);
  }
}

async function syncFolder(event) {
  event.preventDefault();
  if (!state.current) return;
  const path = $("#sync-path").value.trim();
  const collection = state.current.name;
  try {
    const job = await call("POST", `/api/collections/${encodeURIComponent(collection)}/sync`, { path, watch: $("#sync-watch").checked });
    setUploadMessage(collection, t("syncStarted", { path }));
    await followJob(job.job_id, collection, []);
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
    const status = t(`status_${doc.status}`);
    rows.append(element("tr", {},
      element("td", { class: "path" }, doc.path),
      element("td", {}, doc.type),
      element("td", {}, doc.chunks),
      element("td", { class: `status-${doc.status}`, title: doc.error || "" }, doc.status === "failed" ? `${status}: ${doc.error}` : status),
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
    await refreshCounts(state.current.name);
    await loadDocuments();
  } catch (error) {
    reportError(error);
  }
}

// ---- conversations --------------------------------------------------------------------------

function newConversation() {
  state.conversationId = null;
  if (state.current) localStorage.removeItem(conversationKey(state.current.name));
  $("#messages").replaceChildren();
  renderConversations();
}

async function loadConversations() {
  if (!state.current) return;
  const name = state.current.name;
  try {
    const data = await call("GET", `/api/collections/${encodeURIComponent(name)}/conversations`);
    if (state.current?.name !== name) return;
    state.conversations = data.conversations;
  } catch (error) {
    reportError(error);
    return;
  }
  renderConversations();
}

function renderConversations() {
  const list = $("#conversation-list");
  list.replaceChildren(...state.conversations.map((c) => {
    const title = c.title || t("untitled");
    return element("li", { class: "conversation", "data-id": c.id },
      element("button", {
        type: "button", class: "open", "aria-current": c.id === state.conversationId ? "true" : "false",
        onclick: () => { openConversation(c.id); setDrawer(false); },
      }, title, element("small", {}, t("turns", { count: c.turns }))),
      element("button", { type: "button", class: "ghost icon", title: t("rename"), "aria-label": `${t("rename")}: ${title}`, onclick: () => renameConversation(c) }, "✎"),
      element("button", { type: "button", class: "ghost icon danger", title: t("deleteConversation"), "aria-label": `${t("deleteConversation")}: ${title}`, onclick: () => deleteConversation(c) }, "×"),
    );
  }));
}

async function openConversation(id) {
  let conversation;
  try {
    conversation = await call("GET", `/api/conversations/${id}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) { newConversation(); return; } // deleted meanwhile
    reportError(error);
    return;
  }
  if (state.current?.name !== conversation.collection) return;
  state.conversationId = conversation.id;
  localStorage.setItem(conversationKey(conversation.collection), String(conversation.id));
  const messages = $("#messages");
  messages.replaceChildren();
  for (const turn of conversation.items) {
    messages.append(element("li", { class: "message user" }, turn.question));
    const answer = element("div", { class: "answer" });
    const bubble = element("li", { class: "message assistant" }, answer);
    messages.append(bubble);
    showAnswer(bubble, answer, { ...turn, hits: turn.passages, turn_id: turn.id }, turn.question);
  }
  messages.lastElementChild?.scrollIntoView({ block: "end" });
  renderConversations();
}

async function renameConversation(conversation) {
  const title = prompt(t("renamePrompt"), conversation.title || "");
  if (title === null || !title.trim()) return;
  try {
    await call("PATCH", `/api/conversations/${conversation.id}`, { title: title.trim() });
    await loadConversations();
  } catch (error) {
    reportError(error);
  }
}

async function deleteConversation(conversation) {
  if (!confirm(t("confirmDeleteConversation", { title: conversation.title || t("untitled") }))) return;
  try {
    await call("DELETE", `/api/conversations/${conversation.id}`);
    if (conversation.id === state.conversationId) newConversation();
    await loadConversations();
  } catch (error) {
    reportError(error);
  }
}

// ---- answers: Markdown, sanitised, with citation markers ------------------------------------

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Raw HTML in an answer (quoted from a document) is shown as text, never interpreted; DOMPurify then removes
// anything executable that Markdown itself can make (javascript: links, event attributes).
const markdown = new window.marked.Marked({ gfm: true, breaks: true });
markdown.use({ renderer: { html: (token) => escapeHtml(token.text ?? token.raw ?? "") } });
const SANITISE = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "img", "svg", "math", "iframe", "object", "embed", "video", "audio"],
  FORBID_ATTR: ["style", "class", "id"],
};
window.DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") { node.setAttribute("target", "_blank"); node.setAttribute("rel", "noopener noreferrer"); }
});

function renderAnswer(container, text, citations, onOpen) {
  // A marker after a closing fence ("``` [1]") would keep the fence open: it goes on the next line.
  const fenced = text.replace(/^([ \t]*(?:```+|~~~+))[ \t]*((?:\[\d+(?:\s*,\s*\d+)*\][ \t]*)+)$/gm, "$1\n$2");
  container.replaceChildren(window.DOMPurify.sanitize(markdown.parse(fenced), SANITISE));
  for (const pre of container.querySelectorAll("pre")) pre.classList.add("code");
  linkCitations(container, citations, onOpen);
}

// [n] markers in the rendered text (not inside code or links) become links to the cited passage.
function linkCitations(container, citations, onOpen) {
  const byNumber = new Map(citations.map((c) => [c.n, c]));
  const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement.closest("code, pre, a") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes = [];
  while (walker.nextNode()) if (/\[\d/.test(walker.currentNode.nodeValue)) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const text = node.nodeValue;
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
      parts.push(text.slice(last, match.index));
      for (const n of match[1].split(",").map((s) => Number(s.trim()))) {
        const citation = byNumber.get(n);
        parts.push(citation
          ? element("a", { href: "#", class: "cite", "aria-label": `${t("sources")} ${n}`, onclick: (e) => { e.preventDefault(); onOpen(citation); } }, `[${n}]`)
          : `[${n}]`);
      }
      last = match.index + match[0].length;
    }
    parts.push(text.slice(last));
    node.replaceWith(...parts);
  }
}

function placeOf(item) {
  const heading = item.heading || item.heading_path;
  const section = heading ? ` · ${heading.split(" > ").pop()}` : "";
  if (item.page) return `${item.path}${section} · ${t(`${item.page_unit || "page"}N`, { page: item.page })}`;
  if (item.start_line) return `${item.path}${section} · ${t("lines", { start: item.start_line, end: item.end_line })}`;
  return `${item.path}${section}`;
}

// One entry per passage, labelled with the very number its marker has in the answer ([2] stays [2]).
function sourcesList(items, onOpen) {
  const seen = new Set();
  const unique = items.filter((item) => { const n = item.n ?? item.rank; if (seen.has(n)) return false; seen.add(n); return true; });
  return element("ul", { class: "sources" },
    unique.map((item) => element("li", {},
      element("span", { class: "source-n" }, `[${item.n ?? item.rank}]`), " ",
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

function feedbackControls(turnId, given) {
  let rating = given?.rating || null;
  const note = element("span", { class: "muted feedback-note", "aria-live": "polite" });
  const comment = element("input", { type: "text", name: "comment", maxlength: 2000, "aria-label": t("commentPlaceholder"), placeholder: t("commentPlaceholder") });
  comment.value = given?.comment || "";
  const send = async (message) => {
    try {
      await call("POST", "/api/feedback", { turn_id: turnId, rating, comment: comment.value });
      note.textContent = message;
    } catch (error) {
      note.textContent = describeError(error).text;
    }
  };
  const form = element("form", { class: "feedback-comment", hidden: !rating, onsubmit: (e) => { e.preventDefault(); send(t("commentSaved")); } },
    comment, element("button", { type: "submit", class: "ghost" }, t("sendComment")));
  const thumb = (value, label, symbol) => element("button", {
    type: "button", class: "ghost thumb", "data-rating": value, "aria-label": label, title: label, "aria-pressed": String(rating === value),
    onclick: (e) => {
      rating = value;
      for (const b of e.currentTarget.parentElement.querySelectorAll(".thumb")) b.setAttribute("aria-pressed", String(b.dataset.rating === value));
      form.hidden = false;
      send(t("thanks"));
    },
  }, symbol);
  return [thumb("up", t("helpful"), `▲ ${t("helpful")}`), thumb("down", t("notHelpful"), `▼ ${t("notHelpful")}`), form, note];
}

// A finished answer (streamed now, or a saved turn reopened): Markdown, sources, copy, feedback.
function showAnswer(bubble, answer, result, question) {
  const open = (item) => openPassage(item, question, result.answer);
  renderAnswer(answer, result.answer, result.citations, open);
  if (!result.answered) bubble.classList.add("declined");
  if (result.citations.length) bubble.append(sourcesList(result.citations, open));
  const copyButton = element("button", { type: "button", class: "ghost", onclick: () => copyText(result.answer, copyButton) }, t("copy"));
  const actions = element("div", { class: "actions" }, copyButton);
  if (result.turn_id) actions.append(...feedbackControls(result.turn_id, result.feedback));
  bubble.append(actions);
}

// ---- asking ---------------------------------------------------------------------------------

function updateCount() {
  const length = $("#question").value.length;
  const max = state.features.max_question_chars;
  const counter = $("#question-count");
  counter.textContent = t("questionCount", { count: length, max });
  counter.classList.toggle("near-limit", length > max * 0.9);
}

function updateScriptHint() {
  const hint = $("#script-hint");
  const embedder = state.current?.embedder;
  const scripts = state.features.embedder_scripts[embedder] || ["latin"];
  const show = Boolean(embedder) && CJK.test($("#question").value) && !scripts.includes("cjk");
  hint.hidden = !show;
  if (!show) return;
  hint.replaceChildren(t("scriptHint"), element("a", {
    href: "#new-name",
    onclick: (e) => {
      e.preventDefault();
      $("#new-embedder").value = "multilingual";
      setDrawer(true);
      $("#new-name").focus();
    },
  }, t("createMultilingual")));
}

async function ask(event) {
  event.preventDefault();
  const box = $("#question");
  const question = box.value.trim();
  if (!question || !state.current || state.busy) return;
  hideBanner();
  state.busy = true;
  $("#ask-button").disabled = true;
  box.value = "";
  updateCount();
  const messages = $("#messages");
  messages.append(element("li", { class: "message user" }, question));
  const answer = element("div", { class: "answer" }, t("thinking"));
  const bubble = element("li", { class: "message assistant", "aria-busy": "true" }, answer);
  messages.append(bubble);
  bubble.scrollIntoView({ block: "end" });
  const request = { collection: state.current.name, top_k: Number($("#top-k").value) || 5 };
  try {
    if ($("#search-only").checked) await searchOnly(question, request, bubble, answer);
    else await streamChat(question, request, bubble, answer);
  } catch (error) {
    answer.replaceChildren(errorBlock(describeError(error)));
    if (!box.value) { box.value = question; updateCount(); } // the question is kept, to fix and send again
    if (error instanceof ApiError && error.status === 401) openKeyDialog();
  } finally {
    bubble.removeAttribute("aria-busy");
    state.busy = false;
    $("#ask-button").disabled = false;
    box.focus();
  }
}

async function searchOnly(question, request, bubble, answer) {
  const { hits } = await call("POST", "/api/search", { ...request, query: question });
  answer.replaceChildren();
  if (!hits.length) answer.textContent = t("noHits");
  for (const hit of hits) {
    const text = element("p", { class: "preview" }, hit.text);
    const toggle = element("button", {
      type: "button", class: "ghost expand", "aria-expanded": "false",
      onclick: () => {
        const expanded = text.classList.toggle("expanded");
        toggle.setAttribute("aria-expanded", String(expanded));
        toggle.textContent = expanded ? t("showLess") : t("showMore");
      },
    }, t("showMore"));
    bubble.append(element("article", { class: "hit" },
      element("header", {},
        element("button", { type: "button", class: "ghost", onclick: () => openPassage(hit, question, "") }, `[${hit.rank}] ${placeOf(hit)}`),
        element("span", { class: "muted" }, t("score", { score: hit.score.toFixed(3) }))),
      text, toggle));
  }
}

async function ensureConversation(collection) {
  if (state.conversationId) return state.conversationId;
  const created = await call("POST", "/api/conversations", { collection });
  state.conversationId = created.id;
  localStorage.setItem(conversationKey(collection), String(created.id));
  return created.id;
}

async function streamChat(question, request, bubble, answer) {
  const backend = $("#backend").value;
  const collection = request.collection;
  // The conversation's saved turns are the history: the server reads them, so none are sent.
  const body = { ...request, question, conversation_id: await ensureConversation(collection) };
  if (backend) body.llm = { backend };
  const detail = state.backendDetails.find((d) => d.name === backend);
  if (detail && detail.loaded === false) answer.textContent = t("loadingModel");
  let text = "";
  let result = null;
  let failure = null;
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
  loadConversations();
  if (failure) {
    answer.replaceChildren(errorBlock({ text: t("backendDown", { backend: backendLabel(backend || result.backend) }), detail: failure }));
    const box = $("#question");
    if (!box.value) { box.value = question; updateCount(); } // kept, to send again or to another backend
    const open = (item) => openPassage(item, question, "");
    if (result.hits.length) bubble.append(element("h4", {}, t("sources")), sourcesList(result.hits, open));
    return;
  }
  showAnswer(bubble, answer, result, question);
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
    body.replaceChildren(errorBlock(describeError(error)));
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

const backendLabel = (name) => t(`backend_${name}`) === `backend_${name}` ? name : t(`backend_${name}`);

function renderBackends(info) {
  const select = $("#backend");
  const chosen = select.value || (info.backends.includes(info.default) ? info.default : info.backends[0]);
  // The option's text is the backend's name; its label, what people read, is translated.
  select.replaceChildren(...info.backends.map((name) => element("option", { value: name, label: backendLabel(name), selected: name === chosen }, name)));
  const reasons = (info.details || []).filter((d) => d.allowed && !d.usable).map((d) => `${d.name}: ${d.reason}`);
  select.title = reasons.join("\n");
}

async function loadBackends() {
  try {
    const [info, features] = await Promise.all([call("GET", "/api/backends"), call("GET", "/api/features")]);
    // Only the backends this server allows and that work now (`backends`); the default when it is one of them.
    state.backendDetails = info.details || [];
    state.backendInfo = info;
    renderBackends(info);
    state.features = features;
    $("#sync-form").hidden = !features.server_sync;
    $("#question").maxLength = features.max_question_chars;
    updateCount();
    updateScriptHint();
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
    renderConversations();
    if (state.current) showCollection(state.current);
    if (state.backendInfo) renderBackends(state.backendInfo);
    renderUploadPanel();
    updateCount();
    updateScriptHint();
  });
  $("#drawer-button").addEventListener("click", () => setDrawer(!$("#sidebar").classList.contains("open")));
  $("#drawer-backdrop").addEventListener("click", () => setDrawer(false));
  $("#create-form").addEventListener("submit", createCollection);
  $("#new-name").addEventListener("input", (e) => checkName(e.target));
  $("#delete-collection").addEventListener("click", deleteCollection);
  for (const tab of ["chat", "upload", "documents"]) $(`#tab-${tab}`).addEventListener("click", () => selectTab(tab));
  $("#ask-form").addEventListener("submit", ask);
  $("#question").addEventListener("input", () => { updateCount(); updateScriptHint(); });
  $("#question").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("#ask-form").requestSubmit(); }
  });
  $("#new-chat").addEventListener("click", () => { newConversation(); $("#question").focus(); });
  $("#folder-input").addEventListener("change", (e) => {
    uploadFiles([...e.target.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    e.target.value = "";
  });
  $("#files-input").addEventListener("change", (e) => {
    uploadFiles([...e.target.files].map((file) => ({ file, path: file.name })));
    e.target.value = "";
  });
  // A folder with no files fires no change event in Chromium: `cancel` is what it fires instead.
  $("#folder-input").addEventListener("cancel", () => { if (state.current) setUploadMessage(state.current.name, t("emptySelection")); });
  const zone = $("#drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    uploadFiles(await filesFromDrop(e.dataTransfer));
  });
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("#folder-input").click(); } });
  $("#cancel-job").addEventListener("click", cancelJob);
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
