"""One SLS pipeline logging N records, run in a process of its own; prints JSON timings.

Run by bench/bench_sls.py with the Python of the pipeline's environment: ``.venv`` for
ours and the OTel SDK floor, ``.venv-sls`` for aliyun-log-python-sdk and
aliyun-log-producer (they pin protobuf<6). Every pipeline logs the same record shape: a
formatted message, the level, and three attributes.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time


def record_fields(index: int) -> dict[str, str]:
    return {"user.id": str(index % 1000), "order.amount": str(index * 3 % 997), "region": "cn-hangzhou"}


def ours(options: dict, count: int):
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk.resources import Resource
    from otel_sls_exporter import SLSLogRecordProcessor

    provider = LoggerProvider(resource=Resource.create({"service.name": "bench"}), shutdown_on_exit=False)
    processor = None
    if options["pipeline"] == "ours":
        processor = SLSLogRecordProcessor(
            options["endpoint"],
            options["project"],
            "bench",
            access_key_id=options["access_key_id"],
            access_key_secret=options["access_key_secret"],
            max_queue_size=count,
        )
        provider.add_log_record_processor(processor)
    logger = logging.getLogger("bench.app")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(logger_provider=provider))

    def emit(index: int) -> None:
        logger.info("order %d processed", index, extra=record_fields(index))

    def finish() -> None:
        if processor is not None:
            processor.force_flush(120_000)
            processor.shutdown()

    return emit, finish


def sdk_client(options: dict):
    from aliyun.log import LogClient

    client = LogClient(options["endpoint"], options["access_key_id"], options["access_key_secret"])
    # The SDK connects straight to an IP endpoint only without a port (see tests).
    client._isRowIp = True
    return client


def sdk_put_logs(options: dict, count: int):
    from aliyun.log import LogItem, PutLogsRequest

    client = sdk_client(options)
    batch: list = []

    def send() -> None:
        client.put_logs(PutLogsRequest(options["project"], "bench", "", "", batch[:]))
        batch.clear()

    def emit(index: int) -> None:
        contents = [("content", f"order {index} processed"), ("level", "INFO")]
        contents.extend(record_fields(index).items())
        batch.append(LogItem(contents=contents))
        if len(batch) == 4096:
            send()

    def finish() -> None:
        if batch:
            send()

    return emit, finish


def sdk_queued_handler(options: dict, count: int):
    from aliyun.log import QueuedLogHandler

    handler = QueuedLogHandler(
        options["endpoint"],
        options["access_key_id"],
        options["access_key_secret"],
        options["project"],
        "bench",
        extract_json=False,
        close_wait=120,
    )
    handler.create_client()
    handler.client._isRowIp = True
    logger = logging.getLogger("bench.app")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)

    def emit(index: int) -> None:
        logger.info("order %d processed", index, extra=record_fields(index))

    return emit, handler.stop


def producer(options: dict, count: int):
    from aliyun_log_producer import EnqueueFullError, Producer, ProducerConfig

    instance = Producer(
        ProducerConfig(
            endpoint=options["endpoint"],
            access_key_id=options["access_key_id"],
            access_key_secret=options["access_key_secret"],
            compression="lz4",
            buffer_bytes=512 * 1024 * 1024,
        )
    )
    writer = instance.writer(options["project"], "bench")

    def emit(index: int) -> None:
        log = {"content": f"order {index} processed", "level": "INFO", **record_fields(index)}
        # Its admission queue fills under this burst: wait for room, as QueuedLogHandler
        # does, so every pipeline delivers everything.
        while True:
            try:
                writer.send(log)
                return
            except EnqueueFullError:
                time.sleep(0.001)

    def finish() -> None:
        instance.flush()
        instance.close()

    return emit, finish


def logging_floor(options: dict, count: int):
    class FormatOnly(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            self.format(record)

    logger = logging.getLogger("bench.app")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(FormatOnly())

    def emit(index: int) -> None:
        logger.info("order %d processed", index, extra=record_fields(index))

    return emit, lambda: None


PIPELINES = {
    "logging_floor": logging_floor,
    "sdk_floor": ours,
    "ours": ours,
    "aliyun_put_logs": sdk_put_logs,
    "aliyun_queued_handler": sdk_queued_handler,
    "aliyun_producer": producer,
}


def main() -> None:
    options = json.loads(sys.argv[1])
    count = options["count"]
    emit, finish = PIPELINES[options["pipeline"]](options, count)
    wall_start, thread_start = time.perf_counter(), time.thread_time()
    for index in range(count):
        emit(index)
    loop_wall = time.perf_counter() - wall_start
    loop_thread_cpu = time.thread_time() - thread_start
    finish()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "loop_wall": loop_wall,
                "loop_thread_cpu": loop_thread_cpu,
                "total_wall": time.perf_counter() - wall_start,
                "process_cpu": usage.ru_utime + usage.ru_stime,
                "max_rss_kib": usage.ru_maxrss,
            }
        )
    )


if __name__ == "__main__":
    main()
