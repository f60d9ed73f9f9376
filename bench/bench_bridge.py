"""Benchmark of otel-rust-bridge and the matcher example, written into docs/BENCHMARKS.md.

1. The matcher: pure Python (the legacy code), Rust single-threaded and Rust with rayon,
   at each size of ``matcher.SIZES``, results checked against the Python ones.
2. The per-span cost of a bridged Rust span against a Python SDK span, through the stock
   ``BatchSpanProcessor`` (Rust spans become ``ReadableSpan``s in batches under the GIL) and
   through ``RustSpanProcessor`` (Rust spans take the native sink, no GIL per span).

Everything runs in one process, one run; tables show medians over repeats and ratios.

    .venv/bin/python bench/bench_bridge.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import matcher
from matcher import _native
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from otel_rust_exporter import RustSpanProcessor

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
BEGIN = "<!-- BEGIN bridge -->"
END = "<!-- END bridge -->"


class DiscardingExporter(SpanExporter):
    def export(self, spans) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def timed(function, repeats: int, *args) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - started)
    return times


def bench_matcher(quick: bool) -> list[dict]:
    rows = []
    for label, (tasks_count, offers_count) in matcher.SIZES.items():
        tasks, offers = matcher.generate(tasks_count, offers_count, seed=1)
        big = tasks_count * offers_count >= 100_000_000
        if quick and big:
            continue
        python_repeats = 1 if big else 3
        print(f"matcher {label}: python x{python_repeats}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        expected = matcher.best_fit_python(tasks, offers)  # the oracle run is the first repeat
        python_times = [time.perf_counter() - started]
        python_times += timed(matcher.best_fit_python, python_repeats - 1, tasks, offers)
        row = {"size": label, "python_repeats": python_repeats, "rust_repeats": 5, "python": python_times}
        assert matcher.best_fit(tasks, offers) == expected
        assert matcher.best_fit_parallel(tasks, offers) == expected
        row["rust_single"] = timed(matcher.best_fit, 5, tasks, offers)
        row["rust_multi"] = timed(matcher.best_fit_parallel, 5, tasks, offers)
        row["matched"] = len(expected)
        rows.append(row)
    return rows


def start_sink() -> tuple[subprocess.Popen, int]:
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "sink.py")], stdout=subprocess.PIPE, text=True
    )
    ports = json.loads(sink.stdout.readline())
    return sink, ports["http_port"]


def bench_spans(quick: bool) -> list[dict]:
    # Within every queue (the bridge's and the processors' default 2048): a burst beyond it
    # is dropped, counted, and would make the dropped spans look cheap.
    spans = 2_000
    repeats = 5 if quick else 15
    sink, port = start_sink()
    try:
        pipelines = {
            "stock BatchSpanProcessor": lambda: BatchSpanProcessor(DiscardingExporter()),
            "RustSpanProcessor (HTTP)": lambda: RustSpanProcessor(
                endpoint=f"http://127.0.0.1:{port}/v1/traces"
            ),
        }
        rows = []
        for pipeline, make in pipelines.items():
            provider = TracerProvider()
            provider.add_span_processor(make())
            tracer = provider.get_tracer("bench")

            def python_spans(tracer=tracer, provider=provider):
                with tracer.start_as_current_span("parent"):
                    for _ in range(spans):
                        with tracer.start_as_current_span("unit"):
                            pass
                provider.force_flush()

            def rust_spans(tracer=tracer, provider=provider):
                with tracer.start_as_current_span("parent"):
                    _native.traced_spans(spans)
                provider.force_flush()

            python_spans()
            rust_spans()  # warm-up: registers the provider with the bridge
            before = _native.bridge_stats()
            python_times, rust_times = [], []
            for _ in range(repeats):  # interleaved
                python_times += timed(python_spans, 1)
                rust_times += timed(rust_spans, 1)
            after = _native.bridge_stats()
            processor_stats = provider._active_span_processor._span_processors[0]
            dropped = processor_stats.stats()["dropped"] if hasattr(processor_stats, "stats") else 0
            provider.shutdown()
            rows.append(
                {
                    "pipeline": pipeline,
                    "spans": spans,
                    "python": python_times,
                    "rust": rust_times,
                    "bridge": {key: after[key] - before[key] for key in after},
                    "processor_dropped": dropped,
                }
            )
        return rows
    finally:
        sink.terminate()
        sink.wait()


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def render(matcher_rows: list[dict], span_rows: list[dict], took: float, command: str) -> str:
    lines = [
        BEGIN,
        "## Rust bridge (`otel-rust-bridge`) and the matcher example",
        "",
        "Generated by `bench/bench_bridge.py`; edits here are overwritten. One process, one run; "
        "medians over the repeats shown.",
        "",
        f"**Machine.** {os.cpu_count()} vCPU, {platform.platform()}, CPython {platform.python_version()}; "
        "a shared, noisy VM.",
        "",
        f"**Reproduce** (took {took / 60:.1f} min): `{command}`",
        "",
        "### Matcher: best fit of tasks to offers",
        "",
        "Same input, same result (checked against the Python result). *Rust single*: "
        "`matcher.best_fit`; *Rust multi*: `matcher.best_fit_parallel` (rayon, one worker per core); "
        "both release the GIL and are traced through the bridge (no Python span here, so no spans are "
        "recorded). The pure-Python 20k x 20k run is slow and was measured once.",
        "",
        "| size (tasks x offers) | matched | Python | Rust single | Rust multi "
        "| Python / single | Python / multi | single / multi |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in matcher_rows:
        python = statistics.median(row["python"])
        single = statistics.median(row["rust_single"])
        multi = statistics.median(row["rust_multi"])
        lines.append(
            f"| {row['size']} | {row['matched']:,} | {seconds(python)} (x{row['python_repeats']}) "
            f"| {seconds(single)} | {seconds(multi)} | {python / single:,.0f}x | {python / multi:,.0f}x "
            f"| {single / multi:.2f}x |"
        )
    lines += [
        "",
        "### Per-span cost: bridged Rust span vs Python SDK span",
        "",
        "Each pass creates N empty spans under one Python parent span and then calls "
        "`provider.force_flush()`: Python spans with `tracer.start_as_current_span`, Rust spans with "
        "`tracing::info_span!(...).entered()` in a loop inside one bridged call "
        "(`matcher._native.traced_spans`). Time per span includes delivery to the span processor. "
        "Through the stock processor, Rust spans become SDK `ReadableSpan`s in batches under the GIL; "
        "through `RustSpanProcessor` they take the native sink (no GIL per span). Passes are "
        f"interleaved, {len(span_rows[0]['rust'])} each.",
        "",
        "| span processor | N | Python span | bridged Rust span | Rust / Python | bridge path | dropped |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for row in span_rows:
        python = statistics.median(row["python"]) / row["spans"] * 1e6
        rust = statistics.median(row["rust"]) / row["spans"] * 1e6
        path = "native sink" if row["bridge"]["handed_native"] else "Python processors"
        lines.append(
            f"| {row['pipeline']} | {row['spans']:,} | {python:.1f} µs | {rust:.1f} µs "
            f"| {rust / python:.2f}x | {path} | {row['bridge']['dropped'] + row['processor_dropped']} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def write_section(section: str) -> None:
    text = DOC.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip 20k x 20k, fewer spans; no doc update")
    args = parser.parse_args()
    started = time.perf_counter()
    span_rows = bench_spans(args.quick)
    matcher_rows = bench_matcher(args.quick)
    took = time.perf_counter() - started
    results = {"matcher": matcher_rows, "spans": span_rows}
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "bridge.json").write_text(json.dumps(results, indent=2))
    section = render(matcher_rows, span_rows, took, ".venv/bin/python bench/bench_bridge.py")
    print(section)
    if not args.quick:
        write_section(section)


if __name__ == "__main__":
    main()
