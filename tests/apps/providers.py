"""The tracer provider an app makes: the SDK's, or ours with ``APP_NATIVE_SPANS=true``
(so that one app tests both)."""

import os

from opentelemetry.sdk.trace import TracerProvider


def tracer_provider_class() -> type[TracerProvider]:
    if os.environ.get("APP_NATIVE_SPANS") == "true":
        from otel_rust_exporter import RustTracerProvider

        return RustTracerProvider
    return TracerProvider
