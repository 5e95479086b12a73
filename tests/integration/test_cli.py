"""The real `rag-service` CLI in a subprocess: JSON outputs scripts rely on, and a kill mid-ingest."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.corpus import INDEXED

CLI = [sys.executable, "-m", "rag_service"]


def run_cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"rag-service {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def test_ingest_search_collections_json(corpus: Path, cli_env: dict[str, str]) -> None:
    summary = json.loads(run_cli("ingest", str(corpus), "--collection", "team", "--json", env=cli_env).stdout)
    assert summary["added"] == len(INDEXED)
    assert summary["unchanged"] == 0 and summary["deleted"] == 0
    assert [f["path"] for f in summary["failed"]] == ["broken.pdf"]
    for key in ("updated", "skipped", "chunks_embedded", "seconds", "files_total"):
        assert key in summary

    hits = json.loads(
        run_cli("search", "customer logs retention", "-c", "team", "--top-k", "3", "--json", env=cli_env).stdout
    )
    assert 1 <= len(hits) <= 3
    top = hits[0]
    assert top["path"] == "policy.pdf" and top["page"] == 3
    for key in ("rank", "score", "text", "chunk_id", "document_id"):
        assert key in top
    line_hit = json.loads(
        run_cli("search", "rotate the API keys", "-c", "team", "-k", "1", "--json", env=cli_env).stdout
    )[0]
    assert line_hit["path"] == "handbook.md" and line_hit["start_line"] <= line_hit["end_line"]

    collections = json.loads(run_cli("collections", "--json", env=cli_env).stdout)
    assert collections[0]["name"] == "team" and collections[0]["documents"] == len(INDEXED)
    assert collections[0]["chunks"] > 0

    text = run_cli("ingest", str(corpus), "--collection", "team", env=cli_env)
    assert f"{len(INDEXED)} unchanged" in text.stdout and "0 chunks embedded" in text.stdout
    assert "failed: broken.pdf: unreadable PDF" in text.stderr


def test_bad_input_gives_a_clear_error(tmp_path: Path, cli_env: dict[str, str]) -> None:
    missing = run_cli("ingest", str(tmp_path / "nope"), env=cli_env, check=False)
    assert missing.returncode == 1 and "not a folder" in missing.stderr
    unknown = run_cli("search", "anything", "-c", "absent", env=cli_env, check=False)
    assert unknown.returncode == 1 and "no collection named 'absent'" in unknown.stderr
    bad_name = run_cli("ingest", str(tmp_path), "-c", "../evil", env=cli_env, check=False)
    assert bad_name.returncode == 1 and "invalid collection name" in bad_name.stderr


def _many_files(root: Path, count: int) -> Path:
    root.mkdir()
    for i in range(count):
        body = "\n\n".join(
            f"Paragraph {j} of note {i}: the service number {i * 100 + j} handles region {j % 7} traffic, "
            f"and its runbook lists step {j} for restarts after failover drills."
            for j in range(12)
        )
        (root / f"note-{i:03d}.md").write_text(f"# Note {i}\n\n{body}\n")
    return root


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_ingest_leaves_consistent_state(
    tmp_path: Path, cli_env: dict[str, str], stop_signal: signal.Signals
) -> None:
    folder = _many_files(tmp_path / "notes", 60)
    env = {**cli_env, "RAG_EMBED_GROUP_CHUNKS": "4", "RAG_EMBED_BATCH_SIZE": "4"}
    db = tmp_path / "data" / "rag.db"
    process = subprocess.Popen([*CLI, "ingest", str(folder), "-c", "notes"], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if db.exists():
            try:
                if _count(db, "select count(*) from documents") >= 5:
                    break
            except sqlite3.OperationalError:
                pass  # tables not created yet
        time.sleep(0.2)
    process.send_signal(stop_signal)
    process.wait(timeout=60)
    if stop_signal == signal.SIGINT:
        assert process.returncode == 130
        assert b"run the same command again" in process.stderr.read()
    committed = _count(db, "select count(*) from documents")
    assert 5 <= committed < 60
    # Every committed document has all its chunks: per-file transactions.
    assert (
        _count(
            db,
            "select count(*) from documents d where d.chunk_count != "
            "(select count(*) from chunks c where c.document_id = d.id)",
        )
        == 0
    )

    summary = json.loads(run_cli("ingest", str(folder), "-c", "notes", "--json", env=env).stdout)
    assert summary["status"] == "done"
    assert summary["added"] == 60 - committed and summary["unchanged"] == committed
    assert _count(db, "select count(*) from documents") == 60
    assert (
        _count(
            db,
            "select count(*) from (select document_id, ordinal from chunks "
            "group by document_id, ordinal having count(*) > 1)",
        )
        == 0
    )

    from rag_service.runtime import Runtime
    from rag_service.settings import Settings
    from rag_service.stores.vector_index import VectorIndex

    runtime = Runtime(Settings(_env_file=None, data_dir=tmp_path / "data"))  # type: ignore[call-arg]
    saved = VectorIndex.load(runtime.indexes.path_for(1), 384)
    with sqlite3.connect(db) as conn:
        ids = {row[0] for row in conn.execute("select id from chunks")}
    assert set(saved.ids().tolist()) == ids


def _turn(question: str, relevant: list[str], evidence: list[str], answerable: bool = True) -> dict[str, object]:
    return {
        "question": question,
        "relevant": relevant,
        "answer": "",
        "evidence": evidence,
        "answerable": answerable,
        "type": "howto" if answerable else "unanswerable",
    }


CONVERSATIONS = [
    {
        "id": "conv-install",
        "turns": [
            _turn("How do I install Atlas on Linux hosts?", ["handbook.md"], ["sudo ./install.sh --prefix /opt/atlas"]),
            _turn("And on Windows?", ["handbook.md"], ["follow the wizard"]),
            _turn("What is the airspeed velocity of an unladen swallow?", [], [], answerable=False),
        ],
    },
    {
        "id": "conv-backup",
        "turns": [
            _turn("When do the nightly backups run?", ["guides/backup.adoc"], ["Backups run nightly at 02:30 UTC"]),
            _turn("How do I restore one?", ["guides/backup.adoc"], ["Restore a snapshot with"]),
        ],
    },
]


def test_eval_conversations_and_questions(corpus: Path, tmp_path: Path, cli_env: dict[str, str]) -> None:
    run_cli("ingest", str(corpus), "-c", "team", env=cli_env)
    conversations = tmp_path / "conversations.jsonl"
    conversations.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS))
    details = tmp_path / "turns.jsonl"
    report = json.loads(
        run_cli("eval", str(conversations), "-c", "team", "--details", str(details), "--json", env=cli_env).stdout
    )
    assert report["kind"] == "conversations" and report["answerer"] == "extractive"
    assert report["conversations"] == 2 and report["questions"] == 5 and report["answerable"] == 4
    groups = report["groups"]
    assert list(groups) == ["turn 1", "turn 2", "turn 3", "follow-ups", "all"]
    assert [groups[g]["questions"] for g in groups] == [2, 2, 1, 3, 5]
    assert groups["turn 3"]["answerable"] == 0 and groups["turn 3"]["hit@1"] is None
    for label in ("turn 1", "turn 2", "follow-ups", "all"):
        group = groups[label]
        for key in (
            "hit@1", "hit@5", "mrr@10", "evidence@1", "evidence@5", "answered_when_answerable", "evidence_in_answer",
            "evidence_token_recall", "cited_relevant",
        ):  # fmt: skip
            assert 0.0 <= group[key] <= 1.0, (label, key)
        assert 0 < group["answer_ms_p50"] <= group["answer_ms_p95"]
        assert 0 < group["search_ms_p50"] <= group["search_ms_p95"]
    # Clear questions about the corpus: the first turns are found and answered with their own words.
    assert groups["turn 1"]["hit@1"] == 1.0 and groups["turn 1"]["answered_when_answerable"] == 1.0
    assert groups["turn 1"]["evidence_in_answer"] == 1.0 and groups["turn 1"]["cited_relevant"] == 1.0
    assert groups["turn 3"]["declined_when_unanswerable"] == 1.0
    assert report["declined_when_unanswerable"] == 1.0 and report["hit@1"] == groups["all"]["hit@1"]

    rows = [json.loads(line) for line in details.read_text().splitlines()]
    assert [(r["conversation"], r["turn"]) for r in rows] == [
        ("conv-install", 1), ("conv-install", 2), ("conv-install", 3), ("conv-backup", 1), ("conv-backup", 2),
    ]  # fmt: skip
    for row in rows:
        for key in ("question", "standalone_question", "retrieved", "answer", "answered", "answer_ms"):
            assert key in row
    # The follow-up is retrieved with the question it was condensed into, history included.
    assert rows[1]["standalone_question"] == "And on Windows? (install Atlas, Linux hosts)"
    assert rows[1]["retrieved"][0] == "handbook.md"

    table = run_cli("eval", str(conversations), "-c", "team", env=cli_env).stdout
    for label in ("Retrieval", "Answers", "turn 1", "turn 2", "turn 3", "follow-ups", "per-question rows:"):
        assert label in table

    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "".join(json.dumps({"id": f"q{i}", **turn}) + "\n" for i, turn in enumerate(CONVERSATIONS[1]["turns"][:1]))
    )
    plain = json.loads(run_cli("eval", str(questions), "-c", "team", "--mode", "lexical", "--json", env=cli_env).stdout)
    assert plain["kind"] == "questions" and plain["mode"] == "lexical" and plain["answerer"] is None
    assert plain["hit@1"] == 1.0 and plain["mrr@10"] == 1.0 and "evidence@1" in plain
    assert "answered_when_answerable" not in plain and "groups" not in plain
    answered = run_cli("eval", str(questions), "-c", "team", "--answers", env=cli_env).stdout
    assert "Answers" in answered and "all" in answered

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "c", "turns": "not a list"}\n')
    failed = run_cli("eval", str(broken), "-c", "team", env=cli_env, check=False)
    assert failed.returncode == 1 and "broken.jsonl:1: not a conversation record" in failed.stderr
