// A cited passage in its context: the chunks before and after, with the words the answer took from it marked.

import { call } from "./api.js";
import { $, describeError, element, errorBlock } from "./dom.js";
import { t } from "./i18n.js";

// Where a passage is: path, section, and page or lines.
export function placeOf(item) {
  const heading = item.heading || item.heading_path;
  const section = heading ? ` · ${heading.split(" > ").pop()}` : "";
  if (item.page) return `${item.path}${section} · ${t(`${item.page_unit || "page"}N`, { page: item.page })}`;
  if (item.start_line) return `${item.path}${section} · ${t("lines", { start: item.start_line, end: item.end_line })}`;
  return `${item.path}${section}`;
}

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

export async function openPassage(item, question, answerText) {
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
