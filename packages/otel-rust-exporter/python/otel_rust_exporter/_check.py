"""``python -m otel_rust_exporter check``: why telemetry is (not) arriving.

For each selected signal (and the SLS sink) it prints the configuration our exporters
resolve, with where each value came from (resolved by the native code itself, so this is
the exporters' own answer), warns where stock Python would read the same variables
differently, then probes: DNS, TCP, TLS (with certificate verification), and one real
export of an empty request, or for SLS one signed PutLogs request without logs. Exit code
0 when every selected target is deliverable, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import socket
import ssl
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlparse

from otel_rust_exporter import _native

SIGNALS = ("traces", "logs", "metrics")
_DEFAULT_TIMEOUT = 5.0


@dataclass
class Probe:
    step: str
    ok: bool
    detail: str


@dataclass
class Target:
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    # Setting -> "argument", the variable that set it, or "default".
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    deliverable: bool = False
    diagnosis: str = ""


class _Captured(logging.Handler):
    """Collects what the native code logs while resolving and probing (invalid values,
    export failures), to show it under its target instead of as stray log lines."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _capture() -> tuple[_Captured, Callable[[], None]]:
    logger = logging.getLogger("otel_rust_exporter")
    handler = _Captured()
    saved = (logger.handlers[:], logger.propagate, logger.level)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.WARNING)

    def restore() -> None:
        logger.handlers, logger.propagate, _ = saved
        logger.setLevel(saved[2])

    return handler, restore


def selected(args: argparse.Namespace) -> list[str]:
    """The flags, else what ``OTEL_*_EXPORTER`` select (``otlp``/``rust_otlp``, ``sls``),
    else the three OTLP signals (the SDK's defaults)."""
    chosen = [name for name in (*SIGNALS, "sls") if getattr(args, name)]
    if chosen:
        return chosen
    for signal in SIGNALS:
        exporters = {
            name.strip() for name in os.environ.get(f"OTEL_{signal.upper()}_EXPORTER", "").split(",")
        }
        if exporters & {"otlp", "rust_otlp"}:
            chosen.append(signal)
        if signal == "logs" and "sls" in exporters:
            chosen.append("sls")
    return chosen or list(SIGNALS)


def _stock_differences(target: Target) -> list[str]:
    """Where stock opentelemetry-python reads the same settings differently."""
    notes = []
    timeout_source = target.sources.get("timeout", "")
    if timeout_source.startswith("OTEL_"):
        value = os.environ.get(timeout_source, "").strip()
        notes.append(
            f"stock Python reads {timeout_source}={value} as seconds; the specification and "
            f"rust_otlp read milliseconds ({target.settings['timeout']:g} s)"
        )
    for variable in (
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        f"OTEL_EXPORTER_OTLP_{target.name.upper()}_COMPRESSION",
    ):
        if os.environ.get(variable, "").strip().lower() == "deflate":
            notes.append(f"stock Python supports {variable}=deflate (HTTP); rust_otlp sends uncompressed")
    batch = {"traces": "OTEL_BSP_EXPORT_TIMEOUT", "logs": "OTEL_BLRP_EXPORT_TIMEOUT"}.get(target.name)
    if batch and os.environ.get(batch, "").strip():
        notes.append(f"stock Python reads {batch} but does not use it; rust_otlp bounds each export by it")
    return notes


def _address(url: str, default_tls: bool) -> Optional[tuple[str, int, bool]]:
    """Host, port and whether TLS is used, for an endpoint with or without a scheme;
    ``None`` when the endpoint is not a usable URL (a bad port, a broken host)."""
    try:
        parsed = urlparse(url if "://" in url else f"//{url}")
        tls = parsed.scheme == "https" or (parsed.scheme == "" and default_tls)
        port = parsed.port or (443 if tls else 80)
    except ValueError:
        return None
    if not parsed.hostname:
        return None
    return parsed.hostname, port, tls


