"""Prometheus metrics that work across gunicorn's worker processes.

Under `make serve` (registry_site/gunicorn_conf.py) PROMETHEUS_MULTIPROC_DIR is set: each process writes its
figures to files there and a scrape of any worker adds up all of them (prometheus_client's multiprocess mode).
Without it (runserver, a gunicorn started without that config) a scrape shows the answering process's own figures.
Figures read from the database (queue depth, failures) are the same whichever process answers.
"""

import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest, multiprocess

REQUEST_LATENCY = Histogram(
    "registry_http_request_duration_seconds",
    "Time from a request's arrival to its response (a streamed body's transfer not included).",
    ["method", "view", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def observe_request(method: str, view: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(method, view, str(status)).observe(seconds)


def exposition(*collectors) -> tuple[bytes, str]:
    """The metrics text (every process's request figures, plus `collectors`' own) and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
        text = generate_latest(processes)
    else:
        text = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    for collector in collectors:
        extra.register(collector)
    return text + generate_latest(extra), CONTENT_TYPE_LATEST
