"""The disk spool across outages and restarts (issue 11): real receivers, real job processes,
a real ``kill -9``. Every item the job made must arrive, once."""

from __future__ import annotations

import collections
import json
import os
import signal
import threading
import time

import pytest

from tests.support.otlp_receivers import GrpcReceiver, HttpReceiver, Reply
from tests.support.spool import job_env, request_files, run_job, spooled_items, start_job
from tests.support.tcp import Blackhole, closed_port

RECEIVERS = {"http/protobuf": HttpReceiver, "grpc": GrpcReceiver}


def span_names(*receivers) -> list[str]:
    return [span.name for receiver in receivers for span in receiver.received.spans()]


def log_bodies(*receivers) -> list[str]:
    return [record.body.string_value for receiver in receivers for record in receiver.logs.log_records()]


def point_labels(*receivers) -> list[str]:
    labels = []
    for receiver in receivers:
        for request in receiver.metrics.requests:
            for resource in request.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        for point in metric.sum.data_points:
                            labels += [kv.value.string_value for kv in point.attributes if kv.key == "n"]
    return labels


def duplicates(names: list[str]) -> list[str]:
    return [name for name, count in collections.Counter(names).items() if count > 1]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_job_run_while_the_collector_is_down_arrives_with_the_next_run(tmp_path, protocol):
    port = closed_port()
    env = job_env(f"http://127.0.0.1:{port}", tmp_path, protocol)
    first = run_job(env, "first", 1200, 300, 25)
    assert first["traces"]["spooled"] == 1200
    assert first["logs"]["spooled"] == 300
    assert first["metrics"]["spooled"] == 25
    assert spooled_items(tmp_path, "traces") == 1200

    receiver = RECEIVERS[protocol](port)
    try:
        # The second run has nothing of its own to send.
        second = run_job(env, "second", 0, 0, 0)
        spans, logs, points = span_names(receiver), log_bodies(receiver), point_labels(receiver)
    finally:
        receiver.close()
    assert sorted(spans) == sorted(f"first-span-{i}" for i in range(1200))
    assert sorted(logs) == sorted(f"first-log-{i}" for i in range(300))
    assert sorted(points) == sorted(f"first-{i}" for i in range(25))
    assert (second["traces"]["replayed"], second["logs"]["replayed"], second["metrics"]["replayed"]) == (
        1200,
        300,
        25,
    )
    assert request_files(tmp_path) == [], "a clean replay leaves no request behind"


def test_a_collector_that_never_answers_is_spooled_after_one_timeout(tmp_path):
    blackhole = Blackhole()
    try:
        env = job_env(f"http://127.0.0.1:{blackhole.port}", tmp_path, OTEL_EXPORTER_OTLP_TIMEOUT="1000")
        first = run_job(env, "unanswered", 1200, 40, 0)
    finally:
        blackhole.close()
    assert (first["traces"]["spooled"], first["logs"]["spooled"]) == (1200, 40)
    assert (first["traces"]["failed"], first["traces"]["dropped"]) == (0, 0)

    # The next run is configured for another collector: the files go where it sends.
    receiver = HttpReceiver()
    try:
        run_job(job_env(f"http://127.0.0.1:{receiver.port}", tmp_path), "next", 0, 0, 0)
        spans, logs = span_names(receiver), log_bodies(receiver)
    finally:
        receiver.close()
    assert sorted(spans) == sorted(f"unanswered-span-{i}" for i in range(1200))
    assert sorted(logs) == sorted(f"unanswered-log-{i}" for i in range(40))


def test_a_five_second_outage_mid_run_loses_nothing(tmp_path):
    port = closed_port()
    receivers = [HttpReceiver(port)]
    env = job_env(f"http://127.0.0.1:{port}", tmp_path)

    def outage() -> None:
        # Once the job is under way, not after a fixed time: its start-up takes what it takes,
        # while at its rate it cannot end its 20 000 spans in under ten seconds.
        receivers[0].received.wait_for_spans(1000, timeout=60)
        receivers[0].close()
        time.sleep(5)
        receivers.append(HttpReceiver(port))

    collector = threading.Thread(target=outage)
    collector.start()
    try:
        report = run_job(env, "steady", 20_000, 0, 0, "--rate", "2000")
    finally:
        collector.join()
        for receiver in receivers:
            receiver.close()
    names = span_names(*receivers)
    assert report["traces"]["spooled"] > 0, "the outage was seen"
    assert duplicates(names) == []
    assert len(names) == 20_000
    assert report["traces"]["dropped"] == 0
    assert report["traces"]["replayed"] == report["traces"]["spooled"]
    assert request_files(tmp_path) == []


