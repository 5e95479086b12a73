// The one Markdown renderer of the page: answers and passages are both shown through it, sanitised.

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Raw HTML in a text (quoted from a document) is shown as text, never interpreted; DOMPurify then removes
// anything executable that Markdown itself can make (javascript: links, event attributes).
const markdown = new window.marked.Marked({ gfm: true, breaks: true });
markdown.use({ renderer: { html: (token) => escapeHtml(token.text ?? token.raw ?? "") } });
const SANITISE = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "img", "svg", "math", "iframe", "object", "embed", "video", "audio"],
  FORBID_ATTR: ["style", "class", "id"],
};
window.DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") { node.setAttribute("target", "_blank"); node.setAttribute("rel", "noopener noreferrer"); }
});

// Markdown text as a sanitised fragment; code blocks get the "code" class the styles know.
export function renderMarkdown(text) {
  const fragment = window.DOMPurify.sanitize(markdown.parse(text), SANITISE);
  for (const pre of fragment.querySelectorAll("pre")) pre.classList.add("code");
  return fragment;
}

const FENCE = /^[ \t]*(```+|~~~+)/;

// Pieces of one text cut anywhere (a passage and its neighbours): a code fence opened in one piece and closed
// in the next is closed at the cut and opened again after it, so each piece renders on its own.
export function balanceFences(pieces) {
  let open = null;
  return pieces.map((piece) => {
    let text = open ? `${open}\n${piece}` : piece;
    for (const line of piece.split("\n")) {
      const match = FENCE.exec(line);
      if (match) open = open ? null : match[1];
    }
    if (open) text += `\n${open}`;
    return text;
  });
}
