"""Files to chunks: walking a folder, loading each format into sections, splitting them.

Knows nothing of databases, models or indexes; `rag_service` calls it, never the other way round.
"""
