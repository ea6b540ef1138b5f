"""Registry against Registry: concurrent writers through gunicorn, interleaved across checkouts or settings (stop 12).

Usage: python3 bench/writers_ab.py [--rounds 6] [--clients 8] [--calls 400] [--op create|alias|get]
           main=/tmp/main-checkout branch=.:GUNICORN_THREADS=2,WEB_CONCURRENCY=2 …

Each LABEL=CHECKOUT[:VAR=VALUE,…] starts Registry from that checkout (its .venv) under the production gunicorn
configuration on a fresh SQLite database, with the variables set for it, as bench/peer.py starts it; each gets
bench/peer.py's 20 collections. Then every round measures the operation on each server in turn (the order
alternating), so all see the same load: on a shared machine compare medians of interleaved rounds, not runs.
Prints one line per round and the medians. Not part of `make test`.
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402 - bench/machine.py, beside this script
import peer  # noqa: E402


def start(spec: str, base_env: dict):
    label, _, rest = spec.partition("=")
    checkout, _, assignments = rest.partition(":")
    os.environ.clear()
    os.environ.update(base_env)
    for assignment in filter(None, assignments.split(",")):
        name, _, value = assignment.partition("=")
        os.environ[name] = value
    peer.ROOT = Path(checkout).resolve()
    peer.PYTHON = peer.ROOT / ".venv" / "bin" / "python"
    data = Path(tempfile.mkdtemp(prefix="registry-writers-")) / "registry"
    data.mkdir()
    workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    try:
        return label, peer.start_registry(data, f"sqlite:///{data}/db.sqlite3", workers)
    finally:
        os.environ.clear()
        os.environ.update(base_env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--op", choices=["create", "alias", "get"], default="create")
    parser.add_argument("servers", nargs="+", help="LABEL=CHECKOUT[:VAR=VALUE,…]")
    args = parser.parse_args()

    def create(server, i):
        server.create_version(f"c{i % peer.COLLECTIONS}", i)

    def alias(server, i):
        server.set_alias(f"c{i % peer.COLLECTIONS}", (i // peer.COLLECTIONS) % 2, "champion")

    def get(server, i):
        server.get_by_alias(f"c{i % peer.COLLECTIONS}", "champion")

    work = {"create": create, "alias": alias, "get": get}[args.op]
    base_env = dict(os.environ)
    servers = {}
    try:
        for spec in args.servers:
            label, server = start(spec, base_env)
            servers[label] = server
        for server in servers.values():
            for k in range(peer.COLLECTIONS):
                server.create_collection(f"c{k}")
                server.create_version(f"c{k}", 1)
                server.set_alias(f"c{k}", 0, "champion")
            peer.throughput(server, args.clients, 100, create)  # warm up
        print(machine.reference(), "load", os.getloadavg(), flush=True)
        rates = {label: [] for label in servers}
        for round_ in range(args.rounds):
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for label in order:
                rates[label].append(peer.throughput(servers[label], args.clients, args.calls, work))
            print(round_, {label: values[-1] for label, values in rates.items()}, flush=True)
        print("median", {label: statistics.median(values) for label, values in rates.items()}, "load", os.getloadavg())
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
