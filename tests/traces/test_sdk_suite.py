"""A suite we did not write: opentelemetry-python's own SDK trace tests, run against
RustTracerProvider.

The tests ship in the ``opentelemetry-sdk`` source distribution on PyPI; they are fetched
at test time for the installed SDK version (never copied into this repository), with the
``opentelemetry-test-utils`` of the same release, and run in a subprocess with
``tests/support/native_provider_plugin.py``, which makes every ``TracerProvider`` the suite
creates ours. Tests that never reach a native tracer (those constructing the SDK's
``Tracer`` or ``_Span`` directly) pass or fail on the SDK alone, so the plugin reports
which tests did reach ours, and that number is checked too.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests.support.peer_suites import fetch_sdists, pip, run_suite

PYTHON = Path(sys.executable)
SDK_VERSION = metadata.version("opentelemetry-sdk")
# opentelemetry-test-utils is released with the SDK, under the semantic conventions' version.
TEST_UTILS_VERSION = metadata.version("opentelemetry-semantic-conventions")
# Failures with the native provider and why (docs/NATIVE_SPANS.md lists them too): none now.
KNOWN_FAILURES: dict[str, str] = {}
# 1.45.2's suite: 276 tests, of which 104 make a native tracer. Fewer would mean the plugin
# stopped reaching our provider.
MIN_TESTS, MIN_NATIVE_TESTS = 250, 100


@pytest.fixture(scope="module")
def sdk_suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the unpacked sdist, a directory holding opentelemetry-test-utils)."""
    work = tmp_path_factory.mktemp("sdk-suite")
    requirement = f"opentelemetry-sdk=={SDK_VERSION}"
    source = fetch_sdists(PYTHON, [requirement], work)[requirement]
    pip(
        PYTHON,
        "install",
        "--no-deps",
        "--target",
        "site",
        f"opentelemetry-test-utils=={TEST_UTILS_VERSION}",
        cwd=work,
    )
    assert (source / "tests" / "trace" / "test_trace.py").is_file(), "the sdist no longer ships its tests"
    return source, work / "site"


def test_the_sdks_own_trace_tests_pass_against_the_native_provider(sdk_suite, tmp_path):
    source, site = sdk_suite
    run = run_suite(PYTHON, source, "tests/trace", tmp_path, native=True, pythonpath=(site,))
    print(f"opentelemetry-sdk {SDK_VERSION} trace tests with RustTracerProvider: {run.summary()}")
    assert run.failures() == sorted(KNOWN_FAILURES), run.output
    assert len(run.outcomes) >= MIN_TESTS
    assert len(run.native) >= MIN_NATIVE_TESTS
