"""Trace pipeline benchmark: the SDK floor, the stock exporters, pytracingx and ours.

    .venv/bin/python bench/bench_traces.py [--spans N] [--heavy-spans N] [--repeats R] [--quick]

Every pass of every mode runs in its own fresh interpreter (``trace_worker.py``), so RSS and
import time are clean; repeats are interleaved (repeat 1 runs every mode, then repeat 2...)
and the report uses medians. One sink process (``sink.py``) receives for all modes.

Writes the raw results to ``bench/results/traces-<time>.json`` and the "Traces" section of
``docs/BENCHMARKS.md`` with ``docs/benchmarks_traces.png``. ``--quick`` writes its report
next to the JSON instead, so a quick run never replaces the published numbers.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

import traces_report
from trace_worker import MODES, SHAPES

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
NATIVE_MODULE = ROOT / "packages/otel-rust-exporter/python/otel_rust_exporter/_native.abi3.so"
PACKAGES = [
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-exporter-otlp-proto-grpc",
    "opentelemetry-proto",
    "protobuf",
    "grpcio",
    "requests",
    "pytracingx",
    "otel-rust-exporter",
]
WARMUP_SPANS = 200
PASS_TIMEOUT_SECONDS = 900
# The VM is shared: before each pass, wait (a bounded time) for other processes to go quiet.
QUIET_CPU_SHARE = 0.15
QUIET_MAX_WAIT_SECONDS = 20


class Sink:
    """The sink process; its counters are cumulative, so each pass reads a difference."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH / "sink.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ports = json.loads(self.process.stdout.readline())
        self.http_port = ports["http_port"]
        self.http_endpoint = f"http://127.0.0.1:{ports['http_port']}/v1/traces"
        self.grpc_endpoint = f"http://127.0.0.1:{ports['grpc_port']}"

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/stats", timeout=60) as response:
            return json.load(response)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def busy_cpu_seconds() -> float:
    """Busy time of all CPUs since boot (steal included: another VM had the CPU)."""
    fields = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet_cpu() -> float:
    """Waits until a second passes with the CPUs mostly idle; returns how long it waited."""
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


