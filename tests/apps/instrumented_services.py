"""Services traced by opentelemetry-python-contrib's instrumentations, for
tests/instrumentation/test_services_side_by_side.py; runs from ``.venv-instrumentation``
with the repository root on ``PYTHONPATH``.

``instrumented_services.py flask|fastapi|logging``, with the SDK's provider or ours
(``APP_NATIVE_SPANS=true``), ids from ``SequentialIds``. Every span goes to an
``InMemorySpanExporter`` and, through ``RustSpanProcessor``, to
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``. Prints (JSON) the spans as ``ReadableSpan.to_json()``
wrote them, the type of the span current in each handler, the correlation fields of each
log record and whether the flush completed.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
from typing import Any, Callable, Optional

import requests
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from flask import Flask
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.logging import LoggingInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from otel_rust_exporter import RustSpanProcessor
from providers import tracer_provider_class

from tests.support.span_parity import SequentialIds

# An incoming request's parent, as a caller's traceparent header carries it.
REMOTE_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
current_spans: list[str] = []


def note_current_span() -> None:
    current_spans.append(type(trace.get_current_span()).__name__)


def flask_service(provider: TracerProvider) -> None:
    """A route querying sqlite3 and calling a downstream service with requests; a route
    that raises; a path with no route."""
    SQLite3Instrumentor().instrument(tracer_provider=provider)
    RequestsInstrumentor().instrument(tracer_provider=provider)
    # The instrumentation traces cursors (not the connection's shortcuts).
    database = sqlite3.connect(":memory:", check_same_thread=False)
    setup = database.cursor()
    setup.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, quantity INTEGER)")
    setup.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(1, "tea", 2), (2, "cake", 1)])
    downstream = os.environ["DOWNSTREAM_URL"]
    app = Flask("orders")

    @app.route("/orders/<int:order_id>")
    def order(order_id: int) -> dict:
        note_current_span()
        cursor = database.cursor()
        cursor.execute("SELECT item, quantity FROM orders WHERE id = ?", (order_id,))
        item, quantity = cursor.fetchone()
        stock = requests.get(f"{downstream}/stock/{item}", timeout=10)
        return {"item": item, "quantity": quantity, "stock": stock.text}

    @app.route("/fail")
    def fail() -> str:
        note_current_span()
        raise RuntimeError("the order service failed")

    FlaskInstrumentor().instrument_app(app, tracer_provider=provider)
    client = app.test_client()
    assert client.get("/orders/1", headers={"traceparent": REMOTE_PARENT}).status_code == 200
    assert client.get("/orders/2?verbose=1", headers={"User-Agent": "side-by-side"}).status_code == 200
    assert client.get("/fail").status_code == 500
    assert client.get("/no-such-route").status_code == 404


def fastapi_service(provider: TracerProvider) -> None:
    """Routes with path and query parameters, a JSON body, an HTTP error, an unhandled
    exception, and a span of the application's own inside a request."""
    app = FastAPI()
    tracer = trace.get_tracer("orders.api", "2.0")

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: Optional[str] = None) -> dict:
        note_current_span()
        with tracer.start_as_current_span("price lookup", attributes={"item.id": item_id}) as span:
            span.add_event("cache miss", {"cache": "prices"})
        return {"item_id": item_id, "q": q}

    @app.post("/items")
    async def create_item(item: dict) -> dict:
        note_current_span()
        return item

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(status_code=404, detail="no such item")

    @app.get("/crash")
    async def crash() -> None:
        note_current_span()
        raise ValueError("the item service failed")

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/items/7?q=tea", headers={"traceparent": REMOTE_PARENT}).status_code == 200
    assert client.post("/items", json={"name": "cake"}).status_code == 200
    assert client.get("/missing").status_code == 404
    assert client.get("/crash").status_code == 500


class Collected(logging.Handler):
    """Keeps each record's message and the fields LoggingInstrumentor added."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = ("otelTraceID", "otelSpanID", "otelServiceName", "otelTraceSampled", "span_name")
        # span_name: only where the log hook set it.
        self.records.append(
            {"message": record.getMessage(), **{name: getattr(record, name, None) for name in fields}}
        )


collected = Collected()


def name_the_span(span: trace.Span, record: logging.LogRecord) -> None:
    """LoggingInstrumentor's hook: it is given the current span itself."""
    record.span_name = span.name  # type: ignore[attr-defined]


def logging_correlation(provider: TracerProvider) -> None:
    """Records outside any span, in nested spans, in a span a remote parent left unsampled."""
    LoggingInstrumentor().instrument(
        tracer_provider=provider,
        inject_trace_context=True,
        log_hook=name_the_span,
        # No log records to an OpenTelemetry logger provider: correlation only.
        enable_log_auto_instrumentation=False,
    )
    logger = logging.getLogger("orders")
    logger.addHandler(collected)
    logger.warning("before any span")
    tracer = trace.get_tracer("orders.worker")
    with tracer.start_as_current_span("checkout"):
        note_current_span()
        logger.warning("in checkout")
        with tracer.start_as_current_span("charge"):
            logger.warning("in charge for %s", "tea")
        logger.warning("back in checkout")
    unsampled = SpanContext(0x5A, 0x5B, is_remote=True, trace_flags=TraceFlags(0))
    with tracer.start_as_current_span(
        "unsampled", context=trace.set_span_in_context(NonRecordingSpan(unsampled))
    ):
        logger.warning("in an unsampled span")
    logger.warning("after the spans")


SERVICES: dict[str, Callable[[TracerProvider], None]] = {
    "flask": flask_service,
    "fastapi": fastapi_service,
    "logging": logging_correlation,
}


def main(service: str) -> None:
    provider = tracer_provider_class()(
        id_generator=SequentialIds(),
        resource=Resource({"service.name": "orders", "deployment.environment": "test"}),
        sampler=ParentBased(TraceIdRatioBased(1.0)),
        shutdown_on_exit=False,
    )
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(RustSpanProcessor())
    trace.set_tracer_provider(provider)
    SERVICES[service](provider)
    flushed = provider.force_flush(10_000)
    provider.shutdown()
    report = {
        "spans": [json.loads(span.to_json()) for span in memory.get_finished_spans()],
        "current_spans": current_spans,
        "logs": collected.records,
        "flushed": flushed,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
