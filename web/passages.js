// A cited passage in its context: the chunks before and after, joined where they overlap and rendered as
// Markdown like the answers, with the answer's quoted text and the question's content words marked.

import { call } from "./api.js";
import { $, describeError, element, errorBlock } from "./dom.js";
import { t } from "./i18n.js";
import { balanceFences, renderMarkdown } from "./markdown.js";

// Where a passage is: path, section, and page or lines.
export function placeOf(item) {
  const heading = item.heading || item.heading_path;
  const section = heading ? ` · ${heading.split(" > ").pop()}` : "";
  if (item.page) return `${item.path}${section} · ${t(`${item.page_unit || "page"}N`, { page: item.page })}`;
  if (item.start_line) return `${item.path}${section} · ${t("lines", { start: item.start_line, end: item.end_line })}`;
  return `${item.path}${section}`;
}

const MIN_OVERLAP = 12; // shorter shared ends are chance ("the ", a newline), not the splitter's overlap

// Neighbouring chunks repeat the splitter's overlap: `next` without the start that `previous` ends with.
export function withoutOverlap(previous, next) {
  for (let length = Math.min(previous.length, next.length); length >= MIN_OVERLAP; length--) {
    if (previous.endsWith(next.slice(0, length))) return next.slice(length).replace(/^\s+/, "");
  }
  return next;
}

// The chunks in reading order, each without what the one before it already showed.
export function joinedPieces(chunks) {
  return chunks.map((chunk, i) => (i === 0 ? chunk.text : withoutOverlap(chunks[i - 1].text, chunk.text)));
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const normalise = (text) => text.replace(/[`*_]/g, "").replace(/\s+/g, " ").trim().toLowerCase();

// The answer's sentences, without citation markers and Markdown emphasis: what a block quoting them holds.
function quotedSentences(answerText) {
  return answerText.split(/\s*\[\d+(?:\s*,\s*\d+)*\]\s*|\n+/).map(normalise).filter((s) => s.length > 20);
}

// Blocks (paragraphs, list items, rows, code) that hold a sentence the answer quoted are marked as quoted.
function markQuoted(container, sentences) {
  if (!sentences.length) return;
  for (const block of container.querySelectorAll("p, li, tr, pre, blockquote, h1, h2, h3, h4, h5, h6")) {
    if (block.querySelector("p, li, tr")) continue; // the innermost block only
    const text = normalise(block.textContent);
    if (sentences.some((s) => text.includes(s) || (text.length > 20 && s.includes(text)))) block.classList.add("quoted");
  }
}

// The question's content words (the server's list: stemmed like the search, no "the" or "from"), marked where
// they stand as whole words.
function markWords(container, words) {
  if (!words.length) return;
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${words.map(escapeRegExp).join("|")})(?![\\p{L}\\p{N}_])`, "giu");
  const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const text = node.nodeValue;
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      parts.push(text.slice(last, match.index), element("mark", {}, match[0]));
      last = match.index + match[0].length;
    }
    if (!parts.length) continue;
    parts.push(text.slice(last));
    node.replaceWith(...parts);
  }
}

export async function openPassage(item, question, answerText) {
  const dialog = $("#passage-dialog");
  $("#passage-title").textContent = placeOf(item);
  const body = $("#passage-body");
  body.replaceChildren(t("thinking"));
  dialog.showModal();
  try {
    const context = await call("GET", `/api/chunks/${item.chunk_id}?neighbours=1&q=${encodeURIComponent(question)}`);
    const chunks = [...context.before, context.chunk, ...context.after];
    const pieces = balanceFences(joinedPieces(chunks));
    const focusIndex = context.before.length;
    const sections = pieces.map((piece, i) => {
      const section = element("div", { class: i === focusIndex ? "focus" : "context" });
      section.append(renderMarkdown(piece));
      return section;
    });
    const focus = sections[focusIndex];
    markQuoted(focus, quotedSentences(answerText || ""));
    for (const section of sections) markWords(section, context.highlight || []);
    const heading = context.chunk.heading_path;
    body.replaceChildren(...(heading ? [element("p", { class: "muted passage-heading" }, heading)] : []), ...sections);
    (focus.querySelector(".quoted") || focus.querySelector("mark") || focus).scrollIntoView({ block: "center" });
  } catch (error) {
    body.replaceChildren(errorBlock(describeError(error)));
  }
}
