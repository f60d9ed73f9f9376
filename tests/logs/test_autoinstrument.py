"""``opentelemetry-instrument`` with ``OTEL_LOGS_EXPORTER=rust_otlp`` and logging
auto-instrumentation: stdlib records arrive with the active span's ids, severity, bodies of
every type, attributes, scope and resource, batched by our processor (no stock batch
thread), and carry the same content as with the stock OTLP log exporter."""

import json

from google.protobuf.json_format import MessageToDict

from tests.apps import instrumented_env, run_under_instrument
from tests.support.otlp_receivers import HttpReceiver

STOCK_LOG_BATCH_THREAD = "OtelBatchLogRecordProcessor"
# The app's records: one before the spans, one in "checkout", six in "charge", one
# exception in "checkout", one after.
EXPECTED_RECORDS = 10


def run_instrumented_logs(receiver: HttpReceiver, exporter: str, **variables: str):
    env = instrumented_env(
        traces="rust_otlp",
        logs=exporter,
        metrics="none",
        OTEL_SERVICE_NAME="shop",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.endpoint_for("traces"),
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=receiver.endpoint_for("logs"),
        **variables,
    )
    report, result = run_under_instrument("instrumented_logs.py", env=env)
    assert report["logs_flushed"] is True, result.stderr
    assert report["traces_flushed"] is True, result.stderr
    return report, result.stderr


def records_by_body(receiver) -> dict:
    records = {}
    for request in receiver.logs.requests:
        for resource_logs in request.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    body = MessageToDict(record.body)
                    records[json.dumps(body, sort_keys=True)] = (resource_logs, scope_logs, record)
    return records


def test_records_are_batched_natively_and_carry_the_active_span(http_receiver):
    report, stderr = run_instrumented_logs(http_receiver, "rust_otlp")

    assert report["log_processors"] == ["RustLogRecordProcessor"], stderr
    assert STOCK_LOG_BATCH_THREAD not in report["threads"]
    records = http_receiver.logs.wait_for_log_records(EXPECTED_RECORDS)
    assert len(records) == EXPECTED_RECORDS
    spans = {span.name: span for span in http_receiver.received.wait_for_spans(2)}

    by_body = records_by_body(http_receiver)
    for resource_logs, scope_logs, _ in by_body.values():
        resource = {kv.key: kv.value.string_value for kv in resource_logs.resource.attributes}
        assert resource["service.name"] == "shop"
        assert scope_logs.scope.name == "shop.checkout"

    def record(body: dict):
        return by_body[json.dumps(body, sort_keys=True)][2]

    paid = record({"stringValue": "order o-17 paid"})
    assert paid.trace_id == spans["checkout"].trace_id
    assert paid.span_id == spans["checkout"].span_id
    assert paid.flags & 1 == 1
    assert (paid.severity_number, paid.severity_text) == (13, "WARN")
    attributes = {kv.key: MessageToDict(kv.value) for kv in paid.attributes}
    assert attributes["order.id"] == {"stringValue": "o-17"}
    assert attributes["amount"] == {"doubleValue": 9.5}
    assert paid.time_unix_nano and paid.observed_time_unix_nano

    charge_bodies = [
        {"intValue": "42"},
        {"doubleValue": 2.5},
        {"boolValue": True},
        {"bytesValue": "AP8="},
        {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}, {"doubleValue": 2.5}]}},
        {
            "kvlistValue": {
                "values": [
                    {"key": "event", "value": {"stringValue": "paid"}},
                    {
                        "key": "order",
                        "value": {
                            "kvlistValue": {
                                "values": [
                                    {"key": "id", "value": {"intValue": "17"}},
                                    {
                                        "key": "items",
                                        "value": {
                                            "arrayValue": {
                                                "values": [{"stringValue": "x"}, {"stringValue": "y"}]
                                            }
                                        },
                                    },
                                ]
                            }
                        },
                    },
                ]
            }
        },
    ]
    for body in charge_bodies:
        charged = record(body)
        assert (charged.trace_id, charged.span_id) == (spans["charge"].trace_id, spans["charge"].span_id)
        assert (charged.severity_number, charged.severity_text) == (17, "ERROR")

    failed = record({"stringValue": "charge failed"})
    assert failed.span_id == spans["checkout"].span_id
    failure = {kv.key: kv.value.string_value for kv in failed.attributes}
    assert failure["exception.type"] == "RuntimeError"
    assert "card declined" in failure["exception.stacktrace"]

    for outside in ("before any span", "after the spans"):
        unlinked = record({"stringValue": outside})
        assert not unlinked.trace_id and not unlinked.span_id and unlinked.flags == 0
    assert record({"stringValue": "after the spans"}).severity_number == 5  # DEBUG


def comparable_records(receiver) -> list:
    """Every record with its resource and scope, minus ids and times (different per run)."""
    out = []
    for resource_logs, scope_logs, record in records_by_body(receiver).values():
        has_span = bool(record.span_id)
        for field in ("trace_id", "span_id", "time_unix_nano", "observed_time_unix_nano"):
            record.ClearField(field)
        resource = MessageToDict(resource_logs.resource)
        for attribute in resource["attributes"]:
            if attribute["key"] == "service.instance.id":
                attribute["value"] = "<random>"
        entry = MessageToDict(record)
        entry["attributes"] = sorted(
            (
                a
                for a in entry.get("attributes", [])
                if a["key"] not in {"code.line.number", "exception.stacktrace"}
            ),
            key=lambda a: a["key"],
        )
        out.append((json.dumps(resource, sort_keys=True), MessageToDict(scope_logs.scope), has_span, entry))
    return sorted(out, key=json.dumps)


def test_records_match_what_the_stock_exporter_sends(http_receiver):
    run_instrumented_logs(http_receiver, "rust_otlp")
    ours = comparable_records(http_receiver)
    stock_receiver = HttpReceiver()
    try:
        run_instrumented_logs(stock_receiver, "otlp_proto_http")
        stock = comparable_records(stock_receiver)
    finally:
        stock_receiver.close()
    assert len(ours) == EXPECTED_RECORDS
    assert ours == stock
