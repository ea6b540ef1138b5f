"""Benchmark the API: link and alias calls, path resolution, a cursor walk, and file throughput.

Usage: .venv/bin/python bench/api.py [--links 10000] [--samples 200] [--file-mb 1024] [--rounds 3] [--breakdown]
Builds its data in a throwaway SQLite file (or DATABASE_URL) and prints JSON figures.
Server times are measured in-process through Django's WSGI handler (request signals, middleware,
auth, view, JSON), as gunicorn calls it; throughput goes over real HTTP to gunicorn and is compared with `cp`.
"""

import argparse
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
tmp = tempfile.mkdtemp(prefix="registry-bench-api-")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # plain HTTP to the local server
os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request log line on the terminal per measured request
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
os.environ.setdefault("REGISTRY_VAR_DIR", tmp)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")

import django  # noqa: E402
import machine  # noqa: E402  (bench/machine.py, beside this script)

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

REGISTRY = "bench/wandb-registry-Big"
MB = 1024 * 1024


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def fastest_ms(samples: list[float]) -> float:
    """The fastest call: its own cost when nothing else competes (this host's speed swings 2x)."""
    return round(min(samples) * 1000, 2)


def link(client: "WsgiClient", version) -> tuple[int, dict]:
    return client("POST", "/api/v1/links", {"version_id": version.pk, "target_path": f"{REGISTRY}/big"})


