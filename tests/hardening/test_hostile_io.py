"""A hostile collector, proxy or SLS endpoint, and a careless configuration: response
bodies are read up to a bound, redirects are never followed, our secrets never show in
logs, reprs or attributes, and SLS names and framing headers are checked up front."""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import sys
from typing import Any

import grpc
import otel_rust_exporter
import pytest
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_rust_exporter import RustOTLPSpanExporter, RustSpanProcessor
from otel_sls_exporter import SLSLogExporter, SLSLogRecordProcessor

from tests.apps import app
from tests.support.environment import unset_variables
from tests.support.hostile_http import Answer, HostileHttpServer, Http2RedirectServer
from tests.support.otlp_receivers import Reply

pytestmark = pytest.mark.timeout(120)

APP = app("hostile_body_client.py")
TOKEN = "tok-" + secrets.token_hex(12)
API_KEY = "key-" + secrets.token_hex(12)
HEADERS = {"authorization": f"Bearer {TOKEN}", "x-api-key": API_KEY}
ACCESS_KEY_ID = "LTAI" + secrets.token_hex(8)
ACCESS_KEY_SECRET = "sk-" + secrets.token_hex(12)
STS_TOKEN = "CAIS" + secrets.token_hex(20)
SLS_CREDENTIALS = {
    "access_key_id": ACCESS_KEY_ID,
    "access_key_secret": ACCESS_KEY_SECRET,
    "security_token": STS_TOKEN,
}
SECRETS = (TOKEN, API_KEY, ACCESS_KEY_ID, ACCESS_KEY_SECRET, STS_TOKEN)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    unset_variables(monkeypatch, "OTEL_EXPORTER_", "OTEL_BSP_", "OTEL_BLRP_", "ALIBABA_CLOUD_")


@pytest.fixture
def servers():
    made: list[HostileHttpServer] = []

    def make(*answers: Answer) -> HostileHttpServer:
        made.append(HostileHttpServer(*answers))
        return made[-1]

    yield make
    for server in made:
        server.close()


def finished_spans():
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.get_tracer("hostile").start_span("span").end()
    provider.shutdown()
    return memory.get_finished_spans()


def emitted_log_records():
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "hostile"}), shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = logging.getLogger("app.hostile")
    logger.propagate = False
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    logger.warning("a record")
    logger.removeHandler(handler)
    provider.shutdown()
    return memory.get_finished_logs()


def our_lines(caplog, level: int = logging.WARNING) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("otel_rust_exporter") and record.levelno >= level
    ]


def assert_no_secret(*texts: str) -> None:
    shown = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in shown


def sls_exporter(endpoint: str, **overrides: Any) -> SLSLogExporter:
    arguments: dict[str, Any] = {
        "project": "test-project",
        "logstore": "store",
        "source": "127.0.0.1",
        **SLS_CREDENTIALS,
    }
    arguments.update(overrides)
    return SLSLogExporter(endpoint, arguments.pop("project"), arguments.pop("logstore"), **arguments)


# Bounded bodies


def test_an_endless_200_body_is_a_failure_and_not_read_on(servers, caplog):
    server = servers(Answer(endless=True, max_bytes=256 << 20))
    exporter = RustOTLPSpanExporter(endpoint=f"{server.url}/v1/traces", timeout=2)
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        assert exporter.export(finished_spans()) == SpanExportResult.FAILURE
    [line] = our_lines(caplog)
    assert "200 OK with a body over 64 KiB" in line


def test_a_200_whose_body_breaks_is_a_failure(servers, caplog):
    # Announces 1000 bytes, sends none, closes.
    server = servers(Answer(huge=1000, max_seconds=0))
    exporter = RustOTLPSpanExporter(endpoint=f"{server.url}/v1/traces", timeout=1)
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        assert exporter.export(finished_spans()) == SpanExportResult.FAILURE
    [line] = our_lines(caplog)
    assert "200 OK but its body failed" in line


def test_a_small_200_that_is_not_an_export_response_still_counts(servers):
    # Some proxies answer 200 with JSON: the request was taken, there is no partial success.
    server = servers(Answer(body=b'{"status": "accepted"}'))
    exporter = RustOTLPSpanExporter(endpoint=f"{server.url}/v1/traces", timeout=2)
    assert exporter.export(finished_spans()) == SpanExportResult.SUCCESS


