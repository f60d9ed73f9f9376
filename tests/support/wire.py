"""Comparing what a receiver decoded with what the stock encoder produced."""

from __future__ import annotations

from google.protobuf import text_format


def assert_same_request(sent, expected) -> None:
    # The text form first, so a failure shows a readable diff; then the canonical bytes,
    # which also tell apart what text hides (e.g. an empty but present sub-message).
    assert text_format.MessageToString(sent, as_utf8=True) == text_format.MessageToString(
        expected, as_utf8=True
    )
    assert sent.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
