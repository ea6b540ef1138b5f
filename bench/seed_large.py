"""Seed an organization at company size: 50 registries, 1,000 collections, 100,000 linked versions, 1,000 users and
100 teams, with aliases, tags, metadata and one audit event per link.

Usage: .venv/bin/python bench/seed_large.py [--scale 1.0]      (DATABASE_URL names the database; SQLite or PostgreSQL)
       .venv/bin/python bench/pages.py --large                  (seeds a throwaway database, then times the pages)

The organization, its teams and registries and their roles are made through the services (so permissions are
exactly what the app grants); the bulk (users, memberships, collections, versions, links, aliases, tags, audit
events) is inserted with bulk_create in batches, as a migration from another registry would. Prints JSON: what
was made and how long it took.
"""

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 5000
ORG = "bigco"
FRAMEWORKS = ["torch", "jax", "tensorflow", "sklearn", "xgboost"]


def _setup() -> None:
    tmp = tempfile.mkdtemp(prefix="registry-seed-large-")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/large.sqlite3")
    os.environ.setdefault("REGISTRY_VAR_DIR", tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
    import django

    django.setup()


def seed(scale: float = 1.0) -> dict:
    """Build the organization (refuses when it exists). Returns counts and seconds."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from apps.artifacts.models import ArtifactSequence, ArtifactVersion, Project, VersionState, VersionTag
    from apps.audit.models import Action, AuditEvent
    from apps.collections.models import Collection, CollectionTag, Link, LinkAlias
    from apps.orgs.models import Membership, OrgRole, TeamMembership
    from apps.orgs.services import create_team
    from apps.registries.models import Visibility
    from apps.registries.services import (
        create_organization,
        create_registry,
        declare_protected_alias,
        grant_registry_role,
    )

    started = time.perf_counter()
    rng = random.Random(17)
    n_users, n_teams, n_registries = int(1000 * scale), max(int(100 * scale), 2), max(int(50 * scale), 3)
    n_collections, n_versions = int(1000 * scale), int(100_000 * scale)
    User = get_user_model()
    if User.objects.filter(username="bigco-admin").exists():
        raise SystemExit(f"{ORG} is already seeded in this database")
    admin = User.objects.create_user("bigco-admin", password="bench", is_staff=True, is_superuser=True)
    org = create_organization(actor=admin, slug=ORG, name="BigCo")

    # Users and their org roles: a tenth viewers, the rest members (memberships are group rows: one role each).
    password = make_password("bench")
    users = User.objects.bulk_create(
        [User(username=f"user{i:04}", email=f"user{i:04}@bigco.example", password=password) for i in range(n_users)],
        batch_size=BATCH,
    )
    roles = [OrgRole.VIEWER if i % 10 == 9 else OrgRole.MEMBER for i in range(n_users)]
    Membership.objects.bulk_create([Membership(org=org, user=u, role=r) for u, r in zip(users, roles, strict=True)])
    Groups = User.groups.through
    group_of = {OrgRole.MEMBER: org.members_group_id, OrgRole.VIEWER: org.viewers_group_id}
    Groups.objects.bulk_create(
        [Groups(user_id=u.pk, group_id=group_of[r]) for u, r in zip(users, roles, strict=True)], batch_size=BATCH
    )

    # Teams (through the service: each is an auth group) with 10–30 members each, a project each.
    teams = [create_team(actor=admin, org=org, name=f"team-{t:03}") for t in range(n_teams)]
    team_rows, group_rows = [], []
    for team in teams:
        for user in rng.sample(users, rng.randint(10, 30)):
            team_rows.append(TeamMembership(team=team, user=user))
            group_rows.append(Groups(user_id=user.pk, group_id=team.group_id))
    TeamMembership.objects.bulk_create(team_rows, batch_size=BATCH)
    Groups.objects.bulk_create(group_rows, batch_size=BATCH, ignore_conflicts=True)
    projects = Project.objects.bulk_create([Project(team=team, name="training") for team in teams])

    # Registries: the two core ones plus custom ones, a third restricted; two teams hold a role on each.
    registries = list(org.registries.order_by("pk"))
    for r in range(n_registries - len(registries)):
        visibility = Visibility.RESTRICTED if r % 3 == 0 else Visibility.ORGANIZATION
        registries.append(
            create_registry(
                actor=admin, org=org, name=f"Registry {r:02}", visibility=visibility, description="A team registry."
            )
        )
    for i, registry in enumerate(registries):
        grant_registry_role(actor=admin, registry=registry, principal=teams[i % n_teams], role="member")
        grant_registry_role(actor=admin, registry=registry, principal=teams[(i + 7) % n_teams], role="viewer")
        declare_protected_alias(actor=admin, registry=registry, alias="production")

    # Collections: 20 per registry; one holds a fifth of all versions, the others share the rest.
    sizes = [n_versions // 5] + [0] * (n_collections - 1)
    for i in range(n_versions - sizes[0]):
        sizes[1 + i % (n_collections - 1)] += 1
    types = ["model", "dataset"]
    collections = Collection.objects.bulk_create(
        [
            Collection(
                registry=registries[c % n_registries],
                name=f"{types[c % 2]}-{c:04}",
                type=types[c % 2],
                description=f"Collection {c} of the **{FRAMEWORKS[c % 5]}** team.",
                next_index=sizes[c],
                created_by=admin,
            )
            for c in range(n_collections)
        ],
        batch_size=BATCH,
    )
    CollectionTag.objects.bulk_create(
        [CollectionTag(collection=c, name=FRAMEWORKS[i % 5]) for i, c in enumerate(collections) if i % 3 == 0],
        batch_size=BATCH,
    )
    # One source sequence per collection, in the project of the team holding Member on its registry.
    sequences = ArtifactSequence.objects.bulk_create(
        [
            ArtifactSequence(
                project=projects[(c % n_registries) % n_teams],
                name=f"seq-{c:04}",
                type=types[c % 2],
                next_index=sizes[c],
            )
            for c in range(n_collections)
        ],
        batch_size=BATCH,
    )

    with transaction.atomic():
        for start in range(0, n_collections, 50):  # versions, links, aliases, tags and events, 50 collections at a time
            chunk = range(start, min(start + 50, n_collections))
            versions = ArtifactVersion.objects.bulk_create(
                [
                    ArtifactVersion(
                        sequence=sequences[c],
                        index=i,
                        state=VersionState.COMMITTED,
                        size=rng.randint(1_000, 5_000_000_000),
                        file_count=rng.randint(1, 40),
                        created_by=users[(c * 7 + i) % n_users],
                        description="Trained on the nightly snapshot." if i % 4 == 0 else "",
                        metadata={
                            "accuracy": round(rng.uniform(0.5, 0.99), 4),
                            "loss": round(rng.uniform(0.01, 2), 4),
                            "epoch": i % 100,
                            "framework": FRAMEWORKS[c % 5],
                            "hyperparameters": {"lr": 10 ** -rng.randint(2, 5), "batch_size": 2 ** rng.randint(4, 9)},
                        },
                    )
                    for c in chunk
                    for i in range(sizes[c])
                ],
                batch_size=BATCH,
            )
            VersionTag.objects.bulk_create(
                [
                    VersionTag(version=v, name="nightly" if v.index % 2 else "validated")
                    for v in versions
                    if v.index % 5 == 0
                ],
                batch_size=BATCH,
            )
            by_collection = {}
            for v in versions:
                by_collection.setdefault(v.sequence_id, []).append(v)
            links = Link.objects.bulk_create(
                [
                    Link(collection=collections[c], version=v, index=v.index, linked_by=v.created_by)
                    for c in chunk
                    for v in by_collection.get(sequences[c].pk, [])
                ],
                batch_size=BATCH,
            )
            links_of = {}
            for link in links:
                links_of.setdefault(link.collection_id, []).append(link)
            aliases = []
            for c in chunk:
                members = links_of.get(collections[c].pk, [])
                if not members:
                    continue
                aliases.append(LinkAlias(collection=collections[c], link=members[-1], alias="latest"))
                if c % 2 == 0:
                    aliases.append(
                        LinkAlias(collection=collections[c], link=members[len(members) // 2], alias="production")
                    )
                if c % 3 == 0 and len(members) > 1:
                    aliases.append(LinkAlias(collection=collections[c], link=members[-2], alias="staging"))
                aliases += [
                    LinkAlias(collection=collections[c], link=link, alias=f"rc-{link.index}") for link in members[::50]
                ]
            LinkAlias.objects.bulk_create(aliases, batch_size=BATCH, ignore_conflicts=True)
            AuditEvent.objects.bulk_create(
                [
                    AuditEvent(
                        actor_id=link.linked_by_id,
                        actor_username=link.linked_by.username,
                        actor_detail="web",
                        org=org,
                        org_slug=ORG,
                        action=Action.COLLECTION_LINK,
                        target_type="link",
                        target_id=str(link.pk),
                        target_repr=f"{collections[c].name}:v{link.index}",
                        registry_pk=collections[c].registry_id,
                        collection_pk=collections[c].pk,
                        version_pk=link.version_id,
                        data={"version": f"v{link.index}", "source": f"seq-{c:04}:v{link.index}", "aliases": []},
                    )
                    for c in chunk
                    for link in links_of.get(collections[c].pk, [])
                ],
                batch_size=BATCH,
            )
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load: statistics (stale ones pick seq scans) and, on
        # PostgreSQL, the visibility map too (without it every index-only scan reads the heap:
        # counting links read 100,000 heap tuples).
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {
        "database": connection.vendor,
        "users": n_users,
        "teams": n_teams,
        "registries": len(registries),
        "collections": n_collections,
        "linked_versions": Link.objects.filter(collection__registry__org=org).count(),
        "aliases": LinkAlias.objects.filter(collection__registry__org=org).count(),
        "audit_events": AuditEvent.objects.filter(org=org).count(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def pages() -> dict:
    """The seeded organization's pages worth timing, with who looks at each: a member, or the org admin."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from apps.collections.models import Collection, Link
    from apps.registries.models import Registry

    users = get_user_model().objects
    member, admin = users.get(username="user0000"), users.get(username="bigco-admin")
    big = Collection.objects.filter(registry__org__slug=ORG).order_by("-next_index").first()
    small = Collection.objects.filter(registry__org__slug=ORG, next_index__gt=5).order_by("-pk").first()
    registry = big.registry
    newest = Link.objects.filter(collection=big).order_by("-index").first()
    visible = Registry.objects.filter(org__slug=ORG, visibility="organization").order_by("pk").last()
    return {
        "landing": (member, reverse("collections:landing", args=[ORG])),
        "search": (member, reverse("collections:search", args=[ORG]) + "?q=model-01"),
        "registry_page": (admin, registry.get_absolute_url()),
        "registry_page_member": (member, visible.get_absolute_url()),
        "collection_big_first_page": (admin, big.get_absolute_url()),
        "collection_big_deep_page": (admin, f"{big.get_absolute_url()}?before={big.next_index // 3}"),
        "collection_small": (admin, small.get_absolute_url()),
        "version_page": (admin, f"{big.get_absolute_url()}v{newest.index}/"),
        "version_history_tab": (admin, f"{big.get_absolute_url()}v{newest.index}/?tab=history"),
        "registry_settings_members": (admin, reverse("registries:registry_settings", args=[ORG, registry.slug])),
        "registry_audit": (admin, reverse("registries:registry_audit", args=[ORG, registry.slug])),
        "org_audit": (admin, reverse("org_audit", args=[ORG])),
    }


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 linked versions")
    args = parser.parse_args()
    _setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(seed(args.scale), indent=2))


if __name__ == "__main__":
    main()
