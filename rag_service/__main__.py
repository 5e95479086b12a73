from rag_service.cli import run

run()
