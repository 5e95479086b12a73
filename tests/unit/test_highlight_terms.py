"""The words the passage viewer marks: the question's content words as the passage writes them."""

from __future__ import annotations

from rag_service.chunks import highlight_terms


def test_content_words_are_marked_in_their_written_forms_and_function_words_never() -> None:
    texts = ["The worker drains its queues from the primary region before it stops.", "Timeouts are retried."]
    found = highlight_terms("How do I drain the queue from the worker after a timeout?", texts)
    assert set(found) == {"worker", "drains", "queues", "timeouts"}
    assert not set(found) & {"the", "from", "how", "after", "it"}


def test_a_question_of_function_words_marks_nothing() -> None:
    assert highlight_terms("How do I do it?", ["I do it like this."]) == []
