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
    jobFailed: "Ingest failed: {error}", cancelled: "Ingest cancelled.", interrupted: "Ingest interrupted: its process stopped. Upload again to finish.", cancel: "Cancel",
    failedFile: "{path}: {reason}", sources: "Sources", copy: "Copy", copied: "Copied",
    thinking: "Searching…", noHits: "No matching passages.", score: "score {score}",
    unreachable: "The server cannot be reached. Is rag-service running?",
    unauthorized: "The server needs a valid API key.", forbidden: "This API key may not do that.",
    tooLarge: "Too large: {message}", backendDown: "The answer backend is unavailable: {message}",
    genericError: "Error: {message}", page: "{from}–{to} of {total}", passageIn: "{location}",
    created: "Collection “{name}” created.", syncStarted: "Syncing {path}…", documentsEmpty: "No documents yet.",
    lines: "lines {start}–{end}", pageN: "page {page}", slideN: "slide {page}", sheetN: "sheet {page}", chapterN: "chapter {page}",
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
    jobFailed: "导入失败：{error}", cancelled: "导入已取消。", interrupted: "导入中断：处理进程已停止。请重新上传以完成。", cancel: "取消",
    failedFile: "{path}：{reason}", sources: "来源", copy: "复制", copied: "已复制",
    thinking: "正在检索…", noHits: "没有匹配的段落。", score: "得分 {score}",
    unreachable: "无法连接服务器。rag-service 是否在运行？",
    unauthorized: "服务器需要有效的 API 密钥。", forbidden: "此 API 密钥无权执行该操作。",
    tooLarge: "太大：{message}", backendDown: "回答后端不可用：{message}",
    genericError: "错误：{message}", page: "第 {from}–{to} 个，共 {total} 个", passageIn: "{location}",
    created: "已创建文档集“{name}”。", syncStarted: "正在同步 {path}…", documentsEmpty: "还没有文档。",
    lines: "第 {start}–{end} 行", pageN: "第 {page} 页", slideN: "第 {page} 张幻灯片", sheetN: "第 {page} 个工作表", chapterN: "第 {page} 章",
  },
};

let current = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";

export function language() {
  return current;
}

export function t(key, values = {}) {
  const template = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

export function setLanguage(lang) {
  current = STRINGS[lang] ? lang : "en";
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of document.querySelectorAll("[data-i18n-placeholder]")) element.placeholder = t(element.dataset.i18nPlaceholder);
}
