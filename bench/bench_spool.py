"""Disk spool benchmark (issue 11): our HTTP span pipeline with the spool off and on.

    .venv/bin/python bench/bench_spool.py [--spans N] [--backlog N] [--repeats R]

Passes, each in a fresh interpreter, interleaved per repeat, reported as medians:

- ``off-up`` / ``on-up``: the collector (``sink.py``) answers; the application thread's
  loop time for N light spans, spool off and on. The spool must cost nothing here.
- ``off-down`` / ``on-down``: nothing listens; the same loop. Off, the batches fail (and
  are counted); on, they go to disk: the application thread must not notice.
- ``write``: nothing listens and the spool is on; a backlog of spans is held in the queue
  (as one batch), then one flush encodes and writes it: the spool's write throughput in
  MB/s and spans/s, without the application's pace in the way. ``on-down`` shows the
  sustained rate at the application's pace (its spans all reach the disk).

The machine is shared, so only ratios within one run are meaningful. Writes
``bench/results/spool-<time>.json`` and prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import BENCH, RESULTS, Sink, run_against_sink, run_measured_child

PACKAGES = ["opentelemetry-sdk", "otel-rust-exporter"]
LOOP_MODES = ["off-up", "on-up", "off-down", "on-down"]


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker(mode: str, spans: int, endpoint: str, spool_dir: str) -> dict[str, Any]:
    """One pass in this (fresh) interpreter."""
    if mode != "off-up" and mode != "off-down":
        os.environ["OTEL_RUST_EXPORTER_SPOOL_DIR"] = spool_dir
    from trace_worker import build_pipeline, run_workload

    backlog = spans if mode == "write" else 0
    pipeline = build_pipeline("ours-http", endpoint, endpoint, backlog=backlog)
    run_workload(pipeline, "light", 200)  # warm-up, delivered (or spooled) with the rest
    thread_before, wall_before = time.thread_time(), time.perf_counter()
    run_workload(pipeline, "light", spans)
    loop_seconds = time.perf_counter() - wall_before
    loop_thread_cpu = time.thread_time() - thread_before
    flush_before = time.perf_counter()
    pipeline.flush()
    flush_seconds = time.perf_counter() - flush_before
    stats = pipeline.stats()
    pipeline.shutdown()
    on_disk = sum(path.stat().st_size for path in Path(spool_dir).glob("*.req"))
    return {
        "loop_seconds": loop_seconds,
        "loop_thread_cpu_seconds": loop_thread_cpu,
        "flush_seconds": flush_seconds,
        "stats": stats,
        "bytes_on_disk": on_disk,
    }


def run_pass(sink: Sink, mode: str, spans: int) -> dict[str, Any]:
    spool_dir = tempfile.mkdtemp(prefix="otel-spool-bench-")
    endpoint = (
        sink.http_endpoint("/v1/traces") if mode.endswith("-up") else f"http://127.0.0.1:{closed_port()}"
    )
    command = [sys.executable, str(Path(__file__)), "--worker", mode, str(spans), endpoint, spool_dir]
    try:
        result, before, after = run_measured_child(sink, command, f"spool {mode}")
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
    result.update(mode=mode, spans=spans, received_spans=after["spans"] - before["spans"])
    return result


def median(runs: list[dict[str, Any]], mode: str, key: str) -> float:
    return statistics.median(run[key] for run in runs if run["mode"] == mode)


def report(runs: list[dict[str, Any]], spans: int, backlog: int) -> str:
    lines = [
        f"| pass ({spans:,} light spans) | loop s | ratio to spool off | app-thread CPU s "
        "| spooled | delivered |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for mode in LOOP_MODES:
        off = "off-" + mode.split("-")[1]
        last = [run for run in runs if run["mode"] == mode][-1]
        lines.append(
            f"| {mode} | {median(runs, mode, 'loop_seconds'):.3f} | "
            f"{median(runs, mode, 'loop_seconds') / median(runs, off, 'loop_seconds'):.3f} | "
            f"{median(runs, mode, 'loop_thread_cpu_seconds'):.3f} | {last['stats']['spooled']:,} | "
            f"{last['received_spans']:,} |"
        )
    writes = [run for run in runs if run["mode"] == "write"]
    seconds = statistics.median(run["flush_seconds"] for run in writes)
    written = statistics.median(run["bytes_on_disk"] for run in writes)
    spooled = statistics.median(run["stats"]["spooled"] for run in writes)
    lines += [
        "",
        f"Spool writes (collector down, {backlog:,} queued spans flushed at once): "
        f"{written / seconds / 1e6:.1f} MB/s, {spooled / seconds:,.0f} spans/s "
        f"({written / max(spooled, 1):.0f} bytes per span on disk, median flush {seconds:.3f} s).",
    ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        mode, spans, endpoint, spool_dir = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
        print(json.dumps(worker(mode, spans, endpoint, spool_dir)))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--backlog", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    def run(sink: Sink) -> list[dict[str, Any]]:
        runs = []
        for repeat in range(args.repeats):
            for mode in LOOP_MODES:
                runs.append(run_pass(sink, mode, args.spans))
                print(f"repeat {repeat + 1} {mode}: {runs[-1]['loop_seconds']:.3f} s", flush=True)
            runs.append(run_pass(sink, "write", args.backlog))
            print(f"repeat {repeat + 1} write: {runs[-1]['flush_seconds']:.3f} s", flush=True)
        return runs

    setup, runs = run_against_sink(PACKAGES, run)
    table = report(runs, args.spans, args.backlog)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"spool-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"setup": setup, "args": vars(args), "runs": runs}, indent=1))
    print(table)
    print(f"raw results: {out.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    main()
