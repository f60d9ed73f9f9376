"""The spans the auto-instrumentation and fallback apps end: one trace the ratio sampler
keeps and one it drops (fixed trace ids make that deterministic), with more attributes,
events and links than the span limits the tests set."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

# TraceIdRatioBased keeps a trace when the low 64 bits of its id are below ratio * 2**64.
KEPT_TRACE_ID = 0x0123456789ABCDEF_0000000000000001
DROPPED_TRACE_ID = 0x0123456789ABCDEF_FFFFFFFFFFFFFF00


def _remote_parent(trace_id: int) -> SpanContext:
    return SpanContext(
        trace_id, 0x1111111111111111, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )


def emit_spans(tracer: trace.Tracer) -> None:
    for trace_id, label in ((KEPT_TRACE_ID, "kept"), (DROPPED_TRACE_ID, "dropped")):
        context = trace.set_span_in_context(trace.NonRecordingSpan(_remote_parent(trace_id)))
        links = [
            Link(SpanContext(0xAAAA0000 + i, 0xBBBB0000 + i, is_remote=True), {"link.index": i, "extra": "x"})
            for i in range(3)
        ]
        attributes = {f"attribute.{i}": "a long attribute value" for i in range(7)}
        with tracer.start_as_current_span(
            f"{label}-root", context=context, kind=SpanKind.SERVER, attributes=attributes, links=links
        ) as root:
            for i in range(4):
                root.add_event(f"event-{i}", {"event.index": i, "extra": True})
            root.set_status(Status(StatusCode.ERROR, "scripted failure"))
            with tracer.start_as_current_span(f"{label}-child", kind=SpanKind.CLIENT):
                pass
