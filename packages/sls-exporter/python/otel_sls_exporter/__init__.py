"""OpenTelemetry log export to Alibaba Cloud Log Service (SLS), natively.

``SLSLogRecordProcessor`` batches log records in Rust and sends them as signed, lz4
compressed PutLogs requests; ``SLSLogExporter`` is the exporter alone (and what
``OTEL_LOGS_EXPORTER=sls`` names). Configuration: ``OTEL_EXPORTER_SLS_*`` and
``ALIBABA_CLOUD_*`` variables, or the matching constructor arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otel_sls_exporter._exporter import SLSLogExporter, SLSLogRecordProcessor

__all__ = ["SLSLogExporter", "SLSLogRecordProcessor"]
# Read on first use: importing importlib.metadata costs ~10 ms.
__version__: str


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that the entry point can report a missing native module
    # as one warning instead of an import error.
    if name in __all__:
        from otel_sls_exporter import _exporter

        return getattr(_exporter, name)
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _installed_version() -> str:
    """The installed distribution's, so that it cannot disagree with the package metadata."""
    from importlib import metadata

    try:
        return metadata.version("otel-sls-exporter")
    except metadata.PackageNotFoundError:  # bundled without its metadata (e.g. PyInstaller)
        return "0+unknown"
