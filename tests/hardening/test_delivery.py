"""Delivery under hostile servers and faults: absurd Retry-After values, a permanent error
followed by a transient one, connections reset mid-request over gRPC, a malformed URL, a
collector that never answers the metric reader, servers cycling through error codes, and
a flood of huge spans with the collector down (memory bounded in bytes)."""

import json
import logging

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustOTLPMetricExporter, RustOTLPSpanExporter, RustSpanProcessor

from tests.apps import PYTHON, clean_env, instrumented_env, run, run_under_instrument
from tests.hardening.test_bad_input import UNREADABLE_SPANS, ended_span
from tests.support.delivery import end_spans, permanent_failure, small_backlog, start, transient_failure
from tests.support.otlp_receivers import GrpcReceiver, Reply
from tests.support.our_logging import our_messages, our_records
from tests.support.tcp import Blackhole, ResettingRelay

pytestmark = pytest.mark.timeout(120)


def test_an_absurd_retry_after_fails_the_batch_without_a_panic(http_receiver, capfd):
    http_receiver.reply_with(Reply(http_status=503, retry_after="18446744073709551615"))
    processor, tracer = start(http_receiver, max_export_batch_size=512)
    end_spans(tracer, 3, "first")
    assert processor.force_flush(10_000) is False
    end_spans(tracer, 2, "second")
    assert processor.force_flush(10_000) is True

    assert sorted(span.name for span in http_receiver.received.spans()) == ["second-0", "second-1"]
    stats = processor.stats()
    assert (stats["failed"], stats["exported"]) == (3, 2)
    stderr = capfd.readouterr().err
    assert "panicked" not in stderr and "overflow" not in stderr
    processor.shutdown()


def test_a_permanent_refusal_does_not_cost_the_next_batch_its_retries(receiver):
    receiver.reply_with(permanent_failure(receiver.protocol), transient_failure(receiver.protocol))
    processor, tracer = start(receiver)
    end_spans(tracer, 4, "refused")
    assert processor.force_flush(10_000) is False
    end_spans(tracer, 4, "retried")
    # Stock retries the transient failure; so do we, although the batch before failed.
    assert processor.force_flush(10_000) is True
    assert sorted(span.name for span in receiver.received.spans()) == [f"retried-{i}" for i in range(4)]
    assert processor.stats()["failed"] == 4
    processor.shutdown()


def test_a_grpc_connection_reset_mid_request_is_retried_like_unavailable():
    collector = GrpcReceiver()
    relay = ResettingRelay(collector.port, resets=1)
    try:
        processor = RustSpanProcessor(
            endpoint=f"http://127.0.0.1:{relay.port}", protocol="grpc", schedule_delay_millis=60_000
        )
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(processor)
        end_spans(provider.get_tracer("reset"), 5)
        assert processor.force_flush(15_000) is True
        assert len(collector.received.spans()) == 5
        assert processor.stats()["failed"] == 0
        processor.shutdown()
    finally:
        relay.close()
        collector.close()


