"""One measured pass of one log pipeline, in a fresh interpreter; run by ``bench_logs.py``.

Prints one JSON object on stdout. Nothing from OpenTelemetry is imported at module level:
the child times those imports itself, so this module must stay stdlib-only at the top.

The workload: stdlib ``logging`` records through the SDK's ``LoggingHandler`` and a
``LoggerProvider``, emitted inside spans of a ``TracerProvider`` (no span processor: only
the log pipeline differs between modes) so that every record carries trace context. The
pass measures the emitting loop's wall time and main-thread CPU, the process CPU up to the
end of the final flush and shutdown, peak RSS and import time.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from trace_worker import import_seconds, measure_pass

FLUSH_TIMEOUT_MILLIS = 120_000
# One span per "request", each logging a few lines, as a request handler would.
RECORDS_PER_SPAN = 10
LOGGER_NAME = "bench.orders"

# What each pipeline imports on top of the SDK base, as (module, name used): both are timed.
# Reading the name matters: otel_rust_exporter loads its native module on first attribute use.
SDK_BASE = [
    ("opentelemetry.sdk.trace", "TracerProvider"),
    ("opentelemetry.sdk._logs", "LoggerProvider"),
    ("opentelemetry.sdk._logs", "LoggingHandler"),
]
PIPELINE_IMPORTS = {
    "floor": [],
    "stock-http": [
        ("opentelemetry.sdk._logs.export", "BatchLogRecordProcessor"),
        ("opentelemetry.exporter.otlp.proto.http._log_exporter", "OTLPLogExporter"),
    ],
    "stock-grpc": [
        ("opentelemetry.sdk._logs.export", "BatchLogRecordProcessor"),
        ("opentelemetry.exporter.otlp.proto.grpc._log_exporter", "OTLPLogExporter"),
    ],
    "ours-http": [("otel_rust_exporter", "RustLogRecordProcessor")],
    "ours-grpc": [("otel_rust_exporter", "RustLogRecordProcessor")],
}
MODES = list(PIPELINE_IMPORTS)


def build_processor(mode: str, http_endpoint: str, grpc_endpoint: str) -> Any:
    """The mode's log record processor at default settings; None for the floor."""
    if mode == "stock-http":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        return BatchLogRecordProcessor(OTLPLogExporter(endpoint=http_endpoint))
    if mode == "stock-grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        return BatchLogRecordProcessor(OTLPLogExporter(endpoint=grpc_endpoint, insecure=True))
    if mode == "ours-http":
        from otel_rust_exporter import RustLogRecordProcessor

        return RustLogRecordProcessor(endpoint=http_endpoint)
    if mode == "ours-grpc":
        from otel_rust_exporter import RustLogRecordProcessor

        return RustLogRecordProcessor(endpoint=grpc_endpoint, protocol="grpc")
    return None


def run_workload(tracer: Any, logger: logging.Logger, count: int) -> None:
    start_span = tracer.start_as_current_span
    for first in range(0, count, RECORDS_PER_SPAN):
        with start_span("orders.batch"):
            for order in range(first, min(first + RECORDS_PER_SPAN, count)):
                logger.info(
                    "order %s paid",
                    order,
                    extra={
                        "order.id": order,
                        "customer.tier": "gold",
                        "payment.amount": 12.5,
                        "payment.express": True,
                    },
                )


def timing_pass(mode: str, count: int, http_endpoint: str, grpc_endpoint: str) -> dict:
    base_import = import_seconds(SDK_BASE)
    pipeline_import = import_seconds(PIPELINE_IMPORTS[mode])

    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk.trace import TracerProvider

    tracer_provider = TracerProvider()
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    processor = build_processor(mode, http_endpoint, grpc_endpoint)
    if processor is not None:
        logger_provider.add_log_record_processor(processor)
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=logger_provider))
    tracer = tracer_provider.get_tracer("bench")

    measures = measure_pass(
        lambda: run_workload(tracer, logger, count),
        lambda: logger_provider.force_flush(FLUSH_TIMEOUT_MILLIS),
        lambda: processor.stats() if hasattr(processor, "stats") else None,
        lambda: (logger_provider.shutdown(), tracer_provider.shutdown()),
    )
    return {"base_import_seconds": base_import, "pipeline_import_seconds": pipeline_import, **measures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--http-endpoint", required=True)
    parser.add_argument("--grpc-endpoint", required=True)
    args = parser.parse_args()
    print(json.dumps(timing_pass(args.mode, args.records, args.http_endpoint, args.grpc_endpoint)))


if __name__ == "__main__":
    main()
