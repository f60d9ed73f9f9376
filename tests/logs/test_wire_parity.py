"""Log records on the wire equal what the stock OTLP encoder and exporters produce.

The same records are encoded by the stock ``encode_logs`` and sent through our exporter and
processor; the receivers decode with the official stubs, so any difference in content,
grouping or order shows up as a diff.
"""

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as StockGrpcExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as StockHttpExporter
from opentelemetry.sdk._logs.export import LogRecordExportResult
from otel_rust_exporter import RustLogRecordProcessor, RustOTLPLogExporter

from tests.support.logs_catalog import BODIES, build_rich_log_records
from tests.support.wire import assert_same_request


def send_through_exporter(receiver) -> list:
    records = build_rich_log_records()
    exporter = RustOTLPLogExporter(endpoint=receiver.endpoint_for("logs"), protocol=receiver.protocol)
    assert exporter.export(records) is LogRecordExportResult.SUCCESS
    exporter.shutdown()
    return records


def send_through_processor(receiver) -> list:
    # A long schedule delay: only force_flush sends, so all records travel in one request.
    processor = RustLogRecordProcessor(
        endpoint=receiver.endpoint_for("logs"), protocol=receiver.protocol, schedule_delay_millis=60_000
    )
    records = build_rich_log_records(processor)
    assert processor.force_flush(10_000)
    processor.shutdown()
    return records


SENDERS = {"exporter": send_through_exporter, "processor": send_through_processor}


def test_the_log_catalog_exercises_every_field():
    # Guards the parity tests below: they only prove something if these cases are present.
    request = encode_logs(build_rich_log_records())
    records = [r for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    assert len(request.resource_logs) == 2
    assert request.resource_logs[0].schema_url
    scopes = [sl for rl in request.resource_logs for sl in rl.scope_logs]
    assert any(sl.schema_url and sl.scope.version and sl.scope.attributes for sl in scopes)
    body_kinds = {record.body.WhichOneof("value") for record in records}
    assert body_kinds == {
        "string_value",
        "int_value",
        "double_value",
        "bool_value",
        "bytes_value",
        "array_value",
        "kvlist_value",
        None,
    }
    assert len(BODIES) <= len(records)
    assert len({record.severity_number for record in records}) >= 5
    assert any(record.severity_text for record in records)
    assert any(record.event_name for record in records)
    assert any(record.dropped_attributes_count for record in records)
    assert any(record.time_unix_nano for record in records)
    assert any(not record.time_unix_nano for record in records)
    assert all(record.observed_time_unix_nano for record in records)
    assert {record.flags & 1 for record in records if record.trace_id} == {0, 1}  # sampled bit
    assert any(not record.trace_id and not record.span_id for record in records)
    attribute_keys = {attribute.key for record in records for attribute in record.attributes}
    assert {"exception.type", "exception.stacktrace", "code.function.name"} <= attribute_keys


@pytest.mark.parametrize("sender", SENDERS)
def test_request_equals_the_stock_encoding(receiver, sender):
    records = SENDERS[sender](receiver)
    assert len(receiver.logs.requests) == 1
    assert_same_request(receiver.logs.requests[0], encode_logs(records))


@pytest.mark.parametrize("sender", SENDERS)
def test_http_body_is_byte_for_byte_the_stock_encoding(http_receiver, sender):
    http_receiver.protocol = "http/protobuf"
    records = SENDERS[sender](http_receiver)
    assert http_receiver.logs.bodies == [encode_logs(records).SerializeToString()]
    assert http_receiver.logs.headers[0][":path"] == "/v1/logs"


@pytest.fixture
def stock_exporter(receiver):
    if receiver.protocol == "grpc":
        exporter = StockGrpcExporter(endpoint=receiver.endpoint, insecure=True)
    else:
        exporter = StockHttpExporter(endpoint=receiver.endpoint_for("logs"))
    yield exporter
    exporter.shutdown()


def test_stock_exporter_and_ours_send_the_same_request(receiver, stock_exporter):
    records = build_rich_log_records()
    assert stock_exporter.export(records) is LogRecordExportResult.SUCCESS
    ours = RustOTLPLogExporter(endpoint=receiver.endpoint_for("logs"), protocol=receiver.protocol)
    assert ours.export(records) is LogRecordExportResult.SUCCESS
    ours.shutdown()
    stock_request, our_request = receiver.logs.requests
    assert_same_request(our_request, stock_request)


def test_small_batches_are_each_encoded_as_the_stock_encoder_encodes_them(receiver):
    processor = RustLogRecordProcessor(
        endpoint=receiver.endpoint_for("logs"),
        protocol=receiver.protocol,
        max_export_batch_size=4,
        schedule_delay_millis=60_000,
    )
    records = build_rich_log_records(processor)
    assert processor.force_flush(10_000)
    processor.shutdown()
    assert len(receiver.logs.requests) >= len(records) // 4
    received = [
        r
        for request in receiver.logs.requests
        for rl in request.resource_logs
        for sl in rl.scope_logs
        for r in sl.log_records
    ]
    assert sorted(r.SerializeToString() for r in received) == sorted(
        r.SerializeToString()
        for rl in encode_logs(records).resource_logs
        for sl in rl.scope_logs
        for r in sl.log_records
    )
