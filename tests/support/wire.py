"""Comparing what a receiver decoded with what the stock encoder produced, and the parity
tests every signal's module runs by subclassing ``StockParity``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest
from google.protobuf import text_format

from tests.support.delivery import NEVER_ON_SCHEDULE_MS
from tests.support.otlp_receivers import LEVELS


def assert_same_request(sent, expected) -> None:
    # The text form first, so a failure shows a readable diff; then the canonical bytes,
    # which also tell apart what text hides (e.g. an empty but present sub-message).
    assert text_format.MessageToString(sent, as_utf8=True) == text_format.MessageToString(
        expected, as_utf8=True
    )
    assert sent.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)


@dataclass(frozen=True)
class WireSignal:
    """One signal as the parity tests send it: ours and the stock side of the comparison."""

    name: str  # the receiver's path and record: "traces" or "logs"
    build: Callable[..., list]  # the rich catalog, through the given processor if any
    encode: Callable[[list], Any]  # the stock encoder
    success: Any  # what a successful export returns
    ours: tuple[type, type]  # our exporter and processor
    stock: tuple[type, type]  # the stock HTTP and gRPC exporters

    def received(self, receiver):
        return receiver.by_signal[self.name]

    def export_through_ours(self, receiver, items: list) -> None:
        exporter_type, _ = self.ours
        exporter = exporter_type(endpoint=receiver.endpoint_for(self.name), protocol=receiver.protocol)
        assert exporter.export(items) is self.success
        exporter.shutdown()

    def send_through_exporter(self, receiver) -> list:
        items = self.build()
        self.export_through_ours(receiver, items)
        return items

    def send_through_processor(self, receiver, **options) -> list:
        # Only force_flush sends: all items travel in one request unless the batch size cuts them.
        _, processor_type = self.ours
        processor = processor_type(
            endpoint=receiver.endpoint_for(self.name),
            protocol=receiver.protocol,
            schedule_delay_millis=NEVER_ON_SCHEDULE_MS,
            **options,
        )
        items = self.build(processor)
        assert processor.force_flush(10_000)
        processor.shutdown()
        return items

    def send_through(self, sender: str, receiver) -> list:
        send = self.send_through_exporter if sender == "exporter" else self.send_through_processor
        return send(receiver)

    def stock_exporter(self, receiver):
        http, grpc = self.stock
        if receiver.protocol == "grpc":
            return grpc(endpoint=receiver.endpoint, insecure=True)
        return http(endpoint=receiver.endpoint_for(self.name))


SENDERS = ["exporter", "processor"]


class StockParity:
    """Our exporter and processor put on the wire what the stock encoder and exporters do.
    A signal's test module subclasses this as ``Test...`` and sets ``signal``."""

    signal: WireSignal

    def test_the_catalog_has_two_resources_and_a_fully_described_scope(self):
        # Guards the parity tests: they only prove something if these cases are present.
        resources_field, scopes_field, _ = LEVELS[self.signal.name]
        resources = getattr(self.signal.encode(self.signal.build()), resources_field)
        assert len(resources) == 2
        assert resources[0].schema_url
        scopes = [scope for resource in resources for scope in getattr(resource, scopes_field)]
        assert any(scope.schema_url and scope.scope.version and scope.scope.attributes for scope in scopes)

    @pytest.mark.parametrize("sender", SENDERS)
    def test_request_equals_the_stock_encoding(self, receiver, sender):
        items = self.signal.send_through(sender, receiver)
        received = self.signal.received(receiver)
        assert len(received.requests) == 1
        assert_same_request(received.requests[0], self.signal.encode(items))

    @pytest.mark.parametrize("sender", SENDERS)
    def test_http_body_is_byte_for_byte_the_stock_encoding(self, http_receiver, sender):
        http_receiver.protocol = "http/protobuf"
        items = self.signal.send_through(sender, http_receiver)
        received = self.signal.received(http_receiver)
        assert received.bodies == [self.signal.encode(items).SerializeToString()]
        assert received.headers[0][":path"] == f"/v1/{self.signal.name}"

    @pytest.fixture
    def stock_exporter(self, receiver):
        exporter = self.signal.stock_exporter(receiver)
        yield exporter
        exporter.shutdown()

    def test_stock_exporter_and_ours_send_the_same_request(self, receiver, stock_exporter):
        items = self.signal.build()
        assert stock_exporter.export(items) is self.signal.success
        self.signal.export_through_ours(receiver, items)
        stock_request, our_request = self.signal.received(receiver).requests
        assert_same_request(our_request, stock_request)
