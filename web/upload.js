// The upload tab (files, folders, a server folder to sync, each job's live progress) and the documents tab.

import { call, streamJob, upload } from "./api.js";
import { refreshCounts } from "./collections.js";
import { $, clearErrorAt, describeError, element, showErrorAt } from "./dom.js";
import { t } from "./i18n.js";
import { JobProgress, expectedChunks } from "./progress.js";
import { may, state } from "./state.js";

const PAGE_SIZE = 50;
const COUNTS_REFRESH_MS = 2000; // how often a running job's collection counts are fetched again
const TICK_MS = 1000; // the time left counts down between the job's own updates

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
    const { text, action } = describeError(error);
    setUploadMessage(collection, `${text} ${action}`);
    return;
  }
  await followJob(accepted.job_id, collection, accepted.skipped || []);
}

function duration(seconds) {
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return t("seconds", { s: Math.max(5, Math.round(s / 5) * 5) }); // "about 25 s", not "about 23 s"
  const rounded = s < 600 ? Math.round(s / 10) * 10 : Math.round(s / 60) * 60;
  return t("minutes", { m: Math.floor(rounded / 60), s: rounded % 60 });
}

// The running job in sentences that are true at every moment: what has been read, embedded and finished.
function runningText(entry) {
  const job = entry.job;
  if (entry.cancelling) return t("cancelling");
  const { eta, finishing } = entry.estimate;
  const step = job.current ? ` · ${job.current}` : ""; // a long step of one file: "scan.pdf: OCR page 3 of 40"
  if (finishing) return t("finishing") + step;
  return (eta === null ? t("etaUnknown") : t("eta", { time: duration(eta) })) + step;
}

function runningCounts(job) {
  if (!job.files_total) return t("findingFiles"); // the folder is still being walked
  if (!job.files_read && !job.files_done) return t("readingFiles", { count: job.files_total });
  const parts = [t("filesRead", { count: job.files_read, total: job.files_total })];
  if (job.chunks_split) {
    const expected = expectedChunks(job);
    const exact = job.files_read >= job.files_total;
    parts.push(t(exact ? "passagesEmbedded" : "passagesEmbeddedAbout", { embedded: job.chunks_embedded, count: Math.max(expected, job.chunks_embedded) }));
  }
  if (job.files_done) parts.push(t("filesFinished", { count: job.files_done, total: job.files_total }));
  return parts.join(" · ");
}

