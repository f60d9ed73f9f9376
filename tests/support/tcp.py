"""Loopback TCP peers below HTTP: a collector that never answers, relays that tap or reset
connections, and a port nothing listens on."""

from __future__ import annotations

import socket
import struct
import threading
from typing import Optional


def closed_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pump(source: socket.socket, destination: socket.socket, record: Optional[bytearray] = None) -> None:
    """Copies ``source`` to ``destination`` until end of stream, keeping the bytes in ``record``."""
    try:
        while data := source.recv(65536):
            if record is not None:
                record.extend(data)
            destination.sendall(data)
        destination.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class LoopbackListener:
    """Listens on a loopback port and hands each accepted connection to ``_accepted`` on the
    accepting thread; ``close`` stops listening."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self._accepted(connection)

    def _accepted(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.listener.close()


class Blackhole(LoopbackListener):
    """Accepts TCP connections and never answers."""

    def __init__(self) -> None:
        self.connections: list[socket.socket] = []
        super().__init__()

    def _accepted(self, connection: socket.socket) -> None:
        self.connections.append(connection)

    def close(self) -> None:
        super().close()
        for connection in self.connections:
            connection.close()


class Relay(LoopbackListener):
    """Relays each client's TCP connection to ``target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        super().__init__()

    def _accepted(self, client: socket.socket) -> None:
        self._relay(client, None)

    def _relay(self, client: socket.socket, record: Optional[bytearray]) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=pump, args=(client, upstream, record), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


class TcpTap(Relay):
    """A loopback TCP relay to ``target_port`` that keeps the bytes each client sent."""

    def __init__(self, target_port: int) -> None:
        self.sent: list[bytearray] = []
        super().__init__(target_port)

    def _accepted(self, client: socket.socket) -> None:
        record = bytearray()
        self.sent.append(record)
        self._relay(client, record)


class ResettingRelay(Relay):
    """Relays TCP to ``target_port``, except that the first ``resets`` connections are
    reset (RST) as soon as the client has sent ``after_bytes``: a collector or proxy that
    dies mid-request."""

    def __init__(self, target_port: int, resets: int, after_bytes: int = 200) -> None:
        self.resets_left = resets
        self.after_bytes = after_bytes
        super().__init__(target_port)

    def _accepted(self, client: socket.socket) -> None:
        if self.resets_left > 0:
            self.resets_left -= 1
            threading.Thread(target=self._reset_mid_request, args=(client,), daemon=True).start()
            return
        self._relay(client, None)

    def _reset_mid_request(self, client: socket.socket) -> None:
        received = 0
        try:
            while received < self.after_bytes:
                data = client.recv(65536)
                if not data:
                    break
                received += len(data)
        finally:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
