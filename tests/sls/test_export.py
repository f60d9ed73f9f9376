"""SLSLogRecordProcessor / SLSLogExporter against the fake_sls SLS server, which verifies every
request with aliyun-log-python-sdk's own functions (see tests/support/fake_sls_server.py)."""

from __future__ import annotations

import logging
import time

import pytest
from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from otel_sls_exporter import SLSLogExporter, SLSLogRecordProcessor

from tests.support.fake_sls import FakeSls, contents
from tests.support.our_logging import root_logs_exported_through

RFC1123 = "%a, %d %b %Y %H:%M:%S GMT"


class Pipeline:
    """A LoggerProvider with `processor`, and a Python logger wired to it."""

    def __init__(self, processor, logger_name: str = "app.orders", **resource) -> None:
        self.processor = processor
        self.provider = LoggerProvider(
            resource=Resource.create({"service.name": "checkout", **resource}),
            shutdown_on_exit=False,
        )
        self.provider.add_log_record_processor(processor)
        self.handler = LoggingHandler(logger_provider=self.provider)
        self.logger = logging.getLogger(logger_name)
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.logger.addHandler(self.handler)

    def close(self) -> None:
        self.logger.removeHandler(self.handler)
        self.provider.shutdown()


@pytest.fixture
def pipelines():
    made: list[Pipeline] = []

    def make(processor, **kwargs) -> Pipeline:
        made.append(Pipeline(processor, **kwargs))
        return made[-1]

    yield make
    for pipeline in made:
        pipeline.close()


def test_logs_arrive_signed_compressed_and_mapped(fake_sls, pipelines):
    pipeline = pipelines(fake_sls.processor(topic="orders", source="10.1.2.3"))
    before = time.time()
    pipeline.logger.warning(
        "payment %s failed ✓", "42", extra={"order.id": 42, "ключ": "значение 🚀", "ok": False}
    )
    assert pipeline.processor.force_flush()
    [request] = fake_sls.requests()
    assert request["problem"] is None
    assert request["reply"]["status"] == 200
    assert request["path"] == "/logstores/store/shards/lb"
    headers = request["headers"]
    assert headers["host"] == "test-project.127.0.0.1"
    assert headers["x-log-apiversion"] == "0.6.0"
    assert headers["x-log-signaturemethod"] == "hmac-sha1"
    assert headers["x-log-compresstype"] == "lz4"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["content-md5"].isupper() and len(headers["content-md5"]) == 32
    assert headers["authorization"].startswith(f"LOG {fake_sls.access_key_id}:")
    signed_at = time.mktime(time.strptime(headers["date"], RFC1123)) - time.timezone
    assert abs(signed_at - before) < 60

    group = request["log_group"]
    assert group["topic"] == "orders"
    assert group["source"] == "10.1.2.3"
    tags = dict(group["tags"])
    assert tags["service.name"] == "checkout"
    assert tags["telemetry.sdk.language"] == "python"
    [log] = group["logs"]
    assert before - 1 <= log["time"] <= time.time()
    assert 0 <= log["time_ns"] < 1_000_000_000
    fields = contents(log)
    assert fields["content"] == "payment 42 failed ✓"
    assert fields["level"] == "WARN"
    assert fields["severity_number"] == "13"
    assert fields["attributes.order.id"] == "42"
    assert fields["attributes.ключ"] == "значение 🚀"
    assert fields["attributes.ok"] == "false"
    assert fields["scope.name"] == "app.orders"
    assert "trace_id" not in fields


def test_default_source_is_the_host_ip_and_non_string_bodies_are_json(fake_sls, pipelines):
    pipeline = pipelines(fake_sls.processor())
    pipeline.logger.info({"event": "login", "user": {"id": 7}, "tags": ["a", "b"]})
    assert pipeline.processor.force_flush()
    [log] = fake_sls.delivered_logs()
    assert log["group"]["source"] == "127.0.0.1"
    assert contents(log)["content"] == '{"event":"login","user":{"id":7},"tags":["a","b"]}'


def test_logs_inside_spans_carry_the_trace_context(fake_sls, pipelines):
    pipeline = pipelines(fake_sls.processor())
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("checkout") as span:
        pipeline.logger.error("inside")
        context = span.get_span_context()
    pipeline.logger.error("outside")
    assert pipeline.processor.force_flush()
    inside, outside = (contents(log) for log in fake_sls.delivered_logs())
    assert inside["trace_id"] == trace.format_trace_id(context.trace_id)
    assert inside["span_id"] == trace.format_span_id(context.span_id)
    assert inside["trace_flags"] == f"{int(context.trace_flags):02x}"
    assert "trace_id" not in outside and "span_id" not in outside


