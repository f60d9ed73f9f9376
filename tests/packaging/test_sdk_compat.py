"""The opentelemetry-sdk internals we rely on (``otel_rust_exporter._sdk_compat``), checked
against the newest supported SDK (the one installed), the lowest (1.40.0, in a cached
virtualenv under .venvs/), and the lowest that native spans support (1.45.0, likewise).

The checks run in a child process (this file as a script): they configure the SDK globally,
and the lowest SDK needs an interpreter of its own. The child needs only the SDK and the
facade's sources, so it imports nothing from pytest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections import Counter, deque
from collections.abc import Mapping
from importlib import import_module, metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FACADE = ROOT / "packages" / "otel-rust-exporter" / "python"
LOWEST_SDK = "1.40.0"


# ---- The checks (run in the child process) ----------------------------------------------


def check_configurator_hooks() -> None:
    from otel_rust_exporter import _sdk_compat

    parameters = _sdk_compat.initialize_components_parameters()
    assert {"export_span_processor", "export_log_record_processor"} <= parameters, parameters
    assert "auto_instrumentation_version" in parameters, parameters


def check_configurator_reaches_initialize_components() -> None:
    from opentelemetry.sdk import _configuration
    from otel_rust_exporter import _sdk_compat

    received: list[dict[str, Any]] = []
    real = _configuration._initialize_components
    _configuration._initialize_components = lambda **kwargs: received.append(kwargs)
    try:

        class Adding(_sdk_compat.SdkConfigurator):
            def initialize(self, kwargs: dict[str, Any]) -> None:
                kwargs["export_span_processor"] = print
                super().initialize(kwargs)

        Adding().configure(auto_instrumentation_version="9.9")
    finally:
        _configuration._initialize_components = real
    assert received == [{"auto_instrumentation_version": "9.9", "export_span_processor": print}], received


def check_created_by_sdk_tracing_setup() -> None:
    from opentelemetry.sdk._configuration import _init_tracing
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
    from otel_rust_exporter import _sdk_compat

    seen: list[bool] = []

    class Probe(SpanExporter):
        def __init__(self) -> None:
            seen.append(_sdk_compat.created_by_sdk_tracing_setup())

        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    Probe()
    _init_tracing(exporters={"probe": Probe}, export_span_processor=SimpleSpanProcessor)
    assert seen == [False, True], seen


def check_component_counters() -> dict[str, bool]:
    """Whether each counter is the SDK's; where it is, a stock component counts in it."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from otel_rust_exporter import _sdk_compat

    shared = {}
    for name, module, stock_type in (
        ("processor", "opentelemetry.sdk._shared_internal._processor_metrics", "batching_span_processor"),
        ("exporter", "opentelemetry.exporter.otlp.common._exporter_metrics", "otlp_http_span_exporter"),
    ):
        counter = _sdk_compat.component_counter(name)
        assert type(counter) is Counter and _sdk_compat.component_counter(name) is counter, counter
        try:
            sdk_counter = import_module(module)._component_counter
        except ImportError:
            assert counter == Counter(), counter
            shared[name] = False
            continue
        assert counter is sdk_counter
        before = counter[stock_type]
        if name == "processor":
            BatchSpanProcessor(InMemorySpanExporter()).shutdown()
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            OTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces").shutdown()
        assert counter[stock_type] == before + 1, (stock_type, counter)
        shared[name] = True
    return shared


def _native_read_samples() -> dict[str, Any]:
    """Real SDK objects of every class ``NATIVE_READS`` names, with something in each field."""
    from opentelemetry.attributes import BoundedAttributes
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags
    from opentelemetry.trace.span import TraceState
    from opentelemetry.trace.status import Status, StatusCode

    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-compat"}))
    memory = InMemorySpanExporter()
    processor = SimpleSpanProcessor(memory)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("sdk-compat", "1.0")
    state = TraceState([("vendor", "value")])
    linked = SpanContext(1, 2, is_remote=True, trace_flags=TraceFlags(1), trace_state=state)
    with tracer.start_as_current_span("parent"):
        with tracer.start_as_current_span(
            "child", kind=SpanKind.CLIENT, links=[Link(linked, {"link": 1})], attributes={"key": "value"}
        ) as live:
            live.add_event("event", {"at": 2}, timestamp=123)
            live.set_status(Status(StatusCode.ERROR, "broken"))
    span = memory.get_finished_spans()[0]
    assert span.name == "child"
    return {
        "opentelemetry.sdk.trace.ReadableSpan": span,
        "opentelemetry.sdk.trace.Event": span.events[0],
        "opentelemetry.trace.Link": span.links[0],
        "opentelemetry.trace.status.Status": span.status,
        "opentelemetry.attributes.BoundedAttributes": BoundedAttributes(attributes={"key": "value"}),
        "opentelemetry.trace.span.TraceState": state,
        "opentelemetry.sdk.util.BoundedList": span._events,  # what the reader meets: a span's events
        "enum.Enum": SpanKind.CLIENT,
        "opentelemetry.sdk.trace.Span": live,
        "opentelemetry.sdk.trace.TracerProvider": provider,
        "opentelemetry.sdk.trace.SynchronousMultiSpanProcessor": provider._active_span_processor,
        "processor": processor,
    }


