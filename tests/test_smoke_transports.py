from opentelemetry.sdk.trace import TracerProvider

from otel_rust_exporter import RustSpanProcessor


def test_spans_arrive_over_each_transport(receiver):
    processor = RustSpanProcessor(endpoint=receiver.endpoint, protocol=receiver.protocol)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("smoke")
    with tracer.start_as_current_span("parent"):
        with tracer.start_as_current_span("child"):
            pass
    assert processor.force_flush(10_000)
    names = sorted(span.name for span in receiver.received.spans())
    assert names == ["child", "parent"]
    assert processor.stats()["exported"] == 2
    provider.shutdown()
