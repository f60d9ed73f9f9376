"""The project's own span tests, run again with every TracerProvider a RustTracerProvider
(tests/support/native_provider_plugin.py): the wire-parity catalog (what our processor
sends of native spans equals the stock encoder's output for the same spans, as Python
processors see them), delivery, and otel-rust-bridge parenting Rust spans under native
ones. (Fork safety: tests/traces/test_fork.py runs its apps with both providers.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITES = [
    "tests/traces/test_wire_parity.py",
    "tests/traces/test_delivery.py",
    "tests/bridge/test_matcher.py",
]


@pytest.mark.parametrize("suite", SUITES)
def test_suite_passes_with_the_native_provider(suite, tmp_path):
    reached = tmp_path / "native.json"
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "support"), str(ROOT)]),
        "NATIVE_SUITE_REPORT": str(reached),
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "native_provider_plugin",
            suite,
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    # Guards the run: it proves something only if our provider made the spans.
    assert json.loads(reached.read_text()), "no test reached a native tracer"
