#!/usr/bin/env bash
# Creates .venv, installs the demo/test dependencies and builds the native module (release).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements-dev.txt
# `maturin develop` installs the package editable into .venv, with its entry points.
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop --release --quiet
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop --release --quiet -m examples/matcher/Cargo.toml
