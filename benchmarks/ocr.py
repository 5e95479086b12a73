"""`make bench` (OCR part): what reading scans costs on this machine, and how well it reads.

Pages are rendered from known text (Pillow, at about 200 dpi, as a scanner would give them) so that accuracy can
be measured: character accuracy is 1 - edit distance / length, whitespace ignored. Seconds per page are the
loader's own (render + OCR + reading order), median of the runs. The mixed folder is a team's folder in
miniature: text PDFs, scanned PDFs and images; it reports the share of pages that needed OCR and of the time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.run import RESULTS, machine
from ingest.loaders import loader_for
from rag_service.indexing import load_options
from rag_service.settings import Settings
from tests.office_files import CJK_FONT, image_bytes, scanned_pdf_bytes, text_image, write

CHINESE = (
    "本服务在团队自己的机器上运行，所有模型都随软件包一起安装，不需要连接互联网。"
    "上传文件夹后，系统会逐个读取文件，按标题切分段落，计算向量并写入索引。"
    "扫描件和图片中的文字由光学字符识别读取，识别结果保留原来的页码，回答时可以引用。"
    "如果文件损坏、加密或超过设置中的限制，该文件会被记录为失败并说明原因，其余文件继续处理。"
    "数据库每天凌晨两点备份，备份保留三十天，恢复演练每季度进行一次。"
)


def git_doc_prose(chars: int) -> str:
    """Real prose for a dense page: the start of Git's user manual, as plain text."""
    source = Path("/usr/share/doc/git-doc/user-manual.txt")
    text = source.read_text(errors="replace") if source.exists() else "The quick brown fox jumps. " * 200
    words = " ".join(line.strip() for line in text.splitlines() if line.strip() and not line.startswith(("=", "-")))
    return words[:chars]


def pages() -> dict[str, tuple[Any, str]]:
    dense = textwrap.wrap(git_doc_prose(4200), 84)[:40]
    chinese = textwrap.wrap(CHINESE * 2, 38)[:12]
    sparse = ["Scanned invoice number 48213", "Total due: 1,250 EUR", "Payment is due before 3 March 2027"]
    columns = textwrap.wrap(git_doc_prose(2400), 38)[:40]
    return {
        "sparse (3 lines)": (text_image(sparse, width=1654), "\n".join(sparse)),
        "dense (40 lines, A4)": (text_image(dense, size=30, width=1654), "\n".join(dense)),
        "Chinese (12 lines)": (text_image(chinese, font=CJK_FONT, size=36, width=1654), "\n".join(chinese)),
        "two columns (40 lines)": (text_image(columns, size=28, width=1654, columns=2), "\n".join(columns)),
    }


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def accuracy(read: str, truth: str) -> float:
    a, b = "".join(read.split()), "".join(truth.split())
    return round(1 - edit_distance(a, b) / max(len(b), 1), 4)


def load_seconds(name: str, data: bytes, runs: int) -> tuple[float, str]:
    loader = loader_for(name)
    assert loader is not None
    times, text = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        sections = loader.load(data, name, load_options(Settings(_env_file=None)))  # type: ignore[call-arg]
        times.append(time.perf_counter() - started)
        text = "\n".join(section.text for section in sections)
    return round(statistics.median(times), 3), text


def mixed_folder(root: Path) -> dict[str, Any]:
    from rag_service.indexing import ingest_folder
    from rag_service.runtime import Runtime
    from rag_service.settings import Settings

    prose = textwrap.wrap(git_doc_prose(40_000), 84)
    text_pages = ["\n".join(prose[i : i + 40]) for i in range(0, 400, 40)]
    scans = [text_image(prose[i : i + 40], size=30, width=1654) for i in range(400, 480, 40)]
    folder = root / "mixed"
    for n in range(5):
        write(folder, f"manual-{n}.pdf", scanned_pdf_bytes(text_pages[2 * n : 2 * n + 2]))
    write(folder, "scanned-contract.pdf", scanned_pdf_bytes(scans))
    write(folder, "mixed-report.pdf", scanned_pdf_bytes([text_pages[0], scans[0]]))
    write(folder, "whiteboard.png", image_bytes(text_image(prose[500:520], size=30, width=1654)))
    total_pages, ocr_pages = 10 + 2 + 2 + 1, 2 + 1 + 1
    result: dict[str, Any] = {
        "files": 8,
        "pages": total_pages,
        "ocr_pages": ocr_pages,
        "ocr_page_share": round(ocr_pages / total_pages, 3),
    }
    for ocr in (True, False):
        settings = Settings(_env_file=None, data_dir=root / f"data-{ocr}", ocr=ocr)  # type: ignore[call-arg]
        started = time.perf_counter()
        summary = ingest_folder(Runtime(settings), "mixed", folder)
        result["with_ocr" if ocr else "without_ocr"] = {
            "wall_seconds": round(time.perf_counter() - started, 2),
            "chunks": summary.chunks_written,
            "failed": len(summary.failed),
        }
    with_ocr, without = result["with_ocr"]["wall_seconds"], result["without_ocr"]["wall_seconds"]
    result["ocr_time_share"] = round((with_ocr - without) / with_ocr, 3)
    return result


SHOWN_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "fma", "f16c")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine(), "pages": {}}
    text_pdf = scanned_pdf_bytes([git_doc_prose(3000)])
    seconds, _ = load_seconds("text.pdf", text_pdf, args.runs)
    report["pages"]["text layer (no OCR)"] = {"seconds": seconds, "accuracy": None}
    load_seconds("warm.png", image_bytes(text_image(["warm up"])), 1)  # the engine loads its models once
    for name, (image, truth) in pages().items():
        seconds, read = load_seconds("page.pdf", scanned_pdf_bytes([image]), args.runs)
        report["pages"][name] = {"seconds": seconds, "accuracy": accuracy(read, truth), "chars": len(truth)}
    with tempfile.TemporaryDirectory() as work:
        report["mixed_folder"] = mixed_folder(Path(work))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"ocr-{stamp}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"ocr-{stamp}.md").write_text(markdown(report))
    print(markdown(report))


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# OCR benchmark — {m['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; flags: {' '.join(f for f in SHOWN_FLAGS if f in m['cpu_flags'])}.",
        "",
        "| page (scanned at ~200 dpi) | seconds per page | character accuracy |",
        "|---|---|---|",
    ]
    for name, row in report["pages"].items():
        lines.append(f"| {name} | {row['seconds']} | {row['accuracy'] if row['accuracy'] is not None else '—'} |")
    mixed = report["mixed_folder"]
    lines += [
        "",
        f"Mixed folder: {mixed['files']} files, {mixed['pages']} pages, {mixed['ocr_pages']} needed OCR "
        f"({mixed['ocr_page_share']:.0%}). Ingest {mixed['with_ocr']['wall_seconds']} s with OCR, "
        f"{mixed['without_ocr']['wall_seconds']} s with RAG_OCR=false (scans failed: "
        f"{mixed['without_ocr']['failed']}); OCR is {mixed['ocr_time_share']:.0%} of the time.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
