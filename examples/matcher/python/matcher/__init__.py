"""Best-fit task/offer matching: the Rust port (single-threaded and rayon, both without the
GIL, traced through otel-rust-bridge) with the pure-Python original as fallback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Optional

from matcher import _legacy
from matcher.data import SIZES, Offer, Task, generate

try:
    from matcher import _native
except ImportError as error:  # pragma: no cover - only without a built extension
    _native = None
    logging.getLogger("matcher").warning("Rust matcher unavailable (%s); using pure Python", error)

__all__ = ["SIZES", "Offer", "Task", "best_fit", "best_fit_parallel", "best_fit_python", "generate"]

best_fit_python = _legacy.best_fit


def best_fit(tasks: Sequence[Task], offers: Sequence[Offer]) -> dict[str, str]:
    """Single-threaded Rust, or pure Python without the extension."""
    if _native is None:
        return _legacy.best_fit(tasks, offers)
    return _native.best_fit(tasks, offers)


def best_fit_parallel(
    tasks: Sequence[Task], offers: Sequence[Offer], threads: Optional[int] = None
) -> dict[str, str]:
    """Multi-threaded Rust (one worker per core unless ``threads``), or pure Python."""
    if _native is None:
        return _legacy.best_fit(tasks, offers)
    return _native.best_fit_parallel(tasks, offers, threads)
