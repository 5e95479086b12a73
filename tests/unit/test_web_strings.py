"""Every string the web UI shows exists in both languages (web/i18n.js: en and zh)."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
KEY = re.compile(r"(?:^[ \t]+|,[ \t]+)([A-Za-z_]\w*):[ \t]*\"", re.MULTILINE)  # a key at a line start or after a comma


def _tables() -> dict[str, set[str]]:
    source = (WEB / "i18n.js").read_text(encoding="utf-8")
    en = source.index("  en: {")
    zh = source.index("  zh: {")
    end = source.index("\n};", zh)
    return {"en": set(KEY.findall(source[en + 7 : zh])), "zh": set(KEY.findall(source[zh + 7 : end]))}


def test_both_languages_have_the_same_strings() -> None:
    tables = _tables()
    assert tables["en"] == tables["zh"], {
        "only en": sorted(tables["en"] - tables["zh"]),
        "only zh": sorted(tables["zh"] - tables["en"]),
    }
    assert len(tables["en"]) > 100


def test_every_string_the_ui_uses_is_translated() -> None:
    known = _tables()["en"]
    html = (WEB / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n(?:-placeholder|-label)?="(\w+)"', html))
    for module in sorted(WEB.glob("*.js")):  # the UI's ES modules (web/vendor/ is not ours)
        used |= set(re.findall(r'\bt\("(\w+)"', module.read_text(encoding="utf-8")))
    # Keys made from values: embedders, backends and document statuses the server sends.
    used |= {f"embedder_{n}" for n in ("minilm", "multilingual")}
    used |= {f"backend_{n}" for n in ("extractive", "llamacpp", "openai")}
    used |= {f"status_{n}" for n in ("ok", "failed")}
    assert used - known == set()
