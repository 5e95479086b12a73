"""The `rag-service` command line: ingest, search, ask, eval, collections, feedback, audit, info, db, serve, mcp,
worker.

What a command does to or asks of a collection is recorded in the audit trail as `cli:<OS user>`; `eval`'s
questions are measurements and are not.

Results go to stdout (`--json` for scripts), progress and errors to stderr; exit status 0 on success,
1 on a bad argument or a failed command, 130 when interrupted.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rag_service.errors import ServiceError
from rag_service.settings import Settings, get_settings

if TYPE_CHECKING:
    from rag_service.answering.base import Answerer, ChatTurn
    from rag_service.indexing import IngestSummary
    from rag_service.retrieval import SearchOptions
    from rag_service.runtime import Runtime

app = typer.Typer(help="Answer questions from your own documents, with citations.", no_args_is_help=True)
collections_app = typer.Typer(help="List and manage collections.", invoke_without_command=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
feedback_app = typer.Typer(help="Feedback given on answers in the web UI or the API.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail: who asked, uploaded or deleted what.", no_args_is_help=True)
app.add_typer(collections_app, name="collections")
app.add_typer(feedback_app, name="feedback")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

CollectionOption = Annotated[str, typer.Option("--collection", "-c", help="Collection name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _runtime(reader: str | None = None) -> Runtime:
    """`reader`: this command's RAG_READER, where it takes a --reader option."""
    from rag_service.runtime import Runtime

    settings = get_settings()
    return Runtime(settings.model_copy(update={"reader": reader}) if reader else settings)


ReaderOption = Annotated[
    str | None,
    typer.Option("--reader", help="auto, off, llamacpp or openai: the reader that decides and picks the quote."),
]


