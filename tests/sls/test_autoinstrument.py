"""``opentelemetry-instrument`` with ``OTEL_LOGS_EXPORTER=sls``: the entry point, the
``rust_otlp`` configurator's native batching, delivery at exit, trace correlation."""

from __future__ import annotations

from tests.apps import instrumented_env, run_under_instrument
from tests.support.fake_sls import FakeSls, contents


def test_opentelemetry_instrument_sends_logs_to_sls():
    fake = FakeSls()
    try:
        env = instrumented_env(
            traces="none",
            logs="sls",
            metrics="none",
            OTEL_SERVICE_NAME="shop",
            OTEL_EXPORTER_SLS_TOPIC="instrumented",
            **fake.env(),
        )
        report, result = run_under_instrument("sls_logging.py", env=env)
        assert report["processors"] == ["SLSLogRecordProcessor"]
        logs = fake.wait_for_logs(2)
        assert [request["problem"] for request in fake.requests()] == [None]
        inside, after = (contents(log) for log in logs)
        assert inside["content"] == "order placed ✓"
        assert inside["attributes.order.id"] == "7"
        assert inside["trace_id"] == report["trace_id"]
        assert after["level"] == "WARN" and "trace_id" not in after
        group = logs[0]["group"]
        assert group["topic"] == "instrumented"
        assert dict(group["tags"])["service.name"] == "shop"
        for secret in (fake.access_key_id, fake.access_key_secret):
            assert secret not in result.stderr + result.stdout
    finally:
        fake.close()
