"""Suites we did not write, run against RustTracerProvider.

Their tests ship in source distributions on PyPI; they are fetched at test time (never
copied into this repository) and run by pytest in a subprocess, with
``native_provider_plugin`` (every ``TracerProvider`` the suite makes is ours, and which
tests reached a native tracer is reported) or without it (the SDK's provider, to tell
failures of ours from failures of the environment).
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class SuiteRun:
    # Each test ("module.Class.test") and "passed", "failed" or "skipped".
    outcomes: dict[str, str]
    # The tests that made a native tracer (always empty without the plugin).
    native: frozenset[str]
    # The end of pytest's output, for assertion messages.
    output: str

    def count(self, outcome: str) -> int:
        return sum(found == outcome for found in self.outcomes.values())

    def failures(self) -> list[str]:
        return sorted(name for name, outcome in self.outcomes.items() if outcome == "failed")

    def summary(self) -> str:
        return f"{self.count('passed')} passed, {self.count('failed')} failed, {len(self.native)} native"


def pip(python: Path, *arguments: str, cwd: Path) -> None:
    """``python -m pip``; skips the calling test when PyPI cannot be reached."""
    try:
        subprocess.run(
            [str(python), "-m", "pip", "--disable-pip-version-check", "-q", *arguments],
            cwd=cwd,
            check=True,
            capture_output=True,
            timeout=240,
        )
    except subprocess.CalledProcessError as error:
        pytest.skip(f"PyPI not reachable: {error.stderr.decode(errors='replace')[-300:]}")


def fetch_sdists(python: Path, requirements: list[str], work: Path) -> dict[str, Path]:
    """Downloads the source distribution of each ``name==version`` and unpacks it in
    ``work``; returns each requirement's source directory."""
    pip(python, "download", "--no-deps", "--no-binary", ":all:", *requirements, "-d", ".", cwd=work)
    sources = {}
    for requirement in requirements:
        name, version = requirement.split("==")
        stem = f"{name.replace('-', '_')}-{version}"
        with tarfile.open(work / f"{stem}.tar.gz") as sdist:
            sdist.extractall(work, filter="data")
        sources[requirement] = work / stem
    return sources


def run_suite(
    python: Path, source: Path, tests: str, work: Path, *, native: bool, pythonpath: tuple[Path, ...] = ()
) -> SuiteRun:
    """Runs pytest on ``tests`` in ``source`` with ``python``; with ``native``, every
    tracer provider is a RustTracerProvider."""
    work.mkdir(parents=True, exist_ok=True)
    junit, reached = work / "junit.xml", work / "native.json"
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(path) for path in (*pythonpath, SUPPORT)),
        # Some tests run `python` in a subprocess: the same interpreter, with its packages.
        "PATH": os.pathsep.join([str(python.parent), os.environ.get("PATH", "")]),
    }
    plugins = ["-p", "no:cacheprovider"]
    if native:
        environment["NATIVE_SUITE_REPORT"] = str(reached)
        plugins += ["-p", "native_provider_plugin"]
    run = subprocess.run(
        [str(python), "-m", "pytest", "-q", *plugins, f"--junitxml={junit}", tests],
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
    return SuiteRun(
        outcomes=outcomes,
        native=frozenset(json.loads(reached.read_text())) if native else frozenset(),
        output=(run.stdout + run.stderr)[-3000:],
    )