def test_peak_memory_with_endless_and_huge_bodies_stays_bounded(servers):
    endless = servers(Answer(endless=True, max_seconds=30))
    huge = servers(Answer(status=500, huge=512 << 20, max_seconds=30))
    targets = [f"otlp={server.url}/v1/traces" for server in (endless, huge)]
    targets += [f"sls={server.url}" for server in (endless, huge)]
    finished = subprocess.run(
        [sys.executable, APP, *targets], capture_output=True, text=True, timeout=100, check=True
    )
    report = json.loads(finished.stdout.strip().splitlines()[-1])
    assert report["results"] == ["FAILURE"] * 4
    # A bound on bytes, not time: the bodies are 3 GiB and 512 MiB, and a Python process
    # with the SDK loaded takes about 30 MiB.
    assert report["peak_rss_mib"] < 150, report


# Secrets echoed by the server


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_401_echoing_the_headers_never_shows_their_values(protocol, servers, grpc_receiver, caplog, capfd):
    if protocol == "grpc":
        grpc_receiver.reply_with(Reply(grpc_code=grpc.StatusCode.UNAUTHENTICATED, echo_metadata=True))
        endpoint = grpc_receiver.endpoint
    else:
        endpoint = f"{servers(Answer(status=401, echo_headers=True)).url}/v1/traces"
    exporter = RustOTLPSpanExporter(endpoint=endpoint, protocol=protocol, headers=HEADERS, timeout=2)
    with caplog.at_level(logging.DEBUG):
        assert exporter.export(finished_spans()) == SpanExportResult.FAILURE
    [line] = our_lines(caplog)
    assert ("401" if protocol == "http/protobuf" else "Unauthenticated") in line
    # The echo is there, scrubbed.
    assert "***" in line
    assert_no_secret(caplog.text, *capfd.readouterr())


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_sls_error_fields_echoing_the_request_are_scrubbed(version, servers, caplog, capfd):
    def echo(headers: dict) -> tuple[dict, bytes]:
        body = {"errorCode": headers["x-acs-security-token"], "errorMessage": headers["authorization"]}
        return {"x-log-requestid": headers["authorization"]}, json.dumps(body).encode()

    server = servers(Answer(status=401, reply_from=echo))
    exporter = sls_exporter(server.url, signature_version=version, region="cn-hangzhou")
    with caplog.at_level(logging.DEBUG):
        assert exporter.export(emitted_log_records()).name == "FAILURE"
    [request] = server.received()
    authorization = request.headers["authorization"]
    signature = authorization.rsplit("Signature=" if version == "v4" else ":", 1)[1]
    [line] = our_lines(caplog)
    assert "HTTP 401" in line and "***" in line
    shown = caplog.text + "".join(capfd.readouterr())
    assert signature not in shown
    assert_no_secret(shown)


def test_sls_plain_error_bodies_are_scrubbed_before_they_are_cut(servers, caplog):
    # The token straddles the 200th character, where the excerpt is cut.
    server = servers(Answer(status=502, body=b"x" * 195 + STS_TOKEN.encode()))
    exporter = sls_exporter(server.url, timeout=0.3)
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        assert exporter.export(emitted_log_records()).name == "FAILURE"
    [line] = our_lines(caplog)
    assert "x" * 195 + "***" in line
    assert STS_TOKEN[:5] not in line


def test_sls_errors_are_logged_once_per_family_not_per_code(servers, caplog):
    answers = [Answer(status=401, body=json.dumps({"errorCode": f"Code{i}"}).encode()) for i in range(20)]
    answers.append(Answer(status=404, body=b'{"errorCode": "LogStoreNotExist"}'))
    server = servers(*answers)
    exporter = sls_exporter(server.url)
    records = emitted_log_records()
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        for _ in range(21):
            assert exporter.export(records).name == "FAILURE"
    assert len(server.received()) == 21
    lines = our_lines(caplog)
    assert len(lines) == 2, lines
    # One per family: authentication (whatever the code), then not found.
    assert "errorCode Code0" in lines[0]
    assert "errorCode LogStoreNotExist" in lines[1]


