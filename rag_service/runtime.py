"""What every entry point shares: settings, database sessions, loaded embedders and indexes."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from rag_service.db import session_factory, upgrade_database
from rag_service.embedders import EmbedderPool
from rag_service.rerankers import Reranker, build_reranker
from rag_service.settings import Settings, get_settings
from rag_service.stores.registry import IndexRegistry

if TYPE_CHECKING:
    from rag_service.answering.reader import Reader
    from rag_service.signin.provider import Provider

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings | None = None, *, migrate: bool = True) -> None:
        self.settings = settings or get_settings()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        if migrate:
            upgrade_database(self.settings.database_url)
        self.sessions: sessionmaker[Session] = session_factory(self.settings.database_url)
        self.embedders = EmbedderPool(self.settings)
        self.indexes = IndexRegistry(
            self.settings.faiss_dir,
            self.sessions,
            self.embedders.for_collection,
            self.settings.faiss_ivf_threshold,
            self.settings.faiss_nprobe,
        )

    @cached_property
    def reader(self) -> Reader | None:
        """The configured reader (RAG_READER; answering/reader/), built on first use; None: the rules decide. A
        reader that cannot be built (a part of its model missing or damaged) is logged once, with the package to
        reinstall, and the rules decide: answers go on."""
        from rag_service.answering.reader import build_reader
        from rag_service.errors import BackendUnavailableError

        try:
            return build_reader(self.settings)
        except BackendUnavailableError as exc:
            log.error("the reader is off: %s", exc)
            return None

    @cached_property
    def oidc(self) -> Provider:
        """The sign-in provider (RAG_OIDC_*): its discovery document and keys cached across requests."""
        from rag_service.signin.provider import Provider

        return Provider(self.settings)

    @cached_property
    def reranker(self) -> Reranker | None:
        """The configured reranker (RAG_RERANKER), loaded on first use; None when off, the default."""
        return build_reranker(self.settings)
