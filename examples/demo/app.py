"""A small service-shaped workload. It knows nothing of the exporter: run it under
`opentelemetry-instrument` with OTEL_{TRACES,LOGS,METRICS}_EXPORTER=rust_otlp and its spans,
stdlib log records and metrics leave via Rust."""

import logging
import random
import time

from opentelemetry import metrics, trace
from opentelemetry.trace import Status, StatusCode

tracer = trace.get_tracer("demo.shop", "1.0.0")
meter = metrics.get_meter("demo.shop", "1.0.0")
orders = meter.create_counter("shop.orders", unit="{order}", description="Orders handled")
latency = meter.create_histogram("shop.request.duration", unit="ms", description="Request time")
log = logging.getLogger("demo.shop")
log.setLevel(logging.INFO)


def query_database(order_id: int) -> dict:
    with tracer.start_as_current_span("SELECT orders", kind=trace.SpanKind.CLIENT) as span:
        span.set_attribute("db.system", "postgresql")
        span.set_attribute("db.statement", "SELECT * FROM orders WHERE id = $1")
        time.sleep(0.002)
        return {"id": order_id, "items": random.randint(1, 5)}


def charge_card(order: dict) -> None:
    with tracer.start_as_current_span("charge card", kind=trace.SpanKind.CLIENT) as span:
        span.set_attribute("payment.items", order["items"])
        if order["id"] % 3 == 0:
            span.add_event("card declined", {"retryable": True})
            span.set_status(Status(StatusCode.ERROR, "card declined"))
            log.warning("card declined for order %s", order["id"], extra={"order.id": order["id"]})
        time.sleep(0.001)


def handle_request(order_id: int) -> None:
    started = time.perf_counter()
    with tracer.start_as_current_span("GET /orders/{id}", kind=trace.SpanKind.SERVER) as span:
        span.set_attribute("http.request.method", "GET")
        span.set_attribute("url.path", f"/orders/{order_id}")
        order = query_database(order_id)
        log.info("order %s has %s items", order_id, order["items"])
        charge_card(order)
        span.set_attribute("http.response.status_code", 200)
    orders.add(1, {"http.route": "/orders/{id}"})
    latency.record((time.perf_counter() - started) * 1000, {"http.route": "/orders/{id}"})


if __name__ == "__main__":
    for order_id in (41, 42):
        handle_request(order_id)
