"""Keeping the surrounding shell's variables out of a test."""

from __future__ import annotations

import os

import pytest


def unset_variables(monkeypatch: pytest.MonkeyPatch, *prefixes: str) -> None:
    """Unsets, for one test, every variable whose name starts with one of ``prefixes``."""
    for name in list(os.environ):
        if name.startswith(prefixes):
            monkeypatch.delenv(name)
