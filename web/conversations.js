// Saved conversations of the selected collection: the sidebar list, opening one (its turns shown again),
// renaming, deleting, sharing, and starting a new one.
//
// Where people sign in, a person's conversation is theirs (`mine`) and private until they share it with the
// collection; another person's shared one (`owner`, not `mine`) may be read here, not changed or continued: a
// question asked in it starts a new conversation. One without an owner (API keys, no sign-in) is anyone's.

import { ApiError, call } from "./api.js";
import { showAnswer } from "./answers.js";
import { $, clearErrorAt, element, setDrawer, showErrorAt } from "./dom.js";
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
    clearErrorAt($("#conversation-list"));
  } catch (error) {
    $("#conversations").hidden = false; // the list's own place, even while it has nothing to list
    showErrorAt($("#conversation-list"), error);
    return;
  }
  renderConversations();
}

// May the caller continue, rename and delete it: theirs, or the collection's (no owner).
const editable = (c) => c.mine || !c.owner;

const SHOWN = 8; // newest first; the rest behind "Show all", so the sidebar does not grow without limit
let showAll = false;

// The list is one stop for Tab: arrow keys move between conversations (the focused one is the only one Tab
// reaches), and only the open conversation's rename, delete and share buttons are in the tab order.
function moveFocus(event) {
  const buttons = [...$("#conversation-list").querySelectorAll("button.open")];
  const index = buttons.indexOf(event.target);
  if (index < 0) return;
  const target = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: buttons.length - 1 }[event.key];
  if (target === undefined) return;
  event.preventDefault();
  const next = buttons[Math.max(0, Math.min(buttons.length - 1, target))];
  for (const b of buttons) b.tabIndex = b === next ? 0 : -1;
  next.focus();
}

export function renderConversations() {
  const list = $("#conversation-list");
  const conversations = state.conversations;
  $("#conversations").hidden = !state.current || !conversations.length;
  const currentIndex = conversations.findIndex((c) => c.id === state.conversationId);
  // The open conversation stays listed even when it is older than the ones shown.
  const shown = showAll ? conversations : conversations.filter((c, i) => i < SHOWN || i === currentIndex);
  const focusable = currentIndex >= 0 ? state.conversationId : shown[0]?.id;
  list.replaceChildren(...shown.map((c) => {
    const title = c.title || t("untitled");
    const current = c.id === state.conversationId;
    const tab = current ? 0 : -1; // rename, delete, share: in the tab order for the open conversation only
    const mayChange = editable(c);
    const share = c.shared ? t("stopSharing") : t("shareConversation");
    const marked = c.mine ? t("sharedMark") : t("sharedBy", { owner: c.owner });
    const mark = c.shared ? element("span", { class: "shared-mark", title: marked }, marked) : null;
    return element("li", { class: "conversation", "data-id": c.id },
      element("button", {
        type: "button", class: "open", title, "aria-current": current ? "true" : "false", tabindex: c.id === focusable ? 0 : -1,
        onclick: () => { openConversation(c.id); setDrawer(false); },
        onkeydown: (e) => {
          if (mayChange && e.key === "F2") { e.preventDefault(); renameConversation(c); } else if (mayChange && e.key === "Delete") { e.preventDefault(); deleteConversation(c); } else if (c.mine && (e.key === "s" || e.key === "S")) { e.preventDefault(); shareConversation(c); } else moveFocus(e);
        },
      }, element("span", { class: "title" }, title), element("small", {}, t("turns", { count: c.turns }), mark && " · ", mark)),
      mayChange ? element("button", { type: "button", class: "ghost icon", tabindex: tab, title: t("rename"), "aria-label": `${t("rename")}: ${title}`, onclick: () => renameConversation(c) }, "✎") : null,
      mayChange ? element("button", { type: "button", class: "ghost icon danger", tabindex: tab, title: t("deleteConversation"), "aria-label": `${t("deleteConversation")}: ${title}`, onclick: () => deleteConversation(c) }, "×") : null,
      c.mine ? element("button", { type: "button", class: "ghost icon share", tabindex: tab, title: share, "aria-label": `${share}: ${title}`, "aria-pressed": c.shared ? "true" : "false", onclick: () => shareConversation(c) }, "⤴") : null,
    );
  }));
  const more = $("#more-conversations");
  more.hidden = conversations.length <= SHOWN;
  more.textContent = showAll ? t("fewerConversations") : t("moreConversations", { count: conversations.length });
  more.setAttribute("aria-expanded", String(showAll));
}

export function toggleAllConversations() {
  showAll = !showAll;
  renderConversations();
}

export async function openConversation(id) {
  let conversation;
  try {
    conversation = await call("GET", `/api/conversations/${id}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) { newConversation(); return; } // deleted meanwhile
    showErrorAt($("#messages"), error);
    return;
  }
  if (state.current?.name !== conversation.collection) return;
  state.conversationId = conversation.id;
  localStorage.setItem(conversationKey(conversation.collection), String(conversation.id));
  const messages = $("#messages");
  messages.replaceChildren();
  const readOnly = !editable(conversation); // another person's, shared: no feedback, no follow-up in it
  if (readOnly) messages.append(element("li", { class: "shared-note muted" }, t("sharedReadOnly", { owner: conversation.owner })));
  for (const turn of conversation.items) {
    messages.append(element("li", { class: "message user" }, turn.question));
    const answer = element("div", { class: "answer" });
    const bubble = element("li", { class: "message assistant" }, answer);
    messages.append(bubble);
    showAnswer(bubble, answer, { ...turn, hits: turn.passages, turn_id: readOnly ? null : turn.id }, turn.question);
  }
  messages.lastElementChild?.scrollIntoView({ block: "end" });
  renderConversations();
}

async function renameConversation(conversation) {
  const title = prompt(t("renamePrompt"), conversation.title || "");
  if (title === null || !title.trim()) return;
  const anchor = $("#conversation-list");
  clearErrorAt(anchor);
  try {
    await call("PATCH", `/api/conversations/${conversation.id}`, { title: title.trim() });
    await loadConversations();
  } catch (error) {
    showErrorAt(anchor, error);
  }
}

async function shareConversation(conversation) {
  const anchor = $("#conversation-list");
  clearErrorAt(anchor);
  try {
    await call("POST", `/api/conversations/${conversation.id}/share`, { shared: !conversation.shared });
    await loadConversations();
  } catch (error) {
    showErrorAt(anchor, error);
  }
}

async function deleteConversation(conversation) {
  if (!confirm(t("confirmDeleteConversation", { title: conversation.title || t("untitled") }))) return;
  const anchor = $("#conversation-list");
  clearErrorAt(anchor);
  try {
    await call("DELETE", `/api/conversations/${conversation.id}`);
    if (conversation.id === state.conversationId) newConversation();
    await loadConversations();
  } catch (error) {
    showErrorAt(anchor, error);
  }
}

// The conversation a question goes to: the open one, or a new one created now. Another person's shared
// conversation is read, not continued: the question (the last two messages, just shown) starts a new one.
export async function ensureConversation(collection) {
  const open = state.conversations.find((c) => c.id === state.conversationId);
  if (open && !editable(open)) {
    const messages = $("#messages");
    messages.replaceChildren(...[...messages.children].slice(-2));
    state.conversationId = null;
  }
  if (state.conversationId) return state.conversationId;
  const created = await call("POST", "/api/conversations", { collection });
  state.conversationId = created.id;
  localStorage.setItem(conversationKey(collection), String(created.id));
  return created.id;
}
