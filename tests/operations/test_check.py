"""``python -m otel_rust_exporter check`` against real receivers and the fake SLS: each
scripted failure gets its own diagnosis, in one line, and the exit code says whether
every selected target is deliverable."""

from __future__ import annotations

import json
import ssl
import sys
from pathlib import Path

import pytest

from tests.apps import PYTHON, clean_env, run
from tests.support.fake_sls import SLS_PYTHON, FakeSls
from tests.support.otlp_receivers import Reply, TlsHttpReceiver
from tests.support.tcp import Blackhole, closed_port
from tests.support.tls_certs import make_tls_files

CONSOLE_SCRIPT = str(Path(sys.executable).parent / "otel-rust-exporter")


def check(*flags: str, command=(PYTHON, "-m", "otel_rust_exporter"), **variables: str):
    env = clean_env(**variables)
    for name in list(env):
        if name.startswith("ALIBABA_CLOUD_"):
            del env[name]
    env.update({name: value for name, value in variables.items() if name.startswith("ALIBABA_CLOUD_")})
    result = run(*command, "check", "--json", "--timeout", "2", *flags, env=env)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["deliverable"] == (result.returncode == 0)
    return result, report


def only_target(report: dict) -> dict:
    (target,) = report["targets"]
    return target


def failed_step(target: dict) -> str:
    failed = [probe["step"] for probe in target["probes"] if not probe["ok"]]
    return failed[0] if failed else ""


def test_a_reachable_receiver_is_deliverable_with_the_provenance_of_each_setting(http_receiver):
    result, report = check(
        "--traces",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http_receiver.endpoint,
        OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer%20s3cret-token",
        OTEL_EXPORTER_OTLP_TIMEOUT="3000",
        OTEL_BSP_MAX_QUEUE_SIZE="100",
    )
    target = only_target(report)
    assert result.returncode == 0
    assert target["deliverable"]
    assert [probe["step"] for probe in target["probes"]] == ["dns", "tcp", "export"]
    assert target["sources"]["endpoint"] == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    assert target["sources"]["headers"] == "OTEL_EXPORTER_OTLP_HEADERS"
    assert target["sources"]["timeout"] == "OTEL_EXPORTER_OTLP_TIMEOUT"
    assert target["sources"]["protocol"] == "default"
    assert target["settings"]["timeout"] == 3.0
    # The processor's batching settings, with theirs.
    assert target["settings"]["max_queue_size"] == 100
    assert target["sources"]["max_queue_size"] == "OTEL_BSP_MAX_QUEUE_SIZE"
    assert target["settings"]["schedule_delay"] == 5.0
    assert target["sources"]["schedule_delay"] == "default"
    assert target["settings"]["headers"] == [["authorization", "***"]]
    assert any("as seconds" in warning for warning in target["warnings"])
    assert "s3cret" not in result.stdout + result.stderr
    # The empty export really reached the receiver.
    assert len(http_receiver.received.requests) == 1


