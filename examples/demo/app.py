"""A small service-shaped workload. It knows nothing of the exporter: run it under
`opentelemetry-instrument` with OTEL_TRACES_EXPORTER=rust_otlp and the spans leave via Rust."""

import random
import time

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

tracer = trace.get_tracer("demo.shop", "1.0.0")


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
        time.sleep(0.001)


def handle_request(order_id: int) -> None:
    with tracer.start_as_current_span("GET /orders/{id}", kind=trace.SpanKind.SERVER) as span:
        span.set_attribute("http.request.method", "GET")
        span.set_attribute("url.path", f"/orders/{order_id}")
        order = query_database(order_id)
        charge_card(order)
        span.set_attribute("http.response.status_code", 200)


if __name__ == "__main__":
    for order_id in (41, 42):
        handle_request(order_id)
