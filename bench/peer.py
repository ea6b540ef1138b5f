"""Registry beside MLflow's model registry: the same workload against both servers, interleaved (issue 13).

Usage: python3 bench/peer.py [--rounds 3] [--calls 200] [--walk 2000] [--postgres postgres://postgres@127.0.0.1:5432/]
       [--venv /tmp/registry-peer-mlflow] [--mlflow-version 3.17.2] [--workers N]

Installs MLflow into a throw-away virtualenv (kept under /tmp for the next run), starts `mlflow server
--workers 1` on SQLite and Registry under gunicorn with its production configuration (registry_site/gunicorn_conf.py:
gthread workers with keep-alive, as many as cores unless --workers; SQLite,
fresh data: migrate plus a minimal seed), each on a free port, and runs the same calls over loopback HTTP with
keep-alive connections: create a version in a collection (metadata only; 1 and 8 clients), move an alias
(1 and 8 clients), get a version by alias, list collections, walk 2,000 versions of one collection. Each round
runs every operation against both servers back to back (their order alternating), so ratios are taken per
round: Registry ÷ MLflow, above 1 means Registry is faster. With --postgres, a third server (Registry on a new
PostgreSQL database) runs beside, and one more for each further --postgres (postgres://postgres@%2Fvar%2Frun%2Fpostgresql/
reaches a local server through its socket, as docs/deploy.md advises); each also gets its time over Registry's on
SQLite, per round. Prints one JSON document, with the Python speed reference (bench/machine.py)
and the load average: this machine is shared, so compare ratios, not absolute figures, across runs.
Not part of `make test`.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import machine  # bench/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
COLLECTIONS = 20
ORG = "bench"
REGISTRY = f"{ORG}/wandb-registry-model"  # the org's core Model registry
PROJECT = "bench-team/models"

SEED = """
from django.contrib.auth import get_user_model
from apps.artifacts.services import create_project
from apps.orgs.services import add_team_member, create_api_key, create_team
from apps.registries.services import create_organization
admin = get_user_model().objects.create_user("bench", is_staff=True)
org = create_organization(actor=admin, slug="bench", name="Bench")
team = create_team(actor=admin, org=org, name="bench-team")
add_team_member(actor=admin, team=team, user=admin)
create_project(actor=admin, team=team, name="models")
print(create_api_key(actor=admin, user=admin, name="bench")[1])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, path: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"nothing answers on port {port}")


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (a server's master and workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _kb(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a server's processes, added up: pages a forked worker shares with its master count in both."""
    return round(sum(_kb(f"/proc/{p}/status", "VmRSS:") for p in _tree(pid)) / 1024, 1)


def tree_pss_mb(pid: int) -> float:
    """The memory a server's processes take together: each shared page counted once, split between its sharers."""
    return round(sum(_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in _tree(pid)) / 1024, 1)


class Server:
    """One server under test and how to speak to it. Subclasses name the calls."""

    name = ""

    def __init__(self, port: int, process: subprocess.Popen, headers: dict):
        self.port, self.process, self.headers = port, process, headers
        self.local = threading.local()

    def call(self, method: str, path: str, body=None, query=None):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        url = path + ("?" + urlencode(query) if query else "")
        data = json.dumps(body) if body is not None else None
        headers = {**self.headers, **({"Content-Type": "application/json"} if data else {})}
        try:
            conn.request(method, url, body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (http.client.HTTPException, OSError):
            self.local.conn = None
            conn.close()
            raise
        if response.status >= 400:
            raise RuntimeError(f"{self.name} {method} {url}: {response.status} {payload[:300]!r}")
        return json.loads(payload) if payload else None

    def close_connections(self) -> None:
        self.local = threading.local()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


class MLflow(Server):
    name = "mlflow"
    API = "/api/2.0/mlflow"

    def create_collection(self, name):
        self.call("POST", f"{self.API}/registered-models/create", {"name": name})

    def create_version(self, collection, i):
        self.call(
            "POST",
            f"{self.API}/model-versions/create",
            {"name": collection, "source": f"s3://bench/models/{collection}/{i}", "description": f"run {i}"},
        )

    def set_alias(self, collection, index, alias):
        body = {"name": collection, "alias": alias, "version": str(index + 1)}  # MLflow counts from 1
        self.call("POST", f"{self.API}/registered-models/alias", body)

    def get_by_alias(self, collection, alias):
        found = self.call("GET", f"{self.API}/registered-models/alias", query={"name": collection, "alias": alias})
        assert found["model_version"]["aliases"], found

    def list_collections(self):
        found = self.call("GET", f"{self.API}/registered-models/search", query={"max_results": 100})
        return len(found["registered_models"])

    def walk(self, collection) -> int:
        seen, token = 0, None
        while True:
            query = {"filter": f"name='{collection}'", "max_results": 100}
            if token:
                query["page_token"] = token
            page = self.call("GET", f"{self.API}/model-versions/search", query=query)
            seen += len(page.get("model_versions", []))
            token = page.get("next_page_token")
            if not token:
                return seen


class Registry(Server):
    name = "registry"

    def create_collection(self, name):
        self.create_version(name, 0)  # collections are made on first link

    def create_version(self, collection, i):
        body = {
            "project": PROJECT,
            "name": collection,
            "type": "model",
            "files": [],
            "metadata": {"step": i},
            "description": f"run {i}",
            "commit": True,
            "target_path": f"{REGISTRY}/{collection}",
        }
        self.call("POST", "/api/v1/artifacts", body)

    def set_alias(self, collection, index, alias):
        self.call("POST", "/api/v1/aliases", {"path": f"{REGISTRY}/{collection}:v{index}", "alias": alias})

    def get_by_alias(self, collection, alias):
        found = self.call("GET", "/api/v1/artifacts/resolve", query={"path": f"{REGISTRY}/{collection}:{alias}"})
        assert alias in found["aliases"], found

    def list_collections(self):
        return len(self.call("GET", "/api/v1/collections", query={"per_page": 100})["items"])

    def walk(self, collection) -> int:
        seen, cursor = 0, None
        while True:
            query = {"per_page": 100, "collection_filter": json.dumps({"name": collection})}
            if cursor:
                query["cursor"] = cursor
            page = self.call("GET", "/api/v1/versions", query=query)
            seen += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return seen


def mlflow_venv(path: Path, version: str) -> Path:
    """A virtualenv holding `mlflow==version` (the full package: `mlflow server`), made once and reused."""
    python = path / "bin" / "python"
    probe = [str(python), "-c", "import mlflow; print(mlflow.__version__)"]
    if python.exists() and subprocess.run(probe, capture_output=True, text=True).stdout.strip() == version:
        return path
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"mlflow=={version}"], check=True)
    return path