function doneText(job) {
  const summary = job.summary || {};
  const changed = (summary.added ?? 0) + (summary.updated ?? 0) + (summary.deleted ?? 0);
  if (!changed && !job.failures.length && summary.unchanged) return t("doneUnchanged", { count: summary.unchanged });
  return t("done", { added: summary.added ?? 0, updated: summary.updated ?? 0, unchanged: summary.unchanged ?? 0, failed: job.failures.length });
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
  $("#upload-note").hidden = true;
  if (!entry.job) {
    if (entry.uploading) progress.removeAttribute("value");
    else { progress.max = 1; progress.value = 0; }
    progress.hidden = !entry.uploading;
    $("#upload-text").textContent = entry.message;
    return;
  }
  progress.hidden = false;
  const job = entry.job;
  // Each snapshot of the job is measured once; between snapshots the time left only counts down.
  entry.estimate = entry.measured === job ? entry.tracker.peek() : entry.tracker.update(job);
  entry.measured = job;
  progress.max = 1;
  if (job.status === "queued") {
    progress.removeAttribute("value");
    $("#upload-text").textContent = t("queued");
  } else if (job.status === "running") {
    progress.value = entry.estimate.fraction;
    $("#upload-text").textContent = runningText(entry);
    $("#upload-counts").textContent = runningCounts(job);
  } else {
    // A finished job's bar is full; a stopped one's shows how far it got.
    progress.value = job.status === "done" ? 1 : entry.estimate.fraction;
    const left = Math.max(0, job.files_total - job.files_done);
    const text = {
      done: doneText(job),
      failed: t("jobFailed", { error: job.error || "" }),
      cancelled: t("cancelledKept", { done: job.files_done, total: job.files_total, count: left }),
      // A stopped server takes an interrupted upload up again when it starts, once (jobqueue/resume.py).
      interrupted: t(job.source !== "upload" ? "interruptedSync" : job.resumes ? "interruptedAgain" : "interrupted"),
    }[job.status];
    $("#upload-text").textContent = text;
  }
  if (job.resumes) {
    $("#upload-note").hidden = false;
    $("#upload-note").textContent = t("resumedNote");
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
  state.jobs.set(collection, { jobId: job.id, job, skipped: job.skipped || [], tracker: new JobProgress() });
  if (state.current?.name === collection) renderUploadPanel();
}

async function followJob(jobId, collection, skipped) {
  const entry = { jobId, job: null, skipped, tracker: new JobProgress() };
  state.jobs.set(collection, entry);
  const render = () => { if (entry.job && state.current?.name === collection && state.jobs.get(collection) === entry) renderUploadPanel(); };
  const ticker = setInterval(render, TICK_MS);
  let lastCounts = 0;
  try {
    for await (const { data } of streamJob(jobId)) {
      if (state.jobs.get(collection) !== entry) return; // a newer job of this collection took the panel
      entry.job = data;
      render();
      if (data.status === "running" && Date.now() - lastCounts > COUNTS_REFRESH_MS) {
        lastCounts = Date.now();
        refreshCounts(collection);
      }
    }
  } catch (error) {
    if (state.current?.name === collection) showErrorAt($("#upload-text"), error);
  } finally {
    clearInterval(ticker);
  }
  await refreshCounts(collection);
}

export async function cancelJob() {
  const entry = state.current && state.jobs.get(state.current.name);
  if (!entry?.jobId) return;
  entry.cancelling = true;
  renderUploadPanel();
  clearErrorAt($("#cancel-job"));
  try {
    await call("DELETE", `/api/jobs/${entry.jobId}`);
  } catch (error) {
    entry.cancelling = false;
    renderUploadPanel();
    showErrorAt($("#cancel-job"), error);
  }
}

export async function syncFolder(event) {
  event.preventDefault();
  if (!state.current) return;
  const path = $("#sync-path").value.trim();
  const collection = state.current.name;
  const button = $("#sync-form button[type=submit]");
  clearErrorAt(button);
  try {
    const job = await call("POST", `/api/collections/${encodeURIComponent(collection)}/sync`, { path, watch: $("#sync-watch").checked });
    setUploadMessage(collection, t("syncStarted", { path }));
    await followJob(job.job_id, collection, []);
  } catch (error) {
    showErrorAt(button, error);
  }
}

// ---- documents ------------------------------------------------------------------------------

export async function loadDocuments() {
  if (!state.current) return;
  const name = encodeURIComponent(state.current.name);
  let page;
  clearErrorAt($("#documents-table"));
  try {
    page = await call("GET", `/api/collections/${name}/documents?offset=${state.documentsOffset}&limit=${PAGE_SIZE}`);
  } catch (error) {
    showErrorAt($("#documents-table"), error);
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
      element("td", {}, may(state.current.name, "write")
        ? element("button", { type: "button", class: "ghost danger", onclick: (e) => deleteDocument(doc, e.currentTarget) }, t("delete"))
        : null),
    ));
  }
  const to = Math.min(page.offset + page.items.length, page.total);
  $("#page-info").textContent = page.total ? t("page", { from: page.offset + 1, to, total: page.total }) : "";
  $("#prev-page").disabled = page.offset === 0;
  $("#next-page").disabled = to >= page.total;
}

async function deleteDocument(doc, button) {
  if (!confirm(t("confirmDeleteDocument", { path: doc.path }))) return;
  clearErrorAt(button);
  try {
    await call("DELETE", `/api/collections/${encodeURIComponent(state.current.name)}/documents/${doc.id}`);
    await refreshCounts(state.current.name);
    await loadDocuments();
  } catch (error) {
    showErrorAt(button, error);
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
