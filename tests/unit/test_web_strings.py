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


PLURAL = re.compile(r"_(?:total_)?one$")  # "1 question": a form English has and Chinese does not need


def test_both_languages_have_the_same_strings() -> None:
    tables = _tables()
    en = {key for key in tables["en"] if not PLURAL.search(key)}
    zh = {key for key in tables["zh"] if not PLURAL.search(key)}
    assert en == zh, {"only en": sorted(en - zh), "only zh": sorted(zh - en)}
    assert len(en) > 100
    plural_forms = {key for table in tables.values() for key in table if PLURAL.search(key)}
    assert {PLURAL.sub("", key) for key in plural_forms} <= en


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
