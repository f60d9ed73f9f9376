"""The constructors' keyword arguments are defined once per concept (``TypedDict``s taken as
``**options: Unpack[...]``); every class still takes exactly its documented arguments."""

import logging

import pytest
from otel_rust_exporter import (
    RustLogRecordProcessor,
    RustOTLPLogExporter,
    RustOTLPMetricExporter,
    RustOTLPSpanExporter,
    RustSpanProcessor,
)
from otel_rust_exporter._metrics import MetricExporterArguments
from otel_rust_exporter._options import OtlpArguments, OtlpProcessorArguments
from otel_sls_exporter import SLSLogExporter, SLSLogRecordProcessor
from otel_sls_exporter._exporter import SlsArguments, SlsProcessorArguments

from tests.support.environment import unset_variables

NOWHERE = "http://127.0.0.1:9"

CLASSES = [
    (RustSpanProcessor, OtlpProcessorArguments),
    (RustLogRecordProcessor, OtlpProcessorArguments),
    (RustOTLPSpanExporter, OtlpArguments),
    (RustOTLPLogExporter, OtlpArguments),
    (RustOTLPMetricExporter, MetricExporterArguments),
    (SLSLogRecordProcessor, SlsProcessorArguments),
    (SLSLogExporter, SlsArguments),
]
IDS = [cls.__name__ for cls, _ in CLASSES]

# One valid value per argument name, whatever class takes it.
VALUES = {
    "meter_provider": None,
    "protocol": "http/protobuf",
    "certificate_file": None,
    "client_key_file": None,
    "client_certificate_file": None,
    "insecure": True,
    "max_queue_size": 64,
    "max_queue_bytes": 1 << 20,
    "schedule_delay_millis": 50,
    "max_export_batch_size": 16,
    "export_timeout_millis": 1000,
    "preferred_temporality": None,
    "preferred_aggregation": None,
    "topic": "topic",
    "source": "source",
    "hash_key": None,
    "signature_version": "v1",
    "region": None,
    "access_key_id": "id",
    "access_key_secret": "secret",
    "security_token": None,
    "timeout": 2,
    # The spool's: None leaves it off (tests/spool covers a directory).
    "spool_dir": None,
    "spool_max_bytes": 1 << 20,
}


@pytest.fixture(autouse=True)
def no_exporter_variables(monkeypatch):
    unset_variables(monkeypatch, "OTEL_", "SLS_", "ALIBABA_CLOUD_")


def make(cls, **options):
    if cls.__module__.startswith("otel_sls_exporter"):
        return cls(NOWHERE, "project", "logstore", **options)
    return cls(NOWHERE, **options)


@pytest.mark.parametrize(("cls", "arguments"), CLASSES, ids=IDS)
def test_every_documented_keyword_is_taken(cls, arguments, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    instance = make(cls, **{name: VALUES[name] for name in arguments.__annotations__})
    try:
        assert [record.getMessage() for record in caplog.records] == []
    finally:
        instance.shutdown()


@pytest.mark.parametrize(("cls", "arguments"), CLASSES, ids=IDS)
def test_an_unknown_keyword_is_refused_as_a_signature_would(cls, arguments):
    refusal = rf"{cls.__name__}\(\) got an unexpected keyword argument 'max_queue_sise'"
    with pytest.raises(TypeError, match=refusal):
        make(cls, max_queue_sise=5)


def test_exporters_do_not_take_the_batching_arguments():
    with pytest.raises(TypeError, match="max_queue_size"):
        RustOTLPSpanExporter(NOWHERE, max_queue_size=5)
    with pytest.raises(TypeError, match="max_queue_size"):
        SLSLogExporter(NOWHERE, "project", "logstore", max_queue_size=5)
