"""Loopback OTLP receivers for tests: a plain HTTP server and a real grpcio server.

Both decode requests with the official ``opentelemetry-proto`` stubs and can be told to
answer the next requests with failures (status codes, Retry-After, partial success).
"""

from __future__ import annotations

import gzip
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


@dataclass
class Reply:
    """One scripted answer. HTTP uses ``http_status``; gRPC uses ``grpc_code``."""

    http_status: int = 200
    grpc_code: Optional[grpc.StatusCode] = None
    retry_after: Optional[str] = None
    rejected_spans: int = 0
    error_message: str = ""
    delay: float = 0.0


@dataclass
class Received:
    requests: list = field(default_factory=list)
    headers: list = field(default_factory=list)
    attempts: int = 0
    condition: threading.Condition = field(default_factory=threading.Condition)

    def spans(self) -> list:
        return [
            span
            for request in self.requests
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        with self.condition:
            while len(self.spans()) < count and time.monotonic() < deadline:
                self.condition.wait(0.05)
        return self.spans()


class _Base:
    def __init__(self) -> None:
        self.received = Received()
        self.script: list[Reply] = []
        self._lock = threading.Lock()

    def reply_with(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def _next_reply(self) -> Reply:
        with self._lock:
            self.received.attempts += 1
            return self.script.pop(0) if self.script else Reply()

    def _record(self, request, headers: dict) -> None:
        with self.received.condition:
            self.received.requests.append(request)
            self.received.headers.append(headers)
            self.received.condition.notify_all()


class HttpReceiver(_Base):
    """``POST /v1/traces`` with binary protobuf, optionally gzip-compressed."""

    def __init__(self) -> None:
        super().__init__()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                reply = receiver._next_reply()
                time.sleep(reply.delay)
                if reply.http_status != 200:
                    self.send_response(reply.http_status)
                    if reply.retry_after is not None:
                        self.send_header("Retry-After", reply.retry_after)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
                headers = {key.lower(): value for key, value in self.headers.items()}
                headers[":path"] = self.path
                receiver._record(request, headers)
                response = trace_service_pb2.ExportTraceServiceResponse()
                if reply.rejected_spans or reply.error_message:
                    response.partial_success.rejected_spans = reply.rejected_spans
                    response.partial_success.error_message = reply.error_message
                payload = response.SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.endpoint = f"http://127.0.0.1:{self.port}/v1/traces"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class GrpcReceiver(_Base):
    """A grpcio ``TraceService`` on an insecure loopback port."""

    def __init__(self) -> None:
        super().__init__()
        receiver = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                reply = receiver._next_reply()
                time.sleep(reply.delay)
                if reply.grpc_code is not None:
                    context.abort(reply.grpc_code, reply.error_message or "scripted failure")
                receiver._record(request, dict(context.invocation_metadata()))
                response = trace_service_pb2.ExportTraceServiceResponse()
                if reply.rejected_spans or reply.error_message:
                    response.partial_success.rejected_spans = reply.rejected_spans
                    response.partial_success.error_message = reply.error_message
                return response

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server.start()

    def close(self) -> None:
        self.server.stop(grace=None)
