import pytest

from tests.support.environment import unset_variables
from tests.support.fake_sls import FakeSls
from tests.support.otlp_receivers import PROTOCOLS, GrpcReceiver, HttpReceiver, serving, serving_per_protocol


@pytest.fixture
def http_receiver():
    yield from serving(HttpReceiver())


@pytest.fixture
def grpc_receiver():
    yield from serving(GrpcReceiver())


@pytest.fixture(params=PROTOCOLS)
def receiver(request):
    """Each test using this runs once per transport; ``receiver.protocol`` says which."""
    yield from serving_per_protocol(request.param, HttpReceiver, GrpcReceiver)


@pytest.fixture
def without_otlp_variables(monkeypatch):
    """Variables from the surrounding shell must not decide these tests."""
    unset_variables(monkeypatch, "OTEL_EXPORTER_OTLP_", "OTEL_BSP_")


@pytest.fixture
def fake_sls():
    yield from serving(FakeSls())
