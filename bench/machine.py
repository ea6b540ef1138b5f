"""How fast this machine runs Python, printed beside every benchmark's figures.

Timings here move with the machine (one session's two cores ran the same code twice as fast as the
next's), so each script reports this reference too: compare figures across runs relative to it.
"""

import os
import time


def _workload() -> int:
    """Pure-Python work in the shape of a web request: small dicts, strings, attribute lookups, calls."""
    total = 0
    for i in range(200_000):
        row = {"pk": i, "name": f"model-{i}", "index": i % 97}
        total += len(row["name"]) + row["index"]
    return total


def reference() -> dict:
    """The best of five runs of a fixed workload, in milliseconds (lower is a faster machine)."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        _workload()
        runs.append(time.perf_counter() - started)
    return {"python_reference_ms": round(min(runs) * 1000, 1), "cpus": os.cpu_count()}
