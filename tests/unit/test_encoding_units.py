"""Encoding detection on real sentences in the encodings people's files actually use."""

from __future__ import annotations

import pytest

from ingest.loaders.encoding import decode_text
from ingest.walk import looks_binary

SENTENCES = [
    ("latin-1", "La crème brûlée est servie après le dîner. Le garçon a commandé un café crème."),
    ("latin-1", "Die Größe der Straße überrascht die Gäste. Übermäßig große Äpfel liegen im Korb."),
    ("cp1252", "« L’été », dit-il — la crème brûlée coûte 5 € ; c’est une œuvre d’art, naïve."),
    ("cp1252", "El niño comió piña el año pasado; ¿verdad? La canción del corazón es bonita."),
    ("utf-16-le", "The crème brûlée recipe:\nHeat the oven to 150 °C and bake for forty minutes.\n"),
    ("utf-16-be", "The crème brûlée recipe:\nHeat the oven to 150 °C and bake for forty minutes.\n"),
    ("utf-16-le", "数据库备份 at 03:00\n每天凌晨三点自动备份数据库，备份文件保留三十天。\n"),
    ("shift_jis", "東京の天気は晴れです。明日は雨が降るかもしれません。駅の近くに新しいレストランが開店しました。"),
    ("gb18030", "今天天气很好，我们去公园散步吧。数据库备份文件保留三十天，请按时检查。"),
    ("cp1250", "Zażółć gęślą jaźń. Pchnąć w tę łódź jeża lub ośm skrzyń fig."),
    ("cp1251", "Привет, как дела? Сегодня хорошая погода, и мы пойдём гулять в парк."),
    ("utf-8", "Crème brûlée, 数据库, Привет."),
]


@pytest.mark.parametrize(("encoding", "text"), SENTENCES, ids=[f"{e}-{t[:8]}" for e, t in SENTENCES])
def test_sentences_decode_to_what_was_written(encoding: str, text: str) -> None:
    assert decode_text(text.encode(encoding)) == text


def test_utf16_without_bom_is_text_and_binary_is_binary() -> None:
    for codec in ("utf-16-le", "utf-16-be"):
        assert not looks_binary("Crème brûlée\nfor four people\n".encode(codec))
    assert looks_binary(bytes(range(256)) * 8)
    assert looks_binary(b"\x00\x01\x02\x03" * 100)
