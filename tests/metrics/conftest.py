import pytest

from tests.support.otlp_receivers import (
    PROTOCOLS,
    MetricsGrpcReceiver,
    MetricsHttpReceiver,
    serving_per_protocol,
)


@pytest.fixture(params=PROTOCOLS)
def metrics_receiver(request):
    """A metrics receiver per transport; ``metrics_receiver.protocol`` says which."""
    yield from serving_per_protocol(request.param, MetricsHttpReceiver, MetricsGrpcReceiver)
