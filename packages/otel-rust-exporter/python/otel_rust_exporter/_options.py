"""Constructor arguments, normalised the way the stock OTLP exporters accept them.

Nothing here raises: an argument of the wrong type or out of range gets one warning that
names it, and the environment or the default applies instead. Ranges (the longest
timeout, for instance) are enforced natively, for arguments and variables alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

from otel_rust_exporter import _diagnostics

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


def otlp_kwargs(
    *,
    endpoint: Any,
    headers: Any,
    timeout: Any,
    compression: Any,
    protocol: Any,
    certificate_file: Any,
    client_key_file: Any,
    client_certificate_file: Any,
    insecure: Any,
) -> dict[str, Any]:
    if compression is not None:
        # The stock exporters take a `Compression` enum; its value is the env spelling.
        compression = getattr(compression, "value", compression)
    return {
        "endpoint": text_option("endpoint", endpoint),
        "headers": headers_option(headers),
        "timeout": number_option("timeout", timeout),
        "compression": text_option("compression", compression),
        "protocol": text_option("protocol", protocol),
        "certificate_file": text_option("certificate_file", certificate_file),
        "client_key_file": text_option("client_key_file", client_key_file),
        "client_certificate_file": text_option("client_certificate_file", client_certificate_file),
        "insecure": flag_option("insecure", insecure),
    }


def batch_kwargs(
    *,
    max_queue_size: Any,
    max_queue_bytes: Any,
    schedule_delay_millis: Any,
    max_export_batch_size: Any,
    export_timeout_millis: Any,
) -> dict[str, Any]:
    """A batching processor's arguments, for its native core."""
    return {
        "max_queue_size": count_option("max_queue_size", max_queue_size),
        "max_queue_bytes": count_option("max_queue_bytes", max_queue_bytes),
        "schedule_delay_millis": number_option("schedule_delay_millis", schedule_delay_millis),
        "max_export_batch_size": count_option("max_export_batch_size", max_export_batch_size),
        "export_timeout_millis": number_option("export_timeout_millis", export_timeout_millis),
    }
