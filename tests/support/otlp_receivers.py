"""Loopback OTLP receivers for tests: a plain HTTP server and a real grpcio server.

Both take all three signals, decode requests with the official ``opentelemetry-proto``
stubs and can be told to answer the next requests with failures (status codes,
Retry-After, partial success). ``receiver.received`` holds traces, ``receiver.logs``
logs and ``receiver.metrics`` metrics.
"""

from __future__ import annotations

import gzip
import ssl
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


@dataclass(frozen=True)
class Signal:
    name: str
    request: type
    response: type
    # The response's partial_success field counting rejected items.
    rejected_field: str


SIGNALS = {
    "traces": Signal(
        "traces",
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
        "rejected_spans",
    ),
    "logs": Signal(
        "logs",
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
        "rejected_log_records",
    ),
    "metrics": Signal(
        "metrics",
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
        "rejected_data_points",
    ),
}


@dataclass
class Reply:
    """One scripted answer. HTTP uses ``http_status``; gRPC uses ``grpc_code``."""

    http_status: int = 200
    grpc_code: Optional[grpc.StatusCode] = None
    retry_after: Optional[str] = None
    # Items reported as rejected in partial_success, whatever the signal.
    rejected: int = 0
    error_message: str = ""
    delay: float = 0.0
    # Answered only once this is set (or after a minute): a request the test holds in flight.
    hold: Optional[threading.Event] = None
    # gRPC: the failure's message quotes the request's metadata (an echoing server).
    echo_metadata: bool = False

    def wait(self) -> None:
        if self.hold is not None:
            self.hold.wait(60)
        time.sleep(self.delay)


@dataclass
class Received:
    requests: list = field(default_factory=list)
    headers: list = field(default_factory=list)
    # HTTP only: each request body as it arrived, after gzip decoding, before parsing.
    bodies: list = field(default_factory=list)
    attempts: int = 0
    condition: threading.Condition = field(default_factory=threading.Condition)

    def spans(self) -> list:
        return [span for request in self.requests for span in items_of(request, "traces")]

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list:
        return self._wait_for(self.spans, count, timeout)

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list:
        return self._wait_for(lambda: self.requests, count, timeout)

    def log_records(self) -> list:
        return [record for request in self.requests for record in items_of(request, "logs")]

    def wait_for_log_records(self, count: int, timeout: float = 10.0) -> list:
        return self._wait_for(self.log_records, count, timeout)

    def _wait_for(self, items, count: int, timeout: float) -> list:
        deadline = time.monotonic() + timeout
        with self.condition:
            while len(items()) < count and time.monotonic() < deadline:
                self.condition.wait(0.05)
        return items()


# A request's levels for each signal: its resources, each resource's scopes, each scope's items.
LEVELS = {
    "traces": ("resource_spans", "scope_spans", "spans"),
    "logs": ("resource_logs", "scope_logs", "log_records"),
    "metrics": ("resource_metrics", "scope_metrics", "metrics"),
}


def items_of(request, signal: str) -> list:
    """The spans, log records or metrics of one request of ``signal``, in order."""
    resources, scopes, items = LEVELS[signal]
    return [
        item
        for resource in getattr(request, resources)
        for scope in getattr(resource, scopes)
        for item in getattr(scope, items)
    ]


def sum_points(request, metric_name: str) -> list:
    """The data points of the sum metric ``metric_name`` in one metrics request."""
    return [
        point
        for metric in items_of(request, "metrics")
        if metric.name == metric_name
        for point in metric.sum.data_points
    ]


def _response(signal: Signal, reply: Reply):
    response = signal.response()
    if reply.rejected or reply.error_message:
        setattr(response.partial_success, signal.rejected_field, reply.rejected)
        response.partial_success.error_message = reply.error_message
    return response


