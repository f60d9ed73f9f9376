"""The release artifacts in dist/, checked as a user meets them: the wheel installed into a
fresh virtualenv for every local CPython (pyenv's 3.9 and newer) runs spans, logs and
metrics through ``opentelemetry-instrument`` to a real receiver, across a fork, to an exit
without shutdown; pip refuses an SDK below our floor; the metadata, licence and long
descriptions are what PyPI will show; the Linux wheel needs nothing newer than glibc 2.17.

The lowest Python gets the lowest supported SDK, the newest Python the newest SDK on PyPI,
the others the versions requirements-dev.txt pins. ``scripts/build-wheels.sh`` fills dist/
here; the release workflow puts each platform's wheel there and names its interpreter in
``OTEL_RUST_EXPORTER_WHEEL_PYTHONS``. Without artifacts these tests skip, unless
``OTEL_RUST_EXPORTER_WHEEL_TESTS=required`` (scripts/test.sh sets it after building).
"""

from __future__ import annotations

import email
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tests.apps import app, instrumented_env
from tests.support.otlp_receivers import GrpcReceiver, HttpReceiver, sum_points

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
PYENV_VERSIONS = Path.home() / ".pyenv" / "versions"
LOWEST_SDK = "1.40.0"
SDK_WITHOUT_HOOKS = "1.39.0"
PROCESSES: tuple[str, ...] = ("parent-before-fork", "child", "parent-after-fork")
STOCK_BATCH_THREADS = {"OtelBatchSpanRecordProcessor", "OtelBatchLogRecordProcessor"}


def _one(pattern: str) -> Path | None:
    found = sorted(DIST.glob(pattern))
    assert len(found) <= 1, f"several {pattern} in dist/: {found}"
    return found[0] if found else None


WHEEL = _one("otel_rust_exporter-*.whl")
SDIST = _one("otel_rust_exporter-*.tar.gz")
SLS_WHEEL = _one("otel_sls_exporter-*-py3-none-any.whl")

if not (WHEEL and SDIST and SLS_WHEEL):
    if os.environ.get("OTEL_RUST_EXPORTER_WHEEL_TESTS") == "required":
        raise RuntimeError("dist/ lacks the release artifacts: run bash scripts/build-wheels.sh")
    pytest.skip("no release artifacts in dist/ (bash scripts/build-wheels.sh)", allow_module_level=True)

MANYLINUX = "manylinux" in WHEEL.name
WINDOWS = os.name == "nt"
BIN, EXE = ("Scripts", ".exe") if WINDOWS else ("bin", "")
# Windows has no fork(): there the smoke app runs in one process.
PROCESSES = ("parent-before-fork", "parent-after-fork") if WINDOWS else PROCESSES


def workspace_version() -> str:
    cargo = (ROOT / "Cargo.toml").read_text()
    section = cargo[cargo.index("[workspace.package]") :]
    match = re.search(r'^version = "([^"]+)"', section, re.MULTILINE)
    assert match, "no version in [workspace.package]"
    return match.group(1)


def local_pythons() -> dict[str, Path]:
    """The newest patch release of each CPython 3.9+ that pyenv has, by "3.x"; or the
    interpreters OTEL_RUST_EXPORTER_WHEEL_PYTHONS names."""
    named = os.environ.get("OTEL_RUST_EXPORTER_WHEEL_PYTHONS")
    if named:
        pythons = {}
        for python in named.split(os.pathsep):
            version = subprocess.run(
                [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            pythons[version] = Path(python)
        return pythons
    newest: dict[str, tuple[tuple[int, ...], Path]] = {}
    for directory in PYENV_VERSIONS.glob("3.*"):
        if not re.fullmatch(r"3\.\d+\.\d+", directory.name) or not (directory / "bin/python3").exists():
            continue
        release = tuple(int(part) for part in directory.name.split("."))
        minor = f"3.{release[1]}"
        if release[1] >= 9 and release > newest.get(minor, ((0,), directory))[0]:
            newest[minor] = (release, directory / "bin/python3")
    return {minor: python for minor, (_, python) in sorted(newest.items(), key=lambda item: item[1][0])}


PYTHONS = local_pythons()
if not PYTHONS:
    # The wheel must work somewhere: at least on the interpreter running the tests.
    PYTHONS = {f"3.{sys.version_info[1]}": Path(sys.executable)}
LOWEST_PYTHON, NEWEST_PYTHON = next(iter(PYTHONS)), list(PYTHONS)[-1]


def sdk_requirements(python: str) -> list[str]:
    if python == LOWEST_PYTHON:
        return [f"opentelemetry-sdk=={LOWEST_SDK}", f"opentelemetry-api=={LOWEST_SDK}"]
    if python == NEWEST_PYTHON:
        return ["--upgrade", "opentelemetry-sdk", "opentelemetry-api"]
    return ["--constraint", str(ROOT / "requirements-dev.txt")]


def pip(venv: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / BIN / f"python{EXE}"), "-m", "pip", "--disable-pip-version-check", *arguments],
        capture_output=True,
        text=True,
        timeout=600,
    )


