"""What a package that adds a sink to the one native module builds on.

``otel-sls-exporter`` is such a package: its classes live in ``otel_rust_exporter._native``
(one extension module, one runtime), and its Python facade uses only the names below.
They are public and kept stable within a minor version; everything else with a leading
underscore is private to this package.

- ``native``: the extension module (``SlsOptions``, ``SlsLogRecordProcessorCore``, ...).
- ``NativeProcessor``: a processor whose queue is native (``self._core``): its
  ``force_flush``/``shutdown``/``stats``, the per-record method bound to the core, delivery
  of what it holds at exit and in forked children, and ``from_exporter(exporter)``.
- ``NativeExporter``: an exporter that sends each batch natively (``self._core``).
- ``SinkArguments``, ``BatchArguments``: the keyword arguments every class, and every
  batching processor, takes (``TypedDict`` for ``Unpack``); ``batch_options`` normalises the
  latter, ``spool_options`` the spool arguments, and ``number_option``/``text_option``
  single values, as every class here does (never raising; one warning naming a bad value);
  ``check_names`` refuses unknown keywords.
- ``report_sls``, ``Component``: the self-metrics of an SLS processor or exporter.
"""

from __future__ import annotations

from otel_rust_exporter import _native as native
from otel_rust_exporter._bases import NativeExporter, NativeProcessor
from otel_rust_exporter._options import (
    BatchArguments,
    SinkArguments,
    batch_options,
    check_names,
    number_option,
    spool_options,
    text_option,
)
from otel_rust_exporter._self_metrics import Component, report_sls

__all__ = [
    "BatchArguments",
    "Component",
    "NativeExporter",
    "NativeProcessor",
    "SinkArguments",
    "batch_options",
    "check_names",
    "native",
    "number_option",
    "report_sls",
    "spool_options",
    "text_option",
]
