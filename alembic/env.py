"""Alembic environment: uses the connection handed in by rag_service.db.upgrade_database, else the settings."""

from alembic import context
from sqlalchemy import Connection

from rag_service.db.models import Base
from rag_service.db.session import get_engine
from rag_service.settings import get_settings

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    with get_engine(url).begin() as own_connection:
        _run(own_connection)
