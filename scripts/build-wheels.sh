#!/usr/bin/env bash
# Builds the Linux x86_64 release artifacts into dist/ and checks them:
# - otel-rust-exporter: a manylinux2014 (glibc 2.17 and newer) abi3 wheel for CPython 3.9+,
#   linked by zig against glibc 2.17, stripped; and its sdist;
# - otel-sls-exporter: its pure-Python wheel.
# auditwheel must place the wheel at manylinux_2_17, and scripts/check_glibc_symbols.py
# must find no glibc symbol newer than 2.17 and no unversioned one. Other platforms are
# built by .github/workflows/release.yml. Needs .venv (bash scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install --quiet -r requirements-wheels.txt
rm -rf dist
# maturin runs zig as `python3 -m ziglang`: the venv's python3 must come first.
export PATH="$PWD/.venv/bin:$PATH" VIRTUAL_ENV="$PWD/.venv"
maturin build --release --zig --compatibility manylinux2014 --target x86_64-unknown-linux-gnu \
    --out dist --quiet
maturin sdist --out dist
python -m pip wheel --quiet --no-deps --wheel-dir dist packages/sls-exporter
rm -rf packages/sls-exporter/build
wheel=$(ls dist/otel_rust_exporter-*-manylinux*_x86_64.whl)
report=$(auditwheel show "$wheel")
echo "$report"
# auditwheel wraps its lines: join them before looking for the verdict.
echo "$report" | tr '\n' ' ' | grep -q 'consistent with the following platform tag: "manylinux_2_17_x86_64"'
python scripts/check_glibc_symbols.py --max 2.17 "$wheel"
ls -l dist