def start_mlflow(venv: Path, data: Path) -> MLflow:
    port = free_port()
    command = [
        str(venv / "bin" / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{data / 'mlflow.db'}",
        "--default-artifact-root",
        str(data / "mlruns"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = (data / "mlflow.log").open("w")
    process = subprocess.Popen(command, cwd=data, stdout=log, stderr=subprocess.STDOUT)
    wait_for(port, "/health")
    return MLflow(port, process, {})


def start_registry(data: Path, database_url: str, workers: int) -> Registry:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on loopback: production settings would otherwise redirect every call to HTTPS.
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "REGISTRY_VAR_DIR": str(data),
        "REGISTRY_ENV_FILE": str(data / "no.env"),
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([str(PYTHON), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    key = subprocess.run(
        [str(PYTHON), "manage.py", "shell", "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    port = free_port()
    # The production configuration (`make serve`): gthread workers with keep-alive, as many as --workers.
    env.update(BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers))
    command = [str(PYTHON), "-m", "gunicorn", "-c", "registry_site/gunicorn_conf.py", "registry_site.wsgi"]
    log = (data / "gunicorn.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for(port, "/login/")
    return Registry(port, process, {"Authorization": f"Bearer {key}"})


# --- The workload ---


def throughput(server: Server, clients: int, calls: int, work) -> float:
    """Calls per second with `clients` threads, each on its own keep-alive connection."""
    server.close_connections()
    per_client = [range(c, calls, clients) for c in range(clients)]
    errors: list[BaseException] = []

    def run(items):
        try:
            for i in items:
                work(server, i)
        except BaseException as exc:  # reported below: a failed call must not look fast
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(items,)) for items in per_client]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return round(calls / seconds, 1)


def p50_ms(server: Server, calls: int, work) -> float:
    server.close_connections()
    times = []
    for i in range(calls):
        started = time.perf_counter()
        work(server, i)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


class Workload:
    """Each operation as (kind, function): kind "rate" (calls/s, higher is better) or "ms" (lower is better)."""

    def __init__(self, calls: int, walk: int):
        self.calls, self.walk_size = calls, walk
        self.created: dict[str, int] = {}  # per server: versions created so far in the c<k> collections

    def operations(self):
        calls = self.calls

        def create(server, i):
            server.create_version(f"c{i % COLLECTIONS}", i)

        def alias(server, i):
            # Each call moves `champion` between the first two versions of a collection: a real change.
            server.set_alias(f"c{i % COLLECTIONS}", (i // COLLECTIONS) % 2, "champion")

        def get(server, i):
            server.get_by_alias(f"c{i % COLLECTIONS}", "champion")

        return {
            "create_version_1_client_per_s": ("rate", lambda s: throughput(s, 1, calls, create)),
            "create_version_8_clients_per_s": ("rate", lambda s: throughput(s, 8, calls * 2, create)),
            "set_alias_1_client_per_s": ("rate", lambda s: throughput(s, 1, calls, alias)),
            "set_alias_8_clients_per_s": ("rate", lambda s: throughput(s, 8, calls * 2, alias)),
            "get_by_alias_p50_ms": ("ms", lambda s: p50_ms(s, calls, get)),
            "list_collections_p50_ms": (
                "ms",
                lambda s: p50_ms(s, max(calls // 4, 20), lambda srv, i: srv.list_collections()),
            ),
            "walk_versions_seconds": ("ms", lambda s: self.timed_walk(s)),
        }

    def timed_walk(self, server) -> float:
        server.close_connections()
        started = time.perf_counter()
        seen = server.walk("big")
        assert seen == self.walk_size, (server.name, seen)
        return round(time.perf_counter() - started, 3)

    def prepare(self, server: Server) -> None:
        """Collections c0…c19 with two versions each (the aliases move between them) and `big` with `walk` versions."""
        for k in range(COLLECTIONS):
            server.create_collection(f"c{k}")
            if server.name == "mlflow":
                server.create_version(f"c{k}", 0)
            server.create_version(f"c{k}", 1)
            server.set_alias(f"c{k}", 0, "champion")
        server.create_collection("big")
        if server.name == "mlflow":
            server.create_version("big", 0)
        throughput(server, 8, self.walk_size - 1, lambda s, i: s.create_version("big", i + 1))


def ratio(kind: str, registry: float, mlflow: float) -> float:
    """The first server's speed over the second's (Registry ÷ MLflow; SQLite ÷ PostgreSQL for PostgreSQL's time over
    SQLite's): above 1, the first is faster."""
    return round(registry / mlflow if kind == "rate" else mlflow / registry, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--walk", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="Registry's gunicorn workers")
    parser.add_argument(
        "--postgres",
        action="append",
        default=[],
        help="a PostgreSQL server URL ending in '/' (TCP, or a local server's socket: "
        "postgres://postgres@%%2Fvar%%2Frun%%2Fpostgresql/): Registry also runs there, beside; give it again to "
        "run one Registry per URL in the same rounds (e.g. TCP against the socket)",
    )
    parser.add_argument("--venv", default="/tmp/registry-peer-mlflow")
    parser.add_argument("--mlflow-version", default="3.17.2")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="registry-peer-"))
    venv = mlflow_venv(Path(args.venv), args.mlflow_version)
    servers: dict[str, Server] = {}
    databases: dict[str, tuple[str, str]] = {}  # server name: (server URL, database)
    try:
        (data / "mlflow").mkdir()
        (data / "registry").mkdir()
        servers["mlflow"] = start_mlflow(venv, data / "mlflow")
        servers["registry"] = start_registry(data / "registry", f"sqlite:///{data}/registry/db.sqlite3", args.workers)
        for k, url in enumerate(args.postgres):
            name = "registry_postgresql" + (f"_{k + 1}" if k else "")
            databases[name] = (url, f"registry_peer_{uuid.uuid4().hex[:8]}")
            subprocess.run(["psql", url + "postgres", "-qc", f"CREATE DATABASE {databases[name][1]}"], check=True)
            (data / name).mkdir()
            servers[name] = start_registry(data / name, url + databases[name][1], args.workers)
        time.sleep(2)
        idle_mb = {name: tree_rss_mb(server.process.pid) for name, server in servers.items()}
        idle_pss_mb = {name: tree_pss_mb(server.process.pid) for name, server in servers.items()}
        workload = Workload(args.calls, args.walk)
        for server in servers.values():
            workload.prepare(server)
        operations = workload.operations()
        figures: dict[str, dict[str, list[float]]] = {op: {name: [] for name in servers} for op in operations}
        ratios: dict[str, list[float]] = {op: [] for op in operations}
        pg_ratios = {name: {op: [] for op in operations} for name in databases}
        pg_over_sqlite = {name: {op: [] for op in operations} for name in databases}
        for round_ in range(args.rounds):
            for op, (kind, measure) in operations.items():
                order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
                for name in order:
                    figures[op][name].append(measure(servers[name]))
                ratios[op].append(ratio(kind, figures[op]["registry"][-1], figures[op]["mlflow"][-1]))
                for name in databases:
                    pg_ratios[name][op].append(ratio(kind, figures[op][name][-1], figures[op]["mlflow"][-1]))
                    # Registry's own time on PostgreSQL over its time on SQLite (issue 13: below 1.5).
                    pg_over_sqlite[name][op].append(ratio(kind, figures[op]["registry"][-1], figures[op][name][-1]))
        after_mb = {name: tree_rss_mb(server.process.pid) for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
        for url, database in databases.values():
            subprocess.run(["psql", url + "postgres", "-qc", f"DROP DATABASE IF EXISTS {database}"], check=False)

    result = {
        **machine.reference(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "mlflow": f"mlflow=={args.mlflow_version}, `mlflow server --workers 1`, SQLite",
        "registry": f"gunicorn with registry_site/gunicorn_conf.py (gthread), {args.workers} worker(s), SQLite"
        + (", and the same on PostgreSQL" if databases else ""),
        "rounds": args.rounds,
        "calls_per_measure": args.calls,
        "collections": COLLECTIONS,
        "walk_versions": args.walk,
        "figures_per_round": figures,
        "ratio_registry_over_mlflow_per_round": ratios,
        "ratio_median": {op: statistics.median(values) for op, values in ratios.items()},
        "idle_memory_mb": idle_mb,  # resident, added up over the processes
        "idle_memory_pss_mb": idle_pss_mb,  # proportional: shared pages counted once
        "memory_after_mb": after_mb,
    }
    for name, (url, _) in databases.items():
        suffix = name.removeprefix("registry_postgresql")
        result[f"postgresql{suffix}_server"] = url.split("@")[-1]
        result[f"ratio_registry_postgresql{suffix}_over_mlflow_sqlite_per_round"] = pg_ratios[name]
        result[f"time_registry_postgresql{suffix}_over_registry_sqlite_per_round"] = pg_over_sqlite[name]
        result[f"time_registry_postgresql{suffix}_over_registry_sqlite_median"] = {
            op: statistics.median(values) for op, values in pg_over_sqlite[name].items()
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
