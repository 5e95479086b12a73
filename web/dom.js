// Page helpers every screen uses: building elements, the banner, errors in words, the key dialog, the drawer.

import { ApiError, apiKey } from "./api.js";
import { language, t } from "./i18n.js";
import { state } from "./state.js";

export const $ = (selector) => document.querySelector(selector);

export function element(tag, attributes = {}, ...children) {
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

export function showBanner(message, kind = "error", detail = "") {
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

export function hideBanner() {
  $("#banner").hidden = true;
}

// What went wrong in the server's own words (its message names the thing and the reason), and what to do.
// A request that never reached the server, or an answer without a message, gets a sentence of ours.
export function describeError(error) {
  if (!(error instanceof ApiError)) return { text: t("genericError"), action: t("actionRetry"), detail: error.message || String(error) };
  const message = error.message || "";
  if (error.status === 0) return { text: t("unreachable"), action: t("actionUnreachable"), detail: "" };
  if (error.status === 422 && message.startsWith("question:")) {
    return { text: t("questionTooLong", { max: state.features.max_question_chars }), action: t("actionShorten"), detail: "" };
  }
  const fallback = {
    401: "unauthorized", 403: "forbidden", 404: "notFound", 409: "conflict", 413: "tooLarge", 503: "backendUnavailable", 504: "timeout",
  }[error.status] || (error.status === 400 || error.status === 422 ? "invalidInput" : "genericError");
  const action = {
    401: "actionKey", 403: "actionForbidden", 404: "actionReload", 409: "actionConflict", 413: "actionTooLarge",
    429: "actionWait", 503: "actionUnavailable", 504: "actionRetry",
  }[error.status] || (error.status === 400 || error.status === 422 ? "actionFix" : "actionRetry");
  // The server writes English: another language gets our sentence, with the server's specifics after it.
  const specific = message && message !== `http_${error.status}` ? sentence(message) : "";
  const text = !specific ? t(fallback) : language() === "en" ? specific : `${t(fallback)} (${specific})`;
  return { text, action: t(action), detail: "" };
}

// "collection 'x' already exists" → "Collection 'x' already exists."
function sentence(message) {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?。！？]$/.test(text) ? text : `${text}.`;
}

export function errorBlock({ text, action, detail }) {
  return element("div", { class: "error-text", role: "alert" }, text, action ? ` ${action}` : "",
    detail ? element("details", { class: "error-details" }, element("summary", {}, t("details")), element("pre", {}, detail)) : null);
}

// An error shown where the eye is: right after the control (or inside the area) that caused it, scrolled into
// view. `anchor` is that control; the message replaces any earlier one of the same control.
export function showErrorAt(anchor, error, { action } = {}) {
  const described = describeError(error);
  if (action) described.action = action;
  clearErrorAt(anchor);
  const block = errorBlock(described);
  block.classList.add("field-error");
  block.dataset.for = anchor.id || "";
  anchor.after(block);
  block.scrollIntoView({ block: "nearest" });
  if (error instanceof ApiError && error.status === 401) askToAuthenticate(described.text);
  return block;
}

export function clearErrorAt(anchor) {
  const next = anchor.nextElementSibling;
  if (next?.classList.contains("field-error")) next.remove();
}

// Errors that belong to no control (the page could not load its collections): the banner at the top.
export function reportError(error) {
  const { text, action, detail } = describeError(error);
  showBanner(`${text} ${action}`.trim(), "error", detail);
  if (error instanceof ApiError && error.status === 401) askToAuthenticate(text);
}

// ---- sign-in or API key (what a 401 asks for; app.js acts on the key dialog's close) -----------

// Where people sign in with the team's account, that is what a 401 asks for (a kept key is a tool's choice:
// it is asked for again); elsewhere, an API key.
export function askToAuthenticate(reason = "") {
  if (!state.features.sign_in || apiKey()) { openKeyDialog(reason); return; }
  const dialog = $("#signin-dialog");
  $("#signin-error").textContent = reason;
  $("#signin-error").hidden = !reason;
  $("#signin-go").href = `/auth/login?next=${encodeURIComponent(location.pathname + location.search)}`;
  if (!dialog.open) dialog.showModal();
}

export function openKeyDialog(reason = "") {
  const dialog = $("#key-dialog");
  $("#key-error").textContent = reason;
  $("#key-error").hidden = !reason;
  if (dialog.open) return;
  $("#key-input").value = apiKey();
  dialog.showModal();
}

// ---- drawer (phones) ------------------------------------------------------------------------

export function setDrawer(open) {
  $("#sidebar").classList.toggle("open", open);
  $("#drawer-backdrop").hidden = !open;
  $("#drawer-button").setAttribute("aria-expanded", String(open));
}
