"""``.venv-instrumentation`` (scripts/setup.sh): opentelemetry-python-contrib's
instrumentations and what their tests need, pinned in requirements-instrumentation.txt, with
this project's package built into it. Its SDK is one patch behind the main .venv's, so the
tests in tests/instrumentation/ run their suites and apps there, in subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parent
INSTRUMENTATION_PYTHON = SUPPORT.parents[1] / ".venv-instrumentation" / "bin" / "python"
REQUIREMENTS = SUPPORT / "requirements-instrumentation.txt"

needs_instrumentation_venv = pytest.mark.skipif(
    not INSTRUMENTATION_PYTHON.exists(), reason="needs .venv-instrumentation (scripts/setup.sh)"
)


def pinned(package: str) -> str:
    """``package==version`` as the requirements file pins it."""
    for line in REQUIREMENTS.read_text().splitlines():
        if line.lower().startswith(f"{package.lower()}=="):
            return line.strip()
    raise LookupError(f"{package} is not pinned in {REQUIREMENTS.name}")
