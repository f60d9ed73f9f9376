"""The four spans of one ``web_app.py`` request, made as its instrumentations make them,
with nothing else: what the span machinery alone costs the request thread.

Run by ``bench_web.py`` under ``opentelemetry-instrument`` with a mode's environment (the
configured global provider and processor); prints JSON with the request thread's CPU per
request. The calls copy opentelemetry-instrumentation 0.66b1's: Flask (``start_span`` with
the WSGI attributes and an explicit context, ``use_span(end_on_exit=True)``, status code
and status), dbapi (``start_as_current_span``, ``is_recording``, ``set_attributes``),
requests (``start_as_current_span`` with attributes, ``inject``, status code and status).
"""

from __future__ import annotations

import argparse
import json
import time

from opentelemetry import context, trace
from opentelemetry.propagate import extract, inject
from opentelemetry.trace import SpanKind, Status, StatusCode

SERVER_ATTRIBUTES = {
    "http.method": "GET",
    "http.server_name": "127.0.0.1",
    "http.scheme": "http",
    "net.host.port": 8000,
    "http.host": "127.0.0.1:8000",
    "net.host.name": "127.0.0.1",
    "http.target": "/orders/5",
    "net.peer.ip": "127.0.0.1",
    "net.peer.port": 51234,
    "http.user_agent": "bench-web",
    "http.flavor": "1.1",
    "http.route": "/orders/<int:order_id>",
}
QUERIES = (
    "SELECT id, customer, status, created_at FROM orders WHERE id = ?",
    "SELECT sku, quantity, price_cents FROM order_items WHERE order_id = ? ORDER BY sku",
)
WARMUP_REQUESTS = 1000


def request(server: trace.Tracer, database: trace.Tracer, client: trace.Tracer) -> None:
    incoming = extract({})
    token = context.attach(incoming)
    span = server.start_span(
        "GET /orders/<int:order_id>", context=incoming, kind=SpanKind.SERVER, attributes=SERVER_ATTRIBUTES
    )
    activation = trace.use_span(span, end_on_exit=True)
    activation.__enter__()
    for statement in QUERIES:
        with database.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as query:
            if query.is_recording():
                query.set_attributes({"db.system": "sqlite", "db.name": "orders", "db.statement": statement})
    with client.start_as_current_span(
        "GET",
        kind=SpanKind.CLIENT,
        attributes={"http.method": "GET", "http.url": "http://127.0.0.1:9/stock?skus=sku-0001"},
    ) as call:
        headers: dict[str, str] = {}
        inject(headers)
        if call.is_recording():
            call.set_attribute("http.status_code", 200)
            call.set_status(Status(StatusCode.UNSET))
    if span.is_recording():
        span.set_attribute("http.status_code", 200)
        span.set_status(Status(StatusCode.UNSET))
    activation.__exit__(None, None, None)
    context.detach(token)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    tracers = [
        trace.get_tracer(f"opentelemetry.instrumentation.{name}", "0.66b1")
        for name in ("flask", "dbapi", "requests")
    ]
    for _ in range(WARMUP_REQUESTS):
        request(*tracers)
    started = time.thread_time()
    for _ in range(args.requests):
        request(*tracers)
    thread_cpu = time.thread_time() - started
    print(json.dumps({"request_thread_cpu_us": thread_cpu / args.requests * 1e6}))


if __name__ == "__main__":
    main()
