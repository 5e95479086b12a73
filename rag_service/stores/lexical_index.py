"""The BM25 lexical index of one collection (bm25s), kept in step with the vector index by chunk id.

Tokens are lower-cased words, English ones by their Snowball stem, so "branches" meets "branch" (on the dev
sets stemming raised BM25's hit@1 from .43 to .55 and .64 to .66; #9's note); runs of CJK characters are cut
into words by jieba, so Chinese is matched word by word rather than as whole runs of characters.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from types import ModuleType

import bm25s
import numpy as np
import Stemmer

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Chinese function and question words; the answering code extends the same list with English question words.
CHINESE_STOPWORDS = frozenset("的 了 是 在 和 与 或 吗 呢 啊 我 你 他 她 它 们 这 那 怎么 如何 什么".split())  # noqa: SIM905
_STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN) | CHINESE_STOPWORDS

logging.getLogger("bm25s").setLevel(logging.WARNING)


@functools.cache
def _jieba() -> ModuleType:
    """jieba, imported on first use: it loads its dictionary then, and only folders with Chinese pay for it.
    Its import sets its own logger to DEBUG, hence the level after it."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


_stemmer = Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(token: str) -> str:
    """English words by their Snowball stem ("branches", "branching" → "branch"); other scripts as they are."""
    return _stemmer.stemWord(token) if token.isascii() else token


def index_terms(text: str) -> list[str]:
    """What BM25 indexes and looks up: the stemmed tokens."""
    return [stem(token) for token in tokenize(text)]


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        word = match.group(0)
        if _CJK.match(word):
            tokens.extend(t for t in _jieba().lcut_for_search(word) if t.strip() and t not in _STOPWORDS)
        elif word not in _STOPWORDS:
            tokens.append(word)
    return tokens


class LexicalIndex:
    """Chunk id → token ids; the BM25 matrix is rebuilt lazily on the first search after a change.

    Tokens are kept as int32 arrays against one vocabulary (a Python list of strings per chunk would take
    several times the text's own size). Until `load` fills the index (on the first lexical search), changes
    are ignored: the load reads them all.
    """

    def __init__(self) -> None:
        self.loaded = False
        self._vocab: dict[str, int] = {"": 0}  # "" stands in for chunks with no indexable word
        self._tokens: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        self._model: bm25s.BM25 | None = None
        self._model_ids: np.ndarray = np.zeros(0, dtype=np.int64)
        self._frequencies: dict[str, int] | None = None

    @property
    def size(self) -> int:
        return len(self._tokens)

    def _token_ids(self, text: str) -> np.ndarray:
        vocab = self._vocab
        ids = [vocab.setdefault(token, len(vocab)) for token in index_terms(text)]
        return np.array(ids or [0], dtype=np.int32)

    def load(self, items: list[tuple[int, str]]) -> None:
        with self._lock:
            self._tokens = {chunk_id: self._token_ids(text) for chunk_id, text in items}
            self._model = self._frequencies = None
            self.loaded = True

    def add(self, items: list[tuple[int, str]]) -> None:
        if not self.loaded:
            return
        with self._lock:
            for chunk_id, text in items:
                self._tokens[chunk_id] = self._token_ids(text)
            self._model = self._frequencies = None

    def remove(self, ids: list[int] | np.ndarray) -> None:
        if not self.loaded:
            return
        with self._lock:
            for chunk_id in ids:
                self._tokens.pop(int(chunk_id), None)
            self._model = self._frequencies = None

    def _ensure_model(self) -> tuple[bm25s.BM25 | None, np.ndarray]:
        with self._lock:
            if self._model is None and self._tokens:
                ids = np.fromiter(self._tokens.keys(), dtype=np.int64, count=len(self._tokens))
                corpus = [self._tokens[int(i)].tolist() for i in ids]
                model = bm25s.BM25()
                model.index((corpus, dict(self._vocab)), show_progress=False)
                self._model, self._model_ids = model, ids
            return self._model, self._model_ids

    def document_frequencies(self) -> dict[str, int]:
        """How many chunks hold each indexed term (a stem, `stem`); recomputed after a change, on demand."""
        with self._lock:
            if self._frequencies is None:
                counts = np.zeros(len(self._vocab), dtype=np.int64)
                for ids in self._tokens.values():
                    counts[np.unique(ids)] += 1
                self._frequencies = {
                    term: int(counts[term_id]) for term, term_id in self._vocab.items() if term and counts[term_id]
                }
            return self._frequencies

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k best (chunk id, BM25 score) pairs; `allowed` limits them to some chunk ids (path filters)."""
        return self.rank(query, k, allowed)[0]

    def rank(
        self, query: str, k: int, allowed: np.ndarray | None = None, also: list[int] | None = None
    ) -> tuple[list[tuple[int, float]], dict[int, float]]:
        """The k best (chunk id, BM25 score) pairs, and the scores of the chunk ids in `also` (for fusion)."""
        query_tokens = index_terms(query)
        model, ids = self._ensure_model()
        if model is None or not query_tokens or k <= 0:
            return [], {}
        known = [t for t in query_tokens if t in model.vocab_dict]
        if not known:
            return [], {}
        scores = np.asarray(model.get_scores(known), dtype=np.float32)
        if allowed is not None:
            scores = np.where(np.isin(ids, allowed), scores, 0.0)
        extra: dict[int, float] = {}
        if also:
            where = np.nonzero(np.isin(ids, np.asarray(also, dtype=np.int64)))[0]
            extra = {int(ids[i]): float(scores[i]) for i in where}
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(ids[i]), float(scores[i])) for i in top if scores[i] > 0], extra
