"""Constructor arguments, normalised the way the stock OTLP exporters accept them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

Headers = Union[Mapping[str, str], Sequence[tuple[str, str]], None]


def otlp_kwargs(
    *,
    endpoint: Optional[str],
    headers: Headers,
    timeout: Optional[float],
    compression: Any,
    protocol: Optional[str],
    certificate_file: Optional[str],
    client_key_file: Optional[str],
    client_certificate_file: Optional[str],
    insecure: Optional[bool],
) -> dict[str, Any]:
    if isinstance(headers, Mapping):
        headers = list(headers.items())
    elif headers is not None:
        headers = [(str(key), str(value)) for key, value in headers]
    if compression is not None:
        # The stock exporters take a `Compression` enum; its value is the env spelling.
        compression = str(getattr(compression, "value", compression))
    return {
        "endpoint": endpoint,
        "headers": headers,
        "timeout": None if timeout is None else float(timeout),
        "compression": compression,
        "protocol": protocol,
        "certificate_file": certificate_file,
        "client_key_file": client_key_file,
        "client_certificate_file": client_certificate_file,
        "insecure": insecure,
    }
