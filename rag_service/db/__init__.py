from rag_service.db.models import Base, Chunk, Collection, Document, EmbeddingCache, IngestRun
from rag_service.db.session import get_engine, session_factory, upgrade_database

__all__ = [
    "Base",
    "Chunk",
    "Collection",
    "Document",
    "EmbeddingCache",
    "IngestRun",
    "get_engine",
    "session_factory",
    "upgrade_database",
]
