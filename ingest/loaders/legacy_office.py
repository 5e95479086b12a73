"""Legacy .doc, .ppt and .xls: converted by LibreOffice (headless) to .docx, .pptx or .xlsx, then read by those
loaders. LibreOffice is an optional system package (Debian: libreoffice-writer-nogui, -impress-nogui,
-calc-nogui); without it each such file fails with a line saying what to install."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from ingest.loaders import docx, pptx, spreadsheet
from ingest.types import LoadError, LoadOptions, Section

TARGETS = {
    ".doc": ("docx", docx.load, "libreoffice-writer-nogui"),
    ".ppt": ("pptx", pptx.load, "libreoffice-impress-nogui"),
    ".xls": ("xlsx", spreadsheet.load, "libreoffice-calc-nogui"),
}
MAX_CONVERT_SECONDS = 120.0


def load(data: bytes, name: str, options: LoadOptions) -> list[Section]:
    suffix = PurePosixPath(name).suffix.lower()
    target, read, package = TARGETS[suffix]
    command = shutil.which(options.converter) if options.converter else None
    if command is None:
        raise LoadError(
            f"legacy {suffix} needs LibreOffice to convert it: install Debian's {package} "
            f"(or set RAG_LIBREOFFICE to its soffice), or save the file as .{target}"
        )
    with tempfile.TemporaryDirectory(prefix="rag-convert-") as work:
        source = Path(work) / f"source{suffix}"
        source.write_bytes(data)
        # A profile of its own: LibreOffice refuses to start beside another instance sharing one.
        profile = (Path(work) / "profile").as_uri()
        try:
            done = subprocess.run(
                [
                    command,
                    f"-env:UserInstallation={profile}",
                    "--headless",
                    "--norestore",
                    "--convert-to",
                    target,
                    "--outdir",
                    work,
                    str(source),
                ],
                capture_output=True,
                timeout=MAX_CONVERT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LoadError(f"LibreOffice took over {MAX_CONVERT_SECONDS:g} s to convert the {suffix} file") from exc
        converted = Path(work) / f"source.{target}"
        if not converted.exists():
            detail = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
            raise LoadError(f"LibreOffice could not convert the {suffix} file" + (f": {detail[-1]}" if detail else ""))
        return read(converted.read_bytes(), name, options)
