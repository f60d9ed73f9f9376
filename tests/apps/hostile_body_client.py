"""Exports spans to each URL given (one RustOTLPSpanExporter per URL, HTTP/protobuf), then
prints the results and this process's peak RSS as JSON: a hostile collector's body must not
cost memory."""

import json
import resource
import sys

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_rust_exporter import RustOTLPSpanExporter


def main() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.get_tracer("hostile").start_span("span").end()
    spans = memory.get_finished_spans()
    results = []
    for url in sys.argv[1:]:
        exporter = RustOTLPSpanExporter(endpoint=url, timeout=10)
        results.append(exporter.export(spans).name)
        exporter.shutdown()
    # Linux reports kilobytes.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"results": results, "peak_rss_mib": peak_mib}))


if __name__ == "__main__":
    main()
