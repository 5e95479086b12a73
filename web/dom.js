// Page helpers every screen uses: building elements, the banner, errors in words, the key dialog, the drawer.

import { ApiError, apiKey } from "./api.js";
import { t } from "./i18n.js";
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

// One human sentence for the person, and the server's own words behind a "details" toggle.
export function describeError(error) {
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

export function errorBlock({ text, detail }) {
  return element("div", { class: "error-text" }, text,
    detail ? element("details", { class: "error-details" }, element("summary", {}, t("details")), element("pre", {}, detail)) : null);
}

export function reportError(error) {
  const { text, detail } = describeError(error);
  showBanner(text, "error", detail);
  if (error instanceof ApiError && error.status === 401) openKeyDialog();
}

// ---- API key (what a 401 asks for; app.js acts on the dialog's close) ------------------------

export function openKeyDialog() {
  const dialog = $("#key-dialog");
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