def test_the_console_script_prints_one_line_per_probe_and_a_verdict(grpc_receiver):
    env = clean_env(OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_EXPORTER_OTLP_ENDPOINT=grpc_receiver.endpoint)
    result = run(CONSOLE_SCRIPT, "check", "--traces", "--metrics", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("=> OK: deliverable") == 2
    assert "protocol                 grpc  (from OTEL_EXPORTER_OTLP_PROTOCOL)" in result.stdout


def test_a_refused_connection_says_nothing_listens():
    port = closed_port()
    result, report = check("--logs", OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}")
    target = only_target(report)
    assert result.returncode == 1
    assert failed_step(target) == "tcp"
    assert f"nothing listens on 127.0.0.1:{port}" in target["diagnosis"]


def test_an_unresolvable_host_is_named():
    _, report = check(
        "--traces", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://collector.invalid:4318/v1/traces"
    )
    target = only_target(report)
    assert failed_step(target) == "dns"
    assert "'collector.invalid' does not resolve" in target["diagnosis"]


def test_a_certificate_from_an_untrusted_ca_fails_verification_in_plain_words(tmp_path):
    tls = make_tls_files(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.server_cert, tls.server_key)
    receiver = TlsHttpReceiver(context)
    try:
        result, report = check("--traces", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.endpoint)
        target = only_target(report)
        assert result.returncode == 1
        assert failed_step(target) == "tls"
        assert "certificate verification failed" in target["diagnosis"]
        assert "OTEL_EXPORTER_OTLP_CERTIFICATE" in target["diagnosis"]

        # With the CA that signed it, the same receiver is deliverable.
        result, report = check(
            "--traces",
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.endpoint,
            OTEL_EXPORTER_OTLP_CERTIFICATE=str(tls.ca_cert),
        )
        assert result.returncode == 0, report
        assert [probe["step"] for probe in only_target(report)["probes"]] == ["dns", "tcp", "tls", "export"]
    finally:
        receiver.close()


def test_a_401_points_at_the_headers(http_receiver):
    http_receiver.reply_with(Reply(http_status=401))
    result, report = check("--traces", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http_receiver.endpoint)
    target = only_target(report)
    assert result.returncode == 1
    assert failed_step(target) == "export"
    assert "refused the request's credentials (401)" in target["diagnosis"]


def test_a_grpc_endpoint_given_for_http_is_recognised(grpc_receiver):
    port = grpc_receiver.endpoint.rsplit(":", 1)[1]
    _, report = check("--traces", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{port}/v1/traces")
    target = only_target(report)
    assert failed_step(target) == "export"
    assert "is this an OTLP/gRPC endpoint" in target["diagnosis"]


def test_an_http_endpoint_given_for_grpc_is_recognised(http_receiver):
    base = http_receiver.endpoint.rsplit("/v1/", 1)[0]
    _, report = check("--traces", OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_EXPORTER_OTLP_ENDPOINT=base)
    target = only_target(report)
    assert failed_step(target) == "export"
    assert "is this an OTLP/HTTP endpoint" in target["diagnosis"]


def test_one_failing_signal_fails_the_whole_check(http_receiver):
    port = closed_port()
    result, report = check(
        "--traces",
        "--logs",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http_receiver.endpoint,
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=f"http://127.0.0.1:{port}/v1/logs",
    )
    assert result.returncode == 1
    assert [target["deliverable"] for target in report["targets"]] == [True, False]


needs_fake_sls = pytest.mark.skipif(not SLS_PYTHON.exists(), reason="needs .venv-sls (scripts/setup.sh)")


@needs_fake_sls
def test_sls_accepts_the_signed_probe_and_never_shows_the_secret(fake_sls):
    result, report = check("--sls", **fake_sls.env())
    target = only_target(report)
    assert result.returncode == 0, target
    assert target["probes"][-1]["step"] == "putlogs"
    # Every setting says where it came from, secrets included (their values never shown).
    assert target["sources"]["access_key_secret"] == "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
    assert target["sources"]["project"] == "OTEL_EXPORTER_SLS_PROJECT"
    assert target["sources"]["signature"] == "default"
    assert target["sources"]["timeout"] == "default"
    assert fake_sls.access_key_secret not in result.stdout + result.stderr
    assert fake_sls.access_key_id not in result.stdout + result.stderr
    # The fake verified the signature with the official SDK and saw no problem.
    (request,) = fake_sls.requests()
    assert request["problem"] is None


@needs_fake_sls
def test_sls_bad_credentials_are_named(fake_sls):
    env = fake_sls.env(ALIBABA_CLOUD_ACCESS_KEY_SECRET="not-the-secret-at-all")
    result, report = check("--sls", **env)
    target = only_target(report)
    assert result.returncode == 1
    assert "AccessKey secret is wrong" in target["diagnosis"]


@needs_fake_sls
def test_sls_wrong_project_is_named(fake_sls):
    env = fake_sls.env(OTEL_EXPORTER_SLS_PROJECT="someone-elses")
    _, report = check("--sls", **env)
    assert "project does not exist" in only_target(report)["diagnosis"]


@needs_fake_sls
def test_a_wrong_logstore_is_diagnosed_from_the_servers_answer():
    fake = FakeSls(logstores=["store"])
    try:
        result, report = check("--sls", **fake.env(logstore="someone-elses-store"))
    finally:
        fake.close()
    assert result.returncode == 1
    assert "the logstore does not exist" in only_target(report)["diagnosis"]


@needs_fake_sls
def test_clock_skew_is_diagnosed(fake_sls):
    # The fake verifies signatures but not the clock: SLS's answer to a skewed one is
    # scripted.
    fake_sls.script({"status": 400, "code": "RequestTimeTooSkewed", "message": "scripted"})
    result, report = check("--sls", **fake_sls.env())
    assert result.returncode == 1
    assert "clock is more than 15 minutes off" in only_target(report)["diagnosis"]


@needs_fake_sls
def test_sls_network_trouble_is_told_apart(fake_sls):
    env = fake_sls.env(OTEL_EXPORTER_SLS_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    _, report = check("--sls", **env)
    target = only_target(report)
    assert failed_step(target) == "tcp"


@needs_fake_sls
def test_an_sls_endpoint_that_never_answers_is_told_apart(fake_sls):
    silent = Blackhole()
    try:
        _, report = check(
            "--sls", **fake_sls.env(OTEL_EXPORTER_SLS_ENDPOINT=f"http://127.0.0.1:{silent.port}")
        )
    finally:
        silent.close()
    target = only_target(report)
    assert failed_step(target) == "putlogs"
    assert "answer" in target["diagnosis"], target["diagnosis"]


def test_incomplete_sls_configuration_names_the_missing_variables():
    result, report = check("--sls", OTEL_EXPORTER_SLS_ENDPOINT="http://127.0.0.1:1")
    assert result.returncode == 1
    assert "OTEL_EXPORTER_SLS_PROJECT" in only_target(report)["diagnosis"]


def test_check_shows_the_spool_and_its_probe_never_writes_to_it(tmp_path):
    spool = tmp_path / "spool"
    result, report = check(
        "--traces",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{closed_port()}/v1/traces",
        OTEL_RUST_EXPORTER_SPOOL_DIR=str(spool),
        OTEL_RUST_EXPORTER_SPOOL_MAX_BYTES="1048576",
    )
    target = only_target(report)
    assert result.returncode == 1
    assert target["settings"]["spool_dir"] == str(spool)
    assert target["settings"]["spool_max_bytes"] == 1048576
    assert not spool.exists(), "a probe is not telemetry"
