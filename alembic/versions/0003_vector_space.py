"""collections record their vector space, cached vectors the engine that made them

A collection's vector space is the model_id of the engine its vectors come from (all-MiniLM-L6-v2 for MiniLM at
fp32 or bf16, all-MiniLM-L6-v2+int8 at int8); queries use an engine of that space. Every vector made before this
revision came from the fp32 engine of its model, and every collection from its embedder's fp32 engine. Columns
are added, never tables recreated, so no ON DELETE CASCADE fires on SQLite.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The embedders and engines that existed before this revision: fixed here, whatever the code says later.
SPACES = {"minilm": "all-MiniLM-L6-v2", "multilingual": "use-multilingual-v3"}
ENGINES = {"all-MiniLM-L6-v2": "torch-fp32", "use-multilingual-v3": "numpy-fp32"}


def upgrade() -> None:
    op.add_column("collections", sa.Column("vector_space", sa.String(100), nullable=True))
    op.add_column("embedding_cache", sa.Column("engine", sa.String(40), nullable=True))
    collections = sa.table("collections", sa.column("embedder", sa.String), sa.column("vector_space", sa.String))
    for embedder, space in SPACES.items():
        op.execute(collections.update().where(collections.c.embedder == embedder).values(vector_space=space))
    cache = sa.table("embedding_cache", sa.column("model", sa.String), sa.column("engine", sa.String))
    for model, engine in ENGINES.items():
        op.execute(cache.update().where(cache.c.model == model).values(engine=engine))


def downgrade() -> None:
    # SQLite drops a column in place (3.35+), without recreating the table that documents reference.
    op.drop_column("embedding_cache", "engine")
    op.drop_column("collections", "vector_space")
