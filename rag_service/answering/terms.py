"""A question's content terms: the words that carry its meaning, stemmed so that "timeouts" meets "timeout".

Shared by the evidence check (does the retrieved text hold what is asked?), the extractive answerer (which
excerpt covers the question?) and the rule-based condenser (what was the earlier turn about?).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag_service.stores.lexical_index import CHINESE_STOPWORDS, stem, tokenize

# Function words and the words every question has; they say how something is asked, not what.
QUESTION_WORDS = CHINESE_STOPWORDS | frozenset(
    """
    i'm i've i'd i'll don't doesn't didn't can't won't isn't aren't what's it's that's there's i’m i’ve i’d
    don’t doesn’t can’t what’s a about above after again all also am an and any anything are as at be been
    before being below between both but by can could did do does doing done down during each else even ever
    every few for from further get gets getting got had has have having he her here hers him his how i if in
    into is it its itself just let like lot may me might more most much must my need needs no nor not now of
    on once one only or other our out over own please possible rather really right same say says see she
    should so some something such sure tell than that the their them then there these they thing things this
    those through to too under until up us use used uses using very via want wants was way ways we were what
    whatever when where whether which while who whom whose why will with without would yes yet you your
    yours 为什么 哪 哪个 可以 能 吧 要 把 一个
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

_HOW_TO = re.compile(
    r"^\s*(how\b|what('s| is) the (command|way|syntax|option|setting)|which (command|option|setting|flag)"
    r"|(show|give) me)|\b(how (do|can|to|should|would)|command|configure|set ?up|install|enable|disable)\b"
    r"|怎么|如何|怎样|命令|配置|设置",
    re.IGNORECASE,
)
normalise_term = stem  # the lexical index's stemmer: a question's terms are looked up among the indexed ones


def content_terms(text: str) -> list[str]:
    """Stemmed tokens of the text that are not function or question words, in order, repeats kept."""
    return [normalise_term(t) for t in tokenize(text) if t not in QUESTION_WORDS and (len(t) > 1 or not t.isascii())]


# "if I don't specify one", "without passing max_workers", "unless I change the context", "如果不指定": the
# question asks what is used when the user chooses nothing, and the answer says "default" where it does not.
_ASKS_DEFAULT = [
    (
        re.compile(
            r"\b(if|when|unless)\b[^?.;]*\b(don'?t|doesn'?t|do not|does not|never|didn'?t|haven'?t|no)\b[^?.;]*"
            r"\b(specify|specified|pass|passed|give|given|set|configure|configured|provide|choose|supply|change"
            r"|select|setting|one)\b|\bwithout (specifying|passing|giving|setting|configuring|providing|choosing"
            r"|an?|any)\b|\bunless I\b",
            re.IGNORECASE,
        ),
        "default",
    ),
    (re.compile(r"(不|没有?|未)(指定|设置|设定|传入?|给出?|配置|选择)"), "默认"),
]


def default_term(question: str) -> str | None:
    """The word an answer uses for what a question asks about without saying it, a default ("Which port does it
    use if I don't set one?"); None for other questions."""
    return next((term for pattern, term in _ASKS_DEFAULT if pattern.search(question)), None)


def is_how_to(question: str) -> bool:
    """Asks for a procedure, a command or a setting: such answers are best shown with their example."""
    return bool(_HOW_TO.search(question))


# Names a question asks about: code (`hashlib.file_digest`, `requests.get()`, `GIT_EDITOR`), file names and
# extensions (`launch.json`, `.psd`), runs of capitalised words ("GitHub Actions") and single capitalised
# words not at a sentence start ("Gitea", "LFS").
_CODE_NAME = re.compile(
    r"(?<![\w.])(\.?[A-Za-z_][\w\-]*(?:\.[A-Za-z_][\w\-]*)+|[A-Za-z]+_[\w]+|\.[a-z][a-z0-9]{1,5}\b"
    r"|[A-Za-z]+/\d[\w.]*)(?:\(\))?"
)
_FILE_NAME = re.compile(
    r"^[\w\-]*\.(py|json|toml|ya?ml|txt|md|rst|cfg|ini|conf|html?|xml|csv|sh|js|ts|psd|png|jpe?g|pdf|zip|exe|log)$"
)
_ABBREVIATION = re.compile(r"^(e\.g|i\.e|etc|vs|cf|a\.k\.a)$", re.IGNORECASE)
_CAPITALISED = re.compile(r"\b([A-Z][\w\-']*(?:\s+[A-Z][\w\-']*)*)")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+)[\"'(“]*$")


