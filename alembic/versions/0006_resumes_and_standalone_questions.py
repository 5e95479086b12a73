"""interrupted uploads resumed once, and the question a follow-up was searched as

`ingest_runs.resumes` counts the times an interrupted upload run was taken up again when a server or worker
started (so that a run that dies again is not resumed without limit), `resumed_at` says when, and `note` is the
sentence the job shows about it. `conversation_turns.standalone_question` keeps the rewritten question the ask
searched for; `feedback` copies it with the conversation's earlier turns (`context`), so that an exported
follow-up reads on its own. Columns are added, never tables recreated, so no ON DELETE CASCADE fires on SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ingest_runs", sa.Column("resumes", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("ingest_runs", sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ingest_runs", sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.add_column("conversation_turns", sa.Column("standalone_question", sa.Text(), nullable=True))
    op.add_column("feedback", sa.Column("standalone_question", sa.Text(), nullable=True))
    op.add_column("feedback", sa.Column("context", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("feedback", "context")
    op.drop_column("feedback", "standalone_question")
    op.drop_column("conversation_turns", "standalone_question")
    op.drop_column("ingest_runs", "note")
    op.drop_column("ingest_runs", "resumed_at")
    op.drop_column("ingest_runs", "resumes")
