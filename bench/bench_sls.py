"""SLS log export: ours against aliyun-log-python-sdk and aliyun-log-producer, in one run.

Every pipeline logs the same N records (message, level, three attributes) to the same
fake SLS server (tests/support/fake_sls_server.py, which verifies every request with the SDK's
own functions), each in a fresh process, in rotating order, repeated; medians are
reported. Measured inside each process: the logging loop's wall time and main-thread CPU
per record, the process's total CPU (all threads, including sending) per record after
everything was flushed, and max RSS. Delivered counts come from the server.

    .venv/bin/python bench/bench_sls.py [--records 200000] [--repeats 3]

Needs ``.venv-sls`` (scripts/setup.sh) and, for the producer row, ``bench/requirements-sls.txt``
installed into it; a pipeline whose package is missing is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fake_sls import SLS_PYTHON, FakeSls  # noqa: E402

WORKLOADS = str(ROOT / "bench" / "sls_workloads.py")
OURS_PYTHON = sys.executable

PIPELINES = {
    "logging_floor": ("stdlib logging, formatting handler (floor)", str(SLS_PYTHON)),
    "sdk_floor": ("OTel SDK logging, no processor (floor)", OURS_PYTHON),
    "ours": ("**SLSLogRecordProcessor (ours)**", OURS_PYTHON),
    "aliyun_put_logs": ("aliyun-log-python-sdk LogClient.put_logs, 4096/batch", str(SLS_PYTHON)),
    "aliyun_queued_handler": ("aliyun-log-python-sdk QueuedLogHandler", str(SLS_PYTHON)),
    "aliyun_producer": ("aliyun-log-producer (Rust-backed)", str(SLS_PYTHON)),
}
# The producer always puts the project in front of the endpoint host, so the project is
# "127" and its endpoint "0.0.1:PORT": together they name the loopback address.
PROJECT = "127"


def endpoint_for(pipeline: str, port: int) -> str:
    if pipeline == "aliyun_producer":
        return f"http://0.0.1:{port}"
    if pipeline.startswith("aliyun_"):
        return f"127.0.0.1:{port}"
    return f"http://127.0.0.1:{port}"


def available(pipeline: str) -> bool:
    module = {"aliyun_producer": "aliyun_log_producer"}.get(pipeline)
    if module is None:
        return True
    python = PIPELINES[pipeline][1]
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def run_once(fake: FakeSls, pipeline: str, records: int) -> dict:
    before = fake.count()["logs"]
    options = {
        "pipeline": pipeline,
        "count": records,
        "endpoint": endpoint_for(pipeline, fake.port),
        "project": PROJECT,
        "access_key_id": fake.access_key_id,
        "access_key_secret": fake.access_key_secret,
    }
    completed = subprocess.run(
        [PIPELINES[pipeline][1], WORKLOADS, json.dumps(options)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{pipeline} failed: {completed.stderr[-2000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["delivered"] = fake.count()["logs"] - before
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    pipelines = [name for name in PIPELINES if available(name)]
    skipped = [name for name in PIPELINES if name not in pipelines]
    fake = FakeSls(project=PROJECT, summary_only=True)
    runs: dict[str, list[dict]] = {name: [] for name in pipelines}
    try:
        for repeat in range(arguments.repeats):
            shift = repeat % len(pipelines)
            for name in pipelines[shift:] + pipelines[:shift]:
                runs[name].append(run_once(fake, name, arguments.records))
                print(f"repeat {repeat + 1}: {name} {runs[name][-1]}", file=sys.stderr)
        problems = [request["problem"] for request in fake.requests() if request["problem"]]
    finally:
        fake.close()

    per_record = 1e6 / arguments.records

    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    summary = {
        name: {
            "loop_us": median(name, "loop_wall") * per_record,
            "main_thread_cpu_us": median(name, "loop_thread_cpu") * per_record,
            "process_cpu_us": median(name, "process_cpu") * per_record,
            "max_rss_mib": median(name, "max_rss_kib") / 1024,
            "delivered": min(run["delivered"] for run in runs[name]),
        }
        for name in pipelines
    }
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / "sls.json").write_text(
        json.dumps({"records": arguments.records, "runs": runs, "summary": summary}, indent=1)
    )
    print(f"{arguments.records} records, medians of {arguments.repeats}; rejected requests: {len(problems)}")
    if skipped:
        print(f"skipped (not installed): {', '.join(skipped)}")
    print()
    print(
        "| pipeline | loop µs/record | main-thread CPU µs/record | process CPU µs/record "
        "| delivered | max RSS |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name in pipelines:
        row = summary[name]
        delivered = "-" if name.endswith("_floor") else f"{100 * row['delivered'] / arguments.records:.0f}%"
        print(
            f"| {PIPELINES[name][0]} | {row['loop_us']:.1f} | {row['main_thread_cpu_us']:.1f} | "
            f"{row['process_cpu_us']:.1f} | {delivered} | {row['max_rss_mib']:.0f} MiB |"
        )
    ours = summary["ours"]["process_cpu_us"]
    print()
    for name in ("aliyun_put_logs", "aliyun_queued_handler", "aliyun_producer"):
        if name in summary:
            ratio = ours / summary[name]["process_cpu_us"]
            print(f"- process CPU per record, ours / {name}: {ratio:.2f}")


if __name__ == "__main__":
    main()
