"""OpenTelemetry SDK plugins whose batching, OTLP encoding and transport run in Rust.

``RustSpanProcessor`` replaces ``BatchSpanProcessor`` + ``OTLPSpanExporter``;
``RustOTLPSpanExporter`` is the exporter alone, for processors you compose yourself.
With ``opentelemetry-instrument``, set ``OTEL_TRACES_EXPORTER=rust_otlp``.
"""

from otel_rust_exporter._trace import RustOTLPSpanExporter, RustSpanProcessor

__all__ = ["RustOTLPSpanExporter", "RustSpanProcessor"]
__version__ = "0.1.0"