def _positive_seconds(text: str) -> float:
    """``--timeout``: a finite number of seconds above zero."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= 300):
        raise argparse.ArgumentTypeError("expected a number of seconds above 0 and at most 300")
    return seconds


def _tls_context(options: dict) -> ssl.SSLContext:
    """As the exporters trust: the system's roots plus the configured CA, and the client
    certificate when one is configured."""
    context = ssl.create_default_context()
    if options.get("certificate_file"):
        context.load_verify_locations(cafile=options["certificate_file"])
    if options.get("client_certificate_file") and options.get("client_key_file"):
        context.load_cert_chain(options["client_certificate_file"], options["client_key_file"])
    return context


def _network_probes(target: Target, host: str, port: int, tls: bool, options: dict, timeout: float) -> bool:
    """DNS, TCP and TLS; stops at the first failure (with the diagnosis)."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        target.probes.append(Probe("dns", False, f"cannot resolve {host!r}: {error.strerror}"))
        target.diagnosis = f"the host name {host!r} does not resolve: check the endpoint's spelling and DNS"
        return False
    shown = ", ".join(sorted({str(info[4][0]) for info in addresses}))
    target.probes.append(Probe("dns", True, f"{host} -> {shown}"))
    try:
        connection = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        target.probes.append(Probe("tcp", False, f"{host}:{port} refused the connection"))
        target.diagnosis = (
            f"nothing listens on {host}:{port}: is the collector running, and is the port right?"
        )
        return False
    except OSError as error:
        reason = "no answer" if isinstance(error, socket.timeout) else (error.strerror or str(error))
        target.probes.append(Probe("tcp", False, f"cannot connect to {host}:{port}: {reason}"))
        target.diagnosis = f"{host}:{port} is unreachable ({reason}): check the network path and firewalls"
        return False
    target.probes.append(Probe("tcp", True, f"connected to {host}:{port}"))
    if not tls:
        connection.close()
        return True
    context = _tls_context(options)
    try:
        with context.wrap_socket(connection, server_hostname=host) as secured:
            version = secured.version()
    except ssl.SSLCertVerificationError as error:
        reason = error.verify_message or str(error)
        target.probes.append(Probe("tls", False, f"the server's certificate is not trusted: {reason}"))
        target.diagnosis = (
            f"TLS certificate verification failed ({reason}): give the CA that signed the collector's "
            "certificate as the certificate file (OTEL_EXPORTER_OTLP_CERTIFICATE)"
        )
        return False
    except (ssl.SSLError, OSError) as error:
        target.probes.append(Probe("tls", False, f"TLS handshake failed: {error}"))
        target.diagnosis = (
            f"the TLS handshake with {host}:{port} failed: does the server speak TLS? "
            "(use an http:// endpoint, or insecure for gRPC, if it does not)"
        )
        return False
    finally:
        connection.close()
    target.probes.append(Probe("tls", True, f"{version}, certificate verified for {host}"))
    return True


