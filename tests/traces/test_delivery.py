"""Delivery semantics against real loopback receivers: retry, permanent failures, partial
success, queue overflow, force_flush, shutdown and delivery at interpreter exit."""

import logging
import threading
import time

import grpc
import pytest

from tests.apps import PYTHON, app, exporter_env, run
from tests.support.delivery import (
    OVERFLOWING,
    end_spans,
    overflow,
    permanent_failure,
    small_backlog,
    start,
    transient_failure,
)
from tests.support.otlp_receivers import Reply
from tests.support.our_logging import our_records

pytestmark = pytest.mark.timeout(60)


def unique_span_ids(received) -> set:
    spans = received.spans()
    ids = {span.span_id for span in spans}
    assert len(ids) == len(spans), "a span was delivered more than once"
    return ids


def test_a_transient_failure_is_retried_and_delivered_exactly_once(receiver):
    receiver.reply_with(transient_failure(receiver.protocol))
    processor, tracer = start(receiver)
    end_spans(tracer, 3)

    assert processor.force_flush(10_000) is True
    assert receiver.received.attempts == 2
    assert len(unique_span_ids(receiver.received)) == 3
    stats = processor.stats()
    assert (stats["exported"], stats["failed"]) == (3, 0)


def replies(http_statuses: tuple, grpc_codes: tuple) -> list[Reply]:
    return [Reply(http_status=status) for status in http_statuses] + [
        Reply(grpc_code=grpc.StatusCode[code]) for code in grpc_codes
    ]


