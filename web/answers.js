// A finished answer as the chat shows it: Markdown (sanitised) with [n] citation links, its sources, copy and
// feedback. Used for answers streamed now (chat.js) and for saved turns reopened (conversations.js).

import { call } from "./api.js";
import { describeError, element } from "./dom.js";
import { t } from "./i18n.js";
import { renderMarkdown } from "./markdown.js";
import { openPassage, placeOf } from "./passages.js";

const MARKER = /\[(\d+(?:\s*,\s*\d+)*)\]/g;

// The numbers people read: an answer's markers point into the search's full list of passages ([2] is the
// second passage found), so an answer citing only the second and fourth would show [2] and [4] with no [1].
// Labels count the cited passages in the order the answer first cites them; the API keeps the hit numbers.
export function citationLabels(text, citations) {
  const known = new Set(citations.map((c) => c.n));
  const labels = new Map();
  for (const match of text.matchAll(MARKER)) {
    for (const n of match[1].split(",").map((s) => Number(s.trim()))) {
      if (known.has(n) && !labels.has(n)) labels.set(n, labels.size + 1);
    }
  }
  for (const c of citations) if (!labels.has(c.n)) labels.set(c.n, labels.size + 1);
  return labels;
}

// The answer with its markers renumbered as shown (what "Copy" copies).
function relabelled(text, labels) {
  return text.replace(MARKER, (marker, numbers) => {
    const mapped = numbers.split(",").map((s) => labels.get(Number(s.trim())));
    return mapped.every(Boolean) ? `[${mapped.join(", ")}]` : marker;
  });
}

function renderAnswer(container, text, citations, labels, onOpen) {
  // A marker after a closing fence ("``` [1]") would keep the fence open: it goes on the next line.
  const fenced = text.replace(/^([ \t]*(?:```+|~~~+))[ \t]*((?:\[\d+(?:\s*,\s*\d+)*\][ \t]*)+)$/gm, "$1\n$2");
  container.replaceChildren(renderMarkdown(fenced));
  linkCitations(container, citations, labels, onOpen);
}

// [n] markers in the rendered text (not inside code or links) become links to the cited passage.
function linkCitations(container, citations, labels, onOpen) {
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
          ? element("a", { href: "#", class: "cite", "aria-label": `${t("sources")} ${labels.get(n)}`, onclick: (e) => { e.preventDefault(); onOpen(citation); } }, `[${labels.get(n)}]`)
          : `[${n}]`);
      }
      last = match.index + match[0].length;
    }
    parts.push(text.slice(last));
    node.replaceWith(...parts);
  }
}

// One entry per passage, labelled with the number its marker shows in the answer; without labels (the closest
// passages of a partial answer, which the answer does not cite), by place alone.
export function sourcesList(items, onOpen, labels = null) {
  const seen = new Set();
  const unique = items.filter((item) => { const n = item.n ?? item.rank; if (seen.has(n)) return false; seen.add(n); return true; });
  if (labels) unique.sort((a, b) => (labels.get(a.n) ?? 0) - (labels.get(b.n) ?? 0));
  return element("ul", { class: "sources" },
    unique.map((item) => element("li", {},
      labels ? element("span", { class: "source-n" }, `[${labels.get(item.n)}]`) : null, labels ? " " : null,
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
  const labels = citationLabels(result.answer, result.citations);
  bubble.querySelector(".answer-status")?.remove();
  answer.before(answerHeader(result, question));
  renderAnswer(answer, result.answer, result.citations, labels, open);
  if (!result.answered) bubble.classList.add("declined");
  if (result.citations.length) bubble.append(sourcesList(result.citations, open, labels));
  // A partial answer: the passages that are about the question, for the reader to judge.
  if (result.status === "partial" && result.hits?.length) {
    bubble.append(element("h4", {}, t("closestPassages")), sourcesList(result.hits, open));
  }
  if (result.unsupported?.length) {
    bubble.append(element("div", { class: "unsupported", role: "note" },
      element("strong", {}, t("unsupported")), element("ul", {}, result.unsupported.map((s) => element("li", {}, s)))));
  }
  const shown = relabelled(result.answer, labels);
  const copyButton = element("button", { type: "button", class: "ghost", onclick: () => copyText(shown, copyButton) }, t("copy"));
  const actions = element("div", { class: "actions" }, copyButton);
  if (result.turn_id) actions.append(...feedbackControls(result.turn_id, result.feedback));
  bubble.append(actions);
}
