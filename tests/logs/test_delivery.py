"""Log delivery against real loopback receivers: retry, overflow accounting, shutdown,
delivery at exit and after fork, the GIL released while waiting, OTEL_BLRP_* and
OTEL_EXPORTER_OTLP_LOGS_* configuration, sanitized bodies, our own warnings kept out of the
export, and signals that share one runtime without affecting each other."""

import json
import logging
import os
from collections import Counter

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustLogRecordProcessor, RustSpanProcessor

from tests.apps import PYTHON, app, clean_env, run
from tests.support.delivery import NEVER_ON_SCHEDULE_MS, overflow, transient_failure
from tests.support.gil import Counter as CountingThread
from tests.support.otlp_receivers import Reply
from tests.support.our_logging import our_messages, our_records, root_logs_exported_through
from tests.support.tcp import TcpTap

pytestmark = pytest.mark.timeout(60)


def start(receiver, **options) -> tuple:
    options.setdefault("schedule_delay_millis", NEVER_ON_SCHEDULE_MS)
    processor = RustLogRecordProcessor(
        endpoint=receiver.endpoint_for("logs"), protocol=receiver.protocol, **options
    )
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(processor)
    return processor, provider.get_logger("logs-delivery-test")


def emit(logger, count: int, prefix: str = "record") -> None:
    for i in range(count):
        logger.emit(body=f"{prefix}-{i}")


def bodies(received) -> Counter:
    return Counter(record.body.string_value for record in received.log_records())


def test_a_transient_failure_is_retried_and_delivered_exactly_once(receiver):
    receiver.reply_with(transient_failure(receiver.protocol))
    processor, logger = start(receiver)
    emit(logger, 5)

    assert processor.force_flush(10_000) is True
    assert bodies(receiver.logs) == Counter(f"record-{i}" for i in range(5))
    assert receiver.logs.headers[0]  # the retried request is the one recorded
    assert receiver.received.attempts == 2


def test_overflow_drops_are_counted_and_nothing_accepted_is_lost(receiver, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    stats = overflow(receiver, start, emit)
    assert stats["accepted"] == sum(bodies(receiver.logs).values())
    assert set(bodies(receiver.logs).values()) == {1}
    messages = our_messages(caplog, logging.WARNING)
    assert any("dropped so far" in m and "for a full queue (max_queue_size=10)" in m for m in messages)


def test_shutdown_delivers_is_idempotent_and_later_records_are_dropped(receiver):
    processor, logger = start(receiver)
    emit(logger, 3, "before-shutdown")

    processor.shutdown()
    processor.shutdown()
    emit(logger, 2, "after-shutdown")
    assert processor.force_flush(1_000) is True

    assert sorted(bodies(receiver.logs)) == [f"before-shutdown-{i}" for i in range(3)]
    stats = processor.stats()
    assert (stats["accepted"], stats["exported"], stats["dropped"]) == (3, 3, 2)


def test_force_flush_waits_without_the_gil(receiver):
    receiver.reply_with(Reply(delay=1.0))
    processor, logger = start(receiver)
    emit(logger, 1)
    with CountingThread() as counter:
        before = counter.count
        assert processor.force_flush(10_000)
        during_flush = counter.count - before
    assert during_flush > 100_000


def test_shutting_down_one_signal_leaves_the_other_exporting(receiver):
    log_processor, logger = start(receiver)
    span_processor = RustSpanProcessor(
        endpoint=receiver.endpoint_for("traces"),
        protocol=receiver.protocol,
        schedule_delay_millis=NEVER_ON_SCHEDULE_MS,
    )
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(span_processor)
    tracer = tracer_provider.get_tracer("one-runtime-test")

    span_processor.shutdown()
    emit(logger, 4)
    assert log_processor.force_flush(10_000) is True
    assert len(receiver.logs.log_records()) == 4

    second_spans = RustSpanProcessor(endpoint=receiver.endpoint_for("traces"), protocol=receiver.protocol)
    tracer_provider.add_span_processor(second_spans)
    log_processor.shutdown()
    with tracer.start_as_current_span("after the log processor shut down"):
        pass
    assert second_spans.force_flush(10_000) is True
    assert [span.name for span in receiver.received.spans()] == ["after the log processor shut down"]


def test_our_own_warnings_are_not_exported_even_through_a_root_logging_handler(http_receiver, caplog):
    # Every export fails and is logged; with the SDK's handler on the root logger those
    # messages would come back to the processor and feed the failing export.
    http_receiver.reply_with(Reply(http_status=400))
    processor, logger = start(http_receiver)
    with root_logs_exported_through(processor):
        emit(logger, 1, "doomed")
        assert processor.force_flush(10_000) is False
        logging.getLogger("otel_rust_exporter").warning("a warning of ours, logged directly")
        emit(logger, 1, "delivered")
        assert processor.force_flush(10_000) is True
    assert our_records(caplog, logging.ERROR), "the failed export was not logged"
    assert sorted(bodies(http_receiver.logs)) == ["delivered-0"]
    assert processor.stats()["accepted"] == 2


def test_blrp_and_logs_variables_configure_the_processor(http_receiver, monkeypatch):
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", http_receiver.endpoint_for("logs"))
    monkeypatch.setenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "4")
    monkeypatch.setenv("OTEL_BLRP_SCHEDULE_DELAY", str(NEVER_ON_SCHEDULE_MS))
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1000")
    processor = RustLogRecordProcessor()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(processor)
    emit(provider.get_logger("env-test"), 10)

    assert processor.force_flush(10_000) is True
    sizes = [
        sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
        for request in http_receiver.logs.requests
    ]
    # Where batches are cut depends on timing; their size limit does not.
    assert sum(sizes) == 10
    assert max(sizes) == 4
    assert processor._core.endpoint == http_receiver.endpoint_for("logs")


