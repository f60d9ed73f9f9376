"""Instrumented services, side by side: a Flask app (sqlite3 queries, an outgoing requests
call to a loopback service), a FastAPI app through its TestClient, and logging correlation
(LoggingInstrumentor's ``otelTraceID``/``otelSpanID`` in log records), each run once with
the SDK's provider and once with RustTracerProvider, with the same ids
(tests/apps/instrumented_services.py, from ``.venv-instrumentation``).

What a Python exporter receives (``ReadableSpan.to_json()``), what our processor sends to a
real receiver (decoded with the official protobuf stubs) and the log records' correlation
fields must be equal, field by field, times aside; also under span limits tight enough to
drop and cut the instrumentations' attributes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.apps import APPS, ROOT, clean_env, run
from tests.support.instrumentation_venv import INSTRUMENTATION_PYTHON, needs_instrumentation_venv
from tests.support.otlp_receivers import HttpReceiver
from tests.support.span_parity import wire_without_times, without_times

pytestmark = needs_instrumentation_venv


class Downstream:
    """The service the Flask app calls with requests: answers, and keeps the
    ``traceparent`` header of each call."""

    def __init__(self) -> None:
        self.traceparents: list[str] = []
        downstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                downstream.traceparents.append(self.headers.get("traceparent", ""))
                body = b"in stock"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def downstream() -> Iterator[Downstream]:
    service = Downstream()
    yield service
    service.server.shutdown()
    service.server.server_close()


def run_service(
    service: str, native: bool, receiver: HttpReceiver, downstream: Downstream, **variables: str
) -> tuple[dict, list]:
    """The app's report, and the spans the receiver got from our processor."""
    receiver.received.requests.clear()
    env = clean_env(
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.endpoint_for("traces"),
        APP_NATIVE_SPANS="true" if native else "false",
        DOWNSTREAM_URL=downstream.url,
        # Both the old and the stable semantic conventions: every attribute there is.
        OTEL_SEMCONV_STABILITY_OPT_IN="http/dup,database/dup",
        PYTHONPATH=str(ROOT),
        **variables,
    )
    result = run(str(INSTRUMENTATION_PYTHON), str(APPS / "instrumented_services.py"), service, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["flushed"] is True
    wire = receiver.received.spans()
    # Every span the Python exporter saw was delivered by ours too.
    assert len(wire) == len(report["spans"]), result.stderr
    return report, wire


def run_both(
    service: str, receiver: HttpReceiver, downstream: Downstream, **variables: str
) -> tuple[dict, list]:
    """Our provider's report and wire spans, after checking they equal the SDK's."""
    sdk, sdk_wire = run_service(service, False, receiver, downstream, **variables)
    native, native_wire = run_service(service, True, receiver, downstream, **variables)
    # Guards every comparison: spans made by the SDK in both runs would make them vacuous.
    assert set(sdk["current_spans"]) <= {"_Span"}
    assert set(native["current_spans"]) <= {"NativeSpan"}
    assert len(native["current_spans"]) == len(sdk["current_spans"])
    assert [without_times(span) for span in native["spans"]] == [without_times(span) for span in sdk["spans"]]
    assert wire_without_times(native_wire) == wire_without_times(sdk_wire)
    assert native["logs"] == sdk["logs"]
    return native, native_wire


def by_name(report: dict) -> dict[str, list[dict]]:
    spans: dict[str, list[dict]] = {}
    for span in report["spans"]:
        spans.setdefault(span["name"], []).append(span)
    return spans


def test_a_flask_service_with_requests_and_sqlite3(http_receiver, downstream):
    native, _ = run_both("flask", http_receiver, downstream)
    spans = by_name(native)
    assert len(native["current_spans"]) == 3
    # The remote parent carried in, and ours carried out: the downstream service got the
    # client spans' own ids (twice per run, once for each provider).
    (first_request, second_request) = spans["GET /orders/<int:order_id>"]
    assert first_request["kind"] == "SpanKind.SERVER"
    assert first_request["parent_id"] == "0xb7ad6b7169203331"
    assert first_request["context"]["trace_id"] == "0x0af7651916cd43dd8448eb211c80319c"
    clients = spans["GET"]
    assert [span["kind"] for span in clients] == ["SpanKind.CLIENT"] * 2
    sent = [f"00-{span['context']['trace_id'][2:]}-{span['context']['span_id'][2:]}-01" for span in clients]
    assert downstream.traceparents == sent * 2
    assert [span["parent_id"] for span in clients] == [
        request["context"]["span_id"] for request in (first_request, second_request)
    ]
    queries = [span for span in native["spans"] if span["attributes"].get("db.system") == "sqlite"]
    assert {span["kind"] for span in queries} == {"SpanKind.CLIENT"}
    assert any("SELECT item" in span["attributes"].get("db.statement", "") for span in queries)
    (failed,) = spans["GET /fail"]
    assert failed["status"]["status_code"] == "ERROR"
    assert [event["name"] for event in failed["events"]] == ["exception"]


def test_a_fastapi_service_through_its_test_client(http_receiver, downstream):
    native, _ = run_both("fastapi", http_receiver, downstream)
    spans = by_name(native)
    assert len(native["current_spans"]) == 3
    (lookup,) = spans["price lookup"]
    (request,) = spans["GET /items/{item_id}"]
    assert lookup["parent_id"] == request["context"]["span_id"]
    assert request["parent_id"] == "0xb7ad6b7169203331"
    assert lookup["events"][0]["attributes"] == {"cache": "prices"}
    (crashed,) = spans["GET /crash"]
    assert crashed["status"]["status_code"] == "ERROR"
    assert crashed["events"][0]["attributes"]["exception.message"] == "the item service failed"
    # The ASGI instrumentation's send and receive spans are there too.
    assert any(name.endswith("http send") for name in spans)


def test_log_records_carry_the_native_spans_ids(http_receiver, downstream):
    native, _ = run_both("logging", http_receiver, downstream)
    spans = by_name(native)
    assert native["current_spans"] == ["NativeSpan"]
    ids = {
        name: (spans[name][0]["context"]["trace_id"][2:], spans[name][0]["context"]["span_id"][2:])
        for name in ("checkout", "charge")
    }
    correlation = [
        (record["message"], record["otelTraceID"], record["otelSpanID"], record["otelTraceSampled"])
        for record in native["logs"]
    ]
    assert correlation == [
        ("before any span", "0", "0", False),
        ("in checkout", *ids["checkout"], True),
        ("in charge for tea", *ids["charge"], True),
        ("back in checkout", *ids["checkout"], True),
        ("in an unsampled span", "0000000000000000000000000000005a", correlation[4][2], False),
        ("after the spans", "0", "0", False),
    ]
    assert {record["otelServiceName"] for record in native["logs"]} == {"orders"}
    # The log hook was given the live span (a non-recording one has no name to read).
    assert [record["span_name"] for record in native["logs"]] == [
        None,
        "checkout",
        "charge",
        "checkout",
        None,
        None,
    ]
    # The unsampled span is not exported, but it has an id of its own, from the id generator.
    assert correlation[4][2] not in {"0", "000000000000005b"}
    assert "unsampled" not in spans


@pytest.mark.parametrize("service", ["flask", "fastapi"])
def test_tight_span_limits_cut_the_instrumentations_spans_as_the_sdk_does(service, http_receiver, downstream):
    # Which of the many attributes an instrumentation sets survive, in which order, cut how.
    _, wire = run_both(
        service,
        http_receiver,
        downstream,
        OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT="7",
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT="9",
        OTEL_SPAN_EVENT_COUNT_LIMIT="1",
        OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT="2",
    )
    assert any(span.dropped_attributes_count for span in wire)
    assert any(span.events and span.events[0].dropped_attributes_count for span in wire)
    values = [attribute.value.string_value for span in wire for attribute in span.attributes]
    assert max(len(value) for value in values) == 9
