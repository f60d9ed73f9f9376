"""After os.fork() the child exports its own spans, never the copy of the parent's queue it
inherited, and neither process hangs. Forking runs in subprocesses: the receivers' server
threads in the test process must not be forked."""

import json
from collections import Counter

import pytest

from tests.apps import PYTHON, app, exporter_env, run


def delivered_names(received) -> Counter:
    spans = received.spans()
    assert len({span.span_id for span in spans}) == len(spans), "a span id was delivered twice"
    return Counter(span.name for span in spans)


@pytest.mark.parametrize("child_delivers_by", ["flush", "exit"])
def test_parent_and_child_each_export_their_own_spans_exactly_once(receiver, child_delivers_by):
    env = exporter_env(receiver.endpoint, receiver.protocol)
    result = run(PYTHON, app("fork_signals.py"), "spans", child_delivers_by, "flush", env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    reports = {report["process"]: report for report in map(json.loads, result.stdout.splitlines())}

    assert reports["child"]["flushed"] is (True if child_delivers_by == "flush" else None)
    assert reports["parent"]["flushed"] is True
    assert reports["parent"]["child_exit_code"] == 0
    expected = {
        f"{prefix}-{i}" for prefix in ("parent-before-fork", "parent-after-fork", "child") for i in range(20)
    }
    names = delivered_names(receiver.received)
    assert set(names) == expected
    assert set(names.values()) == {1}
    # The child's counters start at the fork: it accepted only its own spans.
    assert reports["child"]["stats"]["spans"]["accepted"] == 20


@pytest.mark.parametrize("workers_deliver_by", ["flush", "exit"])
def test_fork_pool_workers_export_their_own_spans_and_nothing_hangs(receiver, workers_deliver_by):
    env = exporter_env(receiver.endpoint, receiver.protocol)
    result = run(PYTHON, app("fork_pool.py"), workers_deliver_by, env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)

    assert report["task_flushes"] == [True if workers_deliver_by == "flush" else None] * 6
    assert report["parent_flushed"] is True
    expected = {f"task-{task}-{i}" for task in range(6) for i in range(5)}
    expected |= {f"parent-{phase}-pool-{i}" for phase in ("before", "after") for i in range(10)}
    names = delivered_names(receiver.received)
    assert set(names) == expected
    assert set(names.values()) == {1}


def test_forking_while_another_thread_ends_the_first_spans_does_not_deadlock_a_child(http_receiver):
    # The window (lazy initialisation during a process's first spans) is narrow and
    # timing-dependent: many forks in several fresh processes make hitting it likely.
    env = exporter_env(http_receiver.endpoint, "http/protobuf")
    for _ in range(4):
        result = run(PYTHON, app("fork_during_first_spans.py"), env=env, timeout=30)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == [0] * 20
