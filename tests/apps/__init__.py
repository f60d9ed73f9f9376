"""Small programs the tests run in subprocesses, and how to run them.

Each app reads its exporter settings from the environment, like a real deployment, so the
tests point it at a loopback receiver with ``OTEL_EXPORTER_OTLP_TRACES_*`` variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

APPS = Path(__file__).parent
# The working directory of every child: ``python -c`` children import ``tests.support``.
ROOT = APPS.parents[1]
PYTHON = sys.executable
INSTRUMENT = str(Path(sys.executable).parent / "opentelemetry-instrument")


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without any ``OTEL_*`` variable, plus ``variables``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    env.update(variables)
    return env


def exporter_env(endpoint: str, protocol: str, **variables: str) -> dict[str, str]:
    return clean_env(
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=endpoint,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=protocol,
        **variables,
    )


def instrumented_env(traces: str, logs: str, metrics: str, **variables: str) -> dict[str, str]:
    """For an app under ``opentelemetry-instrument``: each signal's exporter, with logging
    auto-instrumentation on (stdlib records become log records), plus ``variables``."""
    return clean_env(
        OTEL_TRACES_EXPORTER=traces,
        OTEL_LOGS_EXPORTER=logs,
        OTEL_METRICS_EXPORTER=metrics,
        OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED="true",
        **variables,
    )


def app(script: str) -> str:
    return str(APPS / script)


def run(*argv: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs ``argv`` to completion; a hang fails the test through ``timeout``."""
    return subprocess.run(list(argv), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def run_under_instrument(
    script: str, *arguments: str, env: dict[str, str]
) -> tuple[dict, subprocess.CompletedProcess]:
    """Runs the app ``script`` under ``opentelemetry-instrument``, which must exit cleanly;
    returns the JSON report it printed and the finished process."""
    result = run(INSTRUMENT, PYTHON, app(script), *arguments, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result
