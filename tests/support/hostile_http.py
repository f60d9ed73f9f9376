"""A loopback HTTP/1.1 server that misbehaves on purpose, as a hostile collector, proxy or
SLS endpoint would: endless or huge bodies, bodies echoing the request's headers,
redirects, any Retry-After. Each request gets the next scripted ``Answer`` (the last one
repeats); every request is recorded with its headers and body.

Bodies are streamed and bounded (``max_bytes`` and ``max_seconds``), and a server stops
writing as soon as the client goes away, so a test never sends more than it needs.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

from tests.support.tcp import LoopbackListener

CHUNK = b"\0" * 65536


@dataclass
class Answer:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    # The request's headers as JSON in the body (an error page quoting the request).
    echo_headers: bool = False
    # Extra headers and the body made from the request's headers (a server quoting them).
    reply_from: Optional[Callable[[dict], tuple[dict, bytes]]] = None
    # Chunked, never ending (until the client leaves or the bounds below are reached).
    endless: bool = False
    # This many bytes of zeros with a Content-Length announcing them.
    huge: int = 0
    # Bounds on one streamed body, whatever the client does.
    max_bytes: int = 3 << 30
    max_seconds: float = 60.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: bytes


class HostileHttpServer:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers) or [Answer()]
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                body = self.rfile.read(length)
                headers = {key.lower(): value for key, value in self.headers.items()}
                answer = server._record(Request(self.command, self.path, headers, body))
                try:
                    server._answer(self, answer, headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading, as it should
                self.close_connection = True

            do_GET = do_POST
            do_PUT = do_POST

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def _record(self, request: Request) -> Answer:
        with self.lock:
            self.requests.append(request)
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, answer: Answer, headers: dict) -> None:
        extra_headers, body = answer.reply_from(headers) if answer.reply_from else ({}, answer.body)
        if answer.echo_headers:
            body = json.dumps(headers).encode()
        handler.send_response(answer.status)
        for name, value in {**answer.headers, **extra_headers}.items():
            handler.send_header(name, value)
        handler.send_header("Connection", "close")
        if answer.endless:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            chunk = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
            sent, deadline = 0, time.monotonic() + answer.max_seconds
            while sent < answer.max_bytes and time.monotonic() < deadline:
                handler.wfile.write(chunk)
                sent += len(CHUNK)
            return
        if answer.huge:
            handler.send_header("Content-Length", str(answer.huge))
            handler.end_headers()
            left, deadline = answer.huge, time.monotonic() + answer.max_seconds
            while left > 0 and time.monotonic() < deadline:
                handler.wfile.write(CHUNK[: min(left, len(CHUNK))])
                left -= len(CHUNK)
            return
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def received(self) -> list[Request]:
        with self.lock:
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Http2RedirectServer(LoopbackListener):
    """Cleartext HTTP/2 (as gRPC speaks it) answering every request with ``status`` and a
    ``Location``, as a proxy in front of a gRPC collector might; counts the requests.

    Frames are written by hand (no HTTP/2 library in the test environment): the server's
    SETTINGS, an ACK of the client's, and one HEADERS frame ending each request's stream.
    """

    PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    def __init__(self, location: str, status: int = 307) -> None:
        self.location = location.encode()
        self.status = str(status).encode()
        self.requests = 0
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"

    def _accepted(self, connection: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    @staticmethod
    def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
        return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload

    def _answer(self) -> bytes:
        # HPACK literals without indexing, by static-table name: `:status` (8), `location` (46).
        block = b"\x08" + bytes([len(self.status)]) + self.status
        block += b"\x0f\x1f" + bytes([len(self.location)]) + self.location
        return block

    def _serve(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as reader:
            if reader.read(len(self.PREFACE)) != self.PREFACE:
                return
            connection.sendall(self._frame(4, 0, 0))
            while header := reader.read(9):
                if len(header) < 9:
                    return
                length, kind, flags = int.from_bytes(header[:3], "big"), header[3], header[4]
                stream = int.from_bytes(header[5:], "big") & 0x7FFFFFFF
                reader.read(length)
                if kind == 4 and not flags & 1:
                    connection.sendall(self._frame(4, 1, 0))
                elif kind in (1, 9) and flags & 4:
                    self.requests += 1
                    # END_STREAM | END_HEADERS: the whole answer is this one frame.
                    connection.sendall(self._frame(1, 0x5, stream, self._answer()))
