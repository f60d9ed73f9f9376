import pytest

from tests.support.environment import unset_variables
from tests.support.otlp_receivers import GrpcReceiver, HttpReceiver, MetricsGrpcReceiver, MetricsHttpReceiver

PROTOCOLS = ["http/protobuf", "grpc"]


def _serving(receiver):
    yield receiver
    receiver.close()


def _serving_per_protocol(protocol: str, http_receiver_type, grpc_receiver_type):
    receiver = http_receiver_type() if protocol == "http/protobuf" else grpc_receiver_type()
    receiver.protocol = protocol
    yield from _serving(receiver)


@pytest.fixture
def http_receiver():
    yield from _serving(HttpReceiver())


@pytest.fixture
def grpc_receiver():
    yield from _serving(GrpcReceiver())


@pytest.fixture(params=PROTOCOLS)
def receiver(request):
    """Each test using this runs once per transport; ``receiver.protocol`` says which."""
    yield from _serving_per_protocol(request.param, HttpReceiver, GrpcReceiver)


@pytest.fixture(params=PROTOCOLS)
def metrics_receiver(request):
    """A metrics receiver per transport; ``metrics_receiver.protocol`` says which."""
    yield from _serving_per_protocol(request.param, MetricsHttpReceiver, MetricsGrpcReceiver)


@pytest.fixture
def without_otlp_variables(monkeypatch):
    """Variables from the surrounding shell must not decide these tests."""
    unset_variables(monkeypatch, "OTEL_EXPORTER_OTLP_", "OTEL_BSP_")
