"""Celery side of the Updraft benchmark: the task every graph node runs, on the local Redis."""
import os
import subprocess
import time

import redis
from celery import Celery

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
PREFIX = "updraft_bench_celery"

app = Celery("bench_tasks", broker=REDIS_URL + "/1", backend=REDIS_URL + "/2")
app.conf.update(
    task_default_queue=PREFIX,
    result_expires=600,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
)
_r = redis.Redis.from_url(REDIS_URL + "/3")


@app.task(name="bench.task")
def task(g, i, body, seconds=0):
    start = time.time() * 1000
    _r.incr(PREFIX + ":running")
    try:
        if body == "bash":
            subprocess.run(["true"], check=True)
        elif body == "sleep":
            subprocess.run(["sleep", str(seconds)], check=True)
    finally:
        _r.decr(PREFIX + ":running")
    end = time.time() * 1000
    _r.rpush(PREFIX + ":times", f"{g} {i} {start} {end}")
    return None
