"""``python -m otel_rust_exporter check`` (also the ``otel-rust-exporter`` command)."""

import sys

from otel_rust_exporter._check import main

if __name__ == "__main__":
    sys.exit(main())
