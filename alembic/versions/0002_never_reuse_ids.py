"""chunk and ingest-run ids are never reused on SQLite (AUTOINCREMENT); ingest runs record their process

A chunk id is also its FAISS id: an id handed out again after a delete could meet the old chunk's vector in
a FAISS file saved before a crash. PostgreSQL sequences never hand out an id twice; SQLite's INTEGER PRIMARY
KEY reuses the highest ids after a delete unless the table is AUTOINCREMENT. Only tables nothing references
are recreated, so no ON DELETE CASCADE fires while the old table is dropped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("chunks", "ingest_runs")


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    # host:pid of the process running an ingest, so that a dead run can be told from a live one
    with op.batch_alter_table("ingest_runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(200), nullable=True))
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
    with op.batch_alter_table("ingest_runs") as batch:
        batch.drop_column("owner")
