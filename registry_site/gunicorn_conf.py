"""gunicorn's configuration for `make serve` (`gunicorn -c registry_site/gunicorn_conf.py registry_site.wsgi`).

Every value can be changed by an environment variable (docs/deploy.md lists them).
"""

import gc
import os
from pathlib import Path

bind = os.environ.get("BIND", "127.0.0.1:8000").split(",")
# One worker process per core (a second worker on two cores added 25–30 % write throughput for ~66 MB).
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
# Threads keep a worker answering while one of its requests streams a large upload or download from a slow client.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# gthread's timeout is the worker's own liveness (its main loop), not a request's duration: long uploads live on.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Load the app once in the master: a missing SECRET_KEY or ALLOWED_HOSTS stops it with one line, before any fork.
preload_app = True
# The app writes one JSON line per request itself (lib/logs.py); gunicorn's own access log would repeat it.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket is one per user by default: several servers on one host would share it.
control_socket_disable = True


def _fresh_metrics_folder() -> None:
    """Request metrics are shared between the workers through files in PROMETHEUS_MULTIPROC_DIR (prometheus_client's
    multiprocess mode). It must be set before the app (and so prometheus_client) loads, and start empty: figures of a
    previous run's processes would be added in."""
    var = Path(os.environ.get("REGISTRY_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    # One folder per server (by its address): two servers on one host must not clear each other's files.
    default = var / "metrics" / "".join(c if c.isalnum() else "-" for c in bind[0])
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(default)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    for stale in Path(folder).glob("*.db"):
        stale.unlink()
    Path(folder).mkdir(parents=True, exist_ok=True)


_fresh_metrics_folder()


def pre_fork(server, worker):
    """Each worker starts with the preloaded app's objects moved out of the garbage collector's sight: its full
    collections then skip the ~130,000 long-lived objects of Django and the app (walking them took a fifth of a
    create call's CPU), and the workers keep sharing those memory pages with the master instead of copying them.
    Garbage is collected first, so none of it is frozen for good."""
    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    """A worker that exits takes its live gauges with it (its counters and histograms are kept)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
