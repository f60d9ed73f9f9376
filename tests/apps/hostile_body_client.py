"""Exports to each target given, then prints the results and this process's peak RSS as
JSON: a hostile server's body must not cost memory. A target is ``otlp=URL`` (a span over
OTLP/HTTP) or ``sls=URL`` (a log record to SLS at that endpoint)."""

import json
import logging
import resource
import sys

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_rust_exporter import RustOTLPSpanExporter
from otel_sls_exporter import SLSLogExporter


def one_span() -> list:
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.get_tracer("hostile").start_span("span").end()
    return list(memory.get_finished_spans())


def one_log_record() -> list:
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = logging.getLogger("app.hostile")
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=provider))
    logger.warning("record")
    return list(memory.get_finished_logs())


def main() -> None:
    results = []
    for target in sys.argv[1:]:
        kind, url = target.split("=", 1)
        exporter: RustOTLPSpanExporter | SLSLogExporter
        if kind == "otlp":
            exporter = RustOTLPSpanExporter(endpoint=url, timeout=10)
            batch = one_span()
        else:
            exporter = SLSLogExporter(
                url,
                "hostile",
                "store",
                access_key_id="LTAI0123456789",
                access_key_secret="s" * 30,
                timeout=10,
            )
            batch = one_log_record()
        results.append(exporter.export(batch).name)
        exporter.shutdown()
    # Linux reports kilobytes.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"results": results, "peak_rss_mib": peak_mib}))


if __name__ == "__main__":
    main()
