"""rag-service: answers questions from a team's own documents, with citations, offline."""
