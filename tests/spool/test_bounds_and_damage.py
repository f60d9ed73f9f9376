"""The spool's limits (issue 11): its size cap under a flood, damaged files, a directory that
cannot be used, and SLS through a fake SLS that fails and then recovers."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

from opentelemetry.sdk._logs import LoggerProvider

from tests.support.fake_sls import FakeSls, problems
from tests.support.otlp_receivers import HttpReceiver
from tests.support.spool import (
    JOB,
    items_in,
    job_env,
    request_files,
    run_job,
    span_names_in,
    spooled_items,
    total_bytes,
)
from tests.support.tcp import closed_port

CAP = 1 << 20


def test_the_cap_holds_under_200k_spans_and_evicts_the_oldest(tmp_path):
    env = job_env(f"http://127.0.0.1:{closed_port()}", tmp_path, OTEL_RUST_EXPORTER_SPOOL_MAX_BYTES=str(CAP))
    report = run_job(env, "flood", 200_000, 0, 0)["traces"]
    assert total_bytes(tmp_path) <= CAP
    assert report["spool_bytes"] <= CAP
    assert report["spool_dropped"] > 0
    # Every item is accounted for: on disk, or evicted and counted.
    assert spooled_items(tmp_path) == report["spooled"] - report["spool_dropped"]
    assert report["spooled"] + report["dropped"] + report["failed"] == 200_000
    # The newest stayed: the oldest were evicted.
    newest = max(request_files(tmp_path), key=lambda path: path.name.split("-")[1])
    assert newest.name.startswith("traces-")
    assert report["spooled"] - spooled_items(tmp_path) == report["spool_dropped"]


def damage(directory: Path) -> tuple[Path, Path]:
    """Truncates the oldest request file and flips one body byte of the next."""
    oldest, second = request_files(directory)[:2]
    data = oldest.read_bytes()
    oldest.write_bytes(data[: len(data) // 2])
    flipped = bytearray(second.read_bytes())
    flipped[-1] ^= 0xFF
    second.write_bytes(bytes(flipped))
    return oldest, second


def test_torn_and_corrupt_files_are_skipped_with_a_warning_and_moved_aside(tmp_path):
    port = closed_port()
    env = job_env(f"http://127.0.0.1:{port}", tmp_path, OTEL_BSP_MAX_EXPORT_BATCH_SIZE="50")
    first = run_job(env, "damaged", 200, 0, 0)
    assert first["traces"]["spooled"] == 200
    # Batches end at 50 items or when the schedule delay fires first: their sizes vary.
    held = {path.name: span_names_in(path) for path in request_files(tmp_path)}
    assert all(len(names) == items_in(tmp_path / name) <= 50 for name, names in held.items())
    assert sorted(name for names in held.values() for name in names) == sorted(
        f"damaged-span-{i}" for i in range(200)
    )
    torn, flipped = damage(tmp_path)
    lost = held[torn.name] + held[flipped.name]
    kept = sorted(
        name for file, names in held.items() if file not in (torn.name, flipped.name) for name in names
    )
    assert kept, "some files were left undamaged"

    receiver = HttpReceiver(port)
    try:
        finished = subprocess.run(
            [sys.executable, str(JOB), "after", "0", "0", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        names = [span.name for span in receiver.received.spans()]
    finally:
        receiver.close()
    assert finished.returncode == 0, finished.stderr
    assert sorted(names) == kept, "exactly the spans of the undamaged files, once each"
    assert not set(names) & set(lost)
    report = json.loads(finished.stdout.splitlines()[-1])["traces"]
    assert report["spool_corrupt"] == 2
    assert report["replayed"] == len(kept) == 200 - len(lost)
    for path in (torn, flipped):
        assert not path.exists()
        assert Path(f"{path}.corrupt").exists(), "kept aside for a person to look at"
        assert finished.stderr.count(path.name) == 1, "one warning naming the file"
    assert request_files(tmp_path) == []


def test_an_unusable_directory_warns_once_and_delivers_from_memory(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    receiver = HttpReceiver()
    try:
        env = job_env(f"http://127.0.0.1:{receiver.port}", blocker / "spool")
        report = run_job(env, "memory", 300, 20, 3)
        names = [span.name for span in receiver.received.spans()]
    finally:
        receiver.close()
    assert len(names) == 300
    assert report["traces"]["exported"] == 300
    assert report["traces"]["spooled"] == 0


def test_sls_requests_wait_on_disk_while_sls_fails_and_arrive_signed_when_it_recovers(
    tmp_path, monkeypatch, caplog
):
    fake = FakeSls()
    try:
        busy = {"status": 503, "code": "ServerBusy", "message": "busy"}
        fake.script(*[busy] * 3)
        monkeypatch.setenv("OTEL_RUST_EXPORTER_SPOOL_DIR", str(tmp_path))
        processor = fake.processor(max_export_batch_size=10)
        provider = LoggerProvider(shutdown_on_exit=False)
        provider.add_log_record_processor(processor)
        logger = provider.get_logger("spool-sls")
        with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
            for i in range(40):
                logger.emit(body=f"sls-{i}")
            processor.force_flush(10_000)
            logs = fake.wait_for_logs(40)
            provider.shutdown()
        stats = processor.stats()
        bodies = sorted(dict(log["contents"])["content"] for log in logs)
        failing_problems = problems(fake)
    finally:
        fake.close()
    assert bodies == sorted(f"sls-{i}" for i in range(40))
    assert failing_problems == [], "replayed requests are signed at send time and verify"
    assert stats["spooled"] > 0
    assert stats["replayed"] == stats["spooled"]
    assert request_files(tmp_path) == []


def test_a_disk_that_refuses_writes_falls_back_to_memory_with_one_warning(tmp_path, caplog):
    from opentelemetry.sdk.trace import TracerProvider
    from otel_rust_exporter import RustSpanProcessor

    from tests.support.otlp_receivers import Reply

    spool = tmp_path / "spool"
    receiver = HttpReceiver()
    try:
        processor = RustSpanProcessor(receiver.endpoint, spool_dir=str(spool), max_export_batch_size=10)
        # The runtime creates the directory and reads it, then takes its lock to look for
        # requests: only then is the spool known usable. Replaced by a file after that, every
        # write fails. (Replaced earlier, the spool would be unusable from the start.)
        lock = spool / "spool.lock"
        deadline = time.monotonic() + 30
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert lock.exists(), "the runtime never looked in the spool"
        while spool.is_dir():
            # The replay task may take the lock again (creating the file) while it goes.
            shutil.rmtree(spool, ignore_errors=True)
        spool.write_text("in the way")
        receiver.reply_with(*[Reply(http_status=503)] * 3)
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(processor)
        tracer = provider.get_tracer("refused")
        with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
            for i in range(30):
                tracer.start_span(f"refused-{i}").end()
            assert processor.force_flush(20_000)
            provider.shutdown()
        names = sorted(span.name for span in receiver.received.spans())
    finally:
        receiver.close()
    assert names == sorted(f"refused-{i}" for i in range(30)), "retried in memory instead"
    stats = processor.stats()
    assert (stats["spooled"], stats["exported"]) == (0, 30)
    refusals = [
        record for record in caplog.records if "cannot write to the spool directory" in record.getMessage()
    ]
    assert len(refusals) == 1


def test_spooled_sls_requests_hold_no_credentials(tmp_path):
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from otel_sls_exporter import SLSLogExporter

    secret, key_id, token = "s3cret-Value-that-signs", "LTAIkeyid0123", "sts-token-value"
    exporter = SLSLogExporter(
        f"http://127.0.0.1:{closed_port()}",
        "project",
        "store",
        access_key_id=key_id,
        access_key_secret=secret,
        security_token=token,
        spool_dir=str(tmp_path),
    )
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    provider.get_logger("secrets").emit(body="a log")
    exporter.shutdown()
    assert exporter.stats()["spooled"] == 1
    (spooled,) = request_files(tmp_path)
    data = spooled.read_bytes()
    for value in (secret, key_id, token, "LOG ", "Signature"):
        assert value.encode() not in data
