"""Suites we did not write: opentelemetry-python-contrib's own tests of the Flask,
requests, sqlite3, FastAPI and logging instrumentations, run against RustTracerProvider.

Each instrumentation's source distribution (the version pinned for
``.venv-instrumentation``) ships its tests; they are fetched from PyPI at test time and run
from that virtualenv twice: with ``native_provider_plugin`` (every ``TracerProvider`` the
tests make is ours, including the one of opentelemetry-test-utils' ``TestBase``) and with
the SDK's provider, which tells failures of ours from failures of the environment.
"""

from __future__ import annotations

import pytest

from tests.support.instrumentation_venv import INSTRUMENTATION_PYTHON, needs_instrumentation_venv, pinned
from tests.support.peer_suites import fetch_sdists, run_suite

pytestmark = needs_instrumentation_venv

# Each suite, and the least tests it must run and make a native tracer in (0.66b1: fastapi
# 117 and 106, flask 61 and 60, logging 71 and 26, requests 80 and 80, sqlite3 11 and 10;
# the other tests never trace). Fewer would mean the plugin stopped reaching our provider.
SUITES = {
    "opentelemetry-instrumentation-fastapi": (110, 100),
    "opentelemetry-instrumentation-flask": (55, 55),
    "opentelemetry-instrumentation-logging": (65, 24),
    "opentelemetry-instrumentation-requests": (75, 75),
    "opentelemetry-instrumentation-sqlite3": (11, 10),
}
_ONE_INSTRUMENTOR = (
    "expects the FastAPI instrumentor to be the only `opentelemetry_instrumentor` entry point; "
    "this virtualenv holds five instrumentations (contrib tests each in a virtualenv of its own)"
)
# Failures with the SDK's provider too, in this virtualenv, and why.
ENVIRONMENT_FAILURES = {
    "tests.test_fastapi_instrumentation.TestAutoInstrumentation.test_entry_point_exists": _ONE_INSTRUMENTOR,
    "tests.test_fastapi_instrumentation.TestAutoInstrumentation.test_instruments_with_fastapi_installed": (
        _ONE_INSTRUMENTOR
    ),
}
# Failures with the native provider only, and why (docs/NATIVE_SPANS.md lists them too): none.
KNOWN_FAILURES: dict[str, str] = {}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict:
    requirements = [pinned(package) for package in SUITES]
    fetched = fetch_sdists(INSTRUMENTATION_PYTHON, requirements, tmp_path_factory.mktemp("contrib"))
    return {requirement.split("==")[0]: source for requirement, source in fetched.items()}


@pytest.mark.parametrize("package", SUITES)
def test_contribs_own_instrumentation_tests_pass_against_the_native_provider(package, sources, tmp_path):
    source = sources[package]
    assert (source / "tests").is_dir(), f"the {package} sdist no longer ships its tests"
    sdk = run_suite(INSTRUMENTATION_PYTHON, source, "tests", tmp_path / "sdk", native=False)
    native = run_suite(INSTRUMENTATION_PYTHON, source, "tests", tmp_path / "native", native=True)
    print(f"{pinned(package)} with RustTracerProvider: {native.summary()}; with the SDK's: {sdk.summary()}")

    environment = sorted(name for name in sdk.outcomes if name in ENVIRONMENT_FAILURES)
    assert sdk.failures() == environment, sdk.output
    known = sorted(name for name in native.outcomes if name in {**ENVIRONMENT_FAILURES, **KNOWN_FAILURES})
    assert native.failures() == known, native.output
    assert native.outcomes.keys() == sdk.outcomes.keys()
    least_tests, least_native = SUITES[package]
    assert len(native.outcomes) >= least_tests
    assert len(native.native) >= least_native
