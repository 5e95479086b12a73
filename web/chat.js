// The ask tab: the question box (length count, script hint), asking with a streamed answer or a search only,
// and the choice of answer backend.

import { ApiError, call, streamAnswer } from "./api.js";
import { showAnswer, sourcesList } from "./answers.js";
import { ensureConversation, loadConversations } from "./conversations.js";
import { $, askToAuthenticate, describeError, element, errorBlock, hideBanner, setDrawer } from "./dom.js";
import { t } from "./i18n.js";
import { openPassage, placeOf } from "./passages.js";
import { state } from "./state.js";

// Scripts an English-only embedder does not read: Han, kana, Hangul (what the issue met: Chinese questions).
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]/;

export function updateCount() {
  const length = $("#question").value.length;
  const max = state.features.max_question_chars;
  const counter = $("#question-count");
  counter.textContent = t("questionCount", { count: length, max });
  counter.classList.toggle("near-limit", length > max * 0.9);
}

export function updateScriptHint() {
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

export async function ask(event) {
  event.preventDefault();
  const box = $("#question");
  const question = box.value.trim();
  if (!question || !state.current || state.busy) return;
  hideBanner();
  state.busy = true;
  $("#ask-button").disabled = true;
  box.value = "";
  updateCount();
  updateScriptHint(); // the hint was about the question just sent
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
    if (!box.value) { box.value = question; updateCount(); updateScriptHint(); } // kept, to fix and send again
    if (error instanceof ApiError && error.status === 401) askToAuthenticate();
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

// ---- answer backends ------------------------------------------------------------------------

const backendLabel = (name) => t(`backend_${name}`) === `backend_${name}` ? name : t(`backend_${name}`);

export function renderBackends(info) {
  const select = $("#backend");
  const chosen = select.value || (info.backends.includes(info.default) ? info.default : info.backends[0]);
  // The option's text is the backend's name; its label, what people read, is translated.
  select.replaceChildren(...info.backends.map((name) => element("option", { value: name, label: backendLabel(name), selected: name === chosen }, name)));
  const reasons = (info.details || []).filter((d) => d.allowed && !d.usable).map((d) => `${d.name}: ${d.reason}`);
  select.title = reasons.join("\n");
}
