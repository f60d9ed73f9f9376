"""The benchmark's OTLP trace sink: an HTTP receiver and a grpcio TraceService in one process.

Both answer as soon as the request body is in memory and keep it; ``GET /stats`` (called
between passes) decodes what arrived with the ``opentelemetry-proto`` stubs, counting
spans, attributes and events so the report can check that every pipeline delivered whole
spans, and returns the totals and this process's CPU time as JSON.

Run by ``bench_traces.py``; prints ``{"http_port": ..., "grpc_port": ...}`` once ready.
"""

from __future__ import annotations

import gzip
import json
import resource
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
# Large enough for a batch of 512 heavy spans; grpcio's default (4 MiB) is not.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024


class SpanCounter:
    """Keeps payloads as they arrive and decodes them only when asked for the totals, i.e.
    after the measured pass: decoding while a pipeline runs would take CPU from it on a
    2-CPU machine, more for the pipelines that deliver more."""

    def __init__(self) -> None:
        self._pending: list[tuple[bytes, bool]] = []
        self._lock = threading.Lock()
        self.spans = 0
        self.attributes = 0
        self.events = 0
        self.requests = 0
        self.bad_requests = 0

    def submit(self, payload: bytes, gzipped: bool) -> None:
        with self._lock:
            self._pending.append((payload, gzipped))

    def _decode(self, payload: bytes, gzipped: bool) -> None:
        try:
            request = ExportTraceServiceRequest.FromString(gzip.decompress(payload) if gzipped else payload)
        except Exception:
            self.bad_requests += 1
            return
        spans = [
            span
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        self.spans += len(spans)
        self.attributes += sum(len(span.attributes) for span in spans)
        self.events += sum(len(span.events) for span in spans)
        self.requests += 1

    def snapshot(self) -> dict:
        with self._lock:
            pending, self._pending = self._pending, []
            for payload, gzipped in pending:
                self._decode(payload, gzipped)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return {
                "spans": self.spans,
                "attributes": self.attributes,
                "events": self.events,
                "requests": self.requests,
                "bad_requests": self.bad_requests,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            }


def start_http(counter: SpanCounter) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as real collectors do: no reconnect per batch for any exporter.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != "/v1/traces":
                self._reply(404, b"")
                return
            counter.submit(body, self.headers.get("Content-Encoding") == "gzip")
            # An empty ExportTraceServiceResponse serialises to zero bytes.
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


def start_grpc(counter: SpanCounter) -> tuple[grpc.Server, int]:
    def export(request: bytes, context: grpc.ServicerContext) -> bytes:
        # grpcio has already undone any grpc-encoding; the payload is plain protobuf.
        counter.submit(request, False)
        return b""

    # No (de)serialisers: the handler sees raw bytes and decoding happens off the RPC path.
    handler = grpc.method_handlers_generic_handler(
        TRACE_SERVICE, {"Export": grpc.unary_unary_rpc_method_handler(export)}
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        handlers=[handler],
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)],
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def main() -> None:
    counter = SpanCounter()
    http_server = start_http(counter)
    grpc_server, grpc_port = start_grpc(counter)
    print(json.dumps({"http_port": http_server.server_port, "grpc_port": grpc_port}), flush=True)
    # Runs until the parent closes our stdin (or dies).
    sys.stdin.read()
    grpc_server.stop(grace=None)
    http_server.shutdown()


if __name__ == "__main__":
    main()
