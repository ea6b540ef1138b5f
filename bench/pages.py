"""Benchmark the collection and version pages on a collection holding 100,000 links.

Usage: .venv/bin/python bench/pages.py [--links 100000] [--requests 50]
       .venv/bin/python bench/pages.py --large [--scale 1.0]   (every main page on bench/seed_large.py's company)
Builds its data with bulk_create (not the services, for speed) in a throwaway SQLite file (or
DATABASE_URL) and prints JSON: median server time per page through Django's full request stack
(middleware, session, auth, view, template), its CPU time (the same on a busy machine), and the
number of SQL queries per page.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
tmp = tempfile.mkdtemp(prefix="registry-bench-pages-")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # plain HTTP to the local server
os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request log line on the terminal per measured request
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
os.environ.setdefault("REGISTRY_VAR_DIR", tmp)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")

import django  # noqa: E402
import machine  # noqa: E402  (bench/machine.py, beside this script)

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

BATCH = 5000
# Pages render `{% static %}`; the hashed manifest only exists after collectstatic.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def build(links: int):
    """An org, a member, a registry and one collection of `links` links, each with its audit event."""
    from apps.artifacts.models import (
        ArtifactSequence,
        ArtifactUsage,
        ArtifactVersion,
        ManifestEntry,
        Run,
        UsageKind,
        VersionState,
        VersionTag,
    )
    from apps.artifacts.services import create_project
    from apps.audit.models import Action, AuditEvent
    from apps.collections.models import Collection, Link, LinkAlias
    from apps.orgs.services import add_org_member, add_team_member, create_team
    from apps.registries.services import (
        create_organization,
        create_registry,
        declare_protected_alias,
        grant_registry_role,
    )

    users = get_user_model().objects
    admin = users.create_user("bench", is_staff=True)
    member = users.create_user("bench-member")
    org = create_organization(actor=admin, slug="bench", name="Bench")
    add_org_member(actor=admin, org=org, user=member, role="member")
    team = create_team(actor=admin, org=org, name="bench-team")
    add_team_member(actor=admin, team=team, user=member)
    project = create_project(actor=admin, team=team, name="p")
    registry = create_registry(actor=admin, org=org, name="Big")
    grant_registry_role(actor=admin, registry=registry, principal=member, role="member")
    declare_protected_alias(actor=admin, registry=registry, alias="production")

    sequence = ArtifactSequence.objects.create(project=project, name="m", type="model", next_index=links)
    ArtifactVersion.objects.bulk_create(
        [
            ArtifactVersion(
                sequence=sequence,
                index=i,
                state=VersionState.COMMITTED,
                size=1_000_000 + i,
                file_count=3,
                created_by=admin,
                metadata={"step": i, "acc": round(0.5 + i / (2 * links), 6), "eval": {"loss": 1 / (i + 1)}},
            )
            for i in range(links)
        ],
        batch_size=BATCH,
    )
    version_ids = list(ArtifactVersion.objects.filter(sequence=sequence).order_by("index").values_list("pk", flat=True))
    collection = Collection.objects.create(registry=registry, name="big", type="model", next_index=links)
    Link.objects.bulk_create(
        [Link(collection=collection, version_id=v, index=i, linked_by=admin) for i, v in enumerate(version_ids)],
        batch_size=BATCH,
    )
    link_ids = dict(Link.objects.filter(collection=collection).values_list("index", "pk"))
    # Real collections carry aliases and tags on many versions, and one audit event per link.
    LinkAlias.objects.bulk_create(
        [LinkAlias(collection=collection, link_id=link_ids[i], alias=f"rc-{i}") for i in range(0, links, 7)]
        + [
            LinkAlias(collection=collection, link_id=link_ids[links - 1], alias="latest"),
            LinkAlias(collection=collection, link_id=link_ids[links // 2], alias="production"),
        ],
        batch_size=BATCH,
    )
    VersionTag.objects.bulk_create(
        [VersionTag(version_id=v, name="nightly") for v in version_ids[::3]], batch_size=BATCH
    )
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=admin,
                actor_username="bench",
                org=org,
                org_slug=org.slug,
                action=Action.COLLECTION_LINK,
                target_type="link",
                target_id=str(link_ids[i]),
                target_repr=f"big:v{i}",
                registry_pk=registry.pk,
                collection_pk=collection.pk,
                version_pk=version_ids[i],
                data={"version": f"v{i}", "source": f"bench-team/p/m:v{i}", "aliases": []},
            )
            for i in range(links)
        ],
        batch_size=BATCH,
    )
    # The version page's subject: a few files and a small lineage.
    subject = ArtifactVersion.objects.get(pk=version_ids[links - 1])
    ManifestEntry.objects.bulk_create(
        [ManifestEntry(version=subject, path=f"weights/shard-{i}.bin", sha256="0" * 64, size=1000) for i in range(3)]
    )
    run = Run.objects.create(project=project, run_id="train", name="train", created_by=admin)
    ArtifactUsage.objects.create(run=run, version=subject, kind=UsageKind.OUTPUT)
    ArtifactUsage.objects.create(run=run, version_id=version_ids[links - 2], kind=UsageKind.INPUT)
    return member, collection


def measure(client: Client, url: str, requests: int, headers: dict | None = None) -> dict:
    headers = headers or {}
    client.get(url, headers=headers)  # warm caches (content types, templates) as a running server has them
    times, cpu = [], []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, headers=headers)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, headers=headers)
    return {
        "median_ms": round(statistics.median(times) * 1000, 2),
        # CPU time of this process: what the page costs when other processes compete for the cores.
        "median_cpu_ms": round(statistics.median(cpu) * 1000, 2),
        "p95_ms": round(sorted(times)[int(len(times) * 0.95)] * 1000, 2),
        # The fastest request: the page's own cost when nothing else competes (this host's speed swings 2x).
        "min_ms": round(min(times) * 1000, 2),
        "queries": len(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--large", action="store_true", help="seed bench/seed_large.py's company (unless seeded)")
    parser.add_argument("--scale", type=float, default=1.0, help="with --large: 1.0 = 100,000 linked versions")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if args.large:
        return measure_large(args)
    started = time.perf_counter()
    member, collection = build(args.links)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk load; stale statistics pick seq scans
    build_seconds = time.perf_counter() - started

    client = Client()
    client.force_login(member)
    page = collection.get_absolute_url()
    newest = f"{page}v{args.links - 1}/"
    pages = {
        "collection_first_page": page,
        "collection_deep_page": f"{page}?before={args.links // 3}",
        "collection_versions_fragment_deep": f"{page}?before=1000",
        "collection_compare_5": f"{page}?" + "&".join(f"compare={i}" for i in range(0, 5000, 1000)),
        "version_page": newest,
        "version_files_tab": f"{newest}?tab=files",
        "version_lineage_tab": f"{newest}?tab=lineage&depth=3",
        "version_history_tab": f"{newest}?tab=history",
    }
    figures = {
        "database": connection.vendor,
        **machine.reference(),
        "links": args.links,
        "requests_per_page": args.requests,
        "build_seconds": round(build_seconds, 1),
    }
    for name, url in pages.items():
        headers = {"HX-Request": "true", "HX-Target": "versions"} if "fragment" in name else None
        figures[name] = measure(client, url, args.requests, headers)
    print(json.dumps(figures, indent=2))


def measure_large(args) -> None:
    """The main pages at company size (bench/seed_large.py), each as the persona who would open it."""
    import seed_large  # noqa: PLC0415 (bench/seed_large.py, beside this script)

    seeded = get_user_model().objects.filter(username="bigco-admin").exists()
    built = None if seeded else seed_large.seed(args.scale)
    figures = {
        "database": connection.vendor,
        **machine.reference(),
        "seeded": built or "existing",
        "requests_per_page": args.requests,
    }
    clients = {}
    for name, (user, url) in seed_large.pages().items():
        if user.pk not in clients:
            clients[user.pk] = Client()
            clients[user.pk].force_login(user)
        figures[name] = {"url": url, **measure(clients[user.pk], url, args.requests)}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
