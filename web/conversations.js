// Saved conversations of the selected collection: the sidebar list, opening one (its turns shown again),
// renaming, deleting, and starting a new one.

import { ApiError, call } from "./api.js";
import { showAnswer } from "./answers.js";
import { $, element, reportError, setDrawer } from "./dom.js";
import { t } from "./i18n.js";
import { conversationKey, state } from "./state.js";

export function newConversation() {
  state.conversationId = null;
  if (state.current) localStorage.removeItem(conversationKey(state.current.name));
  $("#messages").replaceChildren();
  renderConversations();
}

export async function loadConversations() {
  if (!state.current) return;
  const name = state.current.name;
  try {
    const data = await call("GET", `/api/collections/${encodeURIComponent(name)}/conversations`);
    if (state.current?.name !== name) return;
    state.conversations = data.conversations;
  } catch (error) {
    reportError(error);
    return;
  }
  renderConversations();
}

export function renderConversations() {
  const list = $("#conversation-list");
  list.replaceChildren(...state.conversations.map((c) => {
    const title = c.title || t("untitled");
    return element("li", { class: "conversation", "data-id": c.id },
      element("button", {
        type: "button", class: "open", "aria-current": c.id === state.conversationId ? "true" : "false",
        onclick: () => { openConversation(c.id); setDrawer(false); },
      }, title, element("small", {}, t("turns", { count: c.turns }))),
      element("button", { type: "button", class: "ghost icon", title: t("rename"), "aria-label": `${t("rename")}: ${title}`, onclick: () => renameConversation(c) }, "✎"),
      element("button", { type: "button", class: "ghost icon danger", title: t("deleteConversation"), "aria-label": `${t("deleteConversation")}: ${title}`, onclick: () => deleteConversation(c) }, "×"),
    );
  }));
}

export async function openConversation(id) {
  let conversation;
  try {
    conversation = await call("GET", `/api/conversations/${id}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) { newConversation(); return; } // deleted meanwhile
    reportError(error);
    return;
  }
  if (state.current?.name !== conversation.collection) return;
  state.conversationId = conversation.id;
  localStorage.setItem(conversationKey(conversation.collection), String(conversation.id));
  const messages = $("#messages");
  messages.replaceChildren();
  for (const turn of conversation.items) {
    messages.append(element("li", { class: "message user" }, turn.question));
    const answer = element("div", { class: "answer" });
    const bubble = element("li", { class: "message assistant" }, answer);
    messages.append(bubble);
    showAnswer(bubble, answer, { ...turn, hits: turn.passages, turn_id: turn.id }, turn.question);
  }
  messages.lastElementChild?.scrollIntoView({ block: "end" });
  renderConversations();
}

async function renameConversation(conversation) {
  const title = prompt(t("renamePrompt"), conversation.title || "");
  if (title === null || !title.trim()) return;
  try {
    await call("PATCH", `/api/conversations/${conversation.id}`, { title: title.trim() });
    await loadConversations();
  } catch (error) {
    reportError(error);
  }
}

async function deleteConversation(conversation) {
  if (!confirm(t("confirmDeleteConversation", { title: conversation.title || t("untitled") }))) return;
  try {
    await call("DELETE", `/api/conversations/${conversation.id}`);
    if (conversation.id === state.conversationId) newConversation();
    await loadConversations();
  } catch (error) {
    reportError(error);
  }
}

// The conversation a question goes to: the open one, or a new one created now.
export async function ensureConversation(collection) {
  if (state.conversationId) return state.conversationId;
  const created = await call("POST", "/api/conversations", { collection });
  state.conversationId = created.id;
  localStorage.setItem(conversationKey(collection), String(created.id));
  return created.id;
}