RETRYABLE = replies(
    (429, 502, 504), ("CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "DATA_LOSS")
)
# RESOURCE_EXHAUSTED is retryable only when the server sends RetryInfo, which this lacks.
NOT_RETRYABLE = replies((401, 404, 500), ("RESOURCE_EXHAUSTED", "UNAUTHENTICATED", "INTERNAL"))


def flush_one_span_answered(failure: Reply, request) -> tuple:
    """Ends one span through a processor whose first export gets ``failure`` (from a receiver
    of its protocol) and flushes: (the flush's result, the processor, what was received)."""
    receiver = request.getfixturevalue("grpc_receiver" if failure.grpc_code else "http_receiver")
    receiver.protocol = "grpc" if failure.grpc_code else "http/protobuf"
    receiver.reply_with(failure)
    processor, tracer = start(receiver)
    end_spans(tracer, 1)
    return processor.force_flush(10_000), processor, receiver.received


def reply_id(reply: Reply) -> str:
    return reply.grpc_code.name if reply.grpc_code else f"HTTP {reply.http_status}"


@pytest.mark.parametrize("failure", RETRYABLE, ids=reply_id)
def test_every_retryable_response_is_retried(failure, request):
    flushed, _, received = flush_one_span_answered(failure, request)
    assert flushed is True
    assert received.attempts == 2


@pytest.mark.parametrize("failure", NOT_RETRYABLE, ids=reply_id)
def test_every_other_error_response_fails_at_once(failure, request):
    flushed, processor, received = flush_one_span_answered(failure, request)
    assert flushed is False
    assert received.attempts == 1
    assert processor.stats()["failed"] == 1


def test_retry_after_is_honoured(http_receiver):
    http_receiver.protocol = "http/protobuf"
    http_receiver.reply_with(Reply(http_status=429, retry_after="1"))
    processor, tracer = start(http_receiver)
    end_spans(tracer, 1)

    started = time.monotonic()
    assert processor.force_flush(10_000) is True
    # Backoff alone would have retried after ~100 ms.
    assert time.monotonic() - started >= 0.9
    assert http_receiver.received.attempts == 2
    assert len(http_receiver.received.spans()) == 1


def test_a_permanent_failure_is_not_retried_counted_and_logged_once(receiver, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    receiver.reply_with(permanent_failure(receiver.protocol), permanent_failure(receiver.protocol))
    processor, tracer = start(receiver)

    end_spans(tracer, 2, "first-batch")
    assert processor.force_flush(10_000) is False
    assert receiver.received.attempts == 1
    end_spans(tracer, 3, "second-batch")
    assert processor.force_flush(10_000) is False
    assert receiver.received.attempts == 2

    assert processor.stats()["failed"] == 5
    assert processor.stats()["exported"] == 0
    assert len(our_records(caplog, logging.ERROR)) == 1


def test_partial_success_is_counted_as_rejected_and_warned(receiver, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    receiver.reply_with(Reply(rejected=2, error_message="attribute too large"))
    processor, tracer = start(receiver)
    end_spans(tracer, 5)

    assert processor.force_flush(10_000) is True
    assert processor.stats()["rejected"] == 2
    warnings = our_records(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert "attribute too large" in warnings[0].getMessage()


def test_overflow_drops_are_counted_and_nothing_accepted_is_lost(receiver, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    stats = overflow(receiver, start, end_spans)
    assert len(unique_span_ids(receiver.received)) == stats["accepted"]
    assert any("dropped" in record.getMessage() for record in our_records(caplog, logging.WARNING))


def test_a_burst_ten_times_the_queue_arrives_whole_while_every_export_slot_is_busy(http_receiver):
    """max_queue_size bounds spans waiting to be batched, as the SDK's queue does (it pops
    a batch before exporting it): batches waiting for one of the four export slots, all
    held here by slow answers, are out of it, bounded by max_backlog_bytes instead."""
    http_receiver.reply_with(*[Reply(delay=0.5)] * 4)
    processor, tracer = start(http_receiver, max_queue_size=500, max_export_batch_size=10)
    for burst in range(25):
        end_spans(tracer, 200, f"burst-{burst}")
        time.sleep(0.001)  # lets the exporter's thread run on a busy machine
    assert processor.force_flush(20_000) is True
    stats = processor.stats()
    assert (stats["accepted"], stats["dropped"], stats["exported"]) == (5000, 0, 5000)
    assert len(unique_span_ids(http_receiver.received)) == 5000


def test_reporting_a_drop_never_stops_the_queue_draining(http_receiver):
    """The drop warning goes to Python's logging, which needs the GIL; the thread that
    drains the queue must not wait for it. A handler that blocks stands in for a busy
    application holding the GIL: exports must go on while it blocks."""
    reporting, release = threading.Event(), threading.Event()

    class Blocking(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "dropped so far" in record.getMessage():
                reporting.set()
                release.wait(30)

    handler = Blocking()
    logging.getLogger("otel_rust_exporter").addHandler(handler)
    try:
        http_receiver.reply_with(Reply(delay=0.3))
        with small_backlog():
            processor, tracer = start(http_receiver, max_queue_size=10, max_export_batch_size=10)
        end_spans(tracer, OVERFLOWING, "flood")
        assert reporting.wait(10), "no drop warning"
        assert processor.force_flush(10_000) is True
        stats = processor.stats()
        assert stats["dropped"] > 0
        assert stats["exported"] == stats["accepted"]
        end_spans(tracer, 5, "later")
        assert processor.force_flush(10_000) is True
        assert {f"later-{i}" for i in range(5)} <= {span.name for span in http_receiver.received.spans()}
    finally:
        release.set()
        logging.getLogger("otel_rust_exporter").removeHandler(handler)


def test_force_flush_delivers_everything_accepted(receiver):
    processor, tracer = start(receiver, max_queue_size=5_000)
    end_spans(tracer, 5_000)

    assert processor.force_flush(30_000) is True
    assert len(unique_span_ids(receiver.received)) == 5_000
    assert processor.stats()["exported"] == 5_000


def test_force_flush_with_a_short_timeout_returns_false_against_a_hanging_receiver(receiver):
    receiver.reply_with(Reply(delay=2.0))
    processor, tracer = start(receiver)
    end_spans(tracer, 1)

    started = time.monotonic()
    assert processor.force_flush(200) is False
    # Does not wait for the receiver (2 s), let alone the export timeout (10 s).
    assert time.monotonic() - started < 1.5


def test_shutdown_delivers_the_queue_is_idempotent_and_later_spans_are_dropped(receiver):
    processor, tracer = start(receiver)
    end_spans(tracer, 3, "before-shutdown")

    processor.shutdown()
    assert sorted(span.name for span in receiver.received.spans()) == [
        f"before-shutdown-{i}" for i in range(3)
    ]
    processor.shutdown()
    end_spans(tracer, 2, "after-shutdown")
    assert processor.force_flush(1_000) is True

    assert len(receiver.received.spans()) == 3
    assert receiver.received.attempts == 1
    stats = processor.stats()
    assert (stats["accepted"], stats["exported"], stats["dropped"]) == (3, 3, 2)


def test_spans_still_queued_at_exit_are_delivered(receiver):
    env = exporter_env(receiver.endpoint, receiver.protocol)
    result = run(PYTHON, app("spans_then_exit.py"), "200", env=env)

    assert result.returncode == 0, result.stderr
    assert len(unique_span_ids(receiver.received)) == 200
    assert result.stderr == ""