@dataclass(frozen=True)
class Name:
    text: str
    kind: str  # code | file | phrase | word


def names(question: str) -> list[Name]:
    found: list[Name] = []
    for match in _CODE_NAME.finditer(question):
        text = match.group(1).rstrip(".-")
        if not any(c.isalpha() for c in text) or _ABBREVIATION.match(text):
            continue
        dotted_file = "." in text and _FILE_NAME.match(text) and text.rsplit(".", 1)[0].islower()
        found.append(Name(text, "file" if text.startswith(".") or dotted_file else "code"))
    covered = " ".join(n.text for n in found)
    for match in _CAPITALISED.finditer(question):
        phrase = re.sub(r"['’]s$", "", match.group(1))
        words = phrase.split()
        before = question[: match.start()]
        if _SENTENCE_START.search(before) and not re.search(r"\b(e\.g|i\.e|etc|vs)\.\s*$", before):
            words = words[1:]  # the first word is capitalised because it starts the sentence
        words = [w for w in words if not re.match(r"^I(['’]\w+)?$", w) and w.lower() not in QUESTION_WORDS]
        if words and " ".join(words) not in covered:
            found.append(Name(" ".join(words), "phrase" if len(words) > 1 else "word"))
    return found


# Quantities a question can ask for: (the question's pattern, what an answer would hold, what that is).
_NUMBER = r"\d[\d,.]*\s*"
_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
_QUANTITY = [
    (
        re.compile(r"\bhow (many|much)\b[^?]*\b(bytes|[kmg]i?b)\b|\bhow (big|large)\b|\bmemory\b[^?]*\bhow much", re.I),
        re.compile(_NUMBER + r"(bytes|[kmg]i?b)\b", re.I),
        "a size",
    ),
    (
        re.compile(r"\bhow many (times|retries|attempts)\b", re.I),
        re.compile(_NUMBER + r"(times|retries|attempts)\b", re.I),
        "a count",
    ),
    (
        re.compile(r"\bper second\b|\bthroughput\b", re.I),
        re.compile(_NUMBER + r"(per second|/s)\b", re.I),
        "a rate",
    ),
    (re.compile(r"\bpercent(age)?\b", re.I), re.compile(_NUMBER + r"(%|percent)", re.I), "a percentage"),
    (
        re.compile(r"\b(what|which) year\b|\bin what year\b", re.I),
        re.compile(r"\b(19|20)\d\d\b"),
        "a year",
    ),
    (
        # A date is more than a year: a month with its day or year ("October 2027", "3 May"), or an ISO date.
        re.compile(r"\b(what|which) (date|day)\b|\bwhen (will|does|did)\b[^?]*\b(end|stop|released?)\b", re.I),
        re.compile(
            rf"\b{_MONTH}\s+(\d{{1,2}}(st|nd|rd|th)?,?\s+)?(19|20)\d\d\b|\b\d{{1,2}}(st|nd|rd|th)?\s+{_MONTH}\b"
            r"|\b(19|20)\d\d-\d\d-\d\d\b"
        ),
        "a date",
    ),
    (
        re.compile(r"\bhow much (faster|slower)\b|\b(faster|slower) than\b[^?]*\bhow much", re.I),
        re.compile(_NUMBER + r"(times|x|%)", re.I),
        "a speed-up",
    ),
    (
        re.compile(r"\bhow much\b[^?]*\b(cost|costs|charge|charges|pay)\b|\b(price|pricing|fees?)\b", re.I),
        re.compile(
            r"[$€£¥]\s?\d|" + _NUMBER + r"(\$|€|£|usd|eur|gbp|dollars?|euros?|pounds?)(?!\w)"
            # a spreadsheet's figures carry no currency: a number in a table whose header names a cost
            r"|^\|[^\n]*\b(cost|price|amount|fees?|charges?|total)s?\b[^\n]*\n\|[ :|-]+\n"
            r"(.*\n)*?[^\n]*\|\s*\d[\d,.]*\s*\|",
            re.I | re.M,
        ),
        "a price",
    ),
]


def asked_quantity(question: str) -> tuple[re.Pattern[str], str] | None:
    """What an answer to a question asking for a measured quantity, a date or a price must hold (a pattern),
    and what that is in words; None for other questions."""
    for asks, answer, what in _QUANTITY:
        if asks.search(question):
            return answer, what
    return None
