// The public REST API, as the web UI uses it: JSON calls, uploads and Server-Sent Event streams.
// Streams are read with fetch (not EventSource) so that the API key header can be sent. A signed-in browser
// sends its session cookie instead, and with every change the CSRF token the server gave it (GET /api/me).

const KEY_STORAGE = "rag-service.apiKey";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
let csrfToken = "";

export function setCsrfToken(token) {
  csrfToken = token || "";
}

export class ApiError extends Error {
  constructor(status, code, message, body = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

function headers(method, extra = {}) {
  const key = apiKey();
  const all = key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra };
  if (csrfToken && !SAFE_METHODS.has(method)) all["X-CSRF-Token"] = csrfToken;
  return all;
}

async function send(method, path, { json, body, signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: headers(method, json !== undefined ? { "Content-Type": "application/json" } : {}),
      body: json !== undefined ? JSON.stringify(json) : body,
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "unreachable", "The server cannot be reached.");
  }
  if (!response.ok) {
    let data = {};
    try { data = await response.json(); } catch { /* not JSON: keep the status */ }
    const error = data.error || {};
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || response.statusText, data);
  }
  return response;
}

export async function call(method, path, json) {
  const response = await send(method, path, { json });
  return response.status === 204 ? null : response.json();
}

export async function upload(collection, files) {
  const form = new FormData();
  for (const { file, path } of files) form.append("files", file, path);
  const response = await send("POST", `/api/collections/${encodeURIComponent(collection)}/files`, { body: form });
  return response.json();
}

// Yields {event, data} for each Server-Sent Event of a response.
async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

export async function* streamJob(jobId, signal) {
  const response = await send("GET", `/api/jobs/${jobId}/events`, { signal });
  yield* readEvents(response);
}

export async function* streamAnswer(request, signal) {
  const response = await send("POST", "/api/ask", { json: { ...request, stream: true }, signal });
  yield* readEvents(response);
}

// A file the API sends (the audit trail's JSON Lines) as a Blob: fetch can send the key header, a link cannot.
export async function getBlob(path) {
  const response = await send("GET", path);
  return response.blob();
}
