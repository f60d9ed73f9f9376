"""What a package that adds a sink to the one native module builds on.

``otel-sls-exporter`` is such a package: its classes live in ``otel_rust_exporter._native``
(one extension module, one runtime), and its Python facade uses only the names below.
They are public and kept stable within a minor version; everything else with a leading
underscore is private to this package.

- ``native``: the extension module (``SlsOptions``, ``SlsLogRecordProcessorCore``, ...).
- ``NativeBatching``: ``force_flush``/``shutdown``/``stats`` for a processor whose queue
  is native (``self._core``); ``track`` delivers what it holds at exit and in forked
  children.
- ``batch_kwargs``, ``number_option``, ``text_option``: constructor arguments normalised
  as every class here normalises them (never raising; one warning naming a bad value).
- ``report_sls``, ``Component``: the self-metrics of an SLS processor or exporter.
"""

from __future__ import annotations

from otel_rust_exporter import _native as native
from otel_rust_exporter._lifecycle import NativeBatching, track
from otel_rust_exporter._options import batch_kwargs, number_option, text_option
from otel_rust_exporter._self_metrics import Component, report_sls

__all__ = [
    "Component",
    "NativeBatching",
    "batch_kwargs",
    "native",
    "number_option",
    "report_sls",
    "text_option",
    "track",
]
