"""Deterministic test data: tasks and offers with cpu (millicores) and memory (MiB)."""

from __future__ import annotations

import random
from typing import NamedTuple


class Task(NamedTuple):
    name: str
    cpu: int
    memory: int


class Offer(NamedTuple):
    name: str
    cpu: int
    memory: int


# (tasks, offers): the talk's sizes and smaller ones for tests.
SIZES: dict[str, tuple[int, int]] = {
    "1k x 500": (1_000, 500),
    "10k x 2k": (10_000, 2_000),
    "20k x 20k": (20_000, 20_000),
}


def generate(tasks: int, offers: int, seed: int = 0) -> tuple[list[Task], list[Offer]]:
    """Coarse sizes on purpose: many equal scores, so tie-breaking is exercised."""
    rng = random.Random(seed)
    return (
        [Task(f"task-{i}", rng.randint(1, 16) * 250, rng.randint(1, 32) * 512) for i in range(tasks)],
        [Offer(f"offer-{i}", rng.randint(1, 32) * 250, rng.randint(1, 64) * 512) for i in range(offers)],
    )
