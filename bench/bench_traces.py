"""Trace pipeline benchmark: the SDK floor, the stock exporters, pytracingx and ours.

    .venv/bin/python bench/bench_traces.py [--spans N] [--heavy-spans N] [--repeats R] [--quick]
    .venv/bin/python bench/bench_traces.py --self-metrics [--spans N] [--repeats R]
    .venv/bin/python bench/bench_traces.py --targets [--baseline REV] [--repeats R] [--quick]
    .venv/bin/python bench/bench_traces.py --modes M1,M2 [--baseline REV] [--busy N] [--spans N] [--repeats R]

Every pass of every mode runs in its own fresh interpreter (``trace_worker.py``), so RSS and
import time are clean; repeats are interleaved (repeat 1 runs every mode, then repeat 2...)
and the report uses medians. One sink process (``sink.py``) receives for all modes.

Writes the raw results to ``bench/results/traces-<time>.json`` and the "Traces" section of
``docs/BENCHMARKS.md`` with ``docs/benchmarks_traces.png``. ``--quick`` writes its report
next to the JSON instead, so a quick run never replaces the published numbers.

``--modes`` runs only the given modes (each also from ``--baseline REV``, built as below)
and prints, per shape and mode, the drops of every repeat and the median per-span costs;
it writes only ``bench/results/traces-modes-<time>.json``, never the published report.
``--busy N`` keeps N processes spinning on the CPUs meanwhile (a machine busy with other
work; the quiet gate is off).

``--self-metrics`` runs only our HTTP pipeline, with its self-metrics off and on (collected
every second), interleaved, and prints the on/off ratios per repeat and their median
(``bench/results/traces-self-metrics-<time>.json``; docs/OPERATIONS.md quotes them).

``--targets`` runs what issue 15's targets need, in one run of interleaved rounds (default
5): light, heavy and web-style spans and log records inside spans (``log_worker.py``), each
through the floor and ours over HTTP and gRPC; with ``--baseline REV``, also ours (HTTP)
from that git revision, built into a temporary directory first. It writes the "Targets"
section of ``docs/BENCHMARKS.md`` (``--quick``: next to the JSON) with every ratio's median
and range over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import bench_logs
import targets_report
import traces_report
from common import (
    BENCH,
    OTLP_PACKAGES,
    QUIET_GATE,
    RESULTS,
    ROOT,
    Sink,
    busy_cpus,
    pass_measures,
    rotated,
    run_against_sink,
    run_measured_child,
)
from trace_worker import MODES, SELF_METRICS_MODE, SHAPES

PACKAGES = [*OTLP_PACKAGES, "pytracingx"]
WARMUP_SPANS = 200


def run_pass(
    sink: Sink,
    mode: str,
    shape: str,
    spans: int,
    pass_name: str,
    idle_seconds: Optional[float] = None,
    python_path: Optional[Path] = None,
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(BENCH / "trace_worker.py"),
        f"--mode={mode}",
        f"--pass={pass_name}",
        f"--shape={shape}",
        f"--spans={spans}",
        f"--http-endpoint={sink.http_endpoint('/v1/traces')}",
        f"--grpc-endpoint={sink.grpc_endpoint}",
    ]
    if idle_seconds is not None:
        command.append(f"--idle-seconds={idle_seconds:.6f}")
    result, before, after = run_measured_child(sink, command, f"{mode} {pass_name}", python_path)
    result.update(
        mode=mode,
        shape=shape,
        spans=spans,
        received_spans=after["spans"] - before["spans"],
        received_attributes=after["attributes"] - before["attributes"],
        received_events=after["events"] - before["events"],
    )
    return result


def run_all(
    sink: Sink,
    counts: dict[str, int],
    repeats: int,
    modes: list[str] = MODES,
    baseline: Optional[Path] = None,
) -> list[dict[str, Any]]:
    """Every mode; a mode ending in ``@baseline`` runs from the ``baseline`` build."""

    def one_pass(mode: str, shape: str, spans: int, pass_name: str, idle: Optional[float] = None) -> dict:
        implementation = mode.removesuffix(targets_report.BASELINE)
        python_path = baseline if mode.endswith(targets_report.BASELINE) else None
        result = run_pass(sink, implementation, shape, spans, pass_name, idle, python_path)
        result["mode"] = mode
        return result

    print("warm-up: one tiny pass per mode (bytecode cache, page cache)", flush=True)
    for mode in modes:
        one_pass(mode, "light", WARMUP_SPANS, "timing")
    runs = []
    for repeat in range(repeats):
        for shape, spans in counts.items():
            for mode in rotated(modes, repeat):
                timing = one_pass(mode, shape, spans, "timing")
                # The probe's idle phase lasts about as long as an export of this workload.
                probe = one_pass(mode, shape, spans, "probe", min(timing["loop_seconds"], 5.0))
                runs.append({"repeat": repeat, "timing": timing, "probe": probe})
                print(
                    f"repeat {repeat + 1}/{repeats} {shape:5} {mode:25}"
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
    return {
        **pass_measures(timing, spans, received),
        # Pipelines that drop spans do less work; this puts them on the same footing.
        "cpu_per_delivered_us": timing["process_cpu_seconds"] / received * 1e6 if received else None,
        "probe_pct": (
            probe["probe_busy_ops_per_ms"] / probe["probe_idle_ops_per_ms"] * 100
            if probe["probe_busy_ops_per_ms"] is not None
            else None
        ),
        "probe_idle_ops_per_ms": probe["probe_idle_ops_per_ms"],
        "probe_busy_ops_per_ms": probe["probe_busy_ops_per_ms"],
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


TARGET_MODES = ["floor", "ours-http", "ours-grpc"]
TARGET_COUNTS = {"light": 200_000, "heavy": 30_000, "web": 120_000, "logs": 200_000}


def build_baseline(revision: str, into: Path) -> Path:
    """Our package built from ``revision`` (release, as ``maturin develop`` builds it),
    installed under ``into``: a directory to put first on ``PYTHONPATH``."""
    source, wheels, site = into / "source", into / "wheels", into / "site"
    subprocess.run(["git", "worktree", "add", "--detach", str(source), revision], cwd=ROOT, check=True)
    try:
        subprocess.run(
            [
                str(ROOT / ".venv/bin/maturin"),
                "build",
                "--release",
                "--quiet",
                "--auditwheel",
                "skip",
                "-o",
                str(wheels),
            ],
            cwd=source,
            check=True,
            # Kept between runs, so only a changed revision compiles again.
            env={"CARGO_TARGET_DIR": str(ROOT / "target" / "bench-baseline"), **os.environ},
        )
        wheel = [str(path) for path in wheels.glob("*.whl")]
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), *wheel],
            check=True,
        )
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(source)], cwd=ROOT, check=True)
    return site


def run_targets(
    sink: Sink, counts: dict[str, int], repeats: int, baseline: Optional[Path]
) -> list[dict[str, Any]]:
    """Every workload through the floor and ours (and the baseline build), interleaved."""
    modes = TARGET_MODES + (["ours-http" + targets_report.BASELINE] if baseline else [])

    def one_pass(workload: str, mode: str, count: int) -> dict[str, Any]:
        implementation = mode.removesuffix(targets_report.BASELINE)
        python_path = baseline if mode.endswith(targets_report.BASELINE) else None
        if workload == "logs":
            result = bench_logs.run_pass(sink, implementation, count, python_path)
            received = result["received_records"]
        else:
            result = run_pass(sink, implementation, workload, count, "timing", python_path=python_path)
            received = result["received_spans"]
        result.update(workload=workload, mode=mode, count=count, received=received)
        return result

    print("warm-up: one tiny pass per workload and mode (bytecode cache, page cache)", flush=True)
    for workload in counts:
        for mode in modes:
            one_pass(workload, mode, 240)
    runs = []
    for repeat in range(repeats):
        for workload, count in counts.items():
            for mode in rotated(modes, repeat):
                result = one_pass(workload, mode, count)
                result["repeat"] = repeat
                runs.append(result)
                print(
                    f"round {repeat + 1}/{repeats} {workload:5} {mode:18}"
                    f" loop {result['loop_seconds'] / count * 1e6:7.2f} us"
                    f"  cpu {result['process_cpu_seconds'] / count * 1e6:7.2f} us"
                    f"  received {result['received']}/{count}"
                    f"  other load {result['other_load_cpus']:.2f} CPUs",
                    flush=True,
                )
    return runs


def targets(repeats: int, quick: bool, baseline_revision: Optional[str]) -> None:
    counts = {name: count // 10 if quick else count for name, count in TARGET_COUNTS.items()}
    started = time.time()
    command = shlex.join([".venv/bin/python", "bench/bench_traces.py", *sys.argv[1:]])
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as scratch:
        baseline = build_baseline(baseline_revision, Path(scratch)) if baseline_revision else None
        setup, runs = run_against_sink(PACKAGES, lambda sink: run_targets(sink, counts, repeats, baseline))
    results = {
        "command": command,
        "quick": quick,
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "duration_minutes": round((time.time() - started) / 60, 1),
        "counts": counts,
        "repeats": repeats,
        "baseline": baseline_revision,
        "quiet_gate": QUIET_GATE,
        "machine": setup,
        "runs": runs,
    }
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    RESULTS.mkdir(exist_ok=True)
    results_path = RESULTS / f"targets-{stamp}.json"
    results_path.write_text(json.dumps(results, indent=1))
    print(f"raw results: {results_path.relative_to(ROOT)}")
    report = RESULTS / f"targets-{stamp}.md" if quick else ROOT / "docs" / "BENCHMARKS.md"
    report.write_text(targets_report.write(results, report.read_text() if report.exists() else ""))
    print(f"report: {report.relative_to(ROOT)}")
    print(targets_report.section(results))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, help="light spans per pass (default 200000)")
    parser.add_argument("--heavy-spans", type=int, help="heavy spans per pass (default 30000)")
    parser.add_argument("--repeats", type=int, help="interleaved repeats, reported as medians (default 3)")
    parser.add_argument("--quick", action="store_true", help="20000/3000 spans, 1 repeat, report kept local")
    parser.add_argument(
        "--self-metrics", action="store_true", help="ours with self-metrics off vs on, as ratios"
    )
    parser.add_argument(
        "--targets", action="store_true", help="issue 15's targets: floor and ours only, all workloads"
    )
    parser.add_argument(
        "--baseline", metavar="REV", help="with --targets or --modes: also ours built from this git revision"
    )
    parser.add_argument("--modes", help=f"comma-separated, of: {', '.join(MODES)}")
    parser.add_argument("--busy", type=int, default=0, help="with --modes: N processes spinning meanwhile")
    args = parser.parse_args()
    if args.targets:
        targets(args.repeats or (1 if args.quick else 5), args.quick, args.baseline)
        return
    if args.self_metrics:
        compare_self_metrics(args.spans or 200_000, args.repeats or 5)
        return
    light = args.spans or (20_000 if args.quick else 200_000)
    heavy = args.heavy_spans or (3_000 if args.quick else 30_000)
    repeats = args.repeats or (1 if args.quick else 3)
    if args.modes:
        counts = {"light": light, "heavy": heavy}
        compare_modes(args.modes.split(","), counts, repeats, args.baseline, args.busy)
        return

    started = time.time()
    command = shlex.join([".venv/bin/python", "bench/bench_traces.py", *sys.argv[1:]])
    setup, runs = run_against_sink(
        PACKAGES, lambda sink: run_all(sink, {"light": light, "heavy": heavy}, repeats)
    )
    results = {
        "command": command,
        "quick": args.quick,
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "duration_minutes": round((time.time() - started) / 60, 1),
        "spans": {"light": light, "heavy": heavy},
        "repeats": repeats,
        "quiet_gate": QUIET_GATE,
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


def compare_modes(
    modes: list[str], counts: dict[str, int], repeats: int, baseline_revision: Optional[str], busy: int
) -> None:
    """Only ``modes`` (and the same from ``baseline_revision``), interleaved: drops per
    repeat and median per-span costs, printed and kept as JSON."""
    unknown = set(modes) - set(MODES)
    if unknown:
        raise SystemExit(f"unknown modes: {', '.join(sorted(unknown))}")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as scratch:
        baseline = build_baseline(baseline_revision, Path(scratch)) if baseline_revision else None
        all_modes = modes + ([mode + targets_report.BASELINE for mode in modes] if baseline else [])
        with busy_cpus(busy):
            setup, runs = run_against_sink(
                PACKAGES, lambda sink: run_all(sink, counts, repeats, all_modes, baseline)
            )
    print(f"{'shape':5} {'mode':25} {'drops per repeat':32} loop   thread  process CPU (us/span, medians)")
    for shape, spans in counts.items():
        for mode in all_modes:
            rows = [run["timing"] for run in runs if run["timing"]["shape"] == shape]
            rows = [row for row in rows if row["mode"] == mode]
            drops = [spans - row["received_spans"] for row in rows]
            per_span = {
                key: statistics.median(row[key] for row in rows) / spans * 1e6
                for key in ("loop_seconds", "loop_thread_cpu_seconds", "process_cpu_seconds")
            }
            print(
                f"{shape:5} {mode:25} {' '.join(map(str, drops)):32}"
                f" {per_span['loop_seconds']:6.2f} {per_span['loop_thread_cpu_seconds']:6.2f}"
                f" {per_span['process_cpu_seconds']:6.2f}"
            )
    results = {
        "command": shlex.join([".venv/bin/python", "bench/bench_traces.py", *sys.argv[1:]]),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "duration_minutes": round((time.time() - started) / 60, 1),
        "spans": counts,
        "repeats": repeats,
        "baseline": baseline_revision,
        "busy_processes": busy,
        "quiet_gate": QUIET_GATE if not busy else None,
        "machine": setup,
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"traces-modes-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(started))}.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"raw results: {path.relative_to(ROOT)}")


SELF_METRICS_MEASURES = ("loop_us", "thread_cpu_us", "process_cpu_us", "probe_pct")


def compare_self_metrics(spans: int, repeats: int) -> None:
    """Light spans through ours-http with self-metrics off and on, in one run."""
    started = time.time()
    modes = ["ours-http", SELF_METRICS_MODE]
    setup, runs = run_against_sink(PACKAGES, lambda sink: run_all(sink, {"light": spans}, repeats, modes))
    by_repeat: dict[int, dict[str, dict[str, Any]]] = {}
    for run in runs:
        by_repeat.setdefault(run["repeat"], {})[run["timing"]["mode"]] = derived(run)
    ratios = {
        measure: [
            pair[SELF_METRICS_MODE][measure] / pair["ours-http"][measure]
            for pair in by_repeat.values()
            if pair["ours-http"][measure] and pair[SELF_METRICS_MODE][measure] is not None
        ]
        for measure in SELF_METRICS_MEASURES
    }
    print(f"self-metrics on / off, {spans} light spans, {repeats} interleaved repeats:")
    for measure, values in ratios.items():
        shown = " ".join(f"{value:.3f}" for value in values)
        print(f"  {measure:16} median {statistics.median(values):.3f}   per repeat: {shown}")
    results = {
        "command": shlex.join([".venv/bin/python", "bench/bench_traces.py", *sys.argv[1:]]),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "spans": spans,
        "repeats": repeats,
        "machine": setup,
        "ratios": ratios,
        "median_ratios": {measure: statistics.median(values) for measure, values in ratios.items()},
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"traces-self-metrics-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(started))}.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"raw results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
