"""the change log that replicas follow, and job leases for workers on other machines

`collections.change_seq` is the collection's last change number; a writer bumps it as the last statement of
its transaction, so the row lock orders commits and the numbers have no gaps in commit order (an
autoincrement does not: a late commit can slip behind a reader). `chunk_changes` holds the chunk ids each
numbered change added or removed; changes up to `change_log_floor` were pruned. Ingest runs get a lease (heartbeat, attempts), a cancel flag that any
replica can set, and the progress that other processes show. Columns are added, never tables recreated, so no
ON DELETE CASCADE fires on SQLite.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("collections", sa.Column("change_seq", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("collections", sa.Column("change_log_floor", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "chunk_changes",
        sa.Column("collection_id", sa.Integer(), sa.ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("chunk_id", sa.BigInteger(), nullable=False),
        sa.Column("op", sa.String(6), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "seq", "chunk_id"),
    )
    for column in (
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("sync", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("files_read", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("chunks_split", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("current", sa.Text(), nullable=False, server_default=""),
        sa.Column("skipped_files", sa.JSON(), nullable=True),
        sa.Column("progress_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("queue", sa.String(20), nullable=False, server_default="cli"),
    ):
        op.add_column("ingest_runs", column)
    op.create_index("ix_ingest_runs_status", "ingest_runs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_ingest_runs_status", "ingest_runs")
    for name in (
        "queue",
        "progress_version",
        "skipped_files",
        "current",
        "chunks_split",
        "files_read",
        "sync",
        "cancel_requested",
        "attempts",
        "heartbeat_at",
    ):
        op.drop_column("ingest_runs", name)
    op.drop_table("chunk_changes")
    op.drop_column("collections", "change_log_floor")
    op.drop_column("collections", "change_seq")
