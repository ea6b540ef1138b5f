"""Which wandb SDK versions work against Registry: the test scenario, run by each version.

    .venv/bin/python bench/wandb_compat.py [0.22.* 0.25.* 0.28.* 0.31.*]

For each version it makes a throw-away virtualenv (under a temporary folder) with that `wandb`, serves a
fresh SQLite Registry with the test world (tests/conftest.py) on a free port, runs
tests/wandb_api/scenario.py with that SDK, and checks the answer as the test does. Prints a table and
one JSON line per version. Not part of `make test` (installing each SDK takes a minute).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VERSIONS = ["0.22.*", "0.25.*", "0.28.*", "0.31.*"]

SERVE = r"""
import os, sys, json, threading
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
sys.path.insert(0, os.getcwd())
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)

from tests.factories import UserFactory
from apps.orgs import services as orgs
from apps.orgs.models import OrgRole
from apps.registries import services as registries
from apps.registries.models import FormerName, Visibility
from apps.artifacts import services as artifacts
from apps.collections import services as collections
staff = UserFactory(username="org_admin", is_staff=True)
org = orgs.create_organization(actor=staff, slug="acme", name="Acme ML")
users = {"org_admin": staff}
for persona in ["member", "viewer", "restricted_viewer"]:
    users[persona] = UserFactory(username=persona)
    orgs.add_org_member(actor=staff, org=org, user=users[persona], role=OrgRole.VIEWER if "viewer" in persona else OrgRole.MEMBER)
users["outsider"] = UserFactory(username="outsider", is_staff=True)
orgs.create_organization(actor=users["outsider"], slug="globex", name="Globex")
team = orgs.create_team(actor=staff, org=org, name="vision")
orgs.add_team_member(actor=staff, team=team, user=users["member"])
project = artifacts.create_project(actor=staff, team=team, name="detector")
golden = registries.create_registry(actor=staff, org=org, name="Golden Models", visibility=Visibility.RESTRICTED, artifact_types=["model"])
registries.grant_registry_role(actor=staff, registry=golden, principal=users["member"], role="member")
registries.grant_registry_role(actor=staff, registry=golden, principal=users["viewer"], role="viewer")
registries.grant_registry_role(actor=staff, registry=golden, principal=users["restricted_viewer"], role="restricted_viewer")
model = org.registries.get(slug="model")
registries.grant_registry_role(actor=staff, registry=model, principal=team, role="member")
FormerName.objects.create(registry=model, name="Models")
version = artifacts.log_artifact(actor=staff, project=project, name="model-a", type="model", files={"model.bin": b"weights"})
collections.link_version(actor=staff, version=version, registry=golden, collection_name="classifier")
keys = {p: orgs.create_api_key(actor=users[p], user=users[p], name="compat")[1] for p in ["member", "viewer", "restricted_viewer", "outsider"]}
print(json.dumps(keys), flush=True)
from django.core.servers.basehttp import run
from django.core.wsgi import get_wsgi_application
run("127.0.0.1", int(sys.argv[1]), get_wsgi_application(), threading=True)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check(out: dict) -> list[str]:
    """What the scenario's answer gets wrong (empty: it passes). The same points as tests/wandb_api."""
    if "crash" in out:
        return [out["crash"].strip().splitlines()[-1][:200]]
    problems = []
    expect = {
        "rounds": ["v0", "v1", "v2"],
        "relogged_version": "v2",
        "used": "v0",
        "after_add": ["reviewed"],
        "after_remove": [],
        "no_org_prefix_version": "v2",
    }
    got = {**out, "rounds": [r["version"] for r in out.get("rounds", [])]}
    problems += [f"{k}: {got.get(k)!r}" for k, v in expect.items() if got.get(k) != v]
    latest = out.get("latest", {})
    if latest.get("files") != ["model.bin", "sub/config.json"] or latest.get("downloaded") != latest.get("files"):
        problems.append(f"download: {latest.get('downloaded')!r}")
    if sorted(latest.get("aliases", [])) != ["candidate", "latest"]:
        problems.append(f"aliases: {latest.get('aliases')!r}")
    errors = out.get("errors", {})
    if "not download" not in str(errors.get("restricted_viewer_download")):
        problems.append("restricted viewer could download")
    if "error" not in errors.get("outsider_fetch", {}) or "error" not in errors.get("viewer_link", {}):
        problems.append("outsider or viewer not refused")
    return problems


def run_version(spec: str, tmp: Path) -> dict:
    env_dir = tmp / f"venv-{spec.replace('*', 'x')}"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    started = time.monotonic()
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"wandb=={spec}"], capture_output=True, text=True
    )
    if install.returncode != 0:
        return {"spec": spec, "ok": False, "problems": ["pip install failed: " + install.stderr[-300:]]}
    version = subprocess.run(
        [str(python), "-c", "import wandb; print(wandb.__version__)"], capture_output=True, text=True
    ).stdout.strip()
    port = free_port()
    db = tmp / f"db-{port}.sqlite3"
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{db}",
        "ARTIFACT_STORAGE_URL": f"file://{tmp / f'blobs-{port}'}",
    }
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        keys = json.loads(server.stdout.readline())
        time.sleep(1)
        sys.path.insert(0, str(ROOT))
        from tests.wandb_api.runner import run_scenario

        work = tmp / f"work-{port}"
        work.mkdir()
        out = run_scenario(f"http://127.0.0.1:{port}", keys, work, python=str(python))
    except Exception as error:  # an SDK too old to answer at all
        out = {"crash": f"{type(error).__name__}: {error}"}
    finally:
        server.terminate()
        server.wait()
    problems = check(out)
    return {
        "spec": spec,
        "version": version,
        "ok": not problems,
        "problems": problems,
        "scenario_seconds": out.get("five_steps_seconds"),
        "total_seconds": round(time.monotonic() - started, 1),
    }


def main(specs: list[str]) -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="wandb-compat-") as tmp:
        for spec in specs:
            result = run_version(spec, Path(tmp))
            results.append(result)
            print(json.dumps(result), flush=True)
    print("\n| wandb | result | scenario seconds | notes |\n|---|---|---|---|")
    for r in results:
        notes = "; ".join(r["problems"])[:160]
        print(
            f"| {r.get('version') or r['spec']} | {'pass' if r['ok'] else 'FAIL'} | {r.get('scenario_seconds')} | {notes} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT_VERSIONS)
