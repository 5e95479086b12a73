"""The LLM prompt: numbered passages within a token budget, the rules for citing, earlier turns, the question."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from rag_service.answering.base import ChatTurn
from rag_service.passages import Hit

DECLINE_SENTENCE = "I don't know: the documents do not say."
DECLINE_SENTENCE_ZH = "我不知道：文档中没有说明。"

SYSTEM_PROMPT = f"""You answer questions about a team's documents using only the numbered passages given.
Each passage starts with its number, its file and its section, like: [2] docs/setup.md:10-24 (Install > Linux).
Rules:
- Use only facts stated in the passages. Do not use outside knowledge.
- After each sentence, cite the passages it comes from by number in square brackets, like [1] or [2][3].
- Copy commands, code and configuration exactly as the passage shows them, in a code block.
- If the passages do not contain the answer, reply exactly: "{DECLINE_SENTENCE}"
  (for a question in Chinese: "{DECLINE_SENTENCE_ZH}")
- Be brief: a few sentences at most. Answer in the language of the question."""

MAX_HISTORY_TURNS = 6


def fit_passages(passages: list[Hit], budget_tokens: int, count_tokens: Callable[[str], int]) -> list[Hit]:
    """The leading passages whose text fits the budget; the first always goes in, cut to fit if need be."""
    chosen: list[Hit] = []
    used = 0
    for hit in passages:
        cost = count_tokens(hit.text) + 12  # the "[n] path:lines" header
        if chosen and used + cost > budget_tokens:
            break
        if not chosen and cost > budget_tokens:
            ratio = budget_tokens / cost
            hit.text = hit.text[: max(200, int(len(hit.text) * ratio))]
        chosen.append(hit)
        used += cost
    return chosen


def format_passages(passages: list[Hit]) -> str:
    blocks = []
    for n, hit in enumerate(passages, start=1):
        header = f"[{n}] {hit.location()}"
        if hit.heading_path:
            header += f" ({hit.heading_path})"
        blocks.append(f"{header}\n{hit.text.strip()}")
    return "\n\n".join(blocks)


def build_messages(question: str, passages: list[Hit], history: list[ChatTurn]) -> list[BaseMessage]:
    messages: list[BaseMessage] = [SystemMessage(SYSTEM_PROMPT)]
    for turn in history[-MAX_HISTORY_TURNS:]:
        messages.append(HumanMessage(turn.content) if turn.role == "user" else AIMessage(turn.content))
    messages.append(HumanMessage(f"Passages:\n\n{format_passages(passages)}\n\nQuestion: {question}"))
    return messages


CONDENSE_PROMPT = """Rewrite the last question as one standalone question that can be understood without the \
conversation. Keep its language. Reply with the question only.

Conversation:
{conversation}

Last question: {question}
Standalone question:"""


def build_condense_messages(question: str, history: list[ChatTurn]) -> list[BaseMessage]:
    conversation = "\n".join(f"{turn.role}: {turn.content}" for turn in history[-MAX_HISTORY_TURNS:])
    return [HumanMessage(CONDENSE_PROMPT.format(conversation=conversation, question=question))]


# The reader's prompts (answering/reader/). Each candidate sentence is checked on its own, yes or no, with the
# question before it: the instruction and the question are the same for every candidate of an ask, so a reader
# that runs in process evaluates them once and only each sentence after them. A yes/no question about one
# sentence separated near misses (the sentence names the option but not what is asked about it) from answers;
# asking which of several sentences answers, or none, did not (the #23 note).
READER_INSTRUCTION = """You check whether a sentence from a team's documents answers a question.
Answer yes only if the sentence itself states what the question asks: the value, the option, the command, the \
reason or the steps. Answer no if it is only about the same topic, or names the thing without saying what is \
asked about it. Reply yes or no."""


def build_reader_messages(question: str, where: str, sentence: str) -> list[dict[str, str]]:
    # Everything after the question is evaluated once per candidate: the sentence and where it is from, no more.
    user = f"Question: {question}\nSentence ({where}): {sentence}"
    return [{"role": "system", "content": READER_INSTRUCTION}, {"role": "user", "content": user}]


READER_REWRITE_INSTRUCTION = """Rewrite the user's last question so that it can be understood without the \
conversation: replace words like "it", "that" or "its" with what they refer to, and keep everything else. \
Reply with the rewritten question only, in the language of the question."""
REWRITE_ANSWER_CHARS = 300  # of each earlier answer: enough to name what "it" was


def build_rewrite_messages(question: str, history: list[ChatTurn]) -> list[dict[str, str]]:
    lines = []
    for turn in history[-MAX_HISTORY_TURNS:]:
        content = " ".join(turn.content.split())
        if turn.role != "user" and len(content) > REWRITE_ANSWER_CHARS:
            content = content[:REWRITE_ANSWER_CHARS] + " …"
        lines.append(f"{'User' if turn.role == 'user' else 'Assistant'}: {content}")
    user = "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {question}\nRewritten question:"
    return [{"role": "system", "content": READER_REWRITE_INSTRUCTION}, {"role": "user", "content": user}]
