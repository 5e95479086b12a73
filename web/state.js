// What the screens share: the one state object, and the browser-storage keys more than one of them reads.

export const LAST_COLLECTION = "rag-service.collection";
export const conversationKey = (collection) => `rag-service.conversation.${collection}`;

export const state = {
  collections: [],
  current: null,
  conversationId: null,
  conversations: [],
  documentsOffset: 0,
  busy: false,
  jobs: new Map(), // collection name -> its current or last job: {job, skipped (by the upload), since, base}
  features: { server_sync: false, max_question_chars: 4000, embedder_scripts: {}, sign_in: false },
  me: null, // GET /api/me: who is signed in (or which key or `local` is calling), and whether they are an admin
  backendDetails: [],
};

const ROLES = ["read", "write", "admin"];

// Whether the signed-in person's groups give at least `role` on a collection (`*` grants count for every one).
// Keys and servers without sign-in are not second-guessed here: the server answers for them.
export function may(collection, role) {
  const me = state.me;
  if (!me?.signed_in) return true;
  const least = ROLES.indexOf(role);
  return me.roles.some((r) => (r.collection === "*" || r.collection === collection) && ROLES.indexOf(r.role) >= least);
}

// Whether the person may create some collection: write on every one, or on one not created yet.
export function mayCreate() {
  const me = state.me;
  if (!me?.signed_in) return true;
  return me.roles.some((r) => ROLES.indexOf(r.role) >= 1 && (r.collection === "*" || !state.collections.some((c) => c.name === r.collection)));
}
