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
  features: { server_sync: false, max_question_chars: 4000, embedder_scripts: {} },
  backendDetails: [],
};
