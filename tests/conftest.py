import pytest

from tests.support.otlp_receivers import GrpcReceiver, HttpReceiver, MetricsGrpcReceiver, MetricsHttpReceiver


@pytest.fixture
def http_receiver():
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def grpc_receiver():
    receiver = GrpcReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(params=["http/protobuf", "grpc"])
def receiver(request):
    """Each test using this runs once per transport; ``receiver.protocol`` says which."""
    receiver = HttpReceiver() if request.param == "http/protobuf" else GrpcReceiver()
    receiver.protocol = request.param
    yield receiver
    receiver.close()


@pytest.fixture(params=["http/protobuf", "grpc"])
def metrics_receiver(request):
    """A metrics receiver per transport; ``metrics_receiver.protocol`` says which."""
    receiver = MetricsHttpReceiver() if request.param == "http/protobuf" else MetricsGrpcReceiver()
    receiver.protocol = request.param
    yield receiver
    receiver.close()