def test_sts_token_is_sent_and_accepted(pipelines):
    fake_sls = FakeSls(security_token="CAIS" + "x" * 40)
    try:
        pipeline = pipelines(fake_sls.processor())
        pipeline.logger.info("with a token")
        assert pipeline.processor.force_flush()
        [request] = fake_sls.requests()
        assert request["problem"] is None
        assert request["headers"]["x-acs-security-token"] == fake_sls.security_token
    finally:
        fake_sls.close()


def test_hash_key_routes_to_a_shard(fake_sls, pipelines):
    pipeline = pipelines(fake_sls.processor(hash_key="5d41402abc4b2a76b9719d911017c592"))
    pipeline.logger.info("routed")
    assert pipeline.processor.force_flush()
    [request] = fake_sls.requests()
    assert request["problem"] is None
    assert request["path"] == "/logstores/store/shards/route"
    assert request["query"] == {"key": "5d41402abc4b2a76b9719d911017c592"}


def test_v4_signature_is_accepted(fake_sls, pipelines):
    pipeline = pipelines(fake_sls.processor(signature_version="v4", region=fake_sls.region, hash_key="k ✓/x"))
    pipeline.logger.info("v4 ✓")
    assert pipeline.processor.force_flush()
    [request] = fake_sls.requests()
    assert request["problem"] is None
    assert request["headers"]["authorization"].startswith(
        f"SLS4-HMAC-SHA256 Credential={fake_sls.access_key_id}/"
    )
    assert request["query"] == {"key": "k ✓/x"}
    assert contents(request["log_group"]["logs"][0])["content"] == "v4 ✓"


def test_a_wrong_secret_is_refused_by_the_server(fake_sls, pipelines, caplog):
    processor = SLSLogRecordProcessor(
        fake_sls.endpoint,
        fake_sls.project,
        "store",
        access_key_id=fake_sls.access_key_id,
        access_key_secret="wrong-secret-value",
    )
    pipeline = pipelines(processor)
    pipeline.logger.info("forged")
    assert not processor.force_flush()
    assert [request["reply"].get("code") for request in fake_sls.requests()] == ["SignatureNotMatch"]


def test_more_than_4096_records_are_split_into_several_requests(fake_sls, pipelines):
    processor = fake_sls.processor(max_queue_size=10_000, max_export_batch_size=5_000)
    pipeline = pipelines(processor)
    for index in range(5_000):
        pipeline.logger.info("record %d", index)
    assert processor.force_flush()
    counts = [len(request["log_group"]["logs"]) for request in fake_sls.requests()]
    assert max(counts) <= 4096 and sum(counts) == 5_000 and len(counts) >= 2
    delivered = [contents(log)["content"] for log in fake_sls.delivered_logs()]
    assert sorted(delivered) == sorted(f"record {index}" for index in range(5_000))


def test_the_exporter_works_behind_a_stock_processor(fake_sls, pipelines):
    exporter = SLSLogExporter(fake_sls.endpoint, fake_sls.project, "store", **fake_sls.credentials())
    pipeline = pipelines(SimpleLogRecordProcessor(exporter))
    pipeline.logger.info("simple ✓")
    [log] = fake_sls.wait_for_logs(1)
    assert contents(log)["content"] == "simple ✓"


def test_503_then_200_is_delivered_exactly_once(fake_sls, pipelines):
    fake_sls.script({"status": 503, "code": "ServerBusy", "message": "busy"})
    pipeline = pipelines(fake_sls.processor())
    pipeline.logger.info("once")
    assert pipeline.processor.force_flush()
    assert [request["reply"]["status"] for request in fake_sls.requests()] == [503, 200]
    assert [contents(log)["content"] for log in fake_sls.delivered_logs()] == ["once"]
    assert pipeline.processor.stats()["exported"] == 1


def test_write_quota_exceeded_is_retried(fake_sls, pipelines):
    fake_sls.script(
        {"status": 403, "code": "WriteQuotaExceed", "message": "quota"},
        {"status": 403, "code": "ShardWriteQuotaExceed", "message": "shard quota"},
    )
    pipeline = pipelines(fake_sls.processor())
    pipeline.logger.info("after the quota")
    assert pipeline.processor.force_flush()
    assert [request["reply"]["status"] for request in fake_sls.requests()] == [403, 403, 200]
    assert len(fake_sls.delivered_logs()) == 1


