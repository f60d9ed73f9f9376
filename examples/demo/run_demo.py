"""Runs app.py under `opentelemetry-instrument` with rust_otlp for traces, logs and metrics,
receives the OTLP exports on a local port (no collector needed) and prints what arrived:
each trace as a tree with its log records under the span they were logged in, then the
metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

HERE = Path(__file__).resolve().parent
KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS = {0: "", 1: " OK", 2: " ERROR"}

REQUESTS = {
    "/v1/traces": ExportTraceServiceRequest,
    "/v1/logs": ExportLogsServiceRequest,
    "/v1/metrics": ExportMetricsServiceRequest,
}
received: list[tuple[str, ExportTraceServiceRequest]] = []
log_records: dict[bytes, list] = defaultdict(list)
metric_points: list[str] = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        request = REQUESTS[self.path]()
        request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/v1/traces":
            received.append((self.headers.get("User-Agent", "?"), request))
        elif self.path == "/v1/logs":
            for resource_logs in request.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        log_records[record.span_id].append(record)
        else:
            metric_points.extend(describe_metrics(request))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def value_text(value) -> str:
    kind = value.WhichOneof("value")
    return repr(getattr(value, kind)) if kind else "None"


def describe_metrics(request: ExportMetricsServiceRequest) -> list[str]:
    lines = []
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.HasField("sum"):
                    total = sum(point.as_int for point in metric.sum.data_points)
                    lines.append(f"{metric.name} ({metric.unit}): sum {total}")
                elif metric.HasField("histogram"):
                    for point in metric.histogram.data_points:
                        lines.append(
                            f"{metric.name} ({metric.unit}): count {point.count}, "
                            f"min {point.min:.2f}, max {point.max:.2f}"
                        )
    return lines


def print_trees() -> None:
    spans, service = [], "?"
    for _, request in received:
        for resource_spans in request.resource_spans:
            for attribute in resource_spans.resource.attributes:
                if attribute.key == "service.name":
                    service = attribute.value.string_value
            for scope_spans in resource_spans.scope_spans:
                spans.extend((scope_spans.scope.name, span) for span in scope_spans.spans)
    children = defaultdict(list)
    for scope, span in spans:
        children[(span.trace_id, span.parent_span_id)].append((scope, span))

    def show(scope, span, depth: int) -> None:
        duration_ms = (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6
        status = STATUS[span.status.code]
        if span.status.message:
            status += f" ({span.status.message})"
        attributes = ", ".join(f"{a.key}={value_text(a.value)}" for a in span.attributes)
        print(f"{'  ' * depth}└─ {span.name} [{KINDS.get(span.kind, '?')}, {duration_ms:.2f} ms]{status}")
        if attributes:
            print(f"{'  ' * depth}     {attributes}")
        for event in span.events:
            print(f"{'  ' * depth}     event: {event.name}")
        for record in log_records.get(span.span_id, []):
            print(f"{'  ' * depth}     log {record.severity_text}: {record.body.string_value}")
        for child_scope, child in sorted(
            children[(span.trace_id, span.span_id)], key=lambda s: s[1].start_time_unix_nano
        ):
            show(child_scope, child, depth + 1)

    roots = [(scope, span) for scope, span in spans if not span.parent_span_id]
    print(f"\nReceived {len(spans)} spans from service {service!r} in {len(received)} request(s)")
    print(f"Sent by: {received[0][0] if received else '-'}")
    for scope, root in sorted(roots, key=lambda s: s[1].start_time_unix_nano):
        print(f"\ntrace {root.trace_id.hex()} (scope {scope})")
        show(scope, root, 0)
    correlated = sum(len(records) for span_id, records in log_records.items() if span_id)
    print(f"\n{correlated} log records arrived, each printed under the span it was logged in")
    print("Metrics:")
    for line in metric_points:
        print(f"  {line}")


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(
        os.environ,
        OTEL_TRACES_EXPORTER="rust_otlp",
        OTEL_LOGS_EXPORTER="rust_otlp",
        OTEL_METRICS_EXPORTER="rust_otlp",
        OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED="true",
        OTEL_SERVICE_NAME="demo-shop",
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
    )
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    command = [str(instrument), sys.executable, str(HERE / "app.py")]
    print(
        "$ OTEL_TRACES_EXPORTER=rust_otlp OTEL_LOGS_EXPORTER=rust_otlp OTEL_METRICS_EXPORTER=rust_otlp \\\n"
        "  OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true \\\n"
        "  opentelemetry-instrument python examples/demo/app.py"
    )
    finished = subprocess.run(command, env=env, timeout=120)
    server.shutdown()
    print_trees()
    return finished.returncode if received else 1


if __name__ == "__main__":
    sys.exit(main())
