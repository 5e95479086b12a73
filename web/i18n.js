// Interface strings in English and Simplified Chinese. The browser's language picks one; the switch overrides.

const STRINGS = {
  en: {
    apiKey: "API key", language: "Language", collections: "Collections", newCollection: "New collection",
    namePlaceholder: "team-docs", embedder: "Embedder", embedderEnglish: "English (MiniLM)",
    embedderMultilingual: "Multilingual / 中文", create: "Create", welcomeTitle: "Ask your documents",
    welcomeText: "Create a collection, upload a folder of documents, then ask questions. Every answer cites the passages it came from.",
    deleteCollection: "Delete collection", tabChat: "Ask", tabUpload: "Upload", tabDocuments: "Documents",
    searchOnly: "Search only (show passages, no answer)", topK: "Passages", backend: "Answer with",
    newChat: "New conversation", question: "Question", questionPlaceholder: "Ask a question about your documents…",
    ask: "Ask", dropHere: "Drop a folder or files here", chooseFolder: "Choose folder", chooseFiles: "Choose files or .zip",
    serverFolder: "Server folder", serverFolderHelp: "Ingest a folder on the server (allowed roots only) and optionally watch it for changes.",
    syncPlaceholder: "/srv/docs", watch: "Watch for changes", sync: "Sync", path: "Path", type: "Type", chunks: "Chunks",
    status: "Status", previous: "Previous", next: "Next", close: "Close", clear: "Clear", save: "Save",
    keyHelp: "The server requires an API key. It is kept in this browser only.",
    stats: "{documents} documents · {chunks} chunks · {embedder}",
    noCollections: "No collections yet.", confirmDelete: "Delete collection “{name}” and all its documents?",
    confirmDeleteDocument: "Remove “{path}” from the collection?", delete: "Delete",
    uploading: "Uploading {count} files…", queued: "Waiting for an earlier ingest to finish…",
    progress: "{done} of {total} files · {chunks} chunks embedded", done: "Done: {added} added, {updated} updated, {unchanged} unchanged, {failed} failed.",
    jobFailed: "Ingest failed: {error}", cancelled: "Ingest cancelled.", interrupted: "Ingest interrupted: its process stopped. It resumes by itself when the server starts again.",
    interruptedAgain: "Ingest interrupted again after it was resumed. Upload again to finish.",
    interruptedSync: "Ingest interrupted: its process stopped. Sync the folder again to finish.",
    resumedNote: "This upload was interrupted when the server stopped, and resumed by itself when it started again.", cancel: "Cancel",
    failedFile: "{path}: {reason}", sources: "Sources", copy: "Copy", copied: "Copied",
    status_answered: "Answered", status_partial: "Partial: the documents may not answer this", status_declined: "Not in the documents",
    searchedFor: "Searched for: {question}", closestPassages: "Closest passages",
    unsupported: "Not supported by the passages (check before relying on it):",
    thinking: "Searching…", noHits: "No matching passages.", score: "score {score}",
    unreachable: "The server cannot be reached. Is rag-service running?",
    unauthorized: "The server needs a valid API key.", forbidden: "This API key may not do that.", page: "{from}–{to} of {total}", passageIn: "{location}",
    created: "Collection “{name}” created.", syncStarted: "Syncing {path}…", documentsEmpty: "No documents yet.",
    lines: "lines {start}–{end}", pageN: "page {page}", slideN: "slide {page}", sheetN: "sheet {page}", chapterN: "chapter {page}",
    conversations: "Conversations", untitled: "Untitled conversation", rename: "Rename", renamePrompt: "New name for this conversation:",
    deleteConversation: "Delete conversation", confirmDeleteConversation: "Delete the conversation “{title}”? Its answers are gone for good; feedback given on them is kept.",
    turns: "{count} questions", helpful: "Helpful", notHelpful: "Not helpful", commentPlaceholder: "What was right or wrong? (optional)",
    sendComment: "Send", thanks: "Thanks, your feedback was saved.", commentSaved: "Comment saved.",
    nameRules: "Up to 64 letters, digits, “_”, “-” or “.”, starting with a letter or digit; no spaces.",
    nameInvalid: "Use only letters, digits, “_”, “-” or “.”, start with a letter or digit, at most 64 characters, no spaces.",
    details: "Details", questionCount: "{count} / {max} characters", questionTooLong: "The question is too long: at most {max} characters.",
    scriptHint: "This collection’s English model does not read this language, so answers may miss. ", createMultilingual: "Create a multilingual collection",
    loadingModel: "Loading the answer model… the first answer can take a while.",
    backendDown: "The answer backend “{backend}” is unavailable right now. The passages found are below.",
    backendUnavailable: "The answer backend is unavailable right now.",
    tooLarge: "The upload is too large for this server.", invalidInput: "The server did not accept this request.",
    notFound: "That no longer exists: it may have been deleted.", genericError: "Something went wrong.",
    timeout: "No complete answer in time; try again or ask a narrower question.",
    emptySelection: "The folder you chose has no files in it.",
    eta: "about {time} left", etaUnknown: "estimating time left…", minutes: "{m} min {s} s", seconds: "{s} s",
    skippedCount: "{count} files skipped (not supported, ignored or too big)", skippedFile: "{path}: {reason}",
    cancelledKept: "Cancelled. {done} of {total} files were finished and are kept; the other {count} were not indexed. Upload again to finish.",
    cancelling: "Cancelling at the next file…", showMore: "Show full passage", showLess: "Show less",
    embedder_minilm: "English (MiniLM)", embedder_multilingual: "Multilingual",
    backend_extractive: "extractive (quotes passages, no model)", backend_llamacpp: "llamacpp (local model)", backend_openai: "openai (LLM server)",
    status_ok: "indexed", status_failed: "failed", closeDrawer: "Close",
    actionRetry: "Try again; if it keeps failing, the server log says why.",
    actionUnreachable: "Check that rag-service is running, then try again.",
    actionShorten: "Shorten it and send it again.", actionKey: "Enter a valid API key.",
    actionForbidden: "Ask an admin for access.", actionReload: "Reload the page to see what is there now.",
    actionConflict: "Choose another name.", actionConflictName: "Choose another name, or select it in the list of collections.",
    actionTooLarge: "Upload fewer or smaller files at a time.", actionWait: "Wait a moment, then try again.",
    actionUnavailable: "Try again in a moment, or choose another answer backend.", actionFix: "Correct it and try again.",
    finishing: "Finishing: writing the last files and saving the index…",
    findingFiles: "Looking for files…", readingFiles: "Reading {count} files…", readingFiles_one: "Reading 1 file…",
    filesRead: "Read {count} of {total} files", filesRead_total_one: "Read {count} of 1 file",
    passagesEmbedded: "embedded {embedded} of {count} passages", passagesEmbedded_one: "embedded {embedded} of 1 passage",
    passagesEmbeddedAbout: "embedded {embedded} of about {count} passages",
    filesFinished: "{count} of {total} files finished",
    doneUnchanged: "Done: nothing changed; all {count} files were already indexed.", doneUnchanged_one: "Done: nothing changed; the file was already indexed.",
    turns_one: "1 question", uploading_one: "Uploading 1 file…",
    skippedCount_one: "1 file skipped (not supported, ignored or too big)",
    cancelledKept_one: "Cancelled. {done} of {total} files were finished and are kept; the other one was not indexed. Upload again to finish.",
    moreConversations: "Show all {count} conversations", fewerConversations: "Show fewer", options: "Options", conflict: "That already exists.",
  },
  zh: {
    apiKey: "API 密钥", language: "语言", collections: "文档集", newCollection: "新建文档集",
    namePlaceholder: "team-docs", embedder: "嵌入模型", embedderEnglish: "英文 (MiniLM)",
    embedderMultilingual: "多语言 / 中文", create: "创建", welcomeTitle: "向你的文档提问",
    welcomeText: "创建文档集，上传一个文件夹，然后提问。每个回答都会标注出处。",
    deleteCollection: "删除文档集", tabChat: "提问", tabUpload: "上传", tabDocuments: "文档",
    searchOnly: "仅检索（只显示段落，不生成回答）", topK: "段落数", backend: "回答方式",
    newChat: "新对话", question: "问题", questionPlaceholder: "输入关于文档的问题…",
    ask: "提问", dropHere: "把文件夹或文件拖到这里", chooseFolder: "选择文件夹", chooseFiles: "选择文件或 .zip",
    serverFolder: "服务器文件夹", serverFolderHelp: "导入服务器上的文件夹（仅限允许的根目录），并可监视其变化。",
    syncPlaceholder: "/srv/docs", watch: "监视变化", sync: "同步", path: "路径", type: "类型", chunks: "分块",
    status: "状态", previous: "上一页", next: "下一页", close: "关闭", clear: "清除", save: "保存",
    keyHelp: "服务器需要 API 密钥。密钥只保存在此浏览器中。",
    stats: "{documents} 个文档 · {chunks} 个分块 · {embedder}",
    noCollections: "还没有文档集。", confirmDelete: "删除文档集“{name}”及其全部文档？",
    confirmDeleteDocument: "从文档集中移除“{path}”？", delete: "删除",
    uploading: "正在上传 {count} 个文件…", queued: "正在等待之前的导入完成…",
    progress: "已处理 {done}/{total} 个文件 · 已嵌入 {chunks} 个分块", done: "完成：新增 {added}，更新 {updated}，未变 {unchanged}，失败 {failed}。",
    jobFailed: "导入失败：{error}", cancelled: "导入已取消。", interrupted: "导入中断：处理进程已停止。服务器再次启动时会自动继续。",
    interruptedAgain: "继续导入后再次中断。请重新上传以完成。",
    interruptedSync: "导入中断：处理进程已停止。请重新同步该文件夹以完成。",
    resumedNote: "服务器停止时此次上传被中断，服务器再次启动后已自动继续。", cancel: "取消",
    failedFile: "{path}：{reason}", sources: "来源", copy: "复制", copied: "已复制",
    status_answered: "已回答", status_partial: "部分：文档可能没有回答这个问题", status_declined: "文档中没有",
    searchedFor: "搜索的是：{question}", closestPassages: "最接近的段落",
    unsupported: "以下内容没有段落支持（使用前请核对）：",
    thinking: "正在检索…", noHits: "没有匹配的段落。", score: "得分 {score}",
    unreachable: "无法连接服务器。rag-service 是否在运行？",
    unauthorized: "服务器需要有效的 API 密钥。", forbidden: "此 API 密钥无权执行该操作。", page: "第 {from}–{to} 个，共 {total} 个", passageIn: "{location}",
    created: "已创建文档集“{name}”。", syncStarted: "正在同步 {path}…", documentsEmpty: "还没有文档。",
    lines: "第 {start}–{end} 行", pageN: "第 {page} 页", slideN: "第 {page} 张幻灯片", sheetN: "第 {page} 个工作表", chapterN: "第 {page} 章",
    conversations: "对话", untitled: "未命名对话", rename: "重命名", renamePrompt: "对话的新名称：",
    deleteConversation: "删除对话", confirmDeleteConversation: "删除对话“{title}”？其中的回答将永久删除；对它们的反馈会保留。",
    turns: "{count} 个问题", helpful: "有帮助", notHelpful: "没有帮助", commentPlaceholder: "哪里对、哪里不对？（可选）",
    sendComment: "发送", thanks: "谢谢，反馈已保存。", commentSaved: "评论已保存。",
    nameRules: "最多 64 个字母、数字、“_”、“-”或“.”，以字母或数字开头，不能有空格。",
    nameInvalid: "只能使用字母、数字、“_”、“-”或“.”，以字母或数字开头，最多 64 个字符，不能有空格。",
    details: "详情", questionCount: "{count} / {max} 个字符", questionTooLong: "问题太长：最多 {max} 个字符。",
    scriptHint: "此文档集的英文模型读不懂这种语言，回答可能找不到内容。", createMultilingual: "创建多语言文档集",
    loadingModel: "正在加载回答模型……第一个回答可能需要一些时间。",
    backendDown: "回答后端“{backend}”暂时不可用。下面是找到的段落。",
    backendUnavailable: "回答后端暂时不可用。",
    tooLarge: "上传的内容太大，超出了服务器的限制。", invalidInput: "服务器不接受这个请求。",
    notFound: "它已不存在：可能已被删除。", genericError: "出了点问题。",
    timeout: "没有按时得到完整回答；请重试，或把问题问得更具体。",
    emptySelection: "所选文件夹里没有文件。",
    eta: "预计还需 {time}", etaUnknown: "正在估算剩余时间…", minutes: "{m} 分 {s} 秒", seconds: "{s} 秒",
    skippedCount: "跳过了 {count} 个文件（不支持、被忽略或太大）", skippedFile: "{path}：{reason}",
    cancelledKept: "已取消。{total} 个文件中已完成的 {done} 个会保留；其余 {count} 个未被索引。重新上传即可完成。",
    cancelling: "将在当前文件完成后取消…", showMore: "显示完整段落", showLess: "收起",
    embedder_minilm: "英文 (MiniLM)", embedder_multilingual: "多语言",
    backend_extractive: "摘录（引用段落，不用模型）", backend_llamacpp: "llamacpp（本地模型）", backend_openai: "openai（LLM 服务器）",
    status_ok: "已索引", status_failed: "失败", closeDrawer: "关闭",
    actionRetry: "请重试；如果一直失败，服务器日志会说明原因。",
    actionUnreachable: "请确认 rag-service 正在运行，然后重试。",
    actionShorten: "请缩短后重新发送。", actionKey: "请输入有效的 API 密钥。",
    actionForbidden: "请向管理员申请权限。", actionReload: "请刷新页面查看当前内容。",
    actionConflict: "请换一个名称。", actionConflictName: "请换一个名称，或在文档集列表中选择它。",
    actionTooLarge: "请一次上传更少或更小的文件。", actionWait: "请稍等片刻后重试。",
    actionUnavailable: "请稍后重试，或选择其他回答方式。", actionFix: "请修改后重试。",
    finishing: "收尾中：正在写入最后的文件并保存索引…",
    findingFiles: "正在查找文件…", readingFiles: "正在读取 {count} 个文件…",
    filesRead: "已读取 {count}/{total} 个文件",
    passagesEmbedded: "已嵌入 {embedded}/{count} 个段落",
    passagesEmbeddedAbout: "已嵌入 {embedded} 个段落（共约 {count} 个）",
    filesFinished: "已完成 {count}/{total} 个文件",
    doneUnchanged: "完成：没有变化，{count} 个文件都已索引过。",
    moreConversations: "显示全部 {count} 个对话", fewerConversations: "收起", options: "选项", conflict: "它已经存在。",
  },
};

let current = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";

export function language() {
  return current;
}

// A count of one reads "1 question", not "1 questions": `key_one` where the language has such a form, chosen
// by `count`, or by `total` through `key_total_one` ("Read 1 of 1 file").
const plural = (lang, n) => new Intl.PluralRules(lang === "zh" ? "zh-CN" : "en").select(n);

function variant(key, values) {
  const strings = STRINGS[current];
  if (typeof values.count === "number" && plural(current, values.count) === "one" && strings[`${key}_one`]) return `${key}_one`;
  if (typeof values.total === "number" && plural(current, values.total) === "one" && strings[`${key}_total_one`]) return `${key}_total_one`;
  return key;
}

export function t(key, values = {}) {
  const chosen = variant(key, values);
  const template = STRINGS[current][chosen] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

export function setLanguage(lang) {
  current = STRINGS[lang] ? lang : "en";
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of document.querySelectorAll("[data-i18n-placeholder]")) element.placeholder = t(element.dataset.i18nPlaceholder);
  for (const element of document.querySelectorAll("[data-i18n-label]")) element.setAttribute("aria-label", t(element.dataset.i18nLabel));
}
