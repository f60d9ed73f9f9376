#!/usr/bin/env bash
# Sets up, then runs every check CI runs: formatting, lints, types, Rust unit tests, the
# release wheels (built, checked, installed into a virtualenv per local CPython), pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== cargo fmt --check"; cargo fmt --all --check
echo "== cargo clippy"; cargo clippy --all-targets --quiet -- -D warnings
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
# The stub against the built module; @final classes need no PEP 800 @disjoint_base.
echo "== stubtest"; .venv/bin/python -m mypy.stubtest --ignore-disjoint-bases otel_rust_exporter._native
echo "== cargo test"; cargo test --quiet
echo "== release wheels"; bash scripts/build-wheels.sh
echo "== pytest"; OTEL_RUST_EXPORTER_WHEEL_TESTS=required .venv/bin/python -m pytest -q
