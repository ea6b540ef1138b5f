"""Compare two checkouts' pages at company size, interleaved, on a machine other work shares.

Usage: .venv/bin/python bench/pages_ab.py BEFORE_DIR BEFORE_DATABASE_URL AFTER_DIR AFTER_DATABASE_URL
                                          [--rounds 3] [--requests 10]
Each side runs in its own process from its own checkout (e.g. `git archive main | tar -x -C /tmp/main`)
against its own copy of a seeded database (bench/seed_large.py). Round by round, page by page, both
sides serve `--requests` requests in turn (which one goes first alternates), so both see the same
load: on a shared machine, timings of separate runs swung 1.5-2x with it. Prints JSON: per page and
side, the median and minimum CPU time of the serving process (SQLite's queries included) and the
median wall time.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def worker() -> None:
    """Serve 'page n' lines from stdin with this checkout's code; answer per-request CPU and wall ms."""
    sys.path.insert(0, str(Path.cwd() / "bench"))
    sys.argv = sys.argv[:1]
    import pages  # noqa: PLC0415 (sets Django up as bench/pages.py does)
    import seed_large  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415

    everything, clients = seed_large.pages(), {}
    for user, url in everything.values():
        if user.pk not in clients:
            clients[user.pk] = Client()
            clients[user.pk].force_login(user)
        clients[user.pk].get(url)  # warm caches as a running server has them
    print(json.dumps({"pages": list(everything), **pages.machine.reference()}), flush=True)
    for line in sys.stdin:
        name, n = line.split()
        user, url = everything[name]
        cpu, wall = [], []
        for _ in range(int(n)):
            started, started_cpu = time.perf_counter(), time.process_time()
            assert clients[user.pk].get(url).status_code == 200, url
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
        print(json.dumps({"cpu": cpu, "wall": wall}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before_dir")
    parser.add_argument("before_database_url")
    parser.add_argument("after_dir")
    parser.add_argument("after_database_url")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args()
    sides = {"before": (args.before_dir, args.before_database_url), "after": (args.after_dir, args.after_database_url)}
    procs = {}
    for side, (directory, url) in sides.items():
        env = dict(os.environ, DATABASE_URL=url, DEBUG="false", LOG_LEVEL="WARNING")
        procs[side] = subprocess.Popen(
            [sys.executable, "-u", str(Path(__file__).resolve()), "--worker"],
            cwd=directory,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    hello = {side: json.loads(proc.stdout.readline()) for side, proc in procs.items()}
    names = hello["before"]["pages"]
    times = {side: {name: {"cpu": [], "wall": []} for name in names} for side in procs}
    for round_ in range(args.rounds):
        for name in names:
            for side in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
                procs[side].stdin.write(f"{name} {args.requests}\n")
                procs[side].stdin.flush()
                answer = json.loads(procs[side].stdout.readline())
                times[side][name]["cpu"] += answer["cpu"]
                times[side][name]["wall"] += answer["wall"]
    for proc in procs.values():
        proc.stdin.close()
        proc.wait()
    figures = {
        "python_reference_ms": {side: hello[side]["python_reference_ms"] for side in procs},
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "requests_per_page_and_side": args.rounds * args.requests,
    }
    for name in names:
        figures[name] = {
            side: {
                "median_cpu_ms": round(statistics.median(times[side][name]["cpu"]), 1),
                "min_cpu_ms": round(min(times[side][name]["cpu"]), 1),
                "median_ms": round(statistics.median(times[side][name]["wall"]), 1),
            }
            for side in procs
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    worker() if "--worker" in sys.argv else main()
