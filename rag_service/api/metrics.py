"""Prometheus metrics: request counts and latencies by route, ingest counters, index sizes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rag_service.jobs import JobManager
from rag_service.runtime import Runtime


class _StateCollector(Collector):
    """Values read at scrape time from the live state rather than kept in step by hand."""

    def __init__(self, runtime: Runtime, jobs: JobManager) -> None:
        self.runtime, self.jobs = runtime, jobs

    def collect(self) -> Iterator[GaugeMetricFamily]:
        vectors = GaugeMetricFamily(
            "rag_index_vectors", "Vectors in each loaded collection index", labels=["collection"]
        )
        for collection_id, indexes in self.runtime.indexes.loaded().items():
            vectors.add_metric([str(collection_id)], indexes.vectors.size)
        yield vectors
        yield GaugeMetricFamily(
            "rag_ingest_files_total", "Files ingested (added or updated) by jobs", value=self.jobs.ingested_files
        )
        yield GaugeMetricFamily(
            "rag_ingest_chunks_embedded_total", "Chunks embedded by jobs", value=self.jobs.embedded_chunks
        )


class Metrics:
    def __init__(self, runtime: Runtime, jobs: JobManager) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rag_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "rag_http_request_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.registry.register(_StateCollector(runtime, jobs))

    async def middleware(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        self.latency.labels(request.method, path).observe(time.perf_counter() - started)
        self.requests.labels(request.method, path, str(response.status_code)).inc()
        return response

    def render(self) -> bytes:
        return generate_latest(self.registry)