def test_kill_9_during_an_outage_keeps_everything_already_spooled(tmp_path):
    port = closed_port()
    env = job_env(f"http://127.0.0.1:{port}", tmp_path, OTEL_BSP_MAX_EXPORT_BATCH_SIZE="100")
    job = start_job(env, "killed", "--forever", "--rate", "4000")
    try:
        deadline = time.monotonic() + 30
        while spooled_items(tmp_path) < 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
        job.send_signal(signal.SIGKILL)
        job.wait(timeout=10)
    finally:
        job.kill()
        job.communicate()
    on_disk = spooled_items(tmp_path)
    assert on_disk >= 2000

    receiver = HttpReceiver(port)
    try:
        report = run_job(env, "restarted", 0, 0, 0)
        names = span_names(receiver)
    finally:
        receiver.close()
    assert duplicates(names) == []
    assert len(names) == on_disk
    assert all(name.startswith("killed-span-") for name in names)
    assert report["traces"]["replayed"] == on_disk
    assert request_files(tmp_path) == []


def test_forked_workers_and_another_process_replay_each_request_once(tmp_path):
    port = closed_port()
    env = job_env(f"http://127.0.0.1:{port}", tmp_path, OTEL_BSP_MAX_EXPORT_BATCH_SIZE="25")
    run_job(env, "shared", 2000, 0, 0)
    files = len(request_files(tmp_path))
    assert files >= 80

    receiver = HttpReceiver(port)
    # The first request is answered only once another has arrived: its process waits on it
    # meanwhile, so at least two processes replay, however the four are scheduled. (A
    # timeout longer than the hold: a request given up on after it arrived would come twice.)
    first_answer = threading.Event()
    receiver.reply_with(Reply(hold=first_answer))
    replay_env = {**env, "OTEL_EXPORTER_OTLP_TIMEOUT": "120000"}
    release = threading.Thread(
        target=lambda: (receiver.received.wait_for_requests(1, timeout=60), first_answer.set())
    )
    release.start()
    try:
        # A parent with two forked workers and one unrelated process, all replaying at once.
        forked = start_job(replay_env, "forked", "--fork", "2", "--linger", "1")
        other = start_job(replay_env, "other", "--linger", "1")
        reports = []
        for job in (forked, other):
            out, err = job.communicate(timeout=60)
            assert job.returncode == 0, err
            reports += [line for line in out.splitlines() if line.startswith("{")]
        names = span_names(receiver)
        requests = len(receiver.received.requests)
    finally:
        first_answer.set()
        release.join()
        receiver.close()
    assert len(reports) == 4
    assert duplicates(names) == []
    assert sorted(names) == sorted(f"shared-span-{i}" for i in range(2000))
    assert requests == files, "no request was sent twice"
    replayed = [json.loads(report)["traces"]["replayed"] for report in reports]
    assert sum(replayed) == 2000
    assert sum(1 for count in replayed if count) >= 2, f"one process did everything: {replayed}"
    assert request_files(tmp_path) == []


def test_nothing_is_written_without_a_spool_directory(tmp_path):
    env = job_env(f"http://127.0.0.1:{closed_port()}", tmp_path / "never", OTEL_EXPORTER_OTLP_TIMEOUT="300")
    del env["OTEL_RUST_EXPORTER_SPOOL_DIR"]
    report = run_job(env, "plain", 100, 10, 3)
    assert report["traces"]["spooled"] == 0
    assert report["traces"]["failed"] == 100
    assert not (tmp_path / "never").exists()
    assert os.listdir(tmp_path) == []
