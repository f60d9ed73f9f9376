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

import json
import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ElementTree
from importlib import metadata
from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parent.parent / "support"
SDK_VERSION = metadata.version("opentelemetry-sdk")
# opentelemetry-test-utils is released with the SDK, under the semantic conventions' version.
TEST_UTILS_VERSION = metadata.version("opentelemetry-semantic-conventions")
# Failures with the native provider and why (docs/NATIVE_SPANS.md lists them too): none now.
KNOWN_FAILURES: dict[str, str] = {}
# 1.45.2's suite: 276 tests, of which 104 make a native tracer. Fewer would mean the plugin
# stopped reaching our provider.
MIN_TESTS, MIN_NATIVE_TESTS = 250, 100


def pip(*arguments: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *arguments],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def sdk_suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the unpacked sdist, a directory holding opentelemetry-test-utils)."""
    work = tmp_path_factory.mktemp("sdk-suite")
    try:
        pip(
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"opentelemetry-sdk=={SDK_VERSION}",
            "-d",
            ".",
            cwd=work,
        )
        pip(
            "install",
            "--no-deps",
            "--target",
            "site",
            f"opentelemetry-test-utils=={TEST_UTILS_VERSION}",
            cwd=work,
        )
    except subprocess.CalledProcessError as error:
        pytest.skip(f"PyPI not reachable: {error.stderr.decode(errors='replace')[-300:]}")
    (archive,) = work.glob("opentelemetry_sdk-*.tar.gz")
    with tarfile.open(archive) as sdist:
        sdist.extractall(work, filter="data")
    source = work / f"opentelemetry_sdk-{SDK_VERSION}"
    assert (source / "tests" / "trace" / "test_trace.py").is_file(), "the sdist no longer ships its tests"
    return source, work / "site"


def test_the_sdks_own_trace_tests_pass_against_the_native_provider(sdk_suite, tmp_path):
    source, site = sdk_suite
    junit, reached = tmp_path / "junit.xml", tmp_path / "native.json"
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(SUPPORT)]),
        "NATIVE_SUITE_REPORT": str(reached),
        # Some tests run `python` in a subprocess: ours, with the SDK installed.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    plugins = ["-p", "no:cacheprovider", "-p", "native_provider_plugin"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, f"--junitxml={junit}", "tests/trace"],
        cwd=source,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    outcomes = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        name = f"{case.get('classname')}.{case.get('name')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[name] = "skipped" if case.find("skipped") is not None else ("failed" if failed else "passed")
    native = set(json.loads(reached.read_text()))
    failures = sorted(name for name, outcome in outcomes.items() if outcome == "failed")
    print(
        f"opentelemetry-sdk {SDK_VERSION} trace tests with RustTracerProvider: "
        f"{sum(outcome == 'passed' for outcome in outcomes.values())} passed, {len(failures)} failed, "
        f"{len(native)} made a native tracer"
    )
    assert failures == sorted(KNOWN_FAILURES), run.stdout[-3000:]
    assert len(outcomes) >= MIN_TESTS
    assert len(native) >= MIN_NATIVE_TESTS