def fresh_venv(python: Path, directory: Path) -> Path:
    subprocess.run([str(python), "-m", "venv", str(directory)], check=True, timeout=120)
    return directory


@pytest.fixture(scope="module", params=list(PYTHONS))
def installed(request, tmp_path_factory):
    """A fresh virtualenv of one local CPython with the wheels installed as a user would."""
    python = request.param
    venv = fresh_venv(PYTHONS[python], tmp_path_factory.mktemp(f"wheel-{python}"))
    # The `sls` extra brings otel-sls-exporter, found beside the wheel.
    result = pip(
        venv,
        "install",
        f"{WHEEL}[sls]",
        "--find-links",
        str(DIST),
        "opentelemetry-instrumentation",
        *sdk_requirements(python),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return python, venv


def run_smoke(venv: Path, receiver, **variables: str) -> tuple[dict, str]:
    env = instrumented_env(
        traces="rust_otlp",
        logs="rust_otlp",
        metrics="rust_otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint_for("traces").rsplit("/v1/", 1)[0],
        OTEL_EXPORTER_OTLP_PROTOCOL=receiver.protocol,
        **variables,
    )
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    instrument, python = venv / BIN / f"opentelemetry-instrument{EXE}", venv / BIN / f"python{EXE}"
    result = subprocess.run(
        [str(instrument), str(python), app("wheel_smoke.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=venv,
    )
    assert result.returncode == 0, result.stderr
    reports = {report["process"]: report for report in map(json.loads, result.stdout.splitlines())}
    assert set(reports) == ({"parent"} if WINDOWS else {"parent", "child"}), result.stdout
    return reports, result.stderr


def installed_version(venv: Path, distribution: str) -> str:
    result = pip(venv, "show", distribution)
    match = re.search(r"^Version: (.+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout + result.stderr
    return match.group(1)


def test_wheel_exports_every_signal_across_a_fork_and_an_exit_without_shutdown(installed):
    python, venv = installed
    # Both transports are covered across the versions.
    receiver = GrpcReceiver() if list(PYTHONS).index(python) % 2 == 0 else HttpReceiver()
    try:
        reports, stderr = run_smoke(venv, receiver)
        spans = Counter(span.name for span in receiver.received.wait_for_spans(2 * len(PROCESSES)))
        logs = Counter(
            record.body.string_value for record in receiver.logs.wait_for_log_records(len(PROCESSES))
        )
        metric_points = {
            attribute.value.string_value
            for request in receiver.metrics.requests
            for point in sum_points(request, "wheel.smoke.runs")
            for attribute in point.attributes
            if attribute.key == "process"
        }
    finally:
        receiver.close()

    for report in reports.values():
        # The module came from the wheel in this virtualenv, not from the checkout.
        assert Path(report["native"]).is_relative_to(venv), report["native"]
        assert report["version"] == report["sls_version"] == workspace_version()
        assert report["span_processors"] == ["RustSpanProcessor"]
        assert not STOCK_BATCH_THREADS & set(report["threads"]), report["threads"]
    assert reports["parent"]["child_exit_code"] == (None if WINDOWS else 0)
    assert spans == Counter(f"{process}-{part}" for process in PROCESSES for part in ("outer", "inner"))
    assert logs == Counter(f"{process}-log" for process in PROCESSES)
    assert metric_points == set(PROCESSES)
    assert "hook (added in 1.40)" not in stderr
    if python == LOWEST_PYTHON:
        assert reports["parent"]["sdk_version"] == LOWEST_SDK


@pytest.fixture(scope="module")
def lowest_python_venv(tmp_path_factory) -> Path:
    return fresh_venv(PYTHONS[LOWEST_PYTHON], tmp_path_factory.mktemp("floor"))


def test_pip_refuses_an_sdk_older_than_the_floor(lowest_python_venv):
    result = pip(
        lowest_python_venv, "install", "--dry-run", str(WHEEL), f"opentelemetry-sdk=={SDK_WITHOUT_HOOKS}"
    )

    assert result.returncode != 0
    # The resolver names whichever conflict it met first: the SDK's or its pinned API's.
    assert re.search(r"otel-rust-exporter \S+ depends on opentelemetry-(sdk|api)>=1\.40", result.stdout), (
        result.stdout + result.stderr
    )


def test_an_sdk_without_the_hooks_installed_past_the_resolver_gets_one_warning(lowest_python_venv):
    # What `pip install --no-deps`, a vendored tree or a lock file made by hand can produce.
    result = pip(
        lowest_python_venv,
        "install",
        f"opentelemetry-sdk=={SDK_WITHOUT_HOOKS}",
        "opentelemetry-instrumentation",
    )
    assert result.returncode == 0, result.stderr
    result = pip(lowest_python_venv, "install", "--no-deps", str(WHEEL), str(SLS_WHEEL))
    assert result.returncode == 0, result.stderr
    assert installed_version(lowest_python_venv, "opentelemetry-sdk") == SDK_WITHOUT_HOOKS

    receiver = HttpReceiver()
    try:
        reports, stderr = run_smoke(lowest_python_venv, receiver)
        spans = receiver.received.wait_for_spans(2 * len(PROCESSES))
    finally:
        receiver.close()

    warnings = [line for line in stderr.splitlines() if "hook (added in 1.40)" in line]
    assert len(warnings) == 1, stderr
    assert f"opentelemetry-sdk {SDK_WITHOUT_HOOKS} has no export_span_processor" in warnings[0]
    # Still exported, by the stock batch processor the warning names.
    assert reports["parent"]["span_processors"] == ["BatchSpanProcessor"]
    assert len(spans) == 2 * len(PROCESSES)


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(archive.read(name))


@pytest.mark.parametrize("wheel", [WHEEL, SLS_WHEEL], ids=["otel-rust-exporter", "otel-sls-exporter"])
def test_wheel_metadata_is_complete_for_pypi(wheel):
    metadata = wheel_metadata(wheel)
    with zipfile.ZipFile(wheel) as archive:
        licenses = [name for name in archive.namelist() if name.endswith("/licenses/LICENSE")]
        assert licenses, archive.namelist()
        assert b"Apache License" in archive.read(licenses[0])

    assert metadata["Version"] == workspace_version()
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Requires-Python"] == ">=3.9"
    classifiers = metadata.get_all("Classifier")
    assert "Typing :: Typed" in classifiers
    assert {f"Programming Language :: Python :: 3.{minor}" for minor in range(9, 14)} <= set(classifiers)
    assert metadata.get_all("Project-URL")
    assert metadata["Keywords"]
    assert any(
        re.fullmatch(r"opentelemetry-sdk *>= *1\.40", requirement)
        for requirement in metadata.get_all("Requires-Dist")
    )
    # PyPI renders the description away from the repository: every link must be absolute.
    description = metadata.get_payload()
    assert "# otel-" in description
    relative = [target for target in re.findall(r"\]\(([^)]+)\)", description) if "://" not in target]
    assert not relative


def test_sls_wheel_accepts_any_compatible_release_of_the_native_package():
    requirements = wheel_metadata(SLS_WHEEL).get_all("Requires-Dist")
    assert "otel-rust-exporter<0.2,>=0.1" in requirements


@pytest.mark.skipif(not MANYLINUX, reason="checks the manylinux wheel's shared object")
def test_native_module_in_the_wheel_is_stripped():
    with zipfile.ZipFile(WHEEL) as archive:
        name = next(name for name in archive.namelist() if name.endswith(".so"))
        with archive.open(name) as shared_object:
            elf = ELFFile(shared_object)
            assert elf.get_section_by_name(".symtab") is None
            assert elf.get_section_by_name(".debug_info") is None


def test_sdist_has_the_license_and_no_build_output():
    with tarfile.open(SDIST) as sdist:
        names = sdist.getnames()
    top = names[0].split("/")[0]
    assert f"{top}/LICENSE" in names
    leaked = [name for name in names if re.search(r"/(build|dist|target|\.venv[^/]*)/", name)]
    assert not leaked


@pytest.mark.skipif(not MANYLINUX, reason="checks the manylinux wheel's shared object")
def test_glibc_check_catches_a_symbol_the_linker_left_unversioned(tmp_path):
    """What auditwheel misses and scripts/check_glibc_symbols.py (run by build-wheels.sh)
    must catch: zig links against glibc 2.17, where `gettid` does not exist yet."""
    source = tmp_path / "uses_gettid.c"
    source.write_text(
        "#define _GNU_SOURCE\n#include <unistd.h>\n"
        "int on_main_thread(void) { return gettid() == getpid(); }\n"
    )
    shared_object = tmp_path / "uses_gettid.so"
    zig_cc = [sys.executable, "-m", "ziglang", "cc", "-target", "x86_64-linux-gnu.2.17"]
    subprocess.run(
        [*zig_cc, "-shared", "-fPIC", "-o", str(shared_object), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    check = [sys.executable, str(ROOT / "scripts/check_glibc_symbols.py")]

    caught = subprocess.run([*check, str(shared_object)], capture_output=True, text=True)
    passed = subprocess.run([*check, str(WHEEL)], capture_output=True, text=True)

    assert caught.returncode == 1
    assert "gettid is undefined and unversioned" in caught.stdout
    assert passed.returncode == 0, passed.stdout
