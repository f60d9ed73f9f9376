"""What we put on the wire equals what the stock OTLP encoder and exporters produce.

The same finished ``ReadableSpan`` objects are encoded by the stock
``encode_spans`` and sent through our exporter and processor; the receivers decode with
the official stubs, so any difference in content, grouping or order shows up as a diff.
"""

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as StockGrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as StockHttpExporter
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from otel_rust_exporter import RustOTLPSpanExporter, RustSpanProcessor

from tests.support.otlp_receivers import HttpReceiver, items_of
from tests.support.spans_catalog import build_rich_spans
from tests.support.wire import StockParity, WireSignal, assert_same_request

OURS, STOCK = (RustOTLPSpanExporter, RustSpanProcessor), (StockHttpExporter, StockGrpcExporter)
TRACES = WireSignal("traces", build_rich_spans, encode_spans, SpanExportResult.SUCCESS, OURS, STOCK)


def test_the_span_catalog_exercises_every_field():
    # Guards the parity tests: they only prove something if these cases are present.
    spans = items_of(encode_spans(build_rich_spans()), "traces")
    assert {span.kind for span in spans} == set(PbSpan.SpanKind.values()) - {0}
    assert {span.status.code for span in spans} == {0, 1, 2}
    assert any(span.status.message for span in spans)
    assert any(span.dropped_attributes_count for span in spans)
    assert any(span.dropped_events_count for span in spans)
    assert any(span.dropped_links_count for span in spans)
    assert any(event.dropped_attributes_count for span in spans for event in span.events)
    assert any(link.dropped_attributes_count for span in spans for link in span.links)
    assert {link.flags for span in spans for link in span.links} == {0x100, 0x300}
    assert {span.flags for span in spans} == {0x100, 0x300}
    assert any(span.trace_state for span in spans)
    value_kinds = {attribute.value.WhichOneof("value") for span in spans for attribute in span.attributes}
    assert value_kinds == {
        "string_value",
        "bool_value",
        "int_value",
        "double_value",
        "array_value",
        "kvlist_value",
        "bytes_value",
        None,
    }


def test_each_batch_is_encoded_as_the_stock_encoder_encodes_its_spans(receiver):
    # Small batches: where the processor cuts is up to it, but each request must group
    # and order its own spans as the stock encoder would, and no span may be lost or moved.
    # Batches may be in flight concurrently, so requests can arrive in any order; each must
    # still be one contiguous run of the queue.
    spans = TRACES.send_through_processor(receiver, max_export_batch_size=3)
    by_id = {span.context.span_id: span for span in spans}
    batches = []
    for request in receiver.received.requests:
        ids = [int.from_bytes(span.span_id, "big") for span in items_of(request, "traces")]
        # Stock grouping of this batch, in the order the batch was queued (= end order).
        batch = sorted((by_id[span_id] for span_id in ids), key=spans.index)
        assert_same_request(request, encode_spans(batch))
        batches.append(batch)
    assert len(receiver.received.requests) >= 4
    batches.sort(key=lambda batch: spans.index(batch[0]))
    sent_ids = [span.context.span_id for batch in batches for span in batch]
    assert sent_ids == [span.context.span_id for span in spans]


def test_resources_equal_but_for_attribute_order_are_grouped_as_the_stock_encoder_groups_them(
    http_receiver,
):
    # Resource equality ignores attribute order, so the stock encoder sends one
    # ResourceSpans (with the first resource's order) for spans of both providers.
    spans = []
    for attributes in ({"service.name": "same", "zone": "a"}, {"zone": "a", "service.name": "same"}):
        provider = TracerProvider(resource=Resource(attributes), shutdown_on_exit=False)
        span = provider.get_tracer("same scope").start_span("span")
        span.end()
        spans.append(span)
    exporter = RustOTLPSpanExporter(endpoint=http_receiver.endpoint)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    (request,) = http_receiver.received.requests
    assert_same_request(request, encode_spans(spans))


@pytest.mark.parametrize("sender", ["exporter", "processor"])
def test_a_batch_with_spans_from_many_scopes_has_one_scope_spans_per_scope(http_receiver, sender):
    # Large apps make a tracer per module (`get_tracer(__name__)`): a batch can hold spans
    # of a hundred scopes, and a scope seen again after all the others is still the same.
    memory = InMemorySpanExporter()
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint, schedule_delay_millis=60_000)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    if sender == "processor":
        provider.add_span_processor(processor)
    tracers = [provider.get_tracer(f"app.module_{index}") for index in range(100)]
    for tracer in [*tracers, *tracers]:
        tracer.start_span("span").end()
    spans = list(memory.get_finished_spans())
    if sender == "processor":
        assert processor.force_flush(10_000)
    else:
        assert RustOTLPSpanExporter(endpoint=http_receiver.endpoint).export(spans) is SpanExportResult.SUCCESS
    (request,) = http_receiver.received.requests
    assert_same_request(request, encode_spans(spans))


class RecordOnlyWhenNamedUnsampled(Sampler):
    """Records every span, but samples only those whose name does not start "unsampled"."""

    def should_sample(self, parent_context, trace_id, name, *args, **kwargs) -> SamplingResult:
        unsampled = name.startswith("unsampled")
        return SamplingResult(Decision.RECORD_ONLY if unsampled else Decision.RECORD_AND_SAMPLE)

    def get_description(self) -> str:
        return "RecordOnlyWhenNamedUnsampled"


def test_processor_sends_the_spans_the_stock_batch_processor_sends(http_receiver):
    # Recorded but unsampled spans reach on_end; the stock BatchSpanProcessor skips them.
    stock_receiver = HttpReceiver()
    try:
        ours = RustSpanProcessor(endpoint=http_receiver.endpoint)
        stock = BatchSpanProcessor(StockHttpExporter(endpoint=stock_receiver.endpoint))
        provider = TracerProvider(sampler=RecordOnlyWhenNamedUnsampled(), shutdown_on_exit=False)
        provider.add_span_processor(ours)
        provider.add_span_processor(stock)
        tracer = provider.get_tracer("sampling")
        for name in ("sampled 1", "unsampled 1", "sampled 2", "unsampled 2"):
            tracer.start_span(name).end()
        assert provider.force_flush(10_000)
        provider.shutdown()
        assert [span.name for span in stock_receiver.received.spans()] == ["sampled 1", "sampled 2"]
        (our_request,) = http_receiver.received.requests
        (stock_request,) = stock_receiver.received.requests
        assert_same_request(our_request, stock_request)
    finally:
        stock_receiver.close()


class TestStockParity(StockParity):
    signal = TRACES
