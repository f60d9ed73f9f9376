"""``opentelemetry-instrument`` with ``OTEL_TRACES_EXPORTER=rust_otlp``: our processor does
the batching, and everything else the SDK configures from the environment (sampler,
resource, span limits) comes out exactly as with the stock OTLP/HTTP exporter."""

import json

from google.protobuf.json_format import MessageToDict

from tests.apps import clean_env, run_under_instrument
from tests.support.otlp_receivers import HttpReceiver

STOCK_BATCH_THREAD = "OtelBatchSpanRecordProcessor"
BEHIND_STOCK_BATCHING_HINT = "BatchSpanProcessor"

SDK_SETTINGS = {
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_SERVICE_NAME": "checkout",
    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test,team=payments",
    "OTEL_TRACES_SAMPLER": "traceidratio",
    "OTEL_TRACES_SAMPLER_ARG": "0.5",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "3",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "6",
    "OTEL_SPAN_EVENT_COUNT_LIMIT": "2",
    "OTEL_SPAN_LINK_COUNT_LIMIT": "1",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT": "1",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT": "1",
}


def run_instrumented(receiver: HttpReceiver, exporter: str, pythonpath: str = "", **variables: str):
    env = clean_env(
        OTEL_TRACES_EXPORTER=exporter,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.endpoint,
        **SDK_SETTINGS,
        **variables,
    )
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    report, result = run_under_instrument("instrumented.py", env=env)
    assert report["flushed"] is True, result.stderr
    return report, result.stderr


def _sorted_attributes(message: dict) -> dict:
    if "attributes" in message:
        message["attributes"].sort(key=lambda attribute: attribute["key"])
    return message


def comparable_spans(received) -> list:
    """Every span with its resource and scope, minus what differs between runs: span ids,
    timestamps and the resource's random service.instance.id (trace ids are fixed by the
    workload). Attribute order is irrelevant."""
    spans = []
    for request in received.requests:
        for resource_spans in request.resource_spans:
            resource = _sorted_attributes(MessageToDict(resource_spans.resource))
            for attribute in resource["attributes"]:
                if attribute["key"] == "service.instance.id":
                    attribute["value"] = "<random>"
            for scope_spans in resource_spans.scope_spans:
                scope = _sorted_attributes(MessageToDict(scope_spans.scope))
                for span in scope_spans.spans:
                    has_parent = bool(span.parent_span_id)
                    for field in ("span_id", "parent_span_id", "start_time_unix_nano", "end_time_unix_nano"):
                        span.ClearField(field)
                    for event in span.events:
                        event.ClearField("time_unix_nano")
                    record = _sorted_attributes(MessageToDict(span))
                    for nested in record.get("events", []) + record.get("links", []):
                        _sorted_attributes(nested)
                    spans.append(
                        {
                            "resource": resource,
                            "resource_schema_url": resource_spans.schema_url,
                            "scope": scope,
                            "scope_schema_url": scope_spans.schema_url,
                            "has_parent": has_parent,
                            "span": record,
                        }
                    )
    return sorted(spans, key=lambda span: json.dumps(span, sort_keys=True))


def test_rust_otlp_exports_through_our_processor_without_a_python_batching_thread(http_receiver):
    report, stderr = run_instrumented(http_receiver, "rust_otlp")

    assert report["processors"] == ["RustSpanProcessor"]
    assert STOCK_BATCH_THREAD not in report["threads"]
    assert BEHIND_STOCK_BATCHING_HINT not in stderr
    # The ratio sampler keeps one of the workload's two traces, root and child.
    names = sorted(span.name for span in http_receiver.received.spans())
    assert names == ["kept-child", "kept-root"]


def test_sampler_resource_and_span_limits_match_the_stock_exporter():
    ours, stock = HttpReceiver(), HttpReceiver()
    try:
        run_instrumented(ours, "rust_otlp")
        run_instrumented(stock, "otlp_proto_http")
        our_spans, stock_spans = comparable_spans(ours.received), comparable_spans(stock.received)
    finally:
        ours.close()
        stock.close()

    assert our_spans == stock_spans
    # Also check the settings took effect at all, which the comparison alone cannot show.
    root = next(span for span in our_spans if span["span"]["name"] == "kept-root")
    resource = {attribute["key"]: attribute["value"] for attribute in root["resource"]["attributes"]}
    assert resource["service.name"] == {"stringValue": "checkout"}
    assert resource["team"] == {"stringValue": "payments"}
    assert len(root["span"]["attributes"]) == 3
    assert root["span"]["droppedAttributesCount"] == 4
    assert root["span"]["attributes"][0]["value"] == {"stringValue": "a long"}
    assert len(root["span"]["events"]) == 2 and root["span"]["droppedEventsCount"] == 2
    assert len(root["span"]["links"]) == 1 and root["span"]["droppedLinksCount"] == 2


def other_configurator_installed(tmp_path) -> str:
    """A distribution that registers another ``opentelemetry_configurator``, as
    opentelemetry-distro does (its configurator is the SDK's, unchanged). Returns a
    PYTHONPATH entry that comes before site-packages, so its entry point is seen first."""
    dist_info = tmp_path / "other_configurator-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: other-configurator\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[opentelemetry_configurator]\nother = opentelemetry.sdk._configuration:_OTelSDKConfigurator\n"
    )
    return str(tmp_path)


def test_with_another_configurator_rust_otlp_runs_behind_stock_batching_and_warns_once(
    http_receiver, tmp_path
):
    report, stderr = run_instrumented(
        http_receiver, "rust_otlp", pythonpath=other_configurator_installed(tmp_path)
    )

    assert report["processors"] == ["BatchSpanProcessor"]
    assert STOCK_BATCH_THREAD in report["threads"]
    assert len([line for line in stderr.splitlines() if BEHIND_STOCK_BATCHING_HINT in line]) == 1, stderr
    # Still exported, through our exporter behind the stock processor.
    assert sorted(span.name for span in http_receiver.received.spans()) == ["kept-child", "kept-root"]
    assert http_receiver.received.headers[0]["user-agent"].startswith("OTel-OTLP-Exporter-Python-Rust/")


def test_otel_python_configurator_selects_ours_when_another_is_installed(http_receiver, tmp_path):
    report, stderr = run_instrumented(
        http_receiver,
        "rust_otlp",
        pythonpath=other_configurator_installed(tmp_path),
        OTEL_PYTHON_CONFIGURATOR="rust_otlp",
    )

    assert report["processors"] == ["RustSpanProcessor"]
    assert STOCK_BATCH_THREAD not in report["threads"]
    assert BEHIND_STOCK_BATCHING_HINT not in stderr
    assert sorted(span.name for span in http_receiver.received.spans()) == ["kept-child", "kept-root"]