def _speaks_http1(host: str, port: int, tls: bool, options: dict, timeout: float) -> Optional[bool]:
    """Whether the server answers an HTTP/1.1 request as HTTP/1.1 (an OTLP/HTTP receiver
    does; a gRPC server, which speaks only HTTP/2, does not). ``None`` when unknown."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            stream = connection
            if tls:
                stream = _tls_context(options).wrap_socket(connection, server_hostname=host)
            stream.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            answer = stream.recv(16)
    except (OSError, ssl.SSLError):
        return None
    return answer.startswith(b"HTTP/1.")


def _otlp_diagnosis(protocol: str, error_type: str, message: str, speaks_http1: Optional[bool]) -> str:
    if protocol == "http/protobuf" and error_type in ("connection", "415") and speaks_http1 is False:
        return (
            "the server does not answer OTLP/HTTP: is this an OTLP/gRPC endpoint (usually port 4317)? "
            "If so set OTEL_EXPORTER_OTLP_PROTOCOL=grpc"
        )
    if protocol == "grpc" and speaks_http1:
        return (
            "the server does not answer OTLP/gRPC: is this an OTLP/HTTP endpoint (usually port 4318)? "
            "If so set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
        )
    if error_type in ("401", "403", "unauthenticated", "permission_denied"):
        return (
            f"the receiver refused the request's credentials ({error_type}): check the headers "
            "(OTEL_EXPORTER_OTLP_HEADERS)"
        )
    if error_type in ("404", "unimplemented"):
        return (
            f"no OTLP receiver for this signal at this address ({error_type}): check the endpoint's "
            "path (a signal endpoint is used as is; the generic one gets /v1/<signal> appended)"
        )
    if error_type == "timeout":
        return "the receiver did not answer within the timeout"
    return f"the export failed ({error_type}): {message}"


def check_otlp(signal: str, timeout: float) -> Target:
    target = Target(signal)
    captured, restore = _capture()
    try:
        options = _native.OtlpOptions()
        resolved = _native.resolve_otlp(signal, options)
        target.sources = resolved.pop("sources")
        # Why the exporter refuses the endpoint outright, as the transport says it.
        problem = resolved.pop("endpoint_problem")
        target.settings = resolved
        if signal != "metrics":
            batching = _native.resolve_batch(signal)
            target.sources.update(batching.pop("sources"))
            target.settings.update(batching)
        target.warnings = captured.lines[:] + _stock_differences(target)
        captured.lines.clear()
        tls = resolved["tls"]
        address = _address(resolved["endpoint"], tls)
        if problem is not None or address is None:
            target.diagnosis = f"{problem or 'the endpoint is not a valid URL'}: nothing can be sent"
            return target
        host, port, _ = address
        if not _network_probes(target, host, port, tls, resolved, timeout):
            return target
        outcome = _native.probe_otlp(signal, options, timeout)
    finally:
        restore()
    if outcome["delivered"]:
        target.probes.append(Probe("export", True, "the receiver accepted an empty export request"))
        target.deliverable = True
        target.diagnosis = "deliverable"
    else:
        error_type, message = outcome["error_type"] or "error", outcome["message"] or ""
        message = message or "; ".join(captured.lines)
        target.probes.append(Probe("export", False, f"{error_type}: {message}"))
        speaks_http1 = _speaks_http1(host, port, tls, resolved, timeout)
        target.diagnosis = _otlp_diagnosis(resolved["protocol"], error_type, message, speaks_http1)
    return target


# SLS error codes, in plain words.
_SLS_DIAGNOSES = {
    "Unauthorized": "SLS refused the credentials: check the AccessKey id, secret and STS token",
    "InvalidAccessKeyId": "SLS does not know this AccessKey id",
    "SignatureNotMatch": "SLS refused the signature: the AccessKey secret is wrong",
    "ProjectNotExist": "the SLS project does not exist in this region (check project and endpoint)",
    "LogStoreNotExist": "the logstore does not exist in this project (check the logstore name)",
    "RequestTimeTooSkewed": "this machine's clock is more than 15 minutes off SLS's: fix the clock (NTP)",
}
# A request without logs may be refused as such once credentials and names passed.
_SLS_ACCEPTED = {"PostBodyInvalid"}


def check_sls(timeout: float) -> Target:
    target = Target("sls")
    captured, restore = _capture()
    try:
        options = _native.SlsOptions()
        resolved = _native.resolve_sls(options)
        target.sources = resolved.pop("sources")
        target.warnings = resolved.pop("warnings") + captured.lines[:]
        captured.lines.clear()
        if resolved["error"]:
            target.settings = {}
            target.diagnosis = resolved["error"]
            return target
        target.settings = {key: value for key, value in resolved.items() if key not in ("error", "server")}
        # Credentials are only ever shown masked.
        target.settings["access_key_id"] = "***"
        target.settings["access_key_secret"] = "***"
        target.settings["security_token"] = "***" if resolved["security_token"] else None
        address = _address(resolved["url"], True)
        if address is None:
            target.diagnosis = "the SLS endpoint is not a valid URL (check its host and port)"
            return target
        host, port, tls = address
        if not _network_probes(target, host, port, tls, {}, timeout):
            return target
        outcome = _native.probe_sls(options, timeout)
    finally:
        restore()
    if outcome is None:  # the configuration was complete a moment ago
        target.diagnosis = "the SLS configuration is incomplete"
        return target
    error_type = outcome["error_type"]
    message = outcome["message"] or ""
    # The exporter classifies SLS answers by family; the diagnosis wants SLS's own code.
    code = re.search(r"errorCode (\w+)", message)
    error_code = code.group(1) if code else error_type
    if outcome["delivered"] or error_code in _SLS_ACCEPTED:
        target.probes.append(Probe("putlogs", True, "SLS accepted a signed request"))
        target.deliverable = True
        target.diagnosis = "deliverable"
        return target
    target.probes.append(Probe("putlogs", False, f"{error_code}: {message}"))
    if error_type in ("connection", "timeout"):
        target.diagnosis = f"no answer from SLS ({error_type}): check the network path to {host}:{port}"
    else:
        target.diagnosis = _SLS_DIAGNOSES.get(error_code or "", f"SLS refused the request ({error_code})")
    return target


def _shown(key: str, value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(f"{name}={secret}" for name, secret in value) or "(none)"
    if value is None:
        return "(none)"
    if key.endswith(("timeout", "delay")):
        return f"{value:g} s"
    return str(value)


def _source(source: str) -> str:
    return f"({source})" if source in ("argument", "default") else f"(from {source})" if source else ""


def render(targets: list[Target]) -> str:
    lines = []
    for target in targets:
        lines.append(f"{target.name}:")
        for key, value in target.settings.items():
            source = target.sources.get(key, "")
            lines.append(f"  {key:<24} {_shown(key, value)}  {_source(source)}".rstrip())
        lines.extend(f"  warning: {warning}" for warning in target.warnings)
        for probe in target.probes:
            lines.append(f"  {'ok' if probe.ok else 'FAIL':<4} {probe.step:<8} {probe.detail}")
        verdict = "OK" if target.deliverable else "NOT DELIVERABLE"
        lines.append(f"  => {verdict}: {target.diagnosis}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="otel-rust-exporter",
        description="Diagnose rust_otlp / SLS export from this environment.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="show the resolved configuration and probe each endpoint")
    for name in (*SIGNALS, "sls"):
        check.add_argument(
            f"--{name}", action="store_true", help=f"check {name} (default: what OTEL_* select)"
        )
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument(
        "--timeout", type=_positive_seconds, default=_DEFAULT_TIMEOUT, help="seconds per probe"
    )
    args = parser.parse_args(argv)
    targets = [
        check_sls(args.timeout) if name == "sls" else check_otlp(name, args.timeout)
        for name in selected(args)
    ]
    deliverable = all(target.deliverable for target in targets)
    if args.json:
        print(
            json.dumps(
                {"deliverable": deliverable, "targets": [asdict(target) for target in targets]}, indent=2
            )
        )
    else:
        print(render(targets))
    return 0 if deliverable else 1


if __name__ == "__main__":
    sys.exit(main())