def build(links: int, samples: int):
    """An org, a registry and one collection holding `links` links (bulk_create), plus spare versions."""
    from apps.artifacts.models import ArtifactSequence, ArtifactVersion, VersionState
    from apps.artifacts.services import create_project
    from apps.collections.models import Collection, Link, LinkAlias
    from apps.orgs.services import add_team_member, create_api_key, create_team
    from apps.registries.services import create_organization, create_registry

    admin = get_user_model().objects.create_user("bench", is_staff=True)
    org = create_organization(actor=admin, slug="bench", name="Bench")
    team = create_team(actor=admin, org=org, name="bench-team")
    add_team_member(actor=admin, team=team, user=admin)
    project = create_project(actor=admin, team=team, name="p")
    registry = create_registry(actor=admin, org=org, name="Big")
    total = links + samples
    sequence = ArtifactSequence.objects.create(project=project, name="m", type="model", next_index=total)
    ArtifactVersion.objects.bulk_create(
        [
            ArtifactVersion(sequence=sequence, index=i, state=VersionState.COMMITTED, metadata={"step": i})
            for i in range(total)
        ],
        batch_size=5000,
    )
    versions = list(ArtifactVersion.objects.filter(sequence=sequence).order_by("index"))
    collection = Collection.objects.create(registry=registry, name="big", type="model", next_index=links)
    Link.objects.bulk_create(
        [Link(collection=collection, version=v, index=i) for i, v in enumerate(versions[:links])], batch_size=5000
    )
    LinkAlias.objects.create(
        collection=collection, link=Link.objects.get(collection=collection, index=links - 1), alias="latest"
    )
    LinkAlias.objects.create(
        collection=collection, link=Link.objects.get(collection=collection, index=links // 2), alias="production"
    )
    _, key = create_api_key(actor=admin, user=admin, name="bench")
    return admin, versions[links:], key


class WsgiClient:
    """Calls Django's WSGI handler directly: the server's own work per request (request signals and
    connection handling included, as under gunicorn) without sockets or the test client's extras."""

    def __init__(self, key: str):
        from django.core.handlers.wsgi import WSGIHandler

        self.handler, self.key = WSGIHandler(), key

    def __call__(self, method: str, path: str, body: dict | None = None, query: dict | None = None):
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": urlencode(query or {}),
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {self.key}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        statuses = []
        content = b"".join(self.handler(environ, lambda status, headers: statuses.append(status)))
        return int(statuses[0][:3]), json.loads(content)


def measure_api(client: WsgiClient, admin, spare_versions, links: int) -> dict:
    from apps.collections.models import find_version

    # The floor: an authenticated call that reads nothing else (key lookup, middleware, ninja, JSON).
    noop_times = []
    for _ in range(len(spare_versions)):
        started = time.perf_counter()
        status, body = client("GET", "/api/v1/viewer")
        noop_times.append(time.perf_counter() - started)
        assert status == 200, body
    link_times = []
    for version in spare_versions:
        started = time.perf_counter()
        status, body = link(client, version)
        link_times.append(time.perf_counter() - started)
        assert status == 201, body
    alias_times = []
    for i in range(len(spare_versions)):
        started = time.perf_counter()
        status, body = client(
            "POST", "/api/v1/aliases", {"path": f"{REGISTRY}/big:v{(i * 37) % links}", "alias": "candidate"}
        )
        alias_times.append(time.perf_counter() - started)
        assert status == 200, body
    with CaptureQueriesContext(connection) as captured:
        assert find_version(admin, f"{REGISTRY}/big:production") is not None
    resolve_queries = len(captured)
    started, pages, seen, cursor = time.perf_counter(), 0, 0, None
    while True:
        params = {"per_page": 100, "collection_filter": json.dumps({"name": "big"})}
        if cursor:
            params["cursor"] = cursor
        status, body = client("GET", "/api/v1/versions", query=params)
        assert status == 200, body
        pages, seen, cursor = pages + 1, seen + len(body["items"]), body["next_cursor"]
        if not cursor:
            break
    walk_seconds = time.perf_counter() - started
    return {
        "authenticated_noop_ms_median": median_ms(noop_times),
        "authenticated_noop_ms_min": fastest_ms(noop_times),
        "link_call_ms_median": median_ms(link_times),
        "link_call_ms_p95": round(sorted(link_times)[int(len(link_times) * 0.95)] * 1000, 2),
        "link_call_ms_min": fastest_ms(link_times),
        "alias_change_ms_median": median_ms(alias_times),
        "alias_change_ms_min": fastest_ms(alias_times),
        "resolve_alias_queries": resolve_queries,
        "cursor_walk_versions": seen,
        "cursor_walk_pages": pages,
        "cursor_walk_seconds": round(walk_seconds, 2),
    }


def _bucket(filename: str, name: str) -> str:
    if filename == "~" and any(word in name for word in ("execute", "fetch", "commit", "sqlite3", "psycopg")):
        return "sql_in_the_driver"
    if "/django/db/" in filename:
        return "orm_building_and_rows"
    if "/ninja/" in filename or "pydantic" in filename or "pydantic" in name:
        return "ninja_and_pydantic"
    if "/django/" in filename or "/django_htmx/" in filename or "/whitenoise/" in filename:
        return "django_request_stack"
    if "/apps/" in filename or "/registry_site/" in filename:
        return "our_code"
    return "builtins_and_stdlib (called mostly by the ORM)"


def link_time_breakdown(client: WsgiClient, versions) -> dict:
    """Where a link call's time goes, as shares of profiled time (cProfile inflates Python-heavy parts)."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    for version in versions:
        link(client, version)
    profile.disable()
    totals: dict[str, float] = {}
    for (filename, _, name), (_, _, tottime, _, _) in pstats.Stats(profile).stats.items():
        bucket = _bucket(filename, name)
        totals[bucket] = totals.get(bucket, 0.0) + tottime
    whole = sum(totals.values())
    return {bucket: round(100 * t / whole, 1) for bucket, t in sorted(totals.items(), key=lambda kv: -kv[1])}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(port: int, method: str, url: str, key: str | None = None, body=None, length: int | None = None):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=MB)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if length is not None:
        headers["Content-Length"] = str(length)
    if isinstance(body, dict):
        body, headers["Content-Type"] = json.dumps(body), "application/json"
    conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers)
    return conn, conn.getresponse()


def _gunicorn_worker(master: int) -> int:
    """The pid of the master's (single) worker process."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0]) if children else master


def _peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory (Linux VmHWM), to show the server streams instead of buffering."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _through_the_client(port: int, key: str, source: Path, size_mb: int) -> dict:
    """The same transfer as a user runs it: `log_artifact` (hash, manifest, upload, commit) and `.download()`
    (stream, verify SHA-256, rename), with other bytes so nothing is deduplicated."""
    from registry_client import Client as RegistryClient

    other = Path(tmp) / "client" / "big.bin"
    other.parent.mkdir()
    with source.open("rb") as src, other.open("wb") as out:
        out.write(b"client")  # shifts every block: a new blob
        shutil.copyfileobj(src, out, MB)
    subprocess.run(["sync"], check=False)
    client = RegistryClient(base_url=f"http://127.0.0.1:{port}", api_key=key)
    started = time.perf_counter()
    version = client.log_artifact(other, name="big-client", type="model", project="bench-team/p", progress=False)
    upload_seconds = time.perf_counter() - started
    other.unlink()
    started = time.perf_counter()
    client.artifact(version.path).download(Path(tmp) / "client-download", progress=False)
    subprocess.run(["sync"], check=False)
    download_seconds = time.perf_counter() - started
    return {
        "client_log_artifact_mb_per_s": round(size_mb / upload_seconds),
        "client_download_mb_per_s": round(size_mb / download_seconds),
    }


def _write_source(path: Path, size_mb: int, variant: int) -> str:
    """A file of distinct 1 MiB blocks (a new blob for every `variant`); returns its SHA-256."""
    sha, block = hashlib.sha256(), os.urandom(MB)
    with path.open("wb") as out:
        for i in range(size_mb):
            chunk = bytes([variant]) + block[i % 251 + 1 :] + block[: i % 251]
            sha.update(chunk)
            out.write(chunk)
    subprocess.run(["sync"], check=False)
    return sha.hexdigest()


def _cp_seconds(source: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(Path(tmp) / "copy.bin")], check=True)
    subprocess.run(["sync"], check=False)
    seconds = time.perf_counter() - started
    (Path(tmp) / "copy.bin").unlink()
    return seconds


