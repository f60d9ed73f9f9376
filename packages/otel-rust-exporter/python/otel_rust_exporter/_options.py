"""Constructor arguments, normalised the way the stock OTLP exporters accept them.

No value raises: an argument of the wrong type or out of range gets one warning that
names it, and the environment or the default applies instead. Ranges (the longest
timeout, for instance) are enforced natively, for arguments and variables alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Optional, TypedDict, Union

from opentelemetry.metrics import MeterProvider

from otel_rust_exporter import _diagnostics, _native

Headers = Union[Mapping[str, str], Sequence[tuple[str, str]], None]

# The largest count the native side takes (a 64-bit size).
_MAX_COUNT = 2**63 - 1


def _ignored(name: str, expected: str) -> None:
    # The value itself is never shown: it may be a secret.
    _diagnostics.warn(f"ignoring the {name} argument: expected {expected}; using the environment or default")


def text_option(name: str, value: Any) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    _ignored(name, "a string")
    return None


def flag_option(name: str, value: Any) -> Optional[bool]:
    if value is None or isinstance(value, bool):
        return value
    _ignored(name, "True or False")
    return None


def count_option(name: str, value: Any) -> Optional[int]:
    """A positive integer; larger than any queue could be is the same as "no limit"."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        _ignored(name, "a positive integer")
        return None
    return min(value, _MAX_COUNT)


def number_option(name: str, value: Any) -> Optional[float]:
    """A non-negative number (the native side clamps it and warns when it is too large)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _ignored(name, "a number")
        return None
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if math.isnan(number) or number < 0:
        _ignored(name, "a non-negative number")
        return None
    return number


def headers_option(headers: Any) -> Optional[list[tuple[str, str]]]:
    if headers is None:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    if isinstance(pairs, (str, bytes)) or not hasattr(pairs, "__iter__"):
        _ignored("headers", "a mapping or a sequence of (name, value) pairs")
        return None
    normalised = []
    for pair in pairs:
        if isinstance(pair, (tuple, list)) and len(pair) == 2:
            normalised.append((str(pair[0]), str(pair[1])))
        else:
            _diagnostics.warn("ignoring a malformed entry of the headers argument")
    return normalised


class SinkArguments(TypedDict, total=False):
    """Keyword arguments every processor and exporter takes. ``spool_dir`` turns the disk
    spool on (``OTEL_RUST_EXPORTER_SPOOL_DIR`` when absent); ``spool_max_bytes`` caps it
    (``OTEL_RUST_EXPORTER_SPOOL_MAX_BYTES``, 256 MiB)."""

    meter_provider: Optional[MeterProvider]
    spool_dir: Optional[str]
    spool_max_bytes: Optional[int]


class OtlpArguments(SinkArguments, total=False):
    """The stock OTLP exporters' keyword-only arguments (after ``endpoint``, ``headers``,
    ``timeout`` and ``compression``)."""

    protocol: Optional[str]
    certificate_file: Optional[str]
    client_key_file: Optional[str]
    client_certificate_file: Optional[str]
    insecure: Optional[bool]


class BatchArguments(TypedDict, total=False):
    """A batching processor's arguments (``OTEL_BSP_*`` / ``OTEL_BLRP_*`` when absent)."""

    max_queue_size: Optional[int]
    max_queue_bytes: Optional[int]
    schedule_delay_millis: Optional[float]
    max_export_batch_size: Optional[int]
    export_timeout_millis: Optional[float]


class OtlpProcessorArguments(OtlpArguments, BatchArguments, total=False):
    pass


def check_names(owner: str, given: Mapping[str, Any], accepted: type) -> None:
    """Refuses an unknown keyword as a Python signature would (``**kwargs`` does not)."""
    for name in given:
        if name not in accepted.__annotations__:
            raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}")


def otlp_options(
    owner: str,
    endpoint: Any,
    headers: Any,
    timeout: Any,
    compression: Any,
    given: Mapping[str, Any],
    accepted: type = OtlpArguments,
) -> _native.OtlpOptions:
    """The native options of an OTLP class called as ``owner(endpoint, headers, timeout,
    compression, **given)``."""
    check_names(owner, given, accepted)
    if compression is not None:
        # The stock exporters take a `Compression` enum; its value is the env spelling.
        compression = getattr(compression, "value", compression)
    texts = ("protocol", "certificate_file", "client_key_file", "client_certificate_file")
    # The options object is opaque: headers and credentials stay out of `vars()`.
    return _native.OtlpOptions(
        endpoint=text_option("endpoint", endpoint),
        headers=headers_option(headers),
        timeout=number_option("timeout", timeout),
        compression=text_option("compression", compression),
        insecure=flag_option("insecure", given.get("insecure")),
        **{name: text_option(name, given.get(name)) for name in texts},
        **spool_options(given),
    )


class SpoolOptions(TypedDict):
    """The spool arguments as the native options take them."""

    spool_dir: Optional[str]
    spool_max_bytes: Optional[int]


def spool_options(given: Mapping[str, Any]) -> SpoolOptions:
    """The spool arguments of any class, for its native options."""
    spool_dir = given.get("spool_dir")
    # A path-like directory is as good as a string.
    if spool_dir is not None and not isinstance(spool_dir, str) and hasattr(spool_dir, "__fspath__"):
        spool_dir = str(spool_dir.__fspath__())
    return SpoolOptions(
        spool_dir=text_option("spool_dir", spool_dir),
        spool_max_bytes=count_option("spool_max_bytes", given.get("spool_max_bytes")),
    )


def batch_options(given: Mapping[str, Any]) -> _native.BatchOptions:
    """A batching processor's arguments, for its native core."""

    def count(name: str) -> Optional[int]:
        return count_option(name, given.get(name))

    def number(name: str) -> Optional[float]:
        return number_option(name, given.get(name))

    return _native.BatchOptions(
        max_queue_size=count("max_queue_size"),
        max_queue_bytes=count("max_queue_bytes"),
        schedule_delay_millis=number("schedule_delay_millis"),
        max_export_batch_size=count("max_export_batch_size"),
        export_timeout_millis=number("export_timeout_millis"),
    )
