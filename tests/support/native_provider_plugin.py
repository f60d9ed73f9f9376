"""A pytest plugin (``-p native_provider_plugin``, with tests/support on the path) for
running a suite we did not write against RustTracerProvider: every
``opentelemetry.sdk.trace.TracerProvider`` the suite makes, however it names the class, is
ours (the module attribute is replaced before the suite's modules, and
opentelemetry-test-utils' ``TestBase``, import the name). With ``NATIVE_SUITE_REPORT``
set, it writes there (JSON) which tests made a native tracer, so that a pass can be told
from a test that never reached our code."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from opentelemetry.sdk import trace as sdk_trace
from otel_rust_exporter import RustTracerProvider
from otel_rust_exporter._native import NativeSpan
from otel_rust_exporter._tracer_provider import RustTracer

_current_test = ""
_native_tests: set[str] = set()
_make_tracer = RustTracer.__init__


def _counting_init(self: RustTracer, *args: Any, **kwargs: Any) -> None:
    _native_tests.add(_current_test)
    _make_tracer(self, *args, **kwargs)


RustTracer.__init__ = _counting_init  # type: ignore[method-assign]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    global _current_test
    _current_test = item.nodeid
    # Again before every test: the suite reloads opentelemetry.sdk.trace in places.
    sdk_trace.TracerProvider = RustTracerProvider  # type: ignore[misc]
    sdk_trace.Span.register(NativeSpan)


sdk_trace.TracerProvider = RustTracerProvider  # type: ignore[misc]


def pytest_sessionfinish(session: pytest.Session) -> None:
    report = os.environ.get("NATIVE_SUITE_REPORT")
    if report:
        with open(report, "w") as file:
            json.dump(sorted(_native_tests), file)
