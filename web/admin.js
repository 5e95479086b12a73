// The admin view (issue #28), for callers GET /api/me calls admins: the audit trail (filtered, paged, downloaded
// as JSON Lines) and who may do what (the admin groups from settings, the group → collection grants, and what
// each signed-in person gets from them, in sentences). It replaces the main area; its address is #admin (the
// trail) or #admin/access, so the browser's Back leaves it and a reload keeps it. Its controls are bound here:
// app.js only starts it, tells it who is calling, and asks it to render again in another language.

import { apiKey, call, getBlob } from "./api.js";
import { $, clearErrorAt, element, showBanner, showErrorAt } from "./dom.js";
import { language, t } from "./i18n.js";
import { state } from "./state.js";

const PAGE_SIZE = 50;
const EVERY = "*";
const OTHER = "\u2026other"; // the collection select's "another name" choice (no collection can be named so)
const FROM_SETTINGS = "RAG_OIDC_ADMIN_GROUPS";
// What the service records (api/schemas.py, AuditEventOut.action), for the action filter.
const ACTIONS = [
  "ask", "search", "upload", "sync", "document.delete", "collection.create", "collection.delete",
  "conversation.create", "conversation.rename", "conversation.share", "conversation.delete", "feedback", "job.cancel",
  "sign_in", "sign_in.failed", "sign_out", "access.grant", "access.revoke", "access.keys",
  "audit.read", "audit.export", "audit.purge",
];
// The details worth a glance in the table, in this order; the rest is behind the row's expander.
const SUMMARY_FIELDS = [
  "status", "question", "query", "title", "rating", "comment", "files", "group", "collection", "role", "events",
  "removed", "reason", "path",
];

const admin = {
  tab: "audit",
  audit: { filters: {}, offset: 0, total: 0, items: [], pin: null },
  access: null, // GET /api/access's answer
  collections: [], // the names a grant may pick, read with it (a reload straight into #admin/access has no others yet)
};

const isAdmin = () => Boolean(state.me?.admin);

// ---- the view -------------------------------------------------------------------------------

// Who is calling changed (app.js has read GET /api/me into state.me): the entry shows for admins only.
export function updateAdminEntry() {
  $("#admin-button").hidden = !isAdmin();
  showView();
}

function openAdmin() {
  if (!location.hash.startsWith("#admin")) history.pushState({ admin: true }, "", "#admin");
  showView();
  $("#admin-title").focus();
}

function closeAdmin() {
  if (history.state?.admin) history.back(); // the page before it, as the browser's own Back would
  else {
    history.replaceState(null, "", location.pathname + location.search);
    showView();
  }
  $("#admin-button").focus();
}

// The address says which view shows: #admin, #admin/access, or the collections.
function showView() {
  const match = /^#admin(?:\/(audit|access))?$/.exec(location.hash);
  const open = isAdmin() && Boolean(match);
  const wasOpen = !$("#admin-view").hidden;
  $("#admin-view").hidden = !open;
  $("main.layout").hidden = open;
  $("#drawer-button").hidden = open; // the collections drawer belongs to the main area
  $("#admin-button").setAttribute("aria-expanded", String(open));
  if (open && (!wasOpen || match[1] !== admin.tab)) selectTab(match[1] || "audit");
}

function selectTab(name) {
  admin.tab = name;
  for (const tab of ["audit", "access"]) {
    $(`#tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(`#panel-${tab}`).hidden = tab !== name;
  }
  history.replaceState(history.state, "", name === "audit" ? "#admin" : "#admin/access");
  if (name === "audit") loadAudit();
  else loadAccess();
}

// Another language: what this module wrote itself is written again.
export function renderAdmin() {
  renderAudit();
  if (admin.access) renderAccess();
}

// ---- audit trail ----------------------------------------------------------------------------

// A date input's day, from its local midnight (`days` later), as the API's ISO 8601 time.
function localDay(value, days = 0) {
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year, month - 1, day + days).toISOString();
}

function readFilters() {
  const filters = {};
  const actor = $("#audit-actor").value.trim();
  const collection = $("#audit-collection").value.trim();
  if (actor) filters.actor = actor;
  if ($("#audit-action").value) filters.action = $("#audit-action").value;
  if (collection) filters.collection = collection;
  if ($("#audit-since").value) filters.since = localDay($("#audit-since").value);
  if ($("#audit-until").value) filters.until = localDay($("#audit-until").value, 1); // the whole day included
  return filters;
}

async function loadAudit(anchor = $("#audit-apply")) {
  const { filters, offset, pin } = admin.audit;
  // Each read is itself recorded: past the first page the trail is read as it was then, so that newer events
  // (this reading among them) do not push a row onto the next page twice.
  const params = { ...filters, limit: PAGE_SIZE, offset };
  if (offset > 0 && pin && !filters.until) params.until = pin;
  clearErrorAt(anchor);
  try {
    const page = await call("GET", `/api/audit?${new URLSearchParams(params)}`);
    admin.audit.items = page.items;
    admin.audit.total = page.total;
    if (offset === 0) admin.audit.pin = page.items[0] ? new Date(Date.parse(page.items[0].at) + 1).toISOString() : null;
  } catch (error) {
    showErrorAt(anchor, error);
    return;
  }
  renderAudit();
}

