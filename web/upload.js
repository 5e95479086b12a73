// The upload tab (files, folders, a server folder to sync, each job's live progress) and the documents tab.

import { call, streamJob, upload } from "./api.js";
import { refreshCounts } from "./collections.js";
import { $, describeError, element, reportError } from "./dom.js";
import { t } from "./i18n.js";
import { state } from "./state.js";

const PAGE_SIZE = 50;
const COUNTS_REFRESH_MS = 2000; // how often a running job's collection counts are fetched again

// ---- upload ---------------------------------------------------------------------------------

export async function filesFromDrop(dataTransfer) {
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
export function setUploadMessage(collection, text) {
  state.jobs.set(collection, { message: text });
  renderUploadPanel();
}

export async function uploadFiles(files) {
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

export function renderUploadPanel() {
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
export async function restoreLastJob(collection) {
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

export async function cancelJob() {
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

export async function syncFolder(event) {
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

export async function loadDocuments() {
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

export function previousDocuments() {
  state.documentsOffset = Math.max(0, state.documentsOffset - PAGE_SIZE);
  loadDocuments();
}

export function nextDocuments() {
  state.documentsOffset += PAGE_SIZE;
  loadDocuments();
}