def test_an_endless_200_from_sls_is_not_a_delivery(servers):
    server = servers(Answer(endless=True, max_bytes=256 << 20))
    exporter = sls_exporter(server.url, timeout=1)
    assert exporter.export(emitted_log_records()).name == "FAILURE"


# Redirects


@pytest.mark.parametrize("status", [302, 307, 308])
def test_otlp_http_redirects_are_not_followed(status, servers, caplog, capfd):
    target = servers(Answer())
    # Another host name for the same loopback server, so that a followed redirect arrives.
    location = f"http://user:pw-{TOKEN}@localhost:{target.port}/v1/traces?token={API_KEY}"
    redirector = servers(Answer(status=status, headers={"Location": location}))
    exporter = RustOTLPSpanExporter(endpoint=f"{redirector.url}/v1/traces", headers=HEADERS, timeout=2)
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        assert exporter.export(finished_spans()) == SpanExportResult.FAILURE
        assert exporter.export(finished_spans()) == SpanExportResult.FAILURE
    assert target.received() == []
    # Permanent: one request per export, and one line.
    assert len(redirector.received()) == 2
    [line] = our_lines(caplog)
    assert str(status) in line and "towards host localhost;" in line
    assert "token=" not in line and "user" not in line
    assert_no_secret(caplog.text, *capfd.readouterr())


def test_sls_redirects_are_not_followed(servers, caplog):
    target = servers(Answer())
    redirector = servers(Answer(status=307, headers={"Location": f"http://localhost:{target.port}/"}))
    exporter = sls_exporter(redirector.url)
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        assert exporter.export(emitted_log_records()).name == "FAILURE"
    assert target.received() == []
    [line] = our_lines(caplog)
    assert "307" in line and "towards host localhost;" in line


# Configuration that would send secrets elsewhere


@pytest.mark.parametrize(
    ("project", "logstore", "setting"),
    [
        ("127.0.0.1:{port}/#", "store", "OTEL_EXPORTER_SLS_PROJECT"),
        ("test-project", "x/../../admin?q=1#", "OTEL_EXPORTER_SLS_LOGSTORE"),
    ],
)
def test_sls_names_that_would_change_the_url_are_refused(project, logstore, setting, servers, caplog):
    server = servers(Answer())
    # A host name endpoint: the project is prepended to it.
    endpoint = "http://sls.invalid" if "{port}" in project else server.url
    project = project.format(port=server.port)
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        exporter = sls_exporter(endpoint, project=project, logstore=logstore)
        assert exporter.export(emitted_log_records()).name == "FAILURE"
        processor = SLSLogRecordProcessor(endpoint, project, logstore, **SLS_CREDENTIALS)
        assert processor.force_flush()
    assert server.received() == []
    lines = our_lines(caplog)
    assert len(lines) == 2 and lines[0] == lines[1], lines
    assert setting in lines[0] and "not a valid name" in lines[0]
    assert repr(exporter) == "SLSLogExporter(disabled)"


def test_sls_endpoint_userinfo_is_refused_without_showing_it(servers, caplog):
    server = servers(Answer())
    endpoint = f"http://user:{ACCESS_KEY_SECRET}@127.0.0.1:{server.port}"
    with caplog.at_level(logging.DEBUG):
        exporter = sls_exporter(endpoint)
        assert exporter.export(emitted_log_records()).name == "FAILURE"
    assert server.received() == []
    [line] = our_lines(caplog)
    assert "OTEL_EXPORTER_SLS_ENDPOINT" in line and "user:password@" in line
    assert_no_secret(caplog.text, repr(exporter))


def test_grpc_endpoint_userinfo_is_refused_and_never_sent(grpc_receiver, caplog):
    endpoint = f"http://user:{TOKEN}@127.0.0.1:{grpc_receiver.port}"
    with caplog.at_level(logging.DEBUG):
        exporter = RustOTLPSpanExporter(endpoint=endpoint, protocol="grpc", timeout=2)
        assert exporter.export(finished_spans()) == SpanExportResult.FAILURE
    assert grpc_receiver.received.requests == []
    [line] = our_lines(caplog)
    assert "user:password@" in line and "disabled" in line
    assert_no_secret(caplog.text, repr(exporter))