function timeText(iso) {
  const locale = language() === "zh" ? "zh-CN" : navigator.language?.startsWith("en") ? navigator.language : "en";
  return new Date(iso).toLocaleString(locale, { dateStyle: "medium", timeStyle: "medium" });
}

function scalar(value) {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

// A few of an event's details on one line: "status: answered · question: How do we …".
function summarize(details) {
  const parts = SUMMARY_FIELDS.filter((key) => key in details && scalar(details[key])).map((key) => `${key}: ${details[key]}`);
  if (!parts.length) {
    for (const [key, value] of Object.entries(details)) {
      parts.push(Array.isArray(value) ? `${key} (${value.length})` : scalar(value) ? `${key}: ${value}` : key);
    }
  }
  const text = parts.slice(0, 3).join(" · ");
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

function auditRow(event) {
  const details = event.details || {};
  // An empty cell says so with a dash; on a phone, where the row is a few lines, it is left out.
  const cell = (label, content) => element("td", { "data-label": label, class: content ? undefined : "empty" }, content || "—");
  return element("tr", {},
    cell(t("time"), element("time", { datetime: event.at, title: event.at }, timeText(event.at))),
    cell(t("actor"), event.actor),
    cell(t("action"), element("code", {}, event.action)),
    cell(t("collection"), event.collection),
    cell(t("target"), event.target),
    cell(t("details"), Object.keys(details).length
      ? element("details", { class: "event-details" },
        element("summary", {}, summarize(details)),
        element("pre", {}, JSON.stringify(details, null, 2)))
      : null),
  );
}

function renderAudit() {
  const { items, total, offset } = admin.audit;
  const rows = $("#audit-rows");
  rows.replaceChildren(...items.map(auditRow));
  if (!items.length) rows.append(element("tr", {}, element("td", { colspan: 6, class: "muted" }, t("auditEmpty"))));
  $("#audit-count").textContent = t("auditTotal", { count: total });
  $("#audit-page").textContent = items.length ? t("page", { from: offset + 1, to: offset + items.length, total }) : "";
  $("#audit-newer").disabled = offset === 0;
  $("#audit-older").disabled = offset + items.length >= total;
  const names = new Set(state.collections.map((c) => c.name));
  $("#audit-collections").replaceChildren(...[...names].sort().map((name) => element("option", { value: name })));
}

function applyFilters(event) {
  event.preventDefault();
  admin.audit.filters = readFilters();
  admin.audit.offset = 0;
  loadAudit();
}

function page(step) {
  admin.audit.offset = Math.max(0, admin.audit.offset + step * PAGE_SIZE);
  loadAudit($("#audit-pager"));
}

// The events the filters pick, oldest first, as a file. Without a key the browser fetches it itself (the
// session cookie goes with it) and streams it to disk; a key can only be sent by fetch, so the file is
// fetched here and handed to the browser to save.
async function downloadAudit() {
  const button = $("#audit-download");
  clearErrorAt(button);
  const path = `/api/audit/export?${new URLSearchParams(admin.audit.filters)}`;
  if (!apiKey()) {
    save(path, "");
    return;
  }
  button.disabled = true;
  try {
    const url = URL.createObjectURL(await getBlob(path));
    save(url, `audit-${new Date().toISOString().slice(0, 10)}.jsonl`);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    showErrorAt(button, error);
  } finally {
    button.disabled = false;
  }
}

function save(href, name) {
  const link = element("a", { href, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}

// ---- access ---------------------------------------------------------------------------------

async function loadAccess() {
  const anchor = $("#admin-groups-title");
  clearErrorAt(anchor);
  try {
    const [access, { collections }] = await Promise.all([call("GET", "/api/access"), call("GET", "/api/collections")]);
    admin.access = access;
    admin.collections = collections.map((c) => c.name).sort();
  } catch (error) {
    showErrorAt(anchor, error);
    return;
  }
  renderAccess();
}

const collectionText = (name) => name === EVERY ? t("everyCollection") : name;

function renderAccess() {
  const { admin_groups: groups, grants, people } = admin.access;
  $("#admin-groups").replaceChildren(...(groups.length
    ? groups.map((group) => element("li", {}, element("code", {}, group)))
    : [element("li", { class: "muted" }, t("noAdminGroups"))]));

  const rows = $("#grant-rows");
  rows.replaceChildren(...grants.map(grantRow));
  if (!grants.length) rows.append(element("tr", {}, element("td", { colspan: 5, class: "muted" }, t("noGrants"))));
  renderCollectionChoice();

  const list = $("#people-list");
  list.replaceChildren(...people.map(personItem));
  if (!people.length) list.append(element("li", { class: "muted" }, t("noPeople")));
}

function grantRow(grant) {
  const label = t("removeGrant", { group: grant.group, collection: collectionText(grant.collection), role: grant.role });
  const remove = element("button", { type: "button", class: "ghost danger", "aria-label": label, title: label }, t("remove"));
  remove.addEventListener("click", () => removeGrant(grant, remove));
  return element("tr", {},
    element("td", { "data-label": t("group") }, element("code", {}, grant.group)),
    element("td", { "data-label": t("collection") }, collectionText(grant.collection)),
    element("td", { "data-label": t("role") }, grant.role),
    element("td", { "data-label": t("givenBy"), class: "muted" },
      grant.created_by, " · ", element("time", { datetime: grant.created_at }, timeText(grant.created_at))),
    element("td", {}, remove),
  );
}

// The collection choice: every collection, each existing one, or a name not created yet (typed).
function renderCollectionChoice() {
  const select = $("#grant-collection");
  const chosen = select.value;
  const names = admin.collections;
  select.replaceChildren(
    element("option", { value: EVERY }, t("everyCollection")),
    ...names.map((name) => element("option", { value: name }, name)),
    element("option", { value: OTHER }, t("otherCollection")),
  );
  if ([EVERY, OTHER, ...names].includes(chosen)) select.value = chosen;
  else if (names.length) select.value = names[0];
  collectionChoiceChanged();
}

function collectionChoiceChanged() {
  const other = $("#grant-collection").value === OTHER;
  $("#grant-name-label").hidden = !other;
  $("#grant-name").required = other;
}

async function addGrant(event) {
  event.preventDefault();
  const button = $("#grant-add");
  clearErrorAt(button);
  const choice = $("#grant-collection").value;
  const grant = {
    group: $("#grant-group").value.trim(),
    collection: choice === OTHER ? $("#grant-name").value.trim() : choice,
    role: $("#grant-role").value,
  };
  try {
    await call("PUT", "/api/access/grants", grant);
  } catch (error) {
    showErrorAt(button, error);
    return;
  }
  $("#grant-group").value = "";
  $("#grant-name").value = "";
  showBanner(t("grantSaved", { ...grant, collection: collectionText(grant.collection) }), "info");
  await loadAccess();
}

async function removeGrant(grant, button) {
  const values = { group: grant.group, collection: collectionText(grant.collection), role: grant.role };
  if (!confirm(t("confirmRemoveGrant", values))) return;
  clearErrorAt(button);
  try {
    await call("DELETE", `/api/access/grants/${grant.id}`);
  } catch (error) {
    showErrorAt(button, error);
    return;
  }
  await loadAccess();
  $("#grant-group").focus(); // the row and its button are gone: the form is where the next change starts
}

// "alice@example.com gets team-ops: write from group ops", one clause per collection; the groups named are
// the ones that give that role (a weaker grant on the same collection changes nothing).
function rightsSentence(person) {
  const who = person.email || person.name || `#${person.id}`;
  if (!person.rights.length) return t("personNothing", { who });
  const clauses = person.rights.map((right) => {
    const giving = right.from.filter((rule) => rule.role === right.role);
    const groups = (giving.length ? giving : right.from)
      .map((rule) => rule.source === FROM_SETTINGS ? `${rule.group} (${FROM_SETTINGS})` : rule.group);
    const unique = [...new Set(groups)];
    return t("personRight", {
      collection: collectionText(right.collection), role: right.role, groups: unique.join(", "), count: unique.length,
    });
  });
  return t("personGets", { who, rights: clauses.join(t("clauseSeparator")) });
}

function personItem(person) {
  const about = [
    person.name && person.name !== person.email ? person.name : null,
    t("personGroups", { groups: person.groups.length ? person.groups.join(", ") : t("noGroups") }),
    t("lastSignIn", { time: timeText(person.last_sign_in) }),
  ].filter(Boolean).join(" · ");
  return element("li", { class: "person" },
    element("p", { class: "person-rights" }, rightsSentence(person)),
    element("p", { class: "muted person-about" }, about),
  );
}

// ---- binding --------------------------------------------------------------------------------

export function bindAdmin() {
  $("#audit-action").append(...ACTIONS.map((action) => element("option", { value: action }, action)));
  $("#admin-button").addEventListener("click", openAdmin);
  $("#admin-back").addEventListener("click", closeAdmin);
  window.addEventListener("popstate", showView);
  for (const tab of ["audit", "access"]) $(`#tab-${tab}`).addEventListener("click", () => selectTab(tab));
  $("#audit-filters").addEventListener("submit", applyFilters);
  $("#audit-filters").addEventListener("reset", () => setTimeout(() => $("#audit-filters").requestSubmit()));
  $("#audit-newer").addEventListener("click", () => page(-1));
  $("#audit-older").addEventListener("click", () => page(1));
  $("#audit-download").addEventListener("click", downloadAudit);
  $("#grant-collection").addEventListener("change", collectionChoiceChanged);
  $("#grant-form").addEventListener("submit", addGrant);
}
