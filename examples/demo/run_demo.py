"""Runs app.py under `opentelemetry-instrument` with OTEL_TRACES_EXPORTER=rust_otlp, receives
the OTLP export on a local port (no collector needed) and prints the traces that arrived."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

HERE = Path(__file__).resolve().parent
KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS = {0: "", 1: " OK", 2: " ERROR"}

received: list[tuple[str, ExportTraceServiceRequest]] = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        received.append((self.headers.get("User-Agent", "?"), request))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def value_text(value) -> str:
    kind = value.WhichOneof("value")
    return repr(getattr(value, kind)) if kind else "None"


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


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(
        os.environ,
        OTEL_TRACES_EXPORTER="rust_otlp",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_SERVICE_NAME="demo-shop",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{server.server_port}/v1/traces",
    )
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    command = [str(instrument), sys.executable, str(HERE / "app.py")]
    print("$ OTEL_TRACES_EXPORTER=rust_otlp opentelemetry-instrument python examples/demo/app.py")
    finished = subprocess.run(command, env=env, timeout=120)
    server.shutdown()
    print_trees()
    return finished.returncode if received else 1


if __name__ == "__main__":
    sys.exit(main())