def _upload_download(port: int, key: str, source: Path, sha256: str, size: int, name: str) -> tuple[float, float]:
    """Seconds to PUT the file to its upload URL, and to GET it back into a file and `sync`."""
    body = {"project": "bench-team/p", "name": name, "type": "model"}
    body["files"] = [{"path": "big.bin", "sha256": sha256, "size": size}]
    conn, response = _request(port, "POST", "/api/v1/artifacts", key, body)
    created = json.loads(response.read())
    conn.close()
    started = time.perf_counter()
    with source.open("rb") as handle:
        conn, response = _request(port, "PUT", created["uploads"][0]["url"], body=handle, length=size)
        response.read()
        assert response.status == 204, response.status
        conn.close()
    upload_seconds = time.perf_counter() - started
    conn, response = _request(port, "POST", f"/api/v1/artifacts/{created['version']['id']}/commit", key)
    assert response.status == 200, response.read()
    conn.close()
    path = quote(f"bench-team/p/{name}:latest", safe="")
    conn, response = _request(port, "GET", f"/api/v1/artifacts/resolve?path={path}", key)
    url = json.loads(response.read())["files"][0]["url"]
    conn.close()
    target = Path(tmp) / "download.bin"
    started = time.perf_counter()
    conn, response = _request(port, "GET", url)
    with target.open("wb") as out:
        while chunk := response.read(MB):
            out.write(chunk)
    conn.close()
    subprocess.run(["sync"], check=False)
    download_seconds = time.perf_counter() - started
    target.unlink()
    return upload_seconds, download_seconds


def measure_throughput(key: str, size_mb: int, rounds: int) -> dict:
    """Upload and download one big file over HTTP through gunicorn, against `cp` + `sync` of the same file.

    This machine's disk speed drifts by 2x within minutes, so each round times `cp`, an upload and a
    download back to back on fresh bytes, and the ratios are taken per round (then the median).
    """
    source = Path(tmp) / "big.bin"
    size = size_mb * MB
    port = _free_port()
    # The production server (README "Production"): one sync gunicorn worker, so its memory is one process's.
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "registry_site.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "-t", "600"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cp, up, down = [], [], []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        conn, response = _request(port, "GET", "/api/v1/viewer", key)  # warm the server up
        response.read()
        conn.close()
        worker = _gunicorn_worker(server.pid)
        rss_before = _peak_rss_mb(worker)
        for round_ in range(rounds):
            sha256 = _write_source(source, size_mb, round_)
            cp.append(_cp_seconds(source))
            upload_seconds, download_seconds = _upload_download(port, key, source, sha256, size, f"big{round_}")
            up.append(upload_seconds)
            down.append(download_seconds)
        client_figures = _through_the_client(port, key, source, size_mb)
        rss_after = _peak_rss_mb(worker)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "file_mb": size_mb,
        "rounds": rounds,
        "cp_mb_per_s": [round(size_mb / s) for s in cp],
        "upload_mb_per_s": [round(size_mb / s) for s in up],
        "download_mb_per_s": [round(size_mb / s) for s in down],
        "upload_vs_cp_median": round(statistics.median(c / u for c, u in zip(cp, up, strict=True)), 2),
        "download_vs_cp_median": round(statistics.median(c / d for c, d in zip(cp, down, strict=True)), 2),
        **client_figures,
        "server_peak_rss_mb_before": rss_before,
        "server_peak_rss_mb_after": rss_after,
        "server": "gunicorn, 1 sync worker, loopback HTTP, SHA-256 + MD5 verified on upload; client on the same 2 cores",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--file-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--breakdown", action="store_true", help="also profile link calls by layer (percent)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    admin, spare, key = build(args.links, args.samples + (100 if args.breakdown else 0))
    figures = {"database": connection.vendor, **machine.reference(), "links_in_collection": args.links}
    figures["build_seconds"] = round(time.perf_counter() - started, 1)
    client = WsgiClient(key)
    if args.breakdown:
        spare, profiled = spare[:-100], spare[-100:]
    figures.update(measure_api(client, admin, spare, args.links))
    if args.breakdown:
        figures["link_call_profile_percent"] = link_time_breakdown(client, profiled)
    if args.file_mb:
        figures.update(measure_throughput(key, args.file_mb, args.rounds))
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