def _comparable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (list, tuple, deque)) or type(value).__name__ == "BoundedList":
        return list(value)
    return value


def check_native_reads() -> None:
    from otel_rust_exporter._sdk_compat import NATIVE_READS

    samples = _native_read_samples()
    for read in NATIVE_READS:
        sample = samples[read.owner]
        module, _, name = read.owner.rpartition(".")
        assert isinstance(sample, getattr(import_module(module), name)), read
        assert hasattr(sample, read.private), read
        private = getattr(sample, read.private)
        if read.public == "items":  # a plain dict holding the mapping
            assert type(private) is dict and private == dict(sample.items()) != {}, read
        elif read.public == "__iter__":  # a deque holding the sequence
            assert type(private) is deque and list(private) == list(sample) != [], read
        elif read.public is not None:
            assert _comparable(private) == _comparable(getattr(sample, read.public)), read
    # What the bridge expects of the fields it reads (they have no public counterpart).
    provider = samples["opentelemetry.sdk.trace.TracerProvider"]
    live = samples["opentelemetry.sdk.trace.Span"]
    assert live._span_processor is provider._active_span_processor
    assert live._resource is provider.resource
    assert provider._active_span_processor._span_processors == (samples["processor"],)


def check_subclass_members() -> None:
    from opentelemetry.sdk.trace import SynchronousMultiSpanProcessor, TracerProvider
    from otel_rust_exporter import _sdk_compat

    provider = TracerProvider(shutdown_on_exit=False)
    instances = {
        "opentelemetry.sdk.trace.TracerProvider": provider,
        "opentelemetry.sdk.trace.Tracer": provider.get_tracer("compat"),
        "opentelemetry.sdk.trace.SynchronousMultiSpanProcessor": SynchronousMultiSpanProcessor(),
    }
    missing = [
        f"{owner}.{member}"
        for owner, members in _sdk_compat.SUBCLASS_MEMBERS.items()
        for member in members
        if not hasattr(instances[owner], member)
    ]
    assert not missing, missing


def check_native_spans() -> bool:
    """Whether native spans run on this SDK; where they do, a span goes through a
    RustTracerProvider to a Python processor intact; where not, the provider refuses with
    the reason and the entry points fall back to the SDK's provider."""
    import logging

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from otel_rust_exporter import RustTracerProvider, _entry_points, _sdk_compat

    if _sdk_compat.native_spans_unsupported() is None:
        check_subclass_members()
        provider = RustTracerProvider(shutdown_on_exit=False)
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("compat", "1.0")
        with tracer.start_as_current_span("parent", attributes={"a": 1}):
            tracer.start_span("child").end()
        child, parent = exporter.get_finished_spans()
        assert type(parent).__name__ == "ReadableSpan", type(parent)
        assert (parent.name, dict(parent.attributes or {})) == ("parent", {"a": 1}), parent
        assert child.parent is not None and child.parent.span_id == parent.context.span_id
        assert _entry_points.native_tracer_provider_class() is RustTracerProvider
        return True
    try:
        RustTracerProvider(shutdown_on_exit=False)
    except RuntimeError as error:
        assert _sdk_compat.NATIVE_SPANS_LOWEST_SDK in str(error), error
    else:
        raise AssertionError("RustTracerProvider ran on an SDK it does not support")
    warnings: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("otel_rust_exporter").addHandler(handler)
    fallback = _entry_points.tracer_provider()
    assert type(fallback) is TracerProvider, type(fallback)
    assert len(warnings) == 1 and "fall back to the SDK's TracerProvider" in warnings[0], warnings
    return False


