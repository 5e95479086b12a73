// The rag-service web UI: collections, uploads with live progress, documents, and a cited chat kept as saved
// conversations with feedback. It talks only to the public REST API (api.js), the same one internal tools use.
// This module starts the page: it binds the page's controls to the screens' modules and says what happens
// when another collection is selected. No build step: the browser loads these ES modules as they are.

import { bindAdmin, renderAdmin, updateAdminEntry } from "./admin.js";
import { apiKey, call, setApiKey, setCsrfToken } from "./api.js";
import { ask, renderBackends, updateCount, updateScriptHint } from "./chat.js";
import {
  checkName, createCollection, deleteCollection, loadCollections, renderCollections, setCollectionHooks, showCollection,
} from "./collections.js";
import {
  loadConversations, newConversation, openConversation, renderConversations, toggleAllConversations,
} from "./conversations.js";
import { $, askToAuthenticate, hideBanner, openKeyDialog, reportError, setDrawer } from "./dom.js";
import { language, setLanguage, t } from "./i18n.js";
import { conversationKey, state } from "./state.js";
import {
  cancelJob, filesFromDrop, loadDocuments, nextDocuments, previousDocuments, renderUploadPanel, restoreLastJob,
  setUploadMessage, syncFolder, uploadFiles,
} from "./upload.js";

// ---- tabs -----------------------------------------------------------------------------------

function selectTab(name) {
  for (const tab of ["chat", "upload", "documents"]) {
    const selected = tab === name;
    $(`#tab-${tab}`).setAttribute("aria-selected", String(selected));
    $(`#panel-${tab}`).hidden = !selected;
  }
  if (name === "documents") loadDocuments();
  if (name === "chat") $("#question").focus();
}

// Another collection selected: its upload panel, its last conversation, its documents.
function collectionSwitched(collection) {
  state.documentsOffset = 0;
  state.conversations = []; // the other collection's, until this one's are loaded
  renderUploadPanel();
  if (!state.jobs.has(collection.name)) restoreLastJob(collection.name);
  const saved = Number(localStorage.getItem(conversationKey(collection.name)));
  if (saved) openConversation(saved);
  else newConversation();
  loadConversations();
  updateScriptHint();
  if (!$("#panel-documents").hidden) loadDocuments();
}

// ---- API key --------------------------------------------------------------------------------

function closeKeyDialog() {
  const choice = $("#key-dialog").returnValue;
  if (choice === "save") setApiKey($("#key-input").value.trim());
  if (choice === "clear") setApiKey("");
  if (choice) { hideBanner(); start(); }
}

// ---- who is signed in ------------------------------------------------------------------------

// Who the server sees: a signed-in person (their name, and Sign out), or nobody yet where sign-in is on.
// Returns false when the page must wait for a sign-in before it can load anything.
async function loadMe() {
  const me = await call("GET", "/api/me");
  state.me = me;
  state.features.sign_in = me.sign_in;
  setCsrfToken(me.csrf_token);
  $("#account").hidden = !me.signed_in;
  $("#account-name").textContent = me.signed_in ? (me.name || me.email) : "";
  $("#account-name").title = me.signed_in ? t("signedInAs", { who: me.email || me.name }) : "";
  $("#sign-in-link").hidden = !me.sign_in || me.signed_in || Boolean(apiKey());
  $("#sign-in-link").href = `/auth/login?next=${encodeURIComponent(location.pathname + location.search)}`;
  if (me.sign_in && !me.signed_in && !me.actor) {
    askToAuthenticate();
    return false;
  }
  return true;
}

async function signOut() {
  try {
    const { logout_url: logoutUrl } = await call("POST", "/auth/logout");
    // The provider's own sign-out where it has one; it sends the browser back here.
    if (logoutUrl) location.assign(logoutUrl);
    else location.reload();
  } catch (error) {
    reportError(error);
  }
}

// ---- start ----------------------------------------------------------------------------------