def _actor() -> str:
    from rag_service.audit import os_user_actor

    return os_user_actor()


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(1)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@app.command()
def ingest(
    folder: Annotated[Path, typer.Argument(help="Folder to ingest, recursively.")],
    collection: CollectionOption = "default",
    sync: Annotated[bool, typer.Option("--sync", help="Also remove documents whose files are gone.")] = False,
    embedder: Annotated[str | None, typer.Option(help="Embedder of a new collection: minilm or multilingual.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest a folder into a collection; unchanged files are skipped, changed ones replaced."""
    from rag_service.indexing import ingest_folder

    if not folder.is_dir():
        raise _fail(f"{folder}: not a folder")
    runtime = _runtime()
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[chunks]} chunks embedded · {task.fields[current]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,
    )
    task = progress.add_task("ingest", total=None, chunks=0, current="")

    def report(summary: IngestSummary, current: str) -> None:
        progress.update(
            task,
            total=summary.files_total,
            completed=summary.files_done,
            chunks=summary.chunks_embedded,
            current=current[-40:],
        )

    # Ctrl-C asks the ingest to stop at the next file boundary, so nothing is cut mid-write; a second one stops at once.
    cancel = threading.Event()

    def on_interrupt(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        err.print("stopping after the current batch… (Ctrl-C again to stop at once)")

    previous_handler = signal.signal(signal.SIGINT, on_interrupt)
    try:
        with progress:
            summary = ingest_folder(
                runtime, collection, folder, sync=sync, embedder=embedder, progress=report, cancel=cancel
            )
    except KeyboardInterrupt:
        summary = None
    except ServiceError as exc:
        raise _fail(str(exc)) from exc
    finally:
        signal.signal(signal.SIGINT, previous_handler)
    if summary is not None:
        from rag_service import audit

        counts = {k: getattr(summary, k) for k in ("added", "updated", "unchanged", "deleted", "chunks_embedded")}
        details = {"path": str(folder.resolve()), "sync": sync, "status": summary.status, **counts}
        audit.record(runtime, _actor(), "sync", collection=collection, details=details)
    if summary is None or summary.status == "cancelled":
        err.print("interrupted: what was committed is kept; run the same command again to finish")
        raise typer.Exit(130)
    if as_json:
        out.print_json(json.dumps(summary.to_dict()))
        return
    for failure in summary.failed:
        err.print(f"failed: {failure['path']}: {failure['reason']}", highlight=False, markup=False)
    out.print(
        f"{summary.collection}: {summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged, "
        f"{summary.deleted} deleted, {len(summary.failed)} failed, {len(summary.skipped)} skipped; "
        f"{summary.chunks_embedded} chunks embedded in {summary.seconds:.1f}s",
        highlight=False,
    )


def _search_options(
    runtime: Runtime, top_k: int | None, path_filter: str | None, min_score: float | None, mode: str | None
) -> SearchOptions:
    from rag_service.retrieval import SearchOptions

    return SearchOptions.from_settings(runtime, top_k=top_k, path_filter=path_filter, min_score=min_score, mode=mode)


TopK = Annotated[int | None, typer.Option("--top-k", "-k", help="How many passages.")]
PathFilter = Annotated[str | None, typer.Option("--filter", help="Path prefix (docs/setup) or glob (*.md).")]
MinScore = Annotated[float | None, typer.Option("--min-score", help="Drop hits scoring below this.")]
Mode = Annotated[str | None, typer.Option("--mode", help="hybrid, dense or lexical.")]


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    collection: CollectionOption = "default",
    top_k: TopK = None,
    path_filter: PathFilter = None,
    min_score: MinScore = None,
    mode: Mode = None,
    as_json: JsonOption = False,
) -> None:
    """Show the passages that best match a query, with their scores and locations."""
    from rag_service import audit
    from rag_service.retrieval import retrieve

    runtime = _runtime()
    try:
        hits = retrieve(runtime, collection, query, _search_options(runtime, top_k, path_filter, min_score, mode))
    except ServiceError as exc:
        raise _fail(str(exc)) from exc
    details = {"hits": len(hits), "chunk_ids": [hit.chunk_id for hit in hits]}
    audit.record(runtime, _actor(), "search", collection=collection, details=details, private={"query": query})
    if as_json:
        out.print_json(json.dumps([hit.to_dict() for hit in hits]))
        return
    if not hits:
        err.print("no matching passages")
    for hit in hits:
        out.print(f"[bold][{hit.rank}] {hit.location()}[/bold]  score {hit.score:.3f}", highlight=False)
        if hit.heading_path:
            out.print(f"    {hit.heading_path}", style="dim", highlight=False, markup=False)
        snippet = " ".join(hit.text.split())
        out.print(f"    {snippet[:300]}{'…' if len(snippet) > 300 else ''}", highlight=False, markup=False)


LlmBackend = Annotated[str | None, typer.Option("--llm", help="Answer backend: extractive, llamacpp or openai.")]
LlmBaseUrl = Annotated[
    str | None, typer.Option("--llm-base-url", help="OpenAI-compatible server, e.g. http://host/v1.")
]
LlmModel = Annotated[str | None, typer.Option("--llm-model", help="Model name on the OpenAI-compatible server.")]
LlmModelPath = Annotated[str | None, typer.Option("--llm-model-path", help="GGUF file for the llamacpp backend.")]


def _answerer(
    settings: Settings, llm: str | None, base_url: str | None, model: str | None, model_path: str | None
) -> Answerer:
    from rag_service.answering import TRUSTED, build_answerer

    # The operator at a terminal may point the answerer anywhere; API callers get LlmPolicy.from_settings.
    overrides = {"base_url": base_url, "model": model, "model_path": model_path}
    return build_answerer(settings, llm, overrides, policy=TRUSTED)


def _read_history(path: Path | None) -> list[ChatTurn]:
    from rag_service.answering.base import ChatTurn

    if path is None:
        return []
    try:
        turns = json.loads(path.read_text(encoding="utf-8"))
        return [ChatTurn(role=str(t["role"]), content=str(t["content"])) for t in turns]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise _fail(f"{path}: not a JSON list of {{role, content}} turns ({exc})") from exc


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question.")],
    collection: CollectionOption = "default",
    top_k: TopK = None,
    path_filter: PathFilter = None,
    min_score: MinScore = None,
    mode: Mode = None,
    llm: LlmBackend = None,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_model_path: LlmModelPath = None,
    history: Annotated[Path | None, typer.Option("--history", help="JSON file of earlier turns.")] = None,
    reader: ReaderOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the collection's documents, citing the passages used."""
    from rag_service.answering.request import AskRequest
    from rag_service.answering.service import ask_events

    runtime = _runtime(reader)
    turns = _read_history(history)
    try:
        request = AskRequest(
            collection=collection,
            question=question,
            answerer=_answerer(runtime.settings, llm, llm_base_url, llm_model, llm_model_path),
            options=_search_options(runtime, top_k, path_filter, min_score, mode),
            history=turns,
            actor=_actor(),
        )
        result = None
        for kind, value in ask_events(runtime, request):
            if kind == "token" and not as_json:
                out.print(value, end="", highlight=False, markup=False)
            elif kind == "done":
                result = value
    except ServiceError as exc:
        raise _fail(str(exc)) from exc
    assert result is not None
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    else:
        out.print()
        if result.citations:
            out.print("\nSources:")
            for citation in result.citations:
                heading = f" ({citation.heading})" if citation.heading else ""
                out.print(f"[{citation.n}] {citation.location()}{heading}", highlight=False, markup=False)
        elif (result.error or result.status == "partial") and result.hits:
            out.print("\nClosest passages:" if result.status == "partial" else "\nRetrieved passages:")
            for hit in result.hits:
                out.print(f"[{hit.rank}] {hit.location()}", highlight=False, markup=False)
        for sentence in result.unsupported:
            err.print(f"unsupported by the passages: {sentence}", highlight=False, markup=False)
        searched = f"; searched for: {result.standalone_question}" if result.standalone_question != question else ""
        err.print(f"{result.status}{searched}", highlight=False, markup=False)
    if result.error:
        raise _fail(result.error)


@app.command("eval")
def evaluate_questions(
    questions: Annotated[
        Path,
        typer.Argument(help="JSONL questions, or conversations (records with `turns`); see shared/eval/*/README.md."),
    ],
    collection: CollectionOption = "default",
    top_k: TopK = None,
    mode: Mode = None,
    answers: Annotated[
        bool,
        typer.Option("--answers", help="Also run the answerer and score its answers (always on for conversations)."),
    ] = False,
    llm: LlmBackend = None,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_model_path: LlmModelPath = None,
    details: Annotated[Path | None, typer.Option("--details", help="Where per-question results go (JSONL).")] = None,
    reader: ReaderOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measure retrieval (hit@k, MRR, nDCG, evidence@k) and answers against the ground truth; prints a table."""
    from rag_service.evaluation import (
        evaluate,
        evaluate_conversations,
        is_conversation_file,
        load_conversations,
        load_questions,
    )

    runtime = _runtime(reader)
    try:
        conversational = is_conversation_file(questions)
        options = _search_options(runtime, top_k, None, None, mode)
        # A conversation's history holds the system's own answers, so conversations always need the answerer.
        answers = answers or conversational
        answerer = _answerer(runtime.settings, llm, llm_base_url, llm_model, llm_model_path) if answers else None
        if conversational:
            assert answerer is not None
            report = evaluate_conversations(runtime, collection, load_conversations(questions), options, answerer)
        else:
            report = evaluate(runtime, collection, load_questions(questions), options, answerer)
    except OSError as exc:
        raise _fail(f"{questions}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _fail(f"{questions}: not UTF-8 text ({exc.reason})") from exc
    except ServiceError as exc:
        raise _fail(str(exc)) from exc
    if details is None:
        name = f"{collection}-{questions.stem}-{options.mode}-k{options.top_k}.jsonl"
        details = runtime.settings.data_dir / "eval" / name
    details.parent.mkdir(parents=True, exist_ok=True)
    details.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in report.per_question))
    summary = {
        "collection": collection,
        "file": str(questions),
        "kind": "conversations" if conversational else "questions",
        "mode": options.mode,
        "top_k": options.top_k,
        "answerer": answerer.name if answerer is not None else None,
        "questions": report.questions,
        "answerable": report.answerable,
        **({"conversations": report.conversations, "groups": report.groups} if conversational else {}),
        **report.metrics,
        "details": str(details),
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    groups = report.groups or {
        "all": {"questions": report.questions, "answerable": report.answerable, **report.metrics}
    }
    _print_eval_tables(summary, groups, options.top_k, with_answers=answerer is not None)


def _print_eval_tables(summary: dict, groups: dict[str, dict], top_k: int, with_answers: bool) -> None:
    """Two blocks, retrieval then answers; one row per group (all, or each turn position); fits 80 columns."""
    from rich import box
    from rich.table import Table

    def cell(value: object) -> str:
        if value is None:
            return "-"
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    def ms(row: dict, name: str) -> str:
        p50, p95 = row.get(f"{name}_ms_p50"), row.get(f"{name}_ms_p95")
        return "-" if p50 is None or p95 is None else f"{p50:.0f} / {p95:.0f}"

    def table(title: str, headers: list[str]) -> Table:
        grid = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=0, show_edge=False)
        for header in headers:
            grid.add_column(header, justify="right" if header else "left", no_wrap=True)
        return grid

    scope = f"{summary['conversations']} conversations, " if "conversations" in summary else ""
    out.print(
        f"{summary['file']} on '{summary['collection']}': {scope}{summary['questions']} questions "
        f"({summary['answerable']} answerable), mode {summary['mode']}, top_k {top_k}"
        + (f", answerer {summary['answerer']}" if summary["answerer"] else ""),
        highlight=False,
        markup=False,
    )
    keys = [f"hit@{k}" for k in (1, 3, 5, 10)] + ["mrr@10", "ndcg@10", "evidence@1", f"evidence@{top_k}"]
    headers = [key.replace("evidence", "ev") for key in keys]
    retrieval = table("Retrieval, answerable questions (n), depth 10", ["", "n", *headers, "search ms\np50 / p95"])
    for label, row in groups.items():
        retrieval.add_row(label, str(row["answerable"]), *(cell(row.get(k)) for k in keys), ms(row, "search"))
    out.print(retrieval)
    if with_answers:
        out.print()
        answers = table(
            "Answers, scored against the ground truth",
            ["", "answered", "declined\n(n)", "evidence\nin answer", "token\nrecall", "cited\nrelevant",
             "cited when\nanswered", "unsupported\nwhen answered", "errors", "answer ms\np50 / p95"],
        )  # fmt: skip
        for label, row in groups.items():
            answers.add_row(
                label,
                cell(row.get("answered_when_answerable")),
                f"{cell(row.get('declined_when_unanswerable'))} ({row['questions'] - row['answerable']})",
                cell(row.get("evidence_in_answer")),
                cell(row.get("evidence_token_recall")),
                cell(row.get("cited_relevant")),
                cell(row.get("cited_when_answered")),
                cell(row.get("unsupported_when_answered")),
                cell(row.get("answer_errors")),
                ms(row, "answer"),
            )
        out.print(answers)
    out.print(f"per-question rows: {summary['details']}", highlight=False, markup=False)


@collections_app.callback()
def collections_list(
    ctx: typer.Context,
    as_json: JsonOption = False,
) -> None:
    """List collections with their document and chunk counts."""
    if ctx.invoked_subcommand is not None:
        return
    from rag_service.collections import list_collections

    infos = list_collections(_runtime())
    if as_json:
        out.print_json(json.dumps([info.to_dict() for info in infos]))
        return
    if not infos:
        err.print("no collections yet: rag-service ingest FOLDER --collection NAME")
    for info in infos:
        failed = f", {info.failed_documents} failed" if info.failed_documents else ""
        embedder = f"{info.embedder} ({info.vector_space})"
        out.print(
            f"{info.name}\t{embedder}\t{info.documents} documents{failed}\t{info.chunks} chunks",
            highlight=False,
        )


@collections_app.command("delete")
def collections_delete(
    name: Annotated[str, typer.Argument(help="Collection to delete, with its documents and indexes.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    from rag_service import audit
    from rag_service.collections import delete_collection

    if not yes and not typer.confirm(f"Delete collection {name!r} and all its documents?"):
        raise typer.Exit(1)
    runtime = _runtime()
    try:
        delete_collection(runtime, name)
    except ServiceError as exc:
        raise _fail(str(exc)) from exc
    audit.record(runtime, _actor(), "collection.delete", collection=name)
    err.print(f"deleted {name}")


def embedding_info(settings: Settings) -> dict:
    """The CPU, the embedding precision chosen on it and why, and each embedder's engine for new collections."""
    from rag_service.embedders import EMBEDDERS, EmbedderPool

    pool = EmbedderPool(settings)
    engines = {}
    for name, by_precision in EMBEDDERS.items():
        engine = pool.get(name)
        engines[name] = {"engine": engine.engine, "vector_space": engine.model_id, "precisions": list(by_precision)}
    return {"cpu": pool.cpu_model, "precision": pool.choice.to_dict(), "new_collections": engines}


@app.command()
def info(as_json: JsonOption = False) -> None:
    """Show the data dir, the embedding precision chosen for this CPU and why, and each embedder's engine."""
    from rag_service.answering.reader import reader_status

    settings = get_settings()
    details = {"data_dir": str(settings.data_dir.resolve()), **embedding_info(settings)}
    details["reader"] = reader_status(settings).to_dict()
    if as_json:
        out.print_json(json.dumps(details))
        return
    choice = details["precision"]
    out.print(f"data dir: {details['data_dir']}", highlight=False, markup=False)
    out.print(f"cpu: {details['cpu'] or 'unknown'}", highlight=False, markup=False)
    out.print(f"cpu flags that bear on it: {' '.join(choice['flags']) or 'none'}", highlight=False, markup=False)
    out.print(
        f"embedding precision: {choice['precision']} (RAG_EMBED_PRECISION={choice['requested']}: {choice['reason']}"
        f"{'' if choice['native'] else '; emulated, this CPU lacks its instructions'})",
        highlight=False,
        markup=False,
    )
    for name, engine in details["new_collections"].items():
        out.print(
            f"{name}: new collections {engine['engine']}, vectors {engine['vector_space']}; "
            f"engines {', '.join(engine['precisions'])}",
            highlight=False,
            markup=False,
        )
    reader = details["reader"]
    model = f", {reader['model']}" if reader["model"] else ""
    out.print(f"reader: {reader['name']}{model} ({reader['reason']})", highlight=False, markup=False)


@feedback_app.command("export")
def feedback_export(collection: CollectionOption) -> None:
    """Write a collection's feedback as eval questions (JSONL, the format of shared/eval/*/questions.jsonl) to
    stdout: thumbs up → regression questions, thumbs down → questions marked needs_review."""
    from rag_service.feedback import export_questions

    runtime = _runtime()
    try:
        with runtime.sessions() as session:
            questions = export_questions(session, runtime.settings, collection)
    except ServiceError as exc:
        raise _fail(str(exc)) from exc
    for question in questions:
        sys.stdout.write(json.dumps(question, ensure_ascii=False) + "\n")
    review = sum(1 for q in questions if q.get("needs_review"))
    err.print(f"{len(questions)} questions ({len(questions) - review} with ground truth, {review} to review)")


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO date or time (2026-12-01, 2026-12-01T09:30, ...+02:00); without a zone it is UTC."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise _fail(f"{option}: {value!r} is not an ISO date or time (2026-12-01, 2026-12-01T09:30:00Z)") from exc


Since = Annotated[str | None, typer.Option("--since", help="From this date or time on (ISO; UTC unless a zone).")]
Until = Annotated[str | None, typer.Option("--until", help="Before this date or time (ISO; UTC unless a zone).")]


@audit_app.command("export")
def audit_export(
    since: Since = None,
    until: Until = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Write the audit trail as JSON Lines, one event a line, oldest first (since <= at < until)."""
    from rag_service import audit

    start, end = _moment(since, "--since"), _moment(until, "--until")
    runtime = _runtime()
    count = 0
    with runtime.sessions() as session:
        lines = audit.export_jsonl(session, start, end)
        if output is None:
            for line in lines:
                sys.stdout.write(line)
                count += 1
        else:
            with output.open("w", encoding="utf-8") as stream:
                for line in lines:
                    stream.write(line)
                    count += 1
    details = {"since": since, "until": until, "events": count, "output": str(output) if output else None}
    audit.record(runtime, _actor(), "audit.export", details={k: v for k, v in details.items() if v is not None})
    err.print(f"{count} events{f' written to {output}' if output else ''}", highlight=False, markup=False)


@audit_app.command("list")
def audit_list(
    since: Since = None,
    until: Until = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor's events.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action (ask, upload, ...).")] = None,
    collection: Annotated[str | None, typer.Option("--collection", "-c", help="Only this collection's.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The newest events as a table: when, who, what, where."""
    from rag_service import audit

    filters = audit.Filters(
        since=_moment(since, "--since"),
        until=_moment(until, "--until"),
        actor=actor,
        action=action,
        collection=collection,
    )
    runtime = _runtime()
    with runtime.sessions() as session:
        items, total = audit.list_events(session, filters, limit=limit)
    if as_json:
        out.print_json(json.dumps({"items": items, "total": total}))
        return
    if not items:
        err.print("no audit events match")
    for item in items:
        where = item["collection"] or "-"
        target = f" {item['target']}" if item["target"] else ""
        status = f" ({item['details']['status']})" if "status" in item["details"] else ""
        out.print(
            f"{item['at'][:19]}Z\t{item['actor']}\t{item['action']}{status}\t{where}{target}",
            highlight=False,
            markup=False,
        )
    if total > len(items):
        err.print(f"{len(items)} of {total} events; --limit for more", highlight=False)


@audit_app.command("purge")
def audit_purge(
    older_than_days: Annotated[
        int | None,
        typer.Option("--older-than-days", min=1, help="Delete events older than this (RAG_AUDIT_RETENTION_DAYS)."),
    ] = None,
) -> None:
    """Delete old audit events now, as the server does at start and about once a day."""
    from rag_service import audit

    runtime = _runtime()
    days = older_than_days if older_than_days is not None else runtime.settings.audit_retention_days
    if days <= 0:
        err.print("RAG_AUDIT_RETENTION_DAYS is 0: events are kept for ever; nothing purged")
        return
    removed = audit.purge(runtime, days)
    if removed:
        audit.record(runtime, _actor(), "audit.purge", details={"removed": removed, "older_than_days": days})
    err.print(f"{removed} events older than {days} days purged", highlight=False)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (RAG_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (RAG_PORT).")] = None,
) -> None:
    """Serve the REST API and the web UI."""
    import uvicorn

    from rag_service.api.app import create_app
    from rag_service.api.auth import load_keys

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if settings.oidc_enabled:
        err.print(f"sign-in with {settings.oidc_issuer} for the web UI; API keys for tools: {len(load_keys(settings))}")
    elif not load_keys(settings):
        if host not in LOOPBACK:
            err.print(f"no API keys configured (RAG_API_KEYS): binding to 127.0.0.1 instead of {host}")
            host = "127.0.0.1"
        else:
            err.print("no API keys configured: serving on loopback only, without authentication")
    from rag_service.embedders import EmbedderPool

    err.print(f"embedding precision: {EmbedderPool(settings).choice.describe()}", highlight=False, markup=False)
    err.print(f"rag-service on http://{host}:{port}  (API docs at /docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@app.command("mcp")
def mcp_stdio(
    key: Annotated[
        str | None, typer.Option("--key", help="Act as this API key (RAG_API_KEYS): only its collections.")
    ] = None,
) -> None:
    """Serve MCP over stdio, for a client that starts a local process: list_collections, search, ask, read_passage
    on the local data dir (RAG_DATA_DIR). Nothing but the protocol is written to stdout."""
    from rag_service.mcp.server import run_stdio

    try:
        run_stdio(get_settings(), key)
    except ServiceError as exc:
        raise _fail(str(exc)) from exc


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Worker processes, one job each.")] = 1,
    loglevel: Annotated[str, typer.Option(help="Celery's log level.")] = "INFO",
) -> None:
    """Run ingest jobs from the queue at RAG_BROKER_URL (a Celery worker); as many as you like, on any machine."""
    settings = get_settings()
    if not settings.broker_url:
        raise _fail("no job queue: set RAG_BROKER_URL (redis://host:6379/0 or amqp://user:pass@host:5672//)")
    from rag_service.jobqueue.celery_queue import run_worker

    err.print(f"ingest worker on {settings.broker_url.split('@')[-1]}, {concurrency} process(es)", highlight=False)
    run_worker(settings, concurrency=concurrency, loglevel=loglevel)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (every other command does this itself)."""
    from rag_service.db import upgrade_database

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.database_url)
    err.print("database is at the newest schema")


def run() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