def test_401_is_not_retried_and_logged_once_with_the_request_id(fake_sls, pipelines, caplog):
    # SLS may quote what it refused; the reply here quotes the AccessKey id.
    fake_sls.script(
        {"status": 401, "code": "Unauthorized", "message": f"denied for {fake_sls.access_key_id}"},
        {"status": 401, "code": "Unauthorized", "message": "denied again"},
    )
    pipeline = pipelines(fake_sls.processor(schedule_delay_millis=60_000))
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        pipeline.logger.info("first")
        assert not pipeline.processor.force_flush()
        pipeline.logger.info("second")
        assert not pipeline.processor.force_flush()
    requests = fake_sls.requests()
    assert [request["reply"]["status"] for request in requests] == [401, 401]
    errors = [record.getMessage() for record in caplog.records if record.name == "otel_rust_exporter"]
    assert len(errors) == 1, errors
    [message] = errors
    assert "errorCode Unauthorized" in message
    assert "not retried" in message
    assert "request id " in message and "(none)" not in message
    assert "denied for ***" in message
    assert pipeline.processor.stats()["failed"] == 2


def test_secrets_never_appear_in_logs_reprs_or_errors(pipelines, caplog):
    fake_sls = FakeSls(security_token="CAIS" + "t" * 40)
    try:
        fake_sls.script({"status": 503, "code": "ServerBusy", "message": fake_sls.access_key_secret})
        processor = fake_sls.processor(timeout=0.5)
        exporter = SLSLogExporter(fake_sls.endpoint, fake_sls.project, "store", **fake_sls.credentials())
        pipeline = pipelines(processor)
        with caplog.at_level(logging.DEBUG):
            pipeline.logger.info("secret test")
            processor.force_flush()
            # An unreachable endpoint: the connection error is logged too.
            unreachable = SLSLogRecordProcessor(
                "http://127.0.0.1:9", fake_sls.project, "store", **fake_sls.credentials(), timeout=0.3
            )
            pipelines(unreachable, logger_name="app.unreachable").logger.info("lost")
            assert not unreachable.force_flush()
        shown = "\n".join(
            [repr(processor), repr(exporter), repr(unreachable), str(processor.stats()), caplog.text]
        )
        assert "connection" in caplog.text.lower()
        for secret in (fake_sls.access_key_id, fake_sls.access_key_secret, fake_sls.security_token):
            assert secret not in shown
    finally:
        fake_sls.close()


def test_missing_configuration_names_the_variable_and_the_app_runs_on(monkeypatch, pipelines, caplog):
    for name in ("OTEL_EXPORTER_SLS_ENDPOINT", "OTEL_EXPORTER_SLS_PROJECT", "OTEL_EXPORTER_SLS_LOGSTORE"):
        monkeypatch.setenv(name, "x" if name != "OTEL_EXPORTER_SLS_LOGSTORE" else "")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI1234567890")
    monkeypatch.delenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", raising=False)
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        processor = SLSLogRecordProcessor()
        exporter = SLSLogExporter()
    messages = [record.getMessage() for record in caplog.records]
    assert (
        messages
        == [
            "SLS log export is disabled: set OTEL_EXPORTER_SLS_LOGSTORE, "
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET (or pass the matching constructor argument)"
        ]
        * 2
    )
    pipeline = pipelines(processor)
    pipeline.logger.info("goes nowhere")
    assert processor.force_flush()
    assert repr(processor) == "SLSLogRecordProcessor(disabled)"
    assert repr(exporter) == "SLSLogExporter(disabled)"


def test_our_own_warnings_are_not_exported_to_sls(fake_sls):
    """A failure logs on ``otel_rust_exporter``; with the SDK's handler on the root logger
    that record reaches our processor, which must not send it (or it would fail, log...)."""
    fake_sls.script({"status": 400, "code": "PostBodyInvalid", "message": "rejected"})
    processor = fake_sls.processor(schedule_delay_millis=60_000)
    with root_logs_exported_through(processor):
        logging.getLogger("app.loop").warning("first")
        assert not processor.force_flush()
        logging.getLogger("otel_rust_exporter.sls").warning("a child of our logger")
        logging.getLogger("app.loop").warning("second")
        assert processor.force_flush()
    sent = [contents(log) for request in fake_sls.requests() for log in request["log_group"]["logs"]]
    assert [fields["content"] for fields in sent] == ["first", "second"]
    assert all(not fields["scope.name"].startswith("otel_rust_exporter") for fields in sent)


def test_a_synchronous_export_leaves_out_only_the_unreadable_records(fake_sls):
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("sync")
    logger.emit(body="first")
    logger.emit(body="second")
    first, second = memory.get_finished_logs()
    exporter = SLSLogExporter(fake_sls.endpoint, fake_sls.project, "store", **fake_sls.credentials())
    assert exporter.export([first, object(), second]).name == "SUCCESS"
    assert sorted(contents(log)["content"] for log in fake_sls.wait_for_logs(2)) == ["first", "second"]
    assert exporter.export([object()]).name == "FAILURE"