@pytest.mark.parametrize("header", ["content-length", "transfer-encoding", "host", ":authority"])
def test_framing_headers_are_refused_and_the_export_arrives_whole(header, receiver, caplog):
    value = {"content-length": "5", "transfer-encoding": "chunked"}.get(header, "elsewhere.invalid")
    processor = RustSpanProcessor(
        endpoint=receiver.endpoint,
        protocol=receiver.protocol,
        headers={header: value, "x-kept": "yes"},
    )
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        provider.get_tracer("framing").start_span("whole").end()
        assert processor.force_flush(10_000)
    provider.shutdown()
    assert [span.name for span in receiver.received.spans()] == ["whole"]
    assert receiver.received.headers[0]["x-kept"] == "yes"
    [line] = our_lines(caplog)
    assert f'ignoring header "{header}"' in line and "framed or routed" in line


# Out-of-range values


def test_an_out_of_range_sls_timeout_is_clamped_with_one_warning(monkeypatch, servers, caplog):
    server = servers(Answer())
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        exporter = sls_exporter(server.url, timeout=1e30)
        monkeypatch.setenv("OTEL_EXPORTER_SLS_TIMEOUT", "1e30")
        from_env = sls_exporter(server.url)
        assert exporter.export(emitted_log_records()).name == "SUCCESS"
        assert from_env.export(emitted_log_records()).name == "SUCCESS"
    lines = our_lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0].startswith("timeout is out of range")
    assert lines[1].startswith("OTEL_EXPORTER_SLS_TIMEOUT is out of range")


# Python-visible attributes


def test_secrets_are_not_in_reprs_or_attributes():
    headers = {**HEADERS, "x-extra": TOKEN}
    endpoint = f"http://user:{API_KEY}@127.0.0.1:9/v1/traces"
    objects = [
        # Every class the package exports.
        *(
            getattr(otel_rust_exporter, name)(endpoint=endpoint, headers=headers)
            for name in otel_rust_exporter.__all__
        ),
        sls_exporter("http://127.0.0.1:9"),
        SLSLogRecordProcessor("http://127.0.0.1:9", "test-project", "store", **SLS_CREDENTIALS),
    ]
    for made in objects:
        attributes = vars(made)
        shown = [repr(made), repr(attributes), *(repr(value) for value in attributes.values())]
        assert_no_secret(*shown)
        made.shutdown()


def test_processors_made_from_exporters_keep_the_headers(http_receiver):
    exporter = RustOTLPSpanExporter(endpoint=http_receiver.endpoint, headers=HEADERS)
    processor = RustSpanProcessor.from_exporter(exporter)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    provider.get_tracer("from-exporter").start_span("span").end()
    assert processor.force_flush(10_000)
    provider.shutdown()
    assert http_receiver.received.headers[0]["x-api-key"] == API_KEY


def test_sls_processors_made_from_exporters_keep_the_credentials(servers):
    server = servers(Answer())
    processor = SLSLogRecordProcessor.from_exporter(sls_exporter(server.url))
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(processor)
    logger = logging.getLogger("app.from_exporter")
    logger.propagate = False
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    logger.warning("sent")
    assert processor.force_flush(10_000)
    logger.removeHandler(handler)
    provider.shutdown()
    [request] = server.received()
    assert request.headers["x-acs-security-token"] == STS_TOKEN
    assert request.headers["authorization"].startswith(f"LOG {ACCESS_KEY_ID}:")


def test_grpc_redirects_are_not_followed_and_named(servers, caplog, capfd):
    target = servers(Answer())
    redirector = Http2RedirectServer(f"http://user:pw@localhost:{target.port}/?token={API_KEY}")
    try:
        exporter = RustOTLPSpanExporter(endpoint=redirector.url, protocol="grpc", headers=HEADERS, timeout=2)
        with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
            assert exporter.export(finished_spans()) == SpanExportResult.FAILURE
            assert exporter.export(finished_spans()) == SpanExportResult.FAILURE
    finally:
        redirector.close()
    assert target.received() == []
    # Permanent: one request per export, and one line naming the status.
    assert redirector.requests == 2
    [line] = our_lines(caplog)
    assert "HTTP status code 307" in line
    assert_no_secret(caplog.text, *capfd.readouterr())
