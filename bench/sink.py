"""The benchmarks' OTLP sink: an HTTP receiver and grpcio Trace and Logs services in one process.

Both answer as soon as the request body is in memory and keep it; ``GET /stats`` (called
between passes) decodes what arrived with the ``opentelemetry-proto`` stubs, counting
spans, attributes and events, and log records, their attributes and how many carry a
trace id, so the reports can check that every pipeline delivered whole spans and records,
and returns the totals and this process's CPU time as JSON.

Run by ``bench_traces.py`` and ``bench_logs.py``; prints ``{"http_port": ..., "grpc_port": ...}``
once ready.
"""

from __future__ import annotations

import gzip
import json
import resource
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
LOGS_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
TRACES, LOGS = "traces", "logs"
HTTP_PATHS = {"/v1/traces": TRACES, "/v1/logs": LOGS}
# Large enough for a batch of 512 heavy spans; grpcio's default (4 MiB) is not.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024


def items_of(resources: Any, scopes: str, items: str) -> list[Any]:
    """Every item of a request's resources, through each resource's `scopes` field."""
    return [
        item
        for resource in resources
        for scope in getattr(resource, scopes)
        for item in getattr(scope, items)
    ]


class ReceivedCounter:
    """Keeps payloads as they arrive and decodes them only when asked for the totals, i.e.
    after the measured pass: decoding while a pipeline runs would take CPU from it on a
    2-CPU machine, more for the pipelines that deliver more."""

    def __init__(self) -> None:
        self._pending: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.spans = 0
        self.attributes = 0
        self.events = 0
        self.log_records = 0
        self.log_attributes = 0
        self.log_records_with_trace = 0
        self.requests = 0
        self.bad_requests = 0

    def submit(self, signal: str, payload: bytes, gzipped: bool) -> None:
        with self._lock:
            self._pending.append((signal, payload, gzipped))

    def _decode(self, signal: str, payload: bytes, gzipped: bool) -> None:
        request_type = ExportTraceServiceRequest if signal == TRACES else ExportLogsServiceRequest
        try:
            request = request_type.FromString(gzip.decompress(payload) if gzipped else payload)
        except Exception:
            self.bad_requests += 1
            return
        if signal == LOGS:
            self._count_logs(request)
        else:
            self._count_spans(request)
        self.requests += 1

    def _count_spans(self, request: ExportTraceServiceRequest) -> None:
        spans = items_of(request.resource_spans, "scope_spans", "spans")
        self.spans += len(spans)
        self.attributes += sum(len(span.attributes) for span in spans)
        self.events += sum(len(span.events) for span in spans)

    def _count_logs(self, request: ExportLogsServiceRequest) -> None:
        records = items_of(request.resource_logs, "scope_logs", "log_records")
        self.log_records += len(records)
        self.log_attributes += sum(len(record.attributes) for record in records)
        self.log_records_with_trace += sum(1 for record in records if any(record.trace_id))

    def snapshot(self) -> dict:
        with self._lock:
            pending, self._pending = self._pending, []
            for signal, payload, gzipped in pending:
                self._decode(signal, payload, gzipped)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return {
                "spans": self.spans,
                "attributes": self.attributes,
                "events": self.events,
                "log_records": self.log_records,
                "log_attributes": self.log_attributes,
                "log_records_with_trace": self.log_records_with_trace,
                "requests": self.requests,
                "bad_requests": self.bad_requests,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            }


def start_http(counter: ReceivedCounter) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as real collectors do: no reconnect per batch for any exporter.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            signal = HTTP_PATHS.get(self.path)
            if signal is None:
                self._reply(404, b"")
                return
            counter.submit(signal, body, self.headers.get("Content-Encoding") == "gzip")
            # An empty Export*ServiceResponse serialises to zero bytes.
            self._reply(200, b"")

        def do_GET(self) -> None:
            if self.path != "/stats":
                self._reply(404, b"")
                return
            self._reply(200, json.dumps(counter.snapshot()).encode(), "application/json")

        def _reply(self, status: int, body: bytes, content_type: str = "application/x-protobuf") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_grpc(counter: ReceivedCounter) -> tuple[grpc.Server, int]:
    def exporter(signal: str) -> grpc.RpcMethodHandler:
        def export(request: bytes, context: grpc.ServicerContext) -> bytes:
            # grpcio has already undone any grpc-encoding; the payload is plain protobuf.
            counter.submit(signal, request, False)
            return b""

        # No (de)serialisers: the handler sees raw bytes and decoding happens off the RPC path.
        return grpc.unary_unary_rpc_method_handler(export)

    handlers = [
        grpc.method_handlers_generic_handler(TRACE_SERVICE, {"Export": exporter(TRACES)}),
        grpc.method_handlers_generic_handler(LOGS_SERVICE, {"Export": exporter(LOGS)}),
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        handlers=handlers,
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)],
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def main() -> None:
    counter = ReceivedCounter()
    http_server = start_http(counter)
    grpc_server, grpc_port = start_grpc(counter)
    print(json.dumps({"http_port": http_server.server_port, "grpc_port": grpc_port}), flush=True)
    # Runs until the parent closes our stdin (or dies).
    sys.stdin.read()
    grpc_server.stop(grace=None)
    http_server.shutdown()


if __name__ == "__main__":
    main()