class _Base:
    def __init__(self) -> None:
        self.by_signal = {name: Received() for name in SIGNALS}
        self.received = self.by_signal["traces"]
        self.logs = self.by_signal["logs"]
        self.metrics = self.by_signal["metrics"]
        self.script: list[Reply] = []
        self._lock = threading.Lock()

    def reply_with(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def _next_reply(self) -> Reply:
        with self._lock:
            self.received.attempts += 1
            return self.script.pop(0) if self.script else Reply()

    def _record(self, signal: Signal, request, headers: dict, body: Optional[bytes] = None) -> None:
        received = self.by_signal[signal.name]
        with received.condition:
            if body is not None:
                received.bodies.append(body)
            received.requests.append(request)
            received.headers.append(headers)
            received.condition.notify_all()


class HttpReceiver(_Base):
    """``POST /v1/{traces,logs,metrics}`` with binary protobuf, optionally gzip-compressed."""

    protocol = "http/protobuf"

    def __init__(self, port: int = 0) -> None:
        """``port``: a fixed one, e.g. to stand in for a collector that was down there."""
        super().__init__()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                reply = receiver._next_reply()
                reply.wait()
                if reply.http_status != 200:
                    self.send_response(reply.http_status)
                    if reply.retry_after is not None:
                        self.send_header("Retry-After", reply.retry_after)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                signal = SIGNALS.get(self.path.rsplit("/", 1)[-1], SIGNALS["traces"])
                request = signal.request()
                request.ParseFromString(body)
                headers = {key.lower(): value for key, value in self.headers.items()}
                headers[":path"] = self.path
                receiver._record(signal, request, headers, body)
                payload = _response(signal, reply).SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_port
        self.endpoint = self.endpoint_for("traces")
        # A short poll interval: `close` waits for the serving loop to notice, up to one interval.
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def endpoint_for(self, signal: str) -> str:
        return f"http://127.0.0.1:{self.port}/v1/{signal}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class GrpcReceiver(_Base):
    """grpcio trace, logs and metrics services on an insecure loopback port."""

    protocol = "grpc"

    def __init__(self, port: int = 0) -> None:
        super().__init__()

        def export(signal: Signal, request, context):
            reply = self._next_reply()
            reply.wait()
            if reply.grpc_code is not None:
                message = reply.error_message or "scripted failure"
                if reply.echo_metadata:
                    message += f" {dict(context.invocation_metadata())}"
                context.abort(reply.grpc_code, message)
            self._record(signal, request, dict(context.invocation_metadata()))
            return _response(signal, reply)

        class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                return export(SIGNALS["traces"], request, context)

        class LogsService(logs_service_pb2_grpc.LogsServiceServicer):
            def Export(self, request, context):
                return export(SIGNALS["logs"], request, context)

        class MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request, context):
                return export(SIGNALS["metrics"], request, context)

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), self.server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(LogsService(), self.server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(MetricsService(), self.server)
        self.port = self._add_port(f"127.0.0.1:{port}")
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server.start()

    def endpoint_for(self, signal: str) -> str:
        return self.endpoint

    def _add_port(self, address: str) -> int:
        return self.server.add_insecure_port(address)

    def close(self) -> None:
        self.server.stop(grace=None)


class MetricsHttpReceiver(HttpReceiver):
    """An ``HttpReceiver`` whose ``endpoint``, ``received`` and attempt count are metrics'."""

    def __init__(self) -> None:
        super().__init__()
        self.endpoint = self.endpoint_for("metrics")
        self.received = self.metrics


class MetricsGrpcReceiver(GrpcReceiver):
    """A ``GrpcReceiver`` whose ``received`` and attempt count are metrics'."""

    def __init__(self) -> None:
        super().__init__()
        self.received = self.metrics


class TlsHttpReceiver(HttpReceiver):
    """``HttpReceiver`` over HTTPS; ``context`` is a server-side ``ssl.SSLContext``."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        # No client knows the port yet, so swapping the listening socket here is safe;
        # handshakes then happen in `accept`, and a failed one just drops that connection.
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.endpoint = self.endpoint_for("traces")

    def endpoint_for(self, signal: str) -> str:
        return f"https://127.0.0.1:{self.port}/v1/{signal}"


class TlsGrpcReceiver(GrpcReceiver):
    """``GrpcReceiver`` on a TLS port; ``credentials`` from ``grpc.ssl_server_credentials``."""

    def __init__(self, credentials: grpc.ServerCredentials) -> None:
        self._credentials = credentials
        super().__init__()
        self.endpoint = f"https://127.0.0.1:{self.port}"

    def _add_port(self, address: str) -> int:
        return self.server.add_secure_port(address, self._credentials)


def grpc_compressed_flags(client_bytes: bytes) -> list[int]:
    """The compressed-flag byte of the first gRPC message on each HTTP/2 stream a client
    opened (1: the message was compressed with the call's ``grpc-encoding``)."""
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    assert client_bytes.startswith(preface), "not an HTTP/2 client connection"
    flags: dict[int, int] = {}
    offset = len(preface)
    while offset + 9 <= len(client_bytes):
        length = int.from_bytes(client_bytes[offset : offset + 3], "big")
        frame_type, frame_flags = client_bytes[offset + 3], client_bytes[offset + 4]
        stream = int.from_bytes(client_bytes[offset + 5 : offset + 9], "big") & 0x7FFFFFFF
        payload = client_bytes[offset + 9 : offset + 9 + length]
        offset += 9 + length
        if frame_type == 0 and frame_flags & 0x8:  # DATA, PADDED: the pad length comes first
            payload = payload[1:]
        if frame_type == 0 and payload and stream not in flags:
            flags[stream] = payload[0]
    return list(flags.values())


PROTOCOLS = ["http/protobuf", "grpc"]


def serving(receiver):
    """For a fixture: yields ``receiver`` to the test, then closes it."""
    yield receiver
    receiver.close()


def serving_per_protocol(protocol: str, http_receiver_type, grpc_receiver_type):
    """For a fixture parametrized over ``PROTOCOLS``: a receiver of that protocol, which
    ``receiver.protocol`` names."""
    receiver = http_receiver_type() if protocol == "http/protobuf" else grpc_receiver_type()
    receiver.protocol = protocol
    yield from serving(receiver)
