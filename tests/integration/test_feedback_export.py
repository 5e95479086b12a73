"""Issue #26, points 4 and 5 over real HTTP: feedback on answers from speaker notes, a sheet and a scan is
exported with evidence read from the files as ingest read them; a follow-up is exported as the question it was
searched as, with its conversation; an answer from a sheet states the row and columns of the asked value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.integration.server import folder_files, running_server, wait_job, wait_ready
from tests.integration.test_conversations import stream_done
from tests.office_files import image_bytes, pptx_bytes, text_image, write, xlsx_bytes

SLIDES = [
    ("Release checklist", ["Freeze the branch", "Run the smoke tests"], "The release manager signs off the build "
     "in the Bergen office, once the smoke tests pass."),
    ("Hiring", ["Two backend roles open in Lisbon"], ""),
]  # fmt: skip
PRICES = [["Plan", "Price", "Seats"], ["Free", "0 EUR", 1], [], ["Team", "12 EUR", 10], ["Business", "30 EUR", 50]]
MEMO = ["Security memo for the night staff", "The vault combination changes every 90 days"]
CONFIG = (
    "# Upload settings\n\n## retry_limit\n\nThe retry_limit setting caps how many times a failed upload is retried "
    "before the job gives up. Its default value is 5, and 0 turns retries off.\n\n## chunk_size\n\nThe chunk_size "
    "setting sets how many tokens a chunk holds. Its default value is 200.\n"
)


def team_folder(root: Path) -> Path:
    """A deck whose answer is in the speaker notes, a price sheet (row 3 left empty), a scanned memo, a note."""
    write(root, "deck.pptx", pptx_bytes(SLIDES))
    write(root, "prices.xlsx", xlsx_bytes({"Prices": PRICES}))
    write(root, "memo.png", image_bytes(text_image(MEMO, width=1200)))
    write(root, "config.md", CONFIG.encode())
    return root


def test_feedback_export_reads_files_as_ingest_did_and_keeps_a_follow_ups_context(tmp_path: Path) -> None:
    docs = team_folder(tmp_path / "team")
    settings = make_settings(tmp_path)
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as api:
        wait_ready(api)
        assert api.post("/api/collections", json={"name": "team"}).status_code == 201
        job = api.post("/api/collections/team/files", files=folder_files(docs)).json()
        assert wait_job(api, job["job_id"])["status"] == "done"

        def asked(question: str, conversation: int | None = None) -> dict:
            if conversation is None:
                conversation = api.post("/api/conversations", json={"collection": "team"}).json()["id"]
            body = {"question": question, "collection": "team", "conversation_id": conversation}
            return stream_done(api, body)  # as the web UI asks

        notes = asked("Where does the release manager sign off the build?")
        assert notes["status"] == "answered" and "Bergen office" in notes["answer"]
        assert notes["citations"][0]["path"] == "deck.pptx"
        price = asked("What is the price of the Team plan?")
        assert price["status"] == "answered", price
        # Point 5: the row of the asked value, named, with its marker; not the whole sheet.
        assert price["answer"] == "Sheet Prices, row 4: Plan = Team, Price = 12 EUR [1]"
        assert price["citations"][0]["quote"] == "| 4 | Team | 12 EUR | 10 |"
        memo = asked("How often does the vault combination change?")
        assert memo["status"] == "answered" and memo["citations"][0]["path"] == "memo.png"
        first = asked("What does the retry_limit setting do?")
        follow = asked("What is its default value?", first["conversation_id"])
        assert follow["status"] == "answered" and "Its default value is 5" in follow["answer"], follow
        assert "retry_limit" in follow["standalone_question"]
        saved = api.get(f"/api/conversations/{first['conversation_id']}").json()["items"][1]
        assert saved["standalone_question"] == follow["standalone_question"]

        for result in (notes, price, memo, first, follow):
            assert api.post("/api/feedback", json={"turn_id": result["turn_id"], "rating": "up"}).status_code == 201
        wrong = asked("How many seats does the Business plan have?")
        assert api.post("/api/feedback", json={"turn_id": wrong["turn_id"], "rating": "down"}).status_code == 201
        given = api.get("/api/feedback").json()["items"][4]
        assert given["context"] == [{"question": first["question"], "answer": first["answer"]}]

    env = dict(os.environ, RAG_DATA_DIR=str(tmp_path / "data"))
    env.pop("RAG_DATABASE_URL", None)
    exported = subprocess.run(
        [sys.executable, "-m", "rag_service", "feedback", "export", "-c", "team"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    questions = {q["id"]: q for q in map(json.loads, exported.stdout.splitlines())}
    assert len(questions) == 6 and "6 questions (5 with ground truth, 1 to review)" in exported.stderr
    by_answer = {q["feedback"]["answer_given"]: q for q in questions.values()}

    # Speaker notes, a sheet's cells and a scan's OCR text are in the files as ingest reads them.
    for result, path in ((notes, "deck.pptx"), (price, "prices.xlsx"), (memo, "memo.png")):
        question = by_answer[result["answer"]]
        assert (question["type"], question["answerable"], question["relevant"]) == ("regression", True, [path])
        assert question["evidence"] and "needs_review" not in question, question
    assert "in the Bergen office" in " ".join(by_answer[notes["answer"]]["evidence"])
    assert by_answer[price["answer"]]["evidence"] == ["4 | Team | 12 EUR | 10"]
    assert "vault combination" in " ".join(by_answer[memo["answer"]]["evidence"])

    # The follow-up stands on its own: the question it was searched as, what was typed, and the turn before.
    exported_follow = by_answer[follow["answer"]]
    assert exported_follow["question"] == follow["standalone_question"] != "What is its default value?"
    assert exported_follow["asked"] == "What is its default value?"
    assert exported_follow["context"] == [{"question": first["question"], "answer": first["answer"]}]
    assert exported_follow["answer"] == follow["answer"] and exported_follow["type"] == "regression"
    assert "asked" not in by_answer[first["answer"]]  # a question that stood alone is exported as it was

    # A thumbs down is to review, with the answer that was rated.
    review = by_answer[wrong["answer"]]
    assert review["needs_review"] is True and review["answer"] == wrong["answer"] != ""
