"""Transports as a collector sees them: paths, content types, compression, headers, the
endpoint and protocol variables, and TLS (server verification and client certificates)."""

import ssl

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from otel_rust_exporter import RustOTLPSpanExporter, RustSpanProcessor

from tests.support.delivery import end_spans_without_waiting
from tests.support.otlp_receivers import TlsGrpcReceiver, TlsHttpReceiver, grpc_compressed_flags
from tests.support.tcp import TcpTap
from tests.support.tls_certs import make_tls_files

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("without_otlp_variables")]


def send_spans(processor: RustSpanProcessor, *names: str) -> bool:
    """Ends one span per name through a provider using ``processor``; True when flushed."""
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("transports")
    for name in names:
        tracer.start_span(name).end()
    flushed = processor.force_flush(10_000)
    provider.shutdown()
    return flushed


def test_http_posts_binary_protobuf_to_the_given_path(http_receiver):
    assert send_spans(RustSpanProcessor(endpoint=http_receiver.endpoint), "span")
    (headers,) = http_receiver.received.headers
    assert headers[":path"] == "/v1/traces"
    assert headers["content-type"] == "application/x-protobuf"
    assert "content-encoding" not in headers


def test_user_agent_names_the_exporter_on_both_transports(receiver):
    # The specification: exporters SHOULD send a User-Agent naming the exporter.
    assert send_spans(RustSpanProcessor(endpoint=receiver.endpoint, protocol=receiver.protocol), "span")
    (headers,) = receiver.received.headers
    assert headers["user-agent"].startswith("OTel-OTLP-Exporter-Python")


@pytest.mark.parametrize("compression", ["gzip", Compression.Gzip, "GZIP"])
def test_http_gzip_is_announced_and_decodes(http_receiver, compression):
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint, compression=compression)
    assert send_spans(processor, "compressed")
    assert http_receiver.received.headers[0]["content-encoding"] == "gzip"
    assert [span.name for span in http_receiver.received.spans()] == ["compressed"]


