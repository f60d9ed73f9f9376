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
# The SLS exporter's Python facade (pure Python, uses the native module above).
.venv/bin/python -m pip install --quiet -e packages/sls-exporter
# The fake SLS server verifies requests with aliyun-log-python-sdk, which pins protobuf<6
# (the OTLP stack needs newer), so it runs from a virtualenv of its own.
python3 -m venv .venv-sls
.venv-sls/bin/python -m pip install --quiet -r tests/support/requirements-sls.txt
# opentelemetry-python-contrib's instrumentations (tests/instrumentation/) pin an SDK one
# patch behind .venv's, so they get a virtualenv of their own, with the package built
# above installed into it (maturin reuses the compiled module: seconds, not a rebuild).
python3 -m venv .venv-instrumentation
.venv-instrumentation/bin/python -m pip install --quiet -r tests/support/requirements-instrumentation.txt
VIRTUAL_ENV="$PWD/.venv-instrumentation" .venv/bin/maturin develop --release --quiet
