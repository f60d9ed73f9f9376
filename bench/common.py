"""What the pipeline benchmarks share: the sink process, one measured child pass, the
quiet-CPU gate, interleaving, and the machine description stored with the results."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
NATIVE_MODULE = ROOT / "packages/otel-rust-exporter/python/otel_rust_exporter/_native.abi3.so"
PASS_TIMEOUT_SECONDS = 900
# The VM is shared: before each pass, wait (a bounded time) for other processes to go quiet.
QUIET_CPU_SHARE = 0.15
QUIET_MAX_WAIT_SECONDS = 20
QUIET_GATE = {"cpu_share": QUIET_CPU_SHARE, "max_wait_seconds": QUIET_MAX_WAIT_SECONDS}


class Sink:
    """The sink process (``sink.py``); its counters are cumulative, so each pass reads a difference."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH / "sink.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ports = json.loads(self.process.stdout.readline())
        self.http_port = ports["http_port"]
        self.grpc_endpoint = f"http://127.0.0.1:{ports['grpc_port']}"

    def http_endpoint(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(self.http_endpoint("/stats"), timeout=60) as response:
            return json.load(response)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def busy_cpu_seconds() -> float:
    """Busy time of all CPUs since boot (steal included: another VM had the CPU)."""
    fields = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def busy_cpus(processes: int) -> Iterator[None]:
    """``processes`` Python processes spinning on the CPUs meanwhile (a busy machine), the
    quiet gate off."""
    global QUIET_GATE_ON
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    QUIET_GATE_ON = not spinning
    try:
        yield
    finally:
        QUIET_GATE_ON = True
        for process in spinning:
            process.kill()
            process.wait()


QUIET_GATE_ON = True


def wait_for_quiet_cpu() -> float:
    """Waits until a second passes with the CPUs mostly idle; returns how long it waited."""
    if not QUIET_GATE_ON:
        return 0.0
    start = time.monotonic()
    while time.monotonic() - start < QUIET_MAX_WAIT_SECONDS:
        before = busy_cpu_seconds()
        time.sleep(1)
        if busy_cpu_seconds() - before < QUIET_CPU_SHARE * (os.cpu_count() or 1):
            break
    return time.monotonic() - start


def child_environment() -> dict[str, str]:
    """Default settings for every pipeline, and bytecode cached the same way for all of them."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("OTEL_") and name != "PYTHONDONTWRITEBYTECODE"
    }
    # Compiled once by the warm-up and reused, as after a normal pip install; kept out of the repo.
    environment["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "otel-rust-exporter-bench-pycache")
    return environment


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured_child(
    sink: Sink, command: list[str], label: str, python_path: Optional[Path] = None
) -> tuple[dict[str, Any], dict, dict]:
    """Runs one worker pass in a fresh interpreter once the CPUs are quiet; with
    ``python_path``, packages there come first (another build of ours: ``--baseline``).

    Returns the worker's JSON result, extended with the quiet wait, the other load on the
    machine and the sink's CPU, and the sink's counters before and after the pass."""
    quiet_wait = wait_for_quiet_cpu()
    before = sink.stats()
    busy_before, children_before, wall_before = busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
    environment = child_environment()
    if python_path is not None:
        environment["PYTHONPATH"] = str(python_path)
    child = subprocess.run(
        command,
        env=environment,
        capture_output=True,
        text=True,
        timeout=PASS_TIMEOUT_SECONDS,
    )
    busy, child_cpu, wall = (
        busy_cpu_seconds() - busy_before,
        children_cpu_seconds() - children_before,
        time.monotonic() - wall_before,
    )
    if child.returncode != 0:
        raise RuntimeError(f"{label} pass failed:\n{child.stderr}")
    after = sink.stats()
    sink_cpu = after["cpu_seconds"] - before["cpu_seconds"]
    result = json.loads(child.stdout.splitlines()[-1])
    result.update(
        quiet_wait_seconds=quiet_wait,
        # CPUs' worth of work by everything but the child and the sink: the noise in this pass.
        other_load_cpus=max(0.0, busy - child_cpu - sink_cpu) / wall,
        bad_requests=after["bad_requests"] - before["bad_requests"],
        sink_cpu_seconds=sink_cpu,
        # Enough of the child's stderr to see what a pipeline complained about.
        stderr_tail=child.stderr[-1500:],
    )
    return result, before, after


def rotated(items: list[str], by: int) -> list[str]:
    """Each repeat starts with a different mode, so no mode always runs first or last."""
    by %= len(items)
    return items[by:] + items[:by]


def git(*arguments: str) -> str:
    return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def machine(packages: list[str]) -> dict[str, Any]:
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    versions = {}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    native = NATIVE_MODULE.read_bytes() if NATIVE_MODULE.exists() else b""
    return {
        "cpu_model": cpu_model,
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", "packages")),
        "native_module_sha256": hashlib.sha256(native).hexdigest()[:12],
        "native_module_built": datetime.datetime.fromtimestamp(
            NATIVE_MODULE.stat().st_mtime, datetime.timezone.utc
        ).isoformat(timespec="seconds")
        if native
        else None,
    }


def run_against_sink(packages: list[str], run: Callable[[Sink], Any]) -> tuple[dict[str, Any], Any]:
    """``run(sink)`` against a fresh sink: the machine description (noting whether the native
    module was rebuilt meanwhile, which would mix two builds) and what ``run`` returned."""
    setup = machine(packages)
    sink = Sink()
    try:
        runs = run(sink)
    finally:
        sink.close()
    setup["native_module_changed_during_run"] = (
        machine(packages)["native_module_sha256"] != setup["native_module_sha256"]
    )
    if setup["native_module_changed_during_run"]:
        print("WARNING: the native module was rebuilt during the run; its numbers mix two builds")
    return setup, runs


# The versions a pipeline benchmark against the stock OTLP exporters records.
OTLP_PACKAGES = [
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-exporter-otlp-proto-grpc",
    "opentelemetry-proto",
    "protobuf",
    "grpcio",
    "requests",
    "otel-rust-exporter",
]


def pass_measures(timing: dict[str, Any], items: int, received: int) -> dict[str, Optional[float]]:
    """The measures every pipeline benchmark reports for one pass of `items` (per-item times
    in microseconds); `received` is what the sink decoded."""
    exports = timing["mode"] != "floor"
    stats = timing["processor_stats"] or {}
    return {
        "loop_us": timing["loop_seconds"] / items * 1e6,
        "thread_cpu_us": timing["loop_thread_cpu_seconds"] / items * 1e6,
        "loop_process_cpu_us": timing["loop_process_cpu_seconds"] / items * 1e6,
        "process_cpu_us": timing["process_cpu_seconds"] / items * 1e6,
        "flush_s": timing["flush_seconds"],
        "received": received if exports else None,
        "dropped": items - received if exports else None,
        "delivered_pct": received / items * 100 if exports else None,
        "processor_dropped": stats.get("dropped"),
        "max_rss_mib": timing["max_rss_kib"] / 1024,
        "base_import_ms": timing["base_import_seconds"] * 1000,
        "import_ms": timing["pipeline_import_seconds"] * 1000,
        "sink_cpu_us": timing["sink_cpu_seconds"] / items * 1e6,
    }


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """The first column left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def replace_section(text: str, begin: str, end: str, body: str, insert_before: Optional[str] = None) -> str:
    """``text`` with the block between the ``begin`` and ``end`` markers replaced by ``body``;
    a new block goes before ``insert_before`` when that is present, else at the end."""
    block = f"{begin}\n{body}\n{end}"
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        return before + block + rest.split(end, 1)[1]
    if insert_before and insert_before in text:
        before, after = text.split(insert_before, 1)
        return before + block + "\n\n" + insert_before + after
    return text.rstrip("\n") + "\n\n" + block + "\n"