async function loadBackends() {
  try {
    const [info, features] = await Promise.all([call("GET", "/api/backends"), call("GET", "/api/features")]);
    // Only the backends this server allows and that work now (`backends`); the default when it is one of them.
    state.backendDetails = info.details || [];
    state.backendInfo = info;
    renderBackends(info);
    state.features = features;
    $("#sync-form").hidden = !features.server_sync;
    $("#question").maxLength = features.max_question_chars;
    updateCount();
    updateScriptHint();
    // The key button only where the server asks for keys (or one is kept, to change or clear it), and not for a
    // person signed in with the team's account: keys are for tools there.
    const signedIn = Boolean(state.me?.signed_in);
    $("#key-button").hidden = signedIn || (!info.auth_required && !apiKey());
    if (info.auth_required && !apiKey() && !signedIn && !features.sign_in) openKeyDialog();
  } catch (error) {
    reportError(error);
  }
}

function bind() {
  setCollectionHooks({ switched: collectionSwitched, created: () => selectTab("upload") });
  $("#lang-select").value = language();
  $("#lang-select").addEventListener("change", (e) => {
    setLanguage(e.target.value);
    renderCollections();
    renderConversations();
    if (state.current) showCollection(state.current);
    if (state.backendInfo) renderBackends(state.backendInfo);
    renderUploadPanel();
    updateCount();
    updateScriptHint();
    renderAdmin();
  });
  $("#drawer-button").addEventListener("click", () => setDrawer(!$("#sidebar").classList.contains("open")));
  $("#drawer-backdrop").addEventListener("click", () => setDrawer(false));
  $("#create-form").addEventListener("submit", createCollection);
  $("#new-name").addEventListener("input", (e) => checkName(e.target));
  $("#delete-collection").addEventListener("click", deleteCollection);
  for (const tab of ["chat", "upload", "documents"]) $(`#tab-${tab}`).addEventListener("click", () => selectTab(tab));
  $("#ask-form").addEventListener("submit", ask);
  $("#question").addEventListener("input", () => { updateCount(); updateScriptHint(); });
  $("#question").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("#ask-form").requestSubmit(); }
  });
  $("#new-chat").addEventListener("click", () => { newConversation(); $("#question").focus(); });
  $("#folder-input").addEventListener("change", (e) => {
    uploadFiles([...e.target.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    e.target.value = "";
  });
  $("#files-input").addEventListener("change", (e) => {
    uploadFiles([...e.target.files].map((file) => ({ file, path: file.name })));
    e.target.value = "";
  });
  // A folder with no files fires no change event in Chromium: `cancel` is what it fires instead.
  $("#folder-input").addEventListener("cancel", () => { if (state.current) setUploadMessage(state.current.name, t("emptySelection")); });
  const zone = $("#drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    uploadFiles(await filesFromDrop(e.dataTransfer));
  });
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("#folder-input").click(); } });
  $("#cancel-job").addEventListener("click", cancelJob);
  $("#sync-form").addEventListener("submit", syncFolder);
  $("#prev-page").addEventListener("click", previousDocuments);
  $("#next-page").addEventListener("click", nextDocuments);
  $("#key-button").addEventListener("click", () => openKeyDialog());
  $("#more-conversations").addEventListener("click", toggleAllConversations);
  $("#key-dialog").addEventListener("close", closeKeyDialog);
  $("#sign-out").addEventListener("click", signOut);
  $("#signin-use-key").addEventListener("click", () => { $("#signin-dialog").close(); openKeyDialog(); });
  bindAdmin();
}

async function start() {
  try {
    const ready = await loadMe();
    updateAdminEntry(); // the Admin view for admins only
    if (!ready) return;
  } catch (error) {
    reportError(error);
    return;
  }
  loadBackends();
  loadCollections();
}

setLanguage(language());
// On a phone the answer options start folded: the conversation gets the screen.
if (window.matchMedia("(max-width: 760px)").matches) $("#chat-options-box").open = false;
bind();
start();
