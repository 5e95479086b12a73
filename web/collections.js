// The sidebar's collections: list, select, create, delete, and the selected one's header and counts.
// What the other screens do when the selection changes is app.js's business (setCollectionHooks), so this
// module imports none of them.

import { ApiError, call } from "./api.js";
import { $, clearErrorAt, element, reportError, setDrawer, showBanner, showErrorAt } from "./dom.js";
import { t } from "./i18n.js";
import { LAST_COLLECTION, conversationKey, may, mayCreate, state } from "./state.js";

const hooks = {
  switched: (collection) => {}, // another collection was selected: its upload panel, conversation, documents
  created: (name) => {}, // a new collection was created and selected
};

export function setCollectionHooks({ switched, created }) {
  if (switched) hooks.switched = switched;
  if (created) hooks.created = created;
}

const embedderLabel = (name) => t(`embedder_${name}`) === `embedder_${name}` ? name : t(`embedder_${name}`);
const stats = (collection) => t("stats", { ...collection, embedder: embedderLabel(collection.embedder) });

export async function loadCollections(selectName) {
  try {
    const data = await call("GET", "/api/collections");
    state.collections = data.collections;
  } catch (error) {
    reportError(error);
    return;
  }
  renderCollections();
  const name = selectName ?? state.current?.name ?? localStorage.getItem(LAST_COLLECTION);
  const found = state.collections.find((c) => c.name === name);
  if (found) selectCollection(found);
  else if (state.collections.length) selectCollection(state.collections[0]);
  else showCollection(null);
  if (!state.collections.length) setDrawer(true); // nothing to ask yet: the create form is what to do first
}

export function renderCollections() {
  $("#create-form").hidden = !mayCreate();
  const list = $("#collection-list");
  list.replaceChildren();
  if (!state.collections.length) list.append(element("li", { class: "muted" }, t("noCollections")));
  for (const collection of state.collections) {
    list.append(
      element("li", {},
        element("button", {
          type: "button",
          "aria-current": state.current?.name === collection.name ? "true" : "false",
          onclick: () => { selectCollection(collection); setDrawer(false); },
        }, collection.name, element("small", {}, stats(collection))),
      ),
    );
  }
}

function selectCollection(collection) {
  const changed = state.current?.name !== collection.name;
  state.current = collection;
  localStorage.setItem(LAST_COLLECTION, collection.name);
  showCollection(collection);
  renderCollections();
  if (changed) hooks.switched(collection);
}

export function showCollection(collection) {
  $("#empty-state").hidden = Boolean(collection);
  $("#collection-view").hidden = !collection;
  if (!collection) $("#conversations").hidden = true; // shown by conversations.js once it has any to list
  if (!collection) { state.current = null; return; }
  $("#collection-title").textContent = collection.name;
  $("#collection-stats").textContent = stats(collection);
  // A signed-in person sees only what their groups let them do here; the server checks it regardless.
  $("#delete-collection").hidden = !may(collection.name, "admin");
  $("#tab-upload").hidden = !may(collection.name, "write");
  if ($("#tab-upload").hidden && $("#tab-upload").getAttribute("aria-selected") === "true") $("#tab-chat").click();
}

// A running job's collection: its counts grow file by file, so fetch them again now and then.
export async function refreshCounts(name) {
  try {
    const info = await call("GET", `/api/collections/${encodeURIComponent(name)}`);
    const index = state.collections.findIndex((c) => c.name === name);
    if (index >= 0) state.collections[index] = info;
    if (state.current?.name === name) { state.current = info; showCollection(info); }
    renderCollections();
  } catch { /* the next refresh or the job's end says more */ }
}

export function checkName(input) {
  input.setCustomValidity("");
  if (input.validity.patternMismatch || input.validity.tooLong || /\s/.test(input.value)) input.setCustomValidity(t("nameInvalid"));
}

export async function createCollection(event) {
  event.preventDefault();
  const form = event.target;
  const name = form.name.value.trim();
  const button = form.querySelector("button[type=submit]");
  clearErrorAt(button);
  try {
    await call("POST", "/api/collections", { name, embedder: form.embedder.value });
    form.reset();
    showBanner(t("created", { name }), "info");
    await loadCollections(name);
    setDrawer(false);
    hooks.created(name);
  } catch (error) {
    const conflict = error instanceof ApiError && error.status === 409;
    showErrorAt(button, error, conflict ? { action: t("actionConflictName") } : {});
    if (conflict) form.name.focus();
  }
}

export async function deleteCollection() {
  const name = state.current?.name;
  if (!name || !confirm(t("confirmDelete", { name }))) return;
  const button = $("#delete-collection");
  clearErrorAt(button);
  try {
    await call("DELETE", `/api/collections/${encodeURIComponent(name)}`);
    localStorage.removeItem(conversationKey(name));
    state.jobs.delete(name);
    state.current = null;
    await loadCollections();
  } catch (error) {
    showErrorAt(button, error);
  }
}
