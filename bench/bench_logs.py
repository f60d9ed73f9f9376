"""Log pipeline benchmark: the SDK floor, stock BatchLogRecordProcessor + OTLP, and ours.

    .venv/bin/python bench/bench_logs.py [--records N] [--repeats R] [--quick]
    .venv/bin/python bench/bench_logs.py --render bench/results/logs-….json

Every pass of every mode runs in its own fresh interpreter (``log_worker.py``): stdlib
``logging`` records emitted inside spans, through the SDK's ``LoggingHandler``. Repeats
are interleaved (repeat 1 runs every mode, then repeat 2...) and the report uses medians.
One sink process (``sink.py``) receives for all modes and decodes only between passes.

Writes the raw results to ``bench/results/logs-<time>.json`` and the "Logs" section of
``docs/BENCHMARKS.md`` (between its markers; inserted before the metrics section the first
time). ``--quick`` writes its report next to the JSON instead, so a quick run never
replaces the published numbers.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

from common import (
    BENCH,
    OTLP_PACKAGES,
    QUIET_GATE,
    RESULTS,
    ROOT,
    Sink,
    markdown_table,
    pass_measures,
    replace_section,
    rotated,
    run_against_sink,
    run_measured_child,
)
from log_worker import MODES, RECORDS_PER_SPAN

WARMUP_RECORDS = 200
BENCHMARKS_MD = ROOT / "docs" / "BENCHMARKS.md"
BEGIN = "<!-- BEGIN logs -->"
END = "<!-- END logs -->"
# Where the section goes the first time: before the next generated section.
INSERT_BEFORE = "<!-- BEGIN metrics -->"
# Ours against stock over the same transport.
PAIRS = {"HTTP": ("ours-http", "stock-http"), "gRPC": ("ours-grpc", "stock-grpc")}
OVERHEAD_SHARE_TARGET = 0.25
LABELS = {
    "floor": "floor: SDK handler, no processor",
    "stock-http": "stock BLRP + OTLP HTTP",
    "stock-grpc": "stock BLRP + OTLP gRPC",
    "ours-http": "ours, HTTP",
    "ours-grpc": "ours, gRPC",
}


def run_pass(sink: Sink, mode: str, records: int, python_path: Optional[Path] = None) -> dict[str, Any]:
    command = [
        sys.executable,
        str(BENCH / "log_worker.py"),
        f"--mode={mode}",
        f"--records={records}",
        f"--http-endpoint={sink.http_endpoint('/v1/logs')}",
        f"--grpc-endpoint={sink.grpc_endpoint}",
    ]
    result, before, after = run_measured_child(sink, command, mode, python_path)
    result.update(
        mode=mode,
        records=records,
        received_records=after["log_records"] - before["log_records"],
        received_attributes=after["log_attributes"] - before["log_attributes"],
        received_with_trace=after["log_records_with_trace"] - before["log_records_with_trace"],
    )
    return result


def run_all(sink: Sink, records: int, repeats: int) -> list[dict[str, Any]]:
    print("warm-up: one tiny pass per mode (bytecode cache, page cache)", flush=True)
    for mode in MODES:
        run_pass(sink, mode, WARMUP_RECORDS)
    runs = []
    for repeat in range(repeats):
        for mode in rotated(MODES, repeat):
            run = run_pass(sink, mode, records)
            run["repeat"] = repeat
            runs.append(run)
            print(
                f"repeat {repeat + 1}/{repeats} {mode:10}"
                f" loop {run['loop_seconds'] / records * 1e6:6.2f} us/record"
                f"  cpu {run['process_cpu_seconds'] / records * 1e6:6.2f} us/record"
                f"  received {run['received_records']}/{records}"
                f"  other load {run['other_load_cpus']:.2f} CPUs",
                flush=True,
            )
    return runs


def derived(run: dict[str, Any]) -> dict[str, Optional[float]]:
    """One pass as the report's measures (per-record times in microseconds)."""
    received = run["received_records"]
    return {
        **pass_measures(run, run["records"], received),
        "attributes_per_record": run["received_attributes"] / received if received else None,
        "with_trace_pct": run["received_with_trace"] / received * 100 if received else None,
        "other_load_cpus": run["other_load_cpus"],
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per mode: the median of each measure, and the worst repeat for drops."""
    summary: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        measures = [derived(run) for run in runs if run["mode"] == mode]
        row: dict[str, Any] = {"repeats": len(measures)}
        for name in measures[0]:
            values = [measure[name] for measure in measures if measure[name] is not None]
            row[name] = statistics.median(values) if values else None
        for name in ("dropped", "processor_dropped"):
            values = [measure[name] for measure in measures if measure[name] is not None]
            row[f"{name}_max"] = max(values) if values else None
        summary[mode] = row
    return summary


def overhead_shares(results: dict, measure: str) -> dict[str, dict[str, Any]]:
    """Per transport: ours' overhead above the floor as a share of stock's, for ``measure``.

    The headline is computed from the medians; the range from each repeat on its own (ours,
    stock and floor of the same repeat), which shows how much the VM's noise moves it."""
    summary = results["summary"]
    by_repeat: dict[int, dict[str, dict]] = {}
    for run in results["runs"]:
        by_repeat.setdefault(run["repeat"], {})[run["mode"]] = derived(run)
    shares = {}
    for transport, (ours, stock) in PAIRS.items():
        floor = summary["floor"][measure]
        ours_overhead = summary[ours][measure] - floor
        stock_overhead = summary[stock][measure] - floor
        per_repeat = [
            (modes[ours][measure] - modes["floor"][measure])
            / (modes[stock][measure] - modes["floor"][measure])
            for modes in by_repeat.values()
        ]
        shares[transport] = {
            "ours_overhead_us": ours_overhead,
            "stock_overhead_us": stock_overhead,
            "share": ours_overhead / stock_overhead,
            "per_repeat": per_repeat,
        }
    return shares


# --- the report ---------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return markdown_table(header, rows).split("\n")


def number(value: Optional[float], digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def verdict(passed: bool) -> str:
    return "**PASS**" if passed else "**MISS**"


def share_cell(share: dict[str, Any]) -> str:
    value, values = share["share"], share["per_repeat"]
    # A share at or below zero: ours measured no slower than the floor, within the noise.
    text = f"{value:.2f}" + (f" (1/{1 / value:.1f})" if value > 0 else "")
    text += f" {verdict(value <= OVERHEAD_SHARE_TARGET)}"
    if len(values) > 1:
        text += f" ({min(values):.2f} to {max(values):.2f})"
    return text


def section(results: dict) -> str:
    summary = results["summary"]
    setup = results["machine"]
    packages = setup["packages"]
    records = results["records"]
    loop_shares = overhead_shares(results, "loop_us")
    cpu_shares = overhead_shares(results, "process_cpu_us")
    noise = [run["other_load_cpus"] for run in results["runs"]]
    lines = [
        "## Logs",
        "",
        f"One Python thread emits {records:,} stdlib `logging` records through each pipeline, at "
        "default settings, while a local sink in another process receives them. Every pass runs "
        "in a fresh interpreter; the modes are interleaved across repeats and the tables show "
        f"medians over {results['repeats']} repeats.",
        "",
        '- Each record is `logger.info("order %s paid", i, extra={...})` with 4 `extra` attributes '
        "(int, str, float, bool), through the SDK's `LoggingHandler` (which adds 3 `code.*` "
        f"attributes) and a `LoggerProvider`, inside a span of a `TracerProvider` ({RECORDS_PER_SPAN} "
        "records per span, no span processor) so every record carries a trace and span id.",
        "",
        "**Modes.** *floor*: the same `LoggingHandler` and `LoggerProvider` with no log record "
        "processor, the cost of the SDK's logging path alone. *stock*: "
        "`BatchLogRecordProcessor(OTLPLogExporter(endpoint))` from "
        "opentelemetry-exporter-otlp-proto-http / -grpc "
        f"{packages['opentelemetry-exporter-otlp-proto-http']}. "
        "*ours*: `RustLogRecordProcessor(endpoint)` over HTTP/protobuf and over gRPC.",
        "",
        f"**Machine.** {setup['cpus']} vCPU {setup['cpu_model'].split()[0]} {setup['cpu_model'].split()[1]}, "
        f"{setup['memory_gib']} GiB, {setup['platform']}, CPython {setup['python']}; a shared, noisy VM. "
        f"opentelemetry-sdk {packages['opentelemetry-sdk']}, protobuf {packages['protobuf']}, "
        f"grpcio {packages['grpcio']}. otel-rust-exporter at commit `{setup['git_commit']}`"
        f"{' (with uncommitted changes)' if setup['git_dirty'] else ''}, native module built "
        f"{setup['native_module_built']} (sha256 `{setup['native_module_sha256']}`).",
        "",
        f"**Reproduce** (from the repository root; took {results['duration_minutes']} min, started "
        f"{results['started']}):",
        "",
        "```sh",
        results["command"],
        "```",
        "",
        "### Targets for ours",
        "",
        "Overhead = a mode's per-record figure minus the floor's. The target: ours' overhead at "
        f"most {OVERHEAD_SHARE_TARGET:.0%} of stock's over the same transport. Median-based; in "
        "brackets, the lowest and highest share computed within a single repeat.",
        "",
    ]
    target_rows = []
    for transport, (ours, _stock) in PAIRS.items():
        loop, cpu = loop_shares[transport], cpu_shares[transport]
        dropped = summary[ours]["dropped_max"]
        target_rows.append(
            [
                f"ours vs stock, {transport}",
                f"{loop['ours_overhead_us']:.2f} vs {loop['stock_overhead_us']:.2f}",
                share_cell(loop),
                f"{cpu['ours_overhead_us']:.2f} vs {cpu['stock_overhead_us']:.2f}",
                share_cell(cpu),
                f"{dropped:,} {verdict(dropped == 0)}",
            ]
        )
    lines += table(
        [
            "Pipeline",
            "Loop overhead µs/record (ours vs stock)",
            "Loop overhead share (≤ 0.25)",
            "Process CPU overhead µs/record (ours vs stock)",
            "CPU overhead share (≤ 0.25)",
            "Records dropped, worst repeat (0)",
        ],
        target_rows,
    )
    lines += ["", "### Medians", ""]
    lines += table(
        [
            "Mode",
            "Loop µs/record",
            "Main-thread CPU µs/record",
            "Process CPU µs/record",
            "Final flush s",
            "Received",
            "Dropped (worst repeat)",
            "Max RSS MiB",
            "Import ms",
        ],
        [
            [
                LABELS[mode],
                number(row["loop_us"]),
                number(row["thread_cpu_us"]),
                number(row["process_cpu_us"]),
                number(row["flush_s"]),
                number(row["received"], 0),
                "-" if row["dropped"] is None else f"{row['dropped']:,.0f} ({row['dropped_max']:,})",
                number(row["max_rss_mib"], 1),
                f"{row['base_import_ms']:.1f} (SDK)" if mode == "floor" else f"+{row['import_ms']:.1f}",
            ]
            for mode, row in summary.items()
        ],
    )
    lines += ["", "### Ratios to the floor and delivery checks", ""]
    floor = summary["floor"]
    lines += table(
        [
            "Mode",
            "Loop",
            "Process CPU",
            "Max RSS",
            "Loop range over repeats",
            "Delivered",
            "Processor's own drop count",
            "Attributes / record",
            "With trace id",
            "Sink CPU µs/record",
        ],
        [
            [
                LABELS[mode],
                f"{row['loop_us'] / floor['loop_us']:.2f}x",
                f"{row['process_cpu_us'] / floor['process_cpu_us']:.2f}x",
                f"{row['max_rss_mib'] / floor['max_rss_mib']:.2f}x",
                per_repeat_range(results, mode, lambda run: run["loop_us"]),
                "-" if row["delivered_pct"] is None else f"{row['delivered_pct']:.1f}%",
                number(row["processor_dropped"], 0),
                number(row["attributes_per_record"], 0),
                "-" if row["with_trace_pct"] is None else f"{row['with_trace_pct']:.0f}%",
                number(row["sink_cpu_us"]),
            ]
            for mode, row in summary.items()
        ],
    )
    lines += [
        "",
        "### What the numbers mean",
        "",
        "- **Loop** is wall time per record of the emitting loop (the application thread's cost); "
        "**main-thread CPU** is `time.thread_time()` over it; **process CPU** is "
        "`getrusage(RUSAGE_SELF)` user+sys from before the loop to after `force_flush()` and "
        "`shutdown()`, so it includes every background thread and the final drain (shown "
        "separately as **final flush**).",
        "- **Received** is counted by the sink decoding each request with the `opentelemetry-proto` "
        "stubs after the pass; **dropped** = records emitted - records received. The stock "
        '`BatchLogRecordProcessor` drops records ("Queue full, dropping Log") when its '
        "2048-record queue is full, which happens whenever its export cannot keep up with a "
        "tight loop; a pipeline that drops records also does less export work, so the stock "
        "overhead, and therefore the share, flatters stock.",
        "- **Attributes / record** and **with trace id** check that every pipeline sent whole "
        "records carrying the active span's trace context.",
        "- **Max RSS** is the process's peak resident set (`VmHWM`). **Import** is the time to "
        "import the pipeline once the SDK's trace and logs modules are loaded, bytecode cached.",
        "- The sink runs on the same vCPUs but only keeps request bodies during a pass. Before "
        f"each pass the script waits (up to {results['quiet_gate']['max_wait_seconds']} s) for a "
        f"second in which the CPUs are at most {results['quiet_gate']['cpu_share']:.0%} busy. "
        f"Other processes used a median {statistics.median(noise):.2f} and at worst "
        f"{max(noise):.2f} of the {setup['cpus']} CPUs during the passes (per-pass values: raw JSON).",
    ]
    return "\n".join(lines) + "\n"


def per_repeat_range(results: dict, mode: str, measure: Callable[[dict], float]) -> str:
    values = [measure(derived(run)) for run in results["runs"] if run["mode"] == mode]
    return f"{min(values):.2f} to {max(values):.2f} µs"


def write_report(results: dict, quick: bool, stamp: str) -> Path:
    if quick:
        path = RESULTS / f"logs-{stamp}.md"
        path.write_text(f"{BEGIN}\n{section(results)}\n{END}\n")
        return path
    text = BENCHMARKS_MD.read_text()
    BENCHMARKS_MD.write_text(replace_section(text, BEGIN, END, section(results), INSERT_BEFORE))
    return BENCHMARKS_MD


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, help="log records per pass (default 200000)")
    parser.add_argument("--repeats", type=int, help="interleaved repeats, reported as medians (default 5)")
    parser.add_argument("--quick", action="store_true", help="20000 records, 1 repeat, report kept local")
    parser.add_argument("--render", type=Path, help="re-render a logs-*.json's report, no run")
    args = parser.parse_args()
    if args.render:
        results = json.loads(args.render.read_text())
        stamp = args.render.stem.removeprefix("logs-")
        print(f"report: {write_report(results, results['quick'], stamp).relative_to(ROOT)}")
        return
    records = args.records or (20_000 if args.quick else 200_000)
    repeats = args.repeats or (1 if args.quick else 5)

    started = time.time()
    command = shlex.join([".venv/bin/python", "bench/bench_logs.py", *sys.argv[1:]])
    setup, runs = run_against_sink(OTLP_PACKAGES, lambda sink: run_all(sink, records, repeats))
    results = {
        "command": command,
        "quick": args.quick,
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "duration_minutes": round((time.time() - started) / 60, 1),
        "records": records,
        "repeats": repeats,
        "quiet_gate": QUIET_GATE,
        "machine": setup,
        "summary": summarize(runs),
        "runs": runs,
    }
    results["overhead_shares"] = {
        "loop": overhead_shares(results, "loop_us"),
        "process_cpu": overhead_shares(results, "process_cpu_us"),
    }
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    RESULTS.mkdir(exist_ok=True)
    results_path = RESULTS / f"logs-{stamp}.json"
    results_path.write_text(json.dumps(results, indent=1))
    print(f"raw results: {results_path.relative_to(ROOT)}")
    print(f"report: {write_report(results, args.quick, stamp).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
