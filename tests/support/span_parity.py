"""Comparing the spans of the SDK's provider with RustTracerProvider's: the same ids for
both (``SequentialIds``), and what is left when the times (which always differ) are set
aside. Imported by the apps too, from ``.venv-instrumentation``: the SDK only."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace.id_generator import IdGenerator

# Event times the scenarios set explicitly (JSON and wire forms): compared, not set aside.
EXPLICIT_EVENT_TIME_JSON = "2023-11-14T22:13:20.000000Z"
EXPLICIT_EVENT_TIME_NANOS = 1_700_000_000_000_000_001


class SequentialIds(IdGenerator):
    """The same ids for both providers; trace ids spread over the ratio sampler's range."""

    def __init__(self) -> None:
        self.count = 0

    def generate_span_id(self) -> int:
        self.count += 1
        return self.count

    def generate_trace_id(self) -> int:
        self.count += 1
        return (self.count * 0x9E3779B97F4A7C15) % (1 << 64) | (self.count << 64)


def without_times(data: dict[str, Any]) -> dict[str, Any]:
    """A span as ``ReadableSpan.to_json()`` wrote it (parsed), times aside."""
    data["start_time"] = data["end_time"] = None
    for event in data["events"]:
        if event["timestamp"] != EXPLICIT_EVENT_TIME_JSON:
            event["timestamp"] = None
        if "exception.stacktrace" in event["attributes"]:
            event["attributes"]["exception.stacktrace"] = application_frames(
                event["attributes"]["exception.stacktrace"]
            )
    return data


def application_frames(stacktrace: str) -> list[str]:
    """The SDK's traceback also lists the frames of its own context manager (the span is
    ended there); ours has none to list. Everything else must be the same."""
    lines = stacktrace.splitlines()
    kept, skipping = [], False
    for line in lines:
        if line.startswith("  File "):
            skipping = "/opentelemetry/" in line or "/contextlib.py" in line
        if not skipping:
            kept.append(line)
    return kept


def wire_without_times(spans: list) -> list:
    """Spans a receiver decoded (OTLP ``Span`` messages, changed in place), times aside,
    ordered by span id."""
    for span in spans:
        span.start_time_unix_nano = span.end_time_unix_nano = 0
        for event in span.events:
            if event.time_unix_nano != EXPLICIT_EVENT_TIME_NANOS:
                event.time_unix_nano = 0
            if event.name == "exception":
                # The SDK's traceback also lists its own context manager's frames.
                for attribute in event.attributes:
                    if attribute.key == "exception.stacktrace":
                        attribute.value.string_value = attribute.value.string_value.splitlines()[-1]
    return sorted(spans, key=lambda span: span.span_id)
