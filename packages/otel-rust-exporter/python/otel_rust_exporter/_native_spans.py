"""What native spans show Python: the SDK's objects (ReadableSpan, Event, Link, the
bounded containers with their dropped counts), built only when asked for, and the
decorator form of ``start_as_current_span``. Called by the native module."""

from __future__ import annotations

import functools
import inspect
from types import MappingProxyType
from typing import Any, Callable, Optional

from opentelemetry import trace as trace_api
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span
from opentelemetry.sdk.util import BoundedList

from otel_rust_exporter import _native
from otel_rust_exporter._sdk_compat import builtin_sampler_parts, current_context_var

# How the native tracer reads a sampler (the native module calls it).
sampler_parts = builtin_sampler_parts

# Where the current span sits in a Context (found through the public API), and the
# ContextVar behind the current Context (None unless the default runtime context).
SPAN_KEY = next(iter(trace_api.set_span_in_context(trace_api.INVALID_SPAN, Context())))
CONTEXT_VAR = current_context_var()

# isinstance(span, Span) holds for native spans, of the API's Span and of the SDK's.
trace_api.Span.register(_native.NativeSpan)
Span.register(_native.NativeSpan)


def _bounded(items: dict[str, Any], dropped: int, maxlen: Optional[int]) -> BoundedAttributes:
    """A frozen BoundedAttributes holding already cleaned ``items``."""
    bounded = BoundedAttributes(maxlen, immutable=True)
    bounded._dict = items
    bounded.dropped = dropped
    return bounded


def _bounded_list(items: list[Any], dropped: int, maxlen: Optional[int]) -> BoundedList:
    bounded: BoundedList = BoundedList(maxlen)
    bounded._dq.extend(items)  # type: ignore[attr-defined]
    bounded.dropped = dropped
    return bounded


def attributes(span: Any) -> MappingProxyType[str, Any]:
    items, dropped = span._attributes_parts()
    return MappingProxyType(_bounded(items, dropped, span._limits()[0]))


def _events(span: Any) -> BoundedList:
    parts, dropped = span._events_parts()
    _, event_attributes, _, max_events, _ = span._limits()
    events = [
        Event(name, _bounded(items, dropped_attributes, event_attributes), timestamp)
        for name, items, dropped_attributes, timestamp in parts
    ]
    return _bounded_list(events, dropped, max_events)


def _links(span: Any) -> BoundedList:
    parts, dropped = span._links_parts()
    _, _, link_attributes, _, max_links = span._limits()
    links = [
        trace_api.Link(context, _bounded(items, dropped_attributes, link_attributes))
        for context, items, dropped_attributes in parts
    ]
    return _bounded_list(links, dropped, max_links)


def events(span: Any) -> tuple[Event, ...]:
    return tuple(_events(span))


def links(span: Any) -> tuple[trace_api.Link, ...]:
    return tuple(_links(span))


def readable_span(span: Any) -> ReadableSpan:
    """The ReadableSpan a Python span processor's ``on_end`` gets."""
    items, dropped = span._attributes_parts()
    return ReadableSpan(
        name=span.name,
        context=span.get_span_context(),
        parent=span.parent,
        resource=span.resource,
        attributes=_bounded(items, dropped, span._limits()[0]),
        events=_events(span),
        links=_links(span),
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def disabled_span(context: Optional[Context]) -> trace_api.Span:
    """A disabled tracer's span, as the SDK's makes it."""
    return trace_api.NonRecordingSpan(context=trace_api.get_current_span(context).get_span_context())


def decorate(manager: Any, function: Callable[..., Any]) -> Callable[..., Any]:
    """``@tracer.start_as_current_span(...)``: each call in a span of its own."""
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with manager._recreate():
                return await function(*args, **kwargs)

        return async_wrapper

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with manager._recreate():
            return function(*args, **kwargs)

    return wrapper
