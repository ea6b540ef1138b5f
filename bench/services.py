"""Benchmark the write path: link and alias services on a collection that already holds 100,000 links.

Usage: DEBUG=true .venv/bin/python bench/services.py [--links 100000] [--samples 200]
Builds its data in a throwaway SQLite file (or DATABASE_URL) and prints JSON figures.
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
tmp = tempfile.mkdtemp(prefix="registry-bench-")
os.environ.setdefault("DEBUG", "true")
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)

    from apps.artifacts.models import ArtifactSequence, ArtifactVersion, VersionState
    from apps.artifacts.services import create_project
    from apps.collections.models import Collection, Link, LinkAlias
    from apps.collections.services import add_alias, link_version
    from apps.orgs.services import add_team_member, create_team
    from apps.registries.services import create_organization, create_registry

    User = get_user_model()
    admin = User.objects.create_user("bench", is_staff=True)
    org = create_organization(actor=admin, slug="bench", name="Bench")
    team = create_team(actor=admin, org=org, name="bench-team")
    add_team_member(actor=admin, team=team, user=admin)
    project = create_project(actor=admin, team=team, name="p")
    registry = create_registry(actor=admin, org=org, name="Big")
    total = args.links + args.samples
    started = time.perf_counter()
    sequence = ArtifactSequence.objects.create(project=project, name="m", type="model", next_index=total)
    ArtifactVersion.objects.bulk_create(
        [ArtifactVersion(sequence=sequence, index=i, state=VersionState.COMMITTED) for i in range(total)],
        batch_size=5000,
    )
    versions = list(ArtifactVersion.objects.filter(sequence=sequence).order_by("index"))
    collection = Collection.objects.create(registry=registry, name="big", type="model", next_index=args.links)
    Link.objects.bulk_create(
        [Link(collection=collection, version=v, index=i) for i, v in enumerate(versions[: args.links])],
        batch_size=5000,
    )
    LinkAlias.objects.create(
        collection=collection, link=Link.objects.get(collection=collection, index=args.links - 1), alias="latest"
    )
    build_seconds = time.perf_counter() - started

    link_times, alias_times = [], []
    for version in versions[args.links :]:
        t = time.perf_counter()
        link = link_version(actor=admin, version=version, registry=registry, collection_name="big")
        link_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        add_alias(actor=admin, link=link, alias="candidate")
        alias_times.append(time.perf_counter() - t)
    with CaptureQueriesContext(connection) as link_queries:
        link_version(actor=admin, version=versions[0], registry=registry, collection_name="big")
    print(
        json.dumps(
            {
                "database": connection.vendor,
                **machine.reference(),
                "links_in_collection": args.links,
                "build_seconds": round(build_seconds, 1),
                "link_version_ms_median": round(statistics.median(link_times) * 1000, 2),
                "link_version_ms_p95": round(sorted(link_times)[int(len(link_times) * 0.95)] * 1000, 2),
                "add_alias_ms_median": round(statistics.median(alias_times) * 1000, 2),
                "relink_existing_queries": len(link_queries),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
