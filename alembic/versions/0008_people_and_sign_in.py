"""people, sign-in and private conversations

People who signed in through the OpenID provider (`people`), what their groups may do (`access_grants`),
server-side browser sessions (`web_sessions`), sign-ins on their way (`sign_in_attempts`), a conversation's
owner and whether it is shared with its collection, and feedback's owner (its conversation's, copied).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("issuer", "subject"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "access_grants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("group_name", sa.String(200), nullable=False),
        sa.Column("collection", sa.String(64), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("group_name", "collection"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("id_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_sessions_person_id", "web_sessions", ["person_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_table(
        "sign_in_attempts",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(100), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("return_to", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sign_in_attempts_created_at", "sign_in_attempts", ["created_at"])
    _add_owner("conversations")
    op.add_column("conversations", sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()))
    _add_owner("feedback")


def _add_owner(table: str) -> None:
    """`owner_id` → people.id. On SQLite by ALTER TABLE ADD COLUMN with its REFERENCES clause, never a batch: a
    batch recreates the table, and dropping the old `conversations` (foreign keys on) would cascade into every
    conversation's turns."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN owner_id INTEGER REFERENCES people (id) ON DELETE CASCADE")
    else:
        op.add_column(table, sa.Column("owner_id", sa.Integer(), nullable=True))
        op.create_foreign_key(f"fk_{table}_owner_id", table, "people", ["owner_id"], ["id"], ondelete="CASCADE")
    op.create_index(f"ix_{table}_owner_id", table, ["owner_id"])


def _drop_owner(table: str) -> None:
    op.drop_index(f"ix_{table}_owner_id", table)
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(f"fk_{table}_owner_id", table, type_="foreignkey")
    op.drop_column(table, "owner_id")  # SQLite 3.35+: ALTER TABLE DROP COLUMN, the table kept


def downgrade() -> None:
    _drop_owner("feedback")
    op.drop_column("conversations", "shared")
    _drop_owner("conversations")
    op.drop_table("sign_in_attempts")
    op.drop_table("web_sessions")
    op.drop_table("access_grants")
    op.drop_table("people")