def test_a_malformed_url_is_reported_once_and_never_retried(caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    processor = RustSpanProcessor(endpoint="collector:4318/v1/traces", schedule_delay_millis=60_000)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("malformed")
    for _ in range(3):
        end_spans(tracer, 2)
        assert processor.force_flush(10_000) is False
    errors = our_messages(caplog, logging.ERROR)
    assert len(errors) == 1, errors
    assert "invalid endpoint" in errors[0] and "collector:4318" in errors[0]
    assert processor.stats()["failed"] == 6
    processor.shutdown()


def test_a_server_cycling_through_error_codes_gets_one_line_per_class(http_receiver, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    http_receiver.reply_with(*[Reply(http_status=status) for status in range(400, 420)])
    processor, tracer = start(http_receiver, max_export_batch_size=1, max_queue_size=100)
    for i in range(20):
        end_spans(tracer, 1, f"span-{i}")
        assert processor.force_flush(10_000) is False
    errors = our_messages(caplog, logging.ERROR)
    assert len(errors) == 1, errors
    assert "400 Bad Request" in errors[0]
    assert processor.stats()["failed"] == 20
    processor.shutdown()


def test_the_shutdown_summary_gives_failed_and_dropped_totals(http_receiver, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    # Slow refusals: the queue overflows while the first batches are refused.
    http_receiver.reply_with(*[Reply(http_status=400, delay=0.5)] * 20)
    with small_backlog():
        processor, tracer = start(http_receiver, max_export_batch_size=100, max_queue_size=200)
    end_spans(tracer, 1000)
    processor.force_flush(20_000)
    processor.shutdown()
    stats = processor.stats()
    assert stats["failed"] > 0 and stats["dropped"] > 0, stats
    summaries = [
        m.getMessage() for m in our_records(caplog, logging.WARNING) if "at shutdown" in m.getMessage()
    ]
    assert summaries == [
        f"at shutdown: {stats['accepted']} spans accepted, {stats['exported']} exported, "
        f"{stats['failed']} failed to export, {stats['dropped']} dropped "
        f"({stats['dropped']} for a full queue (max_queue_size=200))"
    ]


def test_a_synchronous_export_leaves_out_only_the_unreadable_items(http_receiver, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    exporter = RustOTLPSpanExporter(endpoint=http_receiver.endpoint)
    unreadable = UNREADABLE_SPANS["span whose attributes raise"]
    result = exporter.export([ended_span("good-1"), unreadable, ended_span("good-2")])
    assert result.name == "SUCCESS"
    assert sorted(span.name for span in http_receiver.received.spans()) == ["good-1", "good-2"]
    warnings = our_messages(caplog, logging.WARNING)
    assert any("left 1 unreadable spans out of an export" in warning for warning in warnings)


# A hang guard, not a timing assertion: the exporter's own timeout (60 s) is far past it,
# so only the reader's 0.3 s budget can end the export in time.
@pytest.mark.timeout(20)
def test_the_metric_reader_is_never_blocked_past_its_export_timeout():
    collector = Blackhole()
    try:
        exporter = RustOTLPMetricExporter(
            endpoint=f"http://127.0.0.1:{collector.port}/v1/metrics", timeout=60
        )
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        provider.get_meter("m").create_counter("c").add(1)
        data = reader.get_metrics_data()
        assert data is not None
        for _ in range(3):
            assert exporter.export(data, timeout_millis=300).name == "FAILURE"
        exporter.shutdown()
        provider.shutdown()
    finally:
        collector.close()


HUGE_SPANS = """
import json, os, resource, sys
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustSpanProcessor

processor = RustSpanProcessor(endpoint=sys.argv[1], timeout=2, schedule_delay_millis=100)
provider = TracerProvider(shutdown_on_exit=False)
provider.add_span_processor(processor)
tracer = provider.get_tracer("huge")
for i in range(3000):
    with tracer.start_as_current_span("huge") as span:
        span.set_attribute("blob", str(i) * (1 << 20) if i < 10 else "x" * (1 << 20))
stats = processor.stats()
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"stats": stats, "peak_mib": peak_mib}), flush=True)
os._exit(0)
"""


def test_huge_spans_with_the_collector_down_stay_within_the_byte_bound():
    collector = Blackhole()
    try:
        result = run(
            PYTHON, "-c", HUGE_SPANS, f"http://127.0.0.1:{collector.port}/v1/traces", env=clean_env()
        )
    finally:
        collector.close()
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    stats = report["stats"]
    assert stats["accepted"] + stats["dropped"] == 3000
    assert stats["dropped"] > 0
    # Stock BatchSpanProcessor peaks at 2.6 GiB here; the default 64 MiB bound keeps ours
    # near the interpreter's own size.
    assert report["peak_mib"] < 600, report


def test_batches_waiting_for_a_collector_that_never_answers_stay_within_the_backlog_bound(monkeypatch):
    monkeypatch.setenv("OTEL_RUST_EXPORTER_MAX_BACKLOG_BYTES", "10000")
    collector = Blackhole()
    try:
        processor = RustSpanProcessor(
            endpoint=f"http://127.0.0.1:{collector.port}/v1/traces",
            max_queue_size=100,
            max_export_batch_size=10,
            schedule_delay_millis=60_000,
        )
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(processor)
        tracer = provider.get_tracer("blackhole")
        for i in range(2000):
            with tracer.start_as_current_span(f"span-{i}") as span:
                span.set_attribute("blob", "x" * 1000)
        stats = processor.stats()
        # Four batches in flight, about 10 kB of batches waiting for them, the queue full.
        assert stats["queued"] == 100
        assert 100 + 4 * 10 < stats["accepted"] <= 100 + 4 * 10 + 2 * 10, stats
        assert stats["accepted"] + stats["dropped"] == 2000
        assert processor.force_flush(100) is False
    finally:
        collector.close()


def test_drops_are_shown_on_stderr_when_only_opentelemetry_handlers_listen(http_receiver):
    # Under opentelemetry-instrument with logging auto-instrumentation, the root logger's
    # only handler is the SDK's LoggingHandler, which never shows a record to anyone.
    # Slow answers and no backlog: the queue overflows.
    http_receiver.reply_with(*[Reply(delay=0.5)] * 4)
    env = instrumented_env(
        traces="rust_otlp",
        logs="rust_otlp",
        metrics="none",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http_receiver.endpoint_for("traces"),
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http_receiver.endpoint_for("logs"),
        OTEL_BSP_MAX_QUEUE_SIZE="64",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="64",
        OTEL_BSP_SCHEDULE_DELAY="60000",
        OTEL_RUST_EXPORTER_MAX_BACKLOG_BYTES="1",
        WORKLOAD_SPANS="5000",
    )
    report, result = run_under_instrument("burst.py", env=env)
    assert report["dropped"] > 0
    assert "otel_rust_exporter: WARNING:" in result.stderr
    assert "spans dropped so far" in result.stderr or "at shutdown" in result.stderr


def test_the_sls_queue_is_bounded_in_bytes_too(caplog):
    from opentelemetry.sdk._logs import LoggerProvider
    from otel_sls_exporter import SLSLogRecordProcessor

    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    collector = Blackhole()
    try:
        processor = SLSLogRecordProcessor(
            f"http://127.0.0.1:{collector.port}",
            "project",
            "store",
            access_key_id="LTAI" + "a" * 20,
            access_key_secret="s" * 30,
            timeout=1,
            max_queue_bytes=100_000,
            schedule_delay_millis=60_000,
        )
        provider = LoggerProvider(shutdown_on_exit=False)
        provider.add_log_record_processor(processor)
        logger = provider.get_logger("big")
        for _ in range(20):
            logger.emit(body="x" * 20_000)
        stats = processor.stats()
        assert stats["accepted"] + stats["dropped"] == 20
        assert 3 <= stats["accepted"] <= 5, stats
        processor.shutdown()
    finally:
        collector.close()
    messages = our_messages(caplog, logging.WARNING)
    assert any("over the queue's byte limit (max_queue_bytes=100000)" in message for message in messages)
