"""Runs with ``otel_rust_exporter._native`` unimportable, as on a platform without a wheel.

``instrument``: configure the SDK exactly as ``opentelemetry-instrument``'s sitecustomize
does (its own sitecustomize would shadow one of ours, so the blocker is installed here).
``entry-point``: load the ``rust_otlp`` traces exporter entry point and use it directly.
``logs-entry-point``: the same for the logs exporter entry point (records go to
``/v1/logs`` of the traces endpoint's host).
``tracer-provider``: the API's global provider, as ``OTEL_PYTHON_TRACER_PROVIDER`` selects it,
exporting through the stock exporter.
Warnings go to stderr as ``LOG <level> <logger>: <message>``; a JSON report to stdout.
"""

import json
import logging
import sys
from importlib.metadata import entry_points


class NativeBlocker:
    def find_spec(self, name, path=None, target=None):
        if name == "otel_rust_exporter._native":
            raise ImportError("otel_rust_exporter._native is blocked by the test")
        return None


sys.meta_path.insert(0, NativeBlocker())
logging.basicConfig(level=logging.WARNING, format="LOG %(levelname)s %(name)s: %(message)s")

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402
from workload import emit_spans  # noqa: E402

if sys.argv[1] == "logs-entry-point":
    import os

    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    exporter_class = entry_points(group="opentelemetry_logs_exporter")["rust_otlp"].load()
    logs_endpoint = os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].replace("/v1/traces", "/v1/logs")
    log_kwargs: dict[str, object] = {"endpoint": logs_endpoint}
    if "grpc" in exporter_class.__module__:
        log_kwargs["insecure"] = True
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(exporter_class(**log_kwargs)))
    for index in range(3):
        logger_provider.get_logger("fallback-test").emit(body=f"record-{index}")
    report = {
        "exporter": f"{exporter_class.__module__}.{exporter_class.__name__}",
        "flushed": logger_provider.force_flush(10_000),
    }
    print(json.dumps(report))
    sys.exit(0)

if sys.argv[1] == "tracer-provider":
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = trace.get_tracer_provider()
    exporter_class = None
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # type: ignore[attr-defined]
elif sys.argv[1] == "instrument":
    from opentelemetry.instrumentation.auto_instrumentation import initialize

    initialize()
    provider = trace.get_tracer_provider()
    exporter_class = None
else:
    exporter_class = entry_points(group="opentelemetry_traces_exporter")["rust_otlp"].load()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter_class()))

emit_spans(provider.get_tracer("fallback-test"))
report = {
    "provider": type(provider).__name__,
    "exporter": exporter_class and f"{exporter_class.__module__}.{exporter_class.__name__}",
    # When configuration failed the global provider is the API's proxy, which cannot flush.
    "flushed": isinstance(provider, TracerProvider) and provider.force_flush(10_000),
}
print(json.dumps(report))