def test_http_gzip_from_the_environment(http_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    assert send_spans(RustSpanProcessor(endpoint=http_receiver.endpoint), "compressed")
    assert http_receiver.received.headers[0]["content-encoding"] == "gzip"


@pytest.mark.parametrize(("compression", "flag"), [(None, 0), ("gzip", 1), (Compression.Gzip, 1)])
def test_grpc_messages_are_compressed_only_when_asked(grpc_receiver, compression, flag):
    # grpcio hides grpc-encoding from the servicer, so read the gRPC message prefix off the
    # wire through a relay; the receiver decoding the spans proves the encoding was right.
    tap = TcpTap(grpc_receiver.port)
    processor = RustSpanProcessor(
        endpoint=f"http://127.0.0.1:{tap.port}", protocol="grpc", compression=compression
    )
    assert send_spans(processor, "compressed", "twice")
    tap.close()
    assert sorted(span.name for span in grpc_receiver.received.spans()) == ["compressed", "twice"]
    assert [grpc_compressed_flags(bytes(stream)) for stream in tap.sent] == [[flag]]


def test_headers_argument_arrives_as_http_headers_and_grpc_metadata(receiver):
    processor = RustSpanProcessor(
        endpoint=receiver.endpoint,
        protocol=receiver.protocol,
        headers={"X-Api-Key": "key value=1", "x-tenant": "acme"},
    )
    assert send_spans(processor, "span")
    (headers,) = receiver.received.headers
    assert headers["x-api-key"] == "key value=1"
    assert headers["x-tenant"] == "acme"


def test_headers_as_pairs_arrive_too(receiver):
    processor = RustSpanProcessor(
        endpoint=receiver.endpoint, protocol=receiver.protocol, headers=[("x-pair", "1")]
    )
    assert send_spans(processor, "span")
    assert receiver.received.headers[0]["x-pair"] == "1"


def test_headers_from_the_environment_are_percent_decoded(receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-generic=ignored,x-only-generic=no")
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "X-Api-Key=s%3Dcret%20value, x-list = a%2Cb ,x-plain=p"
    )
    assert send_spans(RustSpanProcessor(endpoint=receiver.endpoint, protocol=receiver.protocol), "span")
    (headers,) = receiver.received.headers
    assert headers["x-api-key"] == "s=cret value"
    assert headers["x-list"] == "a,b"
    assert headers["x-plain"] == "p"
    # The signal variable replaces the generic one as a whole.
    assert "x-generic" not in headers
    assert "x-only-generic" not in headers


def test_generic_headers_variable_applies_when_the_signal_one_is_unset(receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-generic=g%21")
    assert send_spans(RustSpanProcessor(endpoint=receiver.endpoint, protocol=receiver.protocol), "span")
    assert receiver.received.headers[0]["x-generic"] == "g!"


def test_headers_argument_wins_over_the_environment(receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-from-env=1")
    processor = RustSpanProcessor(
        endpoint=receiver.endpoint, protocol=receiver.protocol, headers={"x-from-argument": "1"}
    )
    assert send_spans(processor, "span")
    (headers,) = receiver.received.headers
    assert headers["x-from-argument"] == "1"
    assert "x-from-env" not in headers


@pytest.mark.parametrize("suffix", ["", "/"])
def test_generic_endpoint_gets_v1_traces_appended_for_http(http_receiver, monkeypatch, suffix):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{http_receiver.port}{suffix}")
    assert send_spans(RustSpanProcessor(), "span")
    assert http_receiver.received.headers[0][":path"] == "/v1/traces"


def test_generic_endpoint_with_a_base_path_keeps_it(http_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{http_receiver.port}/otlp")
    assert send_spans(RustSpanProcessor(), "span")
    assert http_receiver.received.headers[0][":path"] == "/otlp/v1/traces"


def test_signal_endpoint_is_used_as_is(http_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/unused")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{http_receiver.port}/custom")
    assert send_spans(RustSpanProcessor(), "span")
    assert http_receiver.received.headers[0][":path"] == "/custom"


def test_generic_endpoint_is_used_as_is_for_grpc(grpc_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", grpc_receiver.endpoint)
    assert send_spans(RustSpanProcessor(), "span")
    assert [span.name for span in grpc_receiver.received.spans()] == ["span"]


@pytest.mark.parametrize(
    ("signal_protocol", "generic_protocol", "expected"),
    [("grpc", "http/protobuf", "grpc"), ("http/protobuf", "grpc", "http/protobuf"), (None, "grpc", "grpc")],
)
def test_signal_protocol_variable_wins_over_the_generic_one(
    http_receiver, grpc_receiver, monkeypatch, signal_protocol, generic_protocol, expected
):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", generic_protocol)
    if signal_protocol:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", signal_protocol)
    target = grpc_receiver if expected == "grpc" else http_receiver
    processor = RustSpanProcessor(endpoint=target.endpoint)
    assert processor._core.protocol == expected
    assert send_spans(processor, "span")
    assert [span.name for span in target.received.spans()] == ["span"]


def test_protocol_argument_wins_over_the_environment(grpc_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    assert send_spans(RustSpanProcessor(endpoint=grpc_receiver.endpoint, protocol="grpc"), "span")
    assert [span.name for span in grpc_receiver.received.spans()] == ["span"]


# --- TLS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def server_context(tls, require_client_certificate: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.server_cert, tls.server_key)
    if require_client_certificate:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(tls.ca_cert)
    return context


def grpc_credentials(tls, require_client_certificate: bool = False) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials(
        [(tls.server_key.read_bytes(), tls.server_cert.read_bytes())],
        root_certificates=tls.ca_cert.read_bytes() if require_client_certificate else None,
        require_client_auth=require_client_certificate,
    )


@pytest.fixture(params=["http/protobuf", "grpc"])
def tls_receiver(request, tls):
    """A TLS receiver per transport, trusted through the test CA."""
    if request.param == "grpc":
        receiver = TlsGrpcReceiver(grpc_credentials(tls))
    else:
        receiver = TlsHttpReceiver(server_context(tls))
    receiver.protocol = request.param
    yield receiver
    receiver.close()


@pytest.fixture(params=["http/protobuf", "grpc"])
def mtls_receiver(request, tls):
    """A TLS receiver per transport that also requires a client certificate from the test CA."""
    if request.param == "grpc":
        receiver = TlsGrpcReceiver(grpc_credentials(tls, require_client_certificate=True))
    else:
        receiver = TlsHttpReceiver(server_context(tls, require_client_certificate=True))
    receiver.protocol = request.param
    yield receiver
    receiver.close()


def test_tls_export_succeeds_with_the_ca_certificate_file(tls_receiver, tls):
    processor = RustSpanProcessor(
        endpoint=tls_receiver.endpoint, protocol=tls_receiver.protocol, certificate_file=str(tls.ca_cert)
    )
    assert send_spans(processor, "over tls")
    assert [span.name for span in tls_receiver.received.spans()] == ["over tls"]
    assert processor.stats()["exported"] == 1


def test_tls_exporter_succeeds_with_the_ca_certificate_file(tls_receiver, tls):
    exporter = RustOTLPSpanExporter(
        endpoint=tls_receiver.endpoint, protocol=tls_receiver.protocol, certificate_file=str(tls.ca_cert)
    )
    provider = TracerProvider(shutdown_on_exit=False)
    span = provider.get_tracer("tls").start_span("exported")
    span.end()
    assert exporter.export([span]) is SpanExportResult.SUCCESS
    assert [span.name for span in tls_receiver.received.spans()] == ["exported"]


def test_tls_certificate_from_the_environment(tls_receiver, tls, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", str(tls.ca_cert))
    processor = RustSpanProcessor(endpoint=tls_receiver.endpoint, protocol=tls_receiver.protocol)
    assert send_spans(processor, "over tls")
    assert [span.name for span in tls_receiver.received.spans()] == ["over tls"]


@pytest.mark.parametrize("trusted", ["nothing", "an unrelated CA"])
def test_tls_export_fails_without_trusting_the_server_and_never_blocks(tls_receiver, tls, trusted):
    certificate_file = str(tls.unrelated_ca_cert) if trusted == "an unrelated CA" else None
    processor = RustSpanProcessor(
        endpoint=tls_receiver.endpoint,
        protocol=tls_receiver.protocol,
        certificate_file=certificate_file,
        timeout=1,
    )
    provider = end_spans_without_waiting(processor, 100, "untrusted")
    assert processor.force_flush(10_000) is False
    assert processor.stats()["failed"] == 100
    assert tls_receiver.received.spans() == []
    provider.shutdown()


def test_mtls_export_succeeds_with_a_client_certificate(mtls_receiver, tls):
    processor = RustSpanProcessor(
        endpoint=mtls_receiver.endpoint,
        protocol=mtls_receiver.protocol,
        certificate_file=str(tls.ca_cert),
        client_key_file=str(tls.client_key),
        client_certificate_file=str(tls.client_cert),
    )
    assert send_spans(processor, "mutual")
    assert [span.name for span in mtls_receiver.received.spans()] == ["mutual"]


def test_mtls_client_certificate_from_the_environment(mtls_receiver, tls, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(tls.ca_cert))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", str(tls.client_key))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", str(tls.client_cert))
    processor = RustSpanProcessor(endpoint=mtls_receiver.endpoint, protocol=mtls_receiver.protocol)
    assert send_spans(processor, "mutual")
    assert [span.name for span in mtls_receiver.received.spans()] == ["mutual"]


def test_mtls_export_fails_without_a_client_certificate(mtls_receiver, tls):
    processor = RustSpanProcessor(
        endpoint=mtls_receiver.endpoint,
        protocol=mtls_receiver.protocol,
        certificate_file=str(tls.ca_cert),
        timeout=1,
    )
    assert send_spans(processor, "refused") is False
    assert processor.stats()["failed"] == 1
    assert mtls_receiver.received.spans() == []


def test_grpc_without_scheme_uses_tls_unless_insecure(tls, grpc_receiver):
    # No scheme: TLS by default, so the TLS receiver works with the CA file...
    tls_receiver = TlsGrpcReceiver(grpc_credentials(tls))
    try:
        secure = RustSpanProcessor(
            endpoint=f"127.0.0.1:{tls_receiver.port}", protocol="grpc", certificate_file=str(tls.ca_cert)
        )
        assert send_spans(secure, "secure")
        assert [span.name for span in tls_receiver.received.spans()] == ["secure"]
    finally:
        tls_receiver.close()
    # ...and insecure=True speaks plaintext to the plain receiver.
    plain = RustSpanProcessor(endpoint=f"127.0.0.1:{grpc_receiver.port}", protocol="grpc", insecure=True)
    assert send_spans(plain, "plain")
    assert [span.name for span in grpc_receiver.received.spans()] == ["plain"]