def run_pass(
    sink: Sink,
    mode: str,
    shape: str,
    spans: int,
    pass_name: str,
    idle_seconds: Optional[float] = None,
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(BENCH / "trace_worker.py"),
        f"--mode={mode}",
        f"--pass={pass_name}",
        f"--shape={shape}",
        f"--spans={spans}",
        f"--http-endpoint={sink.http_endpoint}",
        f"--grpc-endpoint={sink.grpc_endpoint}",
    ]
    if idle_seconds is not None:
        command.append(f"--idle-seconds={idle_seconds:.6f}")
    quiet_wait = wait_for_quiet_cpu()
    before = sink.stats()
    busy_before, children_before, wall_before = busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
    child = subprocess.run(
        command,
        env=child_environment(),
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
        raise RuntimeError(f"{mode} {pass_name} pass failed:\n{child.stderr}")
    after = sink.stats()
    sink_cpu = after["cpu_seconds"] - before["cpu_seconds"]
    result = json.loads(child.stdout.splitlines()[-1])
    result.update(
        mode=mode,
        shape=shape,
        spans=spans,
        quiet_wait_seconds=quiet_wait,
        # CPUs' worth of work by everything but the child and the sink: the noise in this pass.
        other_load_cpus=max(0.0, busy - child_cpu - sink_cpu) / wall,
        received_spans=after["spans"] - before["spans"],
        received_attributes=after["attributes"] - before["attributes"],
        received_events=after["events"] - before["events"],
        bad_requests=after["bad_requests"] - before["bad_requests"],
        sink_cpu_seconds=sink_cpu,
        # Enough of the child's stderr to see what a pipeline complained about.
        stderr_tail=child.stderr[-1500:],
    )
    return result


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rotated(items: list[str], by: int) -> list[str]:
    """Each repeat starts with a different mode, so no mode always runs first or last."""
    by %= len(items)
    return items[by:] + items[:by]


def run_all(sink: Sink, counts: dict[str, int], repeats: int) -> list[dict[str, Any]]:
    print("warm-up: one tiny pass per mode (bytecode cache, page cache)", flush=True)
    for mode in MODES:
        run_pass(sink, mode, "light", WARMUP_SPANS, "timing")
    runs = []
    for repeat in range(repeats):
        for shape, spans in counts.items():
            for mode in rotated(MODES, repeat):
                timing = run_pass(sink, mode, shape, spans, "timing")
                # The probe's idle phase lasts about as long as an export of this workload.
                probe = run_pass(sink, mode, shape, spans, "probe", min(timing["loop_seconds"], 5.0))
                runs.append({"repeat": repeat, "timing": timing, "probe": probe})
                print(
                    f"repeat {repeat + 1}/{repeats} {shape:5} {mode:10}"
                    f" loop {timing['loop_seconds'] / spans * 1e6:7.2f} us/span"
                    f"  cpu {timing['process_cpu_seconds'] / spans * 1e6:7.2f} us/span"
                    f"  received {timing['received_spans']}/{spans}"
                    f"  probe {probe_percent(probe)}"
                    f"  other load {timing['other_load_cpus']:.2f} CPUs",
                    flush=True,
                )
    return runs


def probe_percent(probe: dict[str, Any]) -> str:
    if probe["probe_busy_ops_per_ms"] is None:
        return "   n/a"
    return f"{probe['probe_busy_ops_per_ms'] / probe['probe_idle_ops_per_ms']:6.1%}"


def derived(run: dict[str, Any]) -> dict[str, Optional[float]]:
    """One repeat of one mode as the report's measures (per-span times in microseconds)."""
    timing, probe = run["timing"], run["probe"]
    spans = timing["spans"]
    received = timing["received_spans"]
    exports = timing["mode"] != "floor"
    stats = timing["processor_stats"] or {}
    return {
        "loop_us": timing["loop_seconds"] / spans * 1e6,
        "thread_cpu_us": timing["loop_thread_cpu_seconds"] / spans * 1e6,
        "loop_process_cpu_us": timing["loop_process_cpu_seconds"] / spans * 1e6,
        "process_cpu_us": timing["process_cpu_seconds"] / spans * 1e6,
        # Pipelines that drop spans do less work; this puts them on the same footing.
        "cpu_per_delivered_us": timing["process_cpu_seconds"] / received * 1e6 if received else None,
        "flush_s": timing["flush_seconds"],
        "received": received if exports else None,
        "dropped": spans - received if exports else None,
        "delivered_pct": received / spans * 100 if exports else None,
        "processor_dropped": stats.get("dropped"),
        "max_rss_mib": timing["max_rss_kib"] / 1024,
        "base_import_ms": timing["base_import_seconds"] * 1000,
        "import_ms": timing["pipeline_import_seconds"] * 1000,
        "probe_pct": (
            probe["probe_busy_ops_per_ms"] / probe["probe_idle_ops_per_ms"] * 100
            if probe["probe_busy_ops_per_ms"] is not None
            else None
        ),
        "probe_idle_ops_per_ms": probe["probe_idle_ops_per_ms"],
        "probe_busy_ops_per_ms": probe["probe_busy_ops_per_ms"],
        "sink_cpu_us": timing["sink_cpu_seconds"] / spans * 1e6,
        "attributes_per_span": timing["received_attributes"] / received if received else None,
        "events_per_span": timing["received_events"] / received if received else None,
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per shape and mode: the median of each measure, and the worst repeat for drops."""
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for shape in SHAPES:
        for mode in MODES:
            measures = [
                derived(run)
                for run in runs
                if (run["timing"]["shape"], run["timing"]["mode"]) == (shape, mode)
            ]
            if not measures:
                continue
            row: dict[str, Any] = {"repeats": len(measures)}
            for name in measures[0]:
                values = [measure[name] for measure in measures if measure[name] is not None]
                row[name] = statistics.median(values) if values else None
            for name in ("dropped", "processor_dropped"):
                values = [measure[name] for measure in measures if measure[name] is not None]
                row[f"{name}_max"] = max(values) if values else None
            summary.setdefault(shape, {})[mode] = row
    return summary


def git(*arguments: str) -> str:
    return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def machine() -> dict[str, Any]:
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
    for package in PACKAGES:
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, help="light spans per pass (default 200000)")
    parser.add_argument("--heavy-spans", type=int, help="heavy spans per pass (default 30000)")
    parser.add_argument("--repeats", type=int, help="interleaved repeats, reported as medians (default 3)")
    parser.add_argument("--quick", action="store_true", help="20000/3000 spans, 1 repeat, report kept local")
    args = parser.parse_args()
    light = args.spans or (20_000 if args.quick else 200_000)
    heavy = args.heavy_spans or (3_000 if args.quick else 30_000)
    repeats = args.repeats or (1 if args.quick else 3)

    started = time.time()
    command = shlex.join([".venv/bin/python", "bench/bench_traces.py", *sys.argv[1:]])
    setup = machine()
    sink = Sink()
    try:
        runs = run_all(sink, {"light": light, "heavy": heavy}, repeats)
    finally:
        sink.close()
    # The package may be rebuilt while a long run goes on; such a run mixes two builds.
    setup["native_module_changed_during_run"] = (
        machine()["native_module_sha256"] != setup["native_module_sha256"]
    )
    if setup["native_module_changed_during_run"]:
        print("WARNING: the native module was rebuilt during the run; its numbers mix two builds")
    results = {
        "command": command,
        "quick": args.quick,
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "duration_minutes": round((time.time() - started) / 60, 1),
        "spans": {"light": light, "heavy": heavy},
        "repeats": repeats,
        "quiet_gate": {"cpu_share": QUIET_CPU_SHARE, "max_wait_seconds": QUIET_MAX_WAIT_SECONDS},
        "machine": setup,
        "summary": summarize(runs),
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    results_path = RESULTS / f"traces-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(started))}.json"
    results_path.write_text(json.dumps(results, indent=1))
    print(f"raw results: {results_path.relative_to(ROOT)}")
    output = RESULTS if args.quick else ROOT / "docs"
    for path in traces_report.write(results, output):
        print(f"report: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
