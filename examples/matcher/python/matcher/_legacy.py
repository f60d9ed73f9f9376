"""The pure-Python best-fit matcher: the original code, the fallback, and the oracle the
Rust port is tested against."""

from __future__ import annotations

from collections.abc import Sequence

from matcher.data import Offer, Task


def best_fit(tasks: Sequence[Task], offers: Sequence[Offer]) -> dict[str, str]:
    """In task order, each task takes the fitting offer that leaves the least cpu + memory
    unused (the earlier offer on ties); each offer is used once. Maps offer to task name."""
    used = [False] * len(offers)
    result: dict[str, str] = {}
    for task in tasks:
        best_index = -1
        best_score = 0
        for index, offer in enumerate(offers):
            if used[index] or offer.cpu < task.cpu or offer.memory < task.memory:
                continue
            score = (offer.cpu - task.cpu) + (offer.memory - task.memory)
            if best_index < 0 or score < best_score:
                best_index, best_score = index, score
        if best_index >= 0:
            used[best_index] = True
            result[offers[best_index].name] = task.name
    return result