def run_checks() -> dict[str, Any]:
    check_configurator_hooks()
    check_configurator_reaches_initialize_components()
    check_created_by_sdk_tracing_setup()
    check_native_reads()
    shared = check_component_counters()
    return {
        "sdk": metadata.version("opentelemetry-sdk"),
        "shared_counters": shared,
        "native_spans": check_native_spans(),
    }


# ---- The tests ----------------------------------------------------------------------------


def _run_checks_in(python: Path | str, pythonpath: str) -> dict[str, Any]:
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("OTEL_")},
        "OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED": "true",
        "PYTHONPATH": pythonpath,
    }
    result = subprocess.run(
        [str(python), __file__], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_sdk_internals_hold_in_the_installed_sdk():
    report = _run_checks_in(sys.executable, os.environ.get("PYTHONPATH", ""))
    assert report == {
        "sdk": metadata.version("opentelemetry-sdk"),
        "shared_counters": {"processor": True, "exporter": True},
        "native_spans": True,
    }


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def _sdk_python(version: str) -> Path:
    """A cached virtualenv with opentelemetry-sdk ``version``, made on first use."""
    import pytest

    venv = ROOT / ".venvs" / f"sdk-compat-{version}"
    python = venv / "bin" / "python"
    if python.exists():
        return python
    building = venv.with_name(f"{venv.name}.{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(building)], check=True, capture_output=True)
    install = subprocess.run(
        [
            str(building / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"opentelemetry-api=={version}",
            f"opentelemetry-sdk=={version}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if install.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        if not _pypi_reachable():
            pytest.skip(f"PyPI is unreachable: cannot install opentelemetry-sdk=={version}")
        raise AssertionError(install.stdout + install.stderr)
    building.rename(venv)
    return python


def test_sdk_internals_hold_in_the_lowest_supported_sdk():
    # The facade's sources with the native module `maturin develop` built beside them.
    report = _run_checks_in(_sdk_python(LOWEST_SDK), str(FACADE))
    # 1.40.0 has no self-metrics of its own, so no counters to share; nor native spans.
    assert report == {
        "sdk": LOWEST_SDK,
        "shared_counters": {"processor": False, "exporter": False},
        "native_spans": False,
    }


def test_native_spans_run_on_the_lowest_sdk_they_support():
    # Native spans need a newer SDK than the exporters do.
    from otel_rust_exporter._sdk_compat import NATIVE_SPANS_LOWEST_SDK

    report = _run_checks_in(_sdk_python(NATIVE_SPANS_LOWEST_SDK), str(FACADE))
    assert report["native_spans"] is True, report


def _private_reads_in_rust() -> dict[str, set[str]]:
    """Private attributes the Rust sources (comments aside) read, by file."""
    pattern = re.compile(r'name!\([^,]+,\s*(_\w+)\)|getattr\("(_\w+)"\)')
    reads: dict[str, set[str]] = {}
    for source in sorted((ROOT / "packages").glob("**/src/**/*.rs")):
        code = "\n".join(
            line for line in source.read_text().splitlines() if not line.lstrip().startswith("//")
        )
        found = {a or b for a, b in pattern.findall(code)}
        if found:
            reads[source.relative_to(ROOT).as_posix()] = found
    return reads


def test_subclass_members_list_every_private_member_the_tracer_provider_uses():
    from otel_rust_exporter._sdk_compat import SUBCLASS_MEMBERS

    source = (FACADE / "otel_rust_exporter" / "_tracer_provider.py").read_text()
    used = set(re.findall(r"(?<!otel_rust_exporter)\.(_[a-z]\w*)", source))
    # Its own members: what it assigns or defines.
    own = set(re.findall(r"self\.(_\w+) =|def (_\w+)\(", source))
    own_names = {name for pair in own for name in pair if name}
    sdk_members = {member for members in SUBCLASS_MEMBERS.values() for member in members}
    # Overriding one of the SDK's methods is a use of it too.
    assert used - own_names | (own_names & sdk_members) == sdk_members


def test_native_reads_list_every_private_field_the_rust_code_reads():
    from otel_rust_exporter._sdk_compat import NATIVE_READS

    listed: dict[str, set[str]] = {}
    for read in NATIVE_READS:
        listed.setdefault(read.reader, set()).add(read.private)
    assert _private_reads_in_rust() == listed


if __name__ == "__main__":
    print(json.dumps(run_checks()))