def test_generic_http_endpoint_gets_the_logs_path_appended(http_receiver, monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{http_receiver.port}")
    processor = RustLogRecordProcessor(schedule_delay_millis=NEVER_ON_SCHEDULE_MS)
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(processor)
    emit(provider.get_logger("env-test"), 1)
    assert processor.force_flush(10_000) is True
    assert http_receiver.logs.headers[0][":path"] == "/v1/logs"


SANITIZED_BODIES = """
import json, sys
from opentelemetry.sdk._logs import LoggerProvider
from otel_rust_exporter import RustLogRecordProcessor
from tests.support.our_logging import keep_our_records

kept = keep_our_records()
processor = RustLogRecordProcessor(endpoint=sys.argv[1], schedule_delay_millis=60_000)
provider = LoggerProvider(shutdown_on_exit=False)
provider.add_log_record_processor(processor)
provider.get_logger("bodies").emit(body={"odd": frozenset({"only"}), "text": "lone \\ud800 surrogate"})
flushed = processor.force_flush(10_000)
print(json.dumps({"flushed": flushed, "warnings": [record.getMessage() for record in kept]}))
"""


def test_bodies_protobuf_cannot_carry_are_sanitized_with_one_warning_line_per_kind(http_receiver):
    # In a fresh process: sanitization warnings are rate-limited per process.
    result = run(PYTHON, "-c", SANITIZED_BODIES, http_receiver.endpoint_for("logs"), env=clean_env())
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["flushed"] is True

    (record,) = http_receiver.logs.log_records()
    body = {kv.key: kv.value.string_value for kv in record.body.kvlist_value.values}
    assert body == {"odd": "frozenset({'only'})", "text": "lone \ufffd surrogate"}
    # Each kind of change has its own rate limit: one does not hide the other.
    unsupported, surrogates = sorted(report["warnings"], key=lambda warning: "surrogates" in warning)
    assert unsupported.startswith("log body: unsupported type frozenset")
    assert surrogates.startswith("log body: string had lone surrogates")
    assert "\n" not in unsupported + surrogates


def test_records_still_queued_at_exit_and_after_fork_are_delivered_once_each(receiver):
    env = clean_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint_for("logs").removesuffix("/v1/logs"),
        OTEL_EXPORTER_OTLP_PROTOCOL=receiver.protocol,
    )
    # Neither process flushes: only the at-exit shutdown delivers.
    result = run(PYTHON, app("fork_signals.py"), "logs", "exit", "exit", env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    reports = {report["process"]: report for report in map(json.loads, result.stdout.splitlines())}
    assert reports["parent"]["child_exit_code"] == 0
    assert reports["child"]["stats"]["logs"]["accepted"] == 20

    expected = {
        f"{prefix}-{i}" for prefix in ("parent-before-fork", "parent-after-fork", "child") for i in range(20)
    }
    delivered = bodies(receiver.logs)
    assert set(delivered) == expected
    assert set(delivered.values()) == {1}
    spans = Counter(span.name for span in receiver.received.spans())
    assert set(spans) == expected and set(spans.values()) == {1}
    # Each record carries the span it was emitted in.
    span_ids = {span.name: span.span_id for span in receiver.received.spans()}
    assert all(record.span_id == span_ids[record.body.string_value] for record in receiver.logs.log_records())


def test_signals_to_one_grpc_collector_share_one_connection(grpc_receiver):
    tap = TcpTap(grpc_receiver.port)
    try:
        endpoint = f"http://127.0.0.1:{tap.port}"
        log_processor = RustLogRecordProcessor(endpoint=endpoint, protocol="grpc")
        span_processor = RustSpanProcessor(endpoint=endpoint, protocol="grpc")
        logger_provider = LoggerProvider(shutdown_on_exit=False)
        logger_provider.add_log_record_processor(log_processor)
        tracer_provider = TracerProvider(shutdown_on_exit=False)
        tracer_provider.add_span_processor(span_processor)
        with tracer_provider.get_tracer("shared").start_as_current_span("span"):
            logger_provider.get_logger("shared").emit(body="record")
        assert log_processor.force_flush(10_000) and span_processor.force_flush(10_000)
        log_processor.shutdown()
        span_processor.shutdown()
    finally:
        tap.close()
    assert len(grpc_receiver.logs.log_records()) == 1
    assert len(grpc_receiver.received.spans()) == 1
    assert len(tap.sent) == 1
