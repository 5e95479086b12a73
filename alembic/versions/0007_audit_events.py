"""the audit trail: who did what, where, when

One row per event (`rag_service/audit.py`): asks, searches, uploads, syncs, deletes, conversation and feedback
changes, the keys in force. The actor is a name, never a key. No foreign keys, so the trail outlives what it
names; indexes for listing by time and by actor, action or collection over time.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("collection", sa.String(200), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_actor_at", "audit_events", ["actor", "at"])
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"])
    op.create_index("ix_audit_events_collection_at", "audit_events", ["collection", "at"])


def downgrade() -> None:
    op.drop_table("audit_events")
