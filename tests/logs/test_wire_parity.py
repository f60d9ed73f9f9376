"""Log records on the wire equal what the stock OTLP encoder and exporters produce.

The same records are encoded by the stock ``encode_logs`` and sent through our exporter and
processor; the receivers decode with the official stubs, so any difference in content,
grouping or order shows up as a diff.
"""

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as StockGrpcExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as StockHttpExporter
from opentelemetry.sdk._logs.export import LogRecordExportResult
from otel_rust_exporter import RustLogRecordProcessor, RustOTLPLogExporter

from tests.support.logs_catalog import BODIES, build_rich_log_records
from tests.support.otlp_receivers import items_of
from tests.support.wire import StockParity, WireSignal

OURS, STOCK = (RustOTLPLogExporter, RustLogRecordProcessor), (StockHttpExporter, StockGrpcExporter)
LOGS = WireSignal("logs", build_rich_log_records, encode_logs, LogRecordExportResult.SUCCESS, OURS, STOCK)


def test_the_log_catalog_exercises_every_field():
    # Guards the parity tests: they only prove something if these cases are present.
    records = items_of(encode_logs(build_rich_log_records()), "logs")
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


def test_small_batches_are_each_encoded_as_the_stock_encoder_encodes_them(receiver):
    records = LOGS.send_through_processor(receiver, max_export_batch_size=4)
    assert len(receiver.logs.requests) >= len(records) // 4
    received = receiver.logs.log_records()
    assert sorted(r.SerializeToString() for r in received) == sorted(
        r.SerializeToString() for r in items_of(encode_logs(records), "logs")
    )


class TestStockParity(StockParity):
    signal = LOGS
