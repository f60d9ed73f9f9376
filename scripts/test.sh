#!/usr/bin/env bash
# Sets up, then runs every check CI runs: formatting, lints, Rust unit tests, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== cargo fmt --check"; cargo fmt --all --check
echo "== cargo clippy"; cargo clippy --all-targets --quiet -- -D warnings
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== cargo test"; cargo test --quiet
echo "== pytest"; .venv/bin/python -m pytest -q
