"""A small folder of every supported format, with known facts at known places, made fresh for each test."""

from __future__ import annotations

from pathlib import Path

import docx
from fpdf import FPDF

MARKDOWN = """# Operations handbook

Intro paragraph about the handbook.

## Install

### Linux

Run the installer with `sudo ./install.sh --prefix /opt/atlas` on Linux hosts.
The installer needs Python 3.11 or newer.

### Windows

Double-click `AtlasSetup.msi` and follow the wizard.

## Rotate API keys

To rotate the API keys, run `atlas keys rotate --all` and restart the gateway.
Old keys stay valid for 24 hours after rotation.
"""

ADOC = """= Backup guide

== Schedule

Backups run nightly at 02:30 UTC and are kept for 35 days.

== Restore

Restore a snapshot with `atlas restore --snapshot ID`.
"""

RST = """Monitoring
==========

Alerts
------

The pager alert fires when error rate exceeds five percent for ten minutes.
"""

HTML = """<!doctype html><html><head><title>Release notes</title>
<style>.x { color: red }</style><script>var secretTracking = "do-not-index";</script></head>
<body><nav>Home | Products | NAVIGATIONNOISE</nav>
<h1>Release notes</h1><h2>Version 4.2</h2>
<p>Version 4.2 adds <b>zero-downtime</b> upgrades for the gateway cluster.</p>
<footer>Copyright FOOTERNOISE</footer></body></html>
"""

PYTHON = '''"""Billing helpers."""


def compute_invoice_total(lines, tax_rate):
    """Sum invoice lines and apply the tax rate."""
    subtotal = sum(line.amount for line in lines)
    return round(subtotal * (1 + tax_rate), 2)


class RefundPolicy:
    """Refunds are allowed within 30 days of purchase."""

    window_days = 30
'''

CSV = "region,owner,oncall\nemea,Ingrid Larsen,+47 555 0101\napac,Kenji Sato,+81 555 0202\n"

JSON = '{"service": "gateway", "timeout_seconds": 45, "retries": 3}\n'

LATIN1 = (
    "Le café de l'équipe ouvre à 8 heures. Les réunions du matin se tiennent dans la salle Hélène. "
    "Pour réserver la salle, écrivez à l'accueil avant midi. Merci de laisser la pièce propre après usage.\n"
)

PDF_PAGES = [
    "Security policy. Passwords must be at least 14 characters long.",
    "Incident response. Page the security officer within 15 minutes of detection.",
    "Data retention. Customer logs are deleted after 90 days.",
]

TXT = """Team glossary
=============

Blue deploy
-----------
A blue deploy sends traffic to the standby cluster first.
"""


def make_pdf(path: Path, pages: list[str]) -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    document = docx.Document()
    document.add_heading("Onboarding", level=1)
    document.add_heading("First week", level=2)
    document.add_paragraph("New engineers pair with a buddy for their first five days.")
    document.save(str(path))


def build_corpus(root: Path) -> Path:
    (root / "guides" / "deep").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "ignored").mkdir()
    (root / ".git").mkdir()
    (root / "node_modules" / "pkg").mkdir(parents=True)
    (root / "handbook.md").write_text(MARKDOWN)
    (root / "guides" / "backup.adoc").write_text(ADOC)
    (root / "guides" / "monitoring.rst").write_text(RST)
    (root / "guides" / "deep" / "glossary.txt").write_text(TXT)
    (root / "release.html").write_text(HTML)
    (root / "src" / "billing.py").write_text(PYTHON)
    (root / "oncall.csv").write_text(CSV)
    (root / "config.json").write_text(JSON)
    (root / "cafe.txt").write_bytes(LATIN1.encode("latin-1"))
    make_pdf(root / "policy.pdf", PDF_PAGES)
    make_docx(root / "onboarding.docx")
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage garbage\n%%EOF")
    (root / "design.psd").write_bytes(b"8BPS" + bytes(range(256)) * 4)
    (root / "data.txt.bak").write_bytes(b"x")
    (root / "disguised.txt").write_bytes(b"text\x00\x01\x02 binary")
    (root / "ignored" / "secret.md").write_text("# Secret\nThe launch code is 0000.\n")
    (root / "notes.tmp.md").write_text("# Temporary\nScratch notes.\n")
    (root / ".hidden.md").write_text("# Hidden\nNot to be indexed.\n")
    (root / ".git" / "config.md").write_text("# git internals\n")
    (root / "node_modules" / "pkg" / "README.md").write_text("# dependency readme\n")
    (root / ".ragignore").write_text("ignored/\n*.tmp.md\n")
    return root


# Files the ingest should index successfully, and the ones it should report.
INDEXED = {
    "handbook.md",
    "guides/backup.adoc",
    "guides/monitoring.rst",
    "guides/deep/glossary.txt",
    "release.html",
    "src/billing.py",
    "oncall.csv",
    "config.json",
    "cafe.txt",
    "policy.pdf",
    "onboarding.docx",
}
FAILED = {"broken.pdf"}
SKIPPED = {"design.psd", "data.txt.bak", "disguised.txt", "ignored/", "notes.tmp.md"}
