// A finished answer as the chat shows it: Markdown (sanitised) with [n] citation links, its sources, copy and
// feedback. Used for answers streamed now (chat.js) and for saved turns reopened (conversations.js).

import { call } from "./api.js";
import { describeError, element } from "./dom.js";
import { t } from "./i18n.js";
import { openPassage, placeOf } from "./passages.js";

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

// One entry per passage, labelled with the very number its marker has in the answer ([2] stays [2]).
export function sourcesList(items, onOpen) {
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

// How sure the answer is (answered / partial / declined), and what was searched for when a follow-up was
// rewritten to stand on its own: above the answer, where the eye starts.
function answerHeader(result, question) {
  const status = result.status || (result.answered ? "answered" : "declined");
  const header = element("p", { class: "answer-status" },
    element("span", { class: `status-badge ${status}`, "data-status": status }, t(`status_${status}`)));
  const searched = result.standalone_question;
  if (searched && searched !== question) header.append(" ", element("span", { class: "searched-for muted" }, t("searchedFor", { question: searched })));
  return header;
}

// A finished answer (streamed now, or a saved turn reopened): Markdown, sources, copy, feedback.
export function showAnswer(bubble, answer, result, question) {
  const open = (item) => openPassage(item, question, result.answer);
  bubble.querySelector(".answer-status")?.remove();
  answer.before(answerHeader(result, question));
  renderAnswer(answer, result.answer, result.citations, open);
  if (!result.answered) bubble.classList.add("declined");
  if (result.citations.length) bubble.append(sourcesList(result.citations, open));
  // A partial answer: the passages that are about the question, for the reader to judge.
  if (result.status === "partial" && result.hits?.length) {
    bubble.append(element("h4", {}, t("closestPassages")), sourcesList(result.hits, open));
  }
  if (result.unsupported?.length) {
    bubble.append(element("div", { class: "unsupported", role: "note" },
      element("strong", {}, t("unsupported")), element("ul", {}, result.unsupported.map((s) => element("li", {}, s)))));
  }
  const copyButton = element("button", { type: "button", class: "ghost", onclick: () => copyText(result.answer, copyButton) }, t("copy"));
  const actions = element("div", { class: "actions" }, copyButton);
  if (result.turn_id) actions.append(...feedbackControls(result.turn_id, result.feedback));
  bubble.append(actions);
}
