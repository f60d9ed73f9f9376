"""Reading a spool directory as the tests check it, and running ``tests/apps/spool_job.py``."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Optional

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

ROOT = Path(__file__).resolve().parents[2]
JOB = ROOT / "tests" / "apps" / "spool_job.py"
HEADER_LEN = 36


def request_files(directory: Path) -> list[Path]:
    """Requests waiting (``.req``) or being sent (``.claim``)."""
    return sorted(path for path in directory.iterdir() if path.name.endswith((".req", ".claim")))


def items_in(path: Path) -> int:
    """The item count in a spool file's header."""
    with path.open("rb") as file:
        header = file.read(HEADER_LEN)
    assert header[:8] == b"OTRSPOOL", path
    return struct.unpack_from("<I", header, 12)[0]


def span_names_in(path: Path) -> list[str]:
    """The names of the spans in a spool file of traces, read with the official stubs."""
    data = path.read_bytes()
    body = data[HEADER_LEN:]
    if data[10]:
        body = gzip.decompress(body)
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
    return [
        span.name
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]


def spooled_items(directory: Path, kind: Optional[str] = None) -> int:
    """Items in the requests of ``kind`` (all kinds: ``None``). A live replay task renames
    files as it claims and releases them: a file gone meanwhile means reading again."""
    for _ in range(100):
        try:
            files = request_files(directory)
            return sum(items_in(path) for path in files if kind is None or path.name.startswith(kind))
        except FileNotFoundError:
            continue
    raise RuntimeError(f"{directory} kept changing")


def total_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.iterdir() if path.is_file())


def job_env(endpoint: str, spool_dir: Path, protocol: str = "http/protobuf", **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "SLS_"))}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        OTEL_RUST_EXPORTER_SPOOL_DIR=str(spool_dir),
        # A short timeout: a blackholed attempt must not decide a test's length.
        OTEL_EXPORTER_OTLP_TIMEOUT="3000",
    )
    env.update(extra)
    return env


def run_job(env: dict[str, str], label: str, spans: int, logs: int, points: int, *options: str) -> dict:
    """Runs the job to its end; its JSON report."""
    finished = subprocess.run(
        [sys.executable, str(JOB), label, str(spans), str(logs), str(points), *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


def start_job(env: dict[str, str], label: str, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(JOB), label, "0", "0", "0", *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
