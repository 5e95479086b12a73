"""Evidence for exported feedback: a 3-12-word run of the cited quote that the file holds in one text run."""

from __future__ import annotations

from pathlib import Path

from rag_service.evaluation import load_questions
from rag_service.feedback import _evidence, _file_runs
from rag_service.settings import Settings

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


def test_evidence_is_a_run_the_file_holds_without_markup_inside(tmp_path: Path) -> None:
    page = tmp_path / "json.html"
    page.write_text(
        "<html><script>var x = 'Use dumps to serialise obj';</script><p>Use <code>dumps</code> to serialise obj "
        "as a JSON formatted str.</p><p>The json module can parse JSON from strings or files easily.</p></html>",
        encoding="utf-8",
    )
    runs = _file_runs(page, SETTINGS)
    quote = (
        "# json\nUse dumps to serialise obj as a JSON formatted str.\n"
        "The json module can parse JSON from strings or files easily."
    )
    evidence = _evidence(quote, runs)
    # The first line spans <code>: not one text run, so the next line is the evidence.
    assert evidence == "The json module can parse JSON from strings or files easily."
    assert _evidence("too short", runs) is None
    text = tmp_path / "notes.txt"
    text.write_text("Backups   run nightly at\n02:30 UTC and are kept for 35 days, then pruned.\n", encoding="utf-8")
    # At most 12 words, whitespace compared collapsed.
    quote = "Backups run nightly at 02:30 UTC and are kept for 35 days, then pruned."
    assert _evidence(quote, _file_runs(text, SETTINGS)) == "Backups run nightly at 02:30 UTC and are kept for 35 days,"


def test_eval_skips_questions_that_need_review(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "a", "question": "q1", "relevant": [], "evidence": [], "answerable": false, "needs_review": true}\n'
        '{"id": "b", "question": "q2", "relevant": ["x.md"], "evidence": ["a b c"], "answerable": true}\n',
        encoding="utf-8",
    )
    assert [q.id for q in load_questions(path)] == ["b"]
