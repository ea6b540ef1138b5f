"""Shared fixtures. A "world" is built through the services, as a real organization would be."""

import copy
import datetime
from dataclasses import dataclass, field

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import AnonymousUser, Permission
from django.db import connection, models, transaction
from django.db.models import Max, Min
from django.urls import reverse
from django.utils import timezone

from apps.artifacts import services as artifacts
from apps.artifacts.storage import get_store
from apps.collections import services as collections
from apps.orgs import services as orgs
from apps.orgs.models import OrgRole
from apps.registries import services as registries
from apps.registries.models import Visibility
from tests.factories import UserFactory

PERSONAS = ["org_admin", "registry_admin", "member", "team_member", "viewer", "restricted_viewer", "outsider"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as migrations leave it, except one thing: transactional tests are cleaned
    up with TRUNCATE on PostgreSQL, which the audit table's trigger refuses (as it should in
    production). Switch that trigger off here; tests/engine/test_audit_append_only.py switches it
    back on inside its own transaction."""
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_truncate")
    yield
    # Sessions left open on the test database (live-server threads, servers a test killed) would stop
    # pytest-django from dropping it; end them first.
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _fast_hasher_and_plain_static(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _blob_store(settings, tmp_path):
    """Every test gets its own empty blob folder."""
    settings.ARTIFACT_STORAGE_URL = f"file://{tmp_path / 'blobs'}"
    get_store.cache_clear()
    yield
    get_store.cache_clear()


@dataclass
class World:
    """An organization with one user per persona, a team, a project and a restricted registry.

    Roles on `registry` (restricted, custom): registry_admin=Admin, member=Member,
    team_member=Member through team `vision`, viewer=Viewer, restricted_viewer=Restricted Viewer.
    org_admin is an org admin (Admin everywhere). outsider belongs to another organization.
    """

    org: object
    other_org: object
    team: object
    project: object
    registry: object
    users: dict = field(default_factory=dict)

    def __getitem__(self, persona):
        if persona == "anonymous":
            return AnonymousUser()
        return self.users[persona]

    def version(self, name="model-a", type="model", content=b"weights", **kwargs):
        """Log and commit a small version in the world's project (as org_admin)."""
        return artifacts.log_artifact(
            actor=self.users["org_admin"],
            project=self.project,
            name=name,
            type=type,
            files={"model.bin": content, **kwargs.pop("files", {})},
            **kwargs,
        )

    def link(self, version=None, collection="classifier", aliases=None, registry=None):
        return collections.link_version(
            actor=self.users["org_admin"],
            version=version or self.version(),
            registry=registry or self.registry,
            collection_name=collection,
            aliases=aliases,
        )


def build_world() -> World:
    """Build the world through the services, as a real organization would be (~700 queries)."""
    staff = UserFactory(username="org_admin", is_staff=True)
    org = registries.create_organization(actor=staff, slug="acme", name="Acme ML")
    users = {"org_admin": staff}
    for persona in PERSONAS[1:-1]:
        users[persona] = UserFactory(username=persona)
        role = OrgRole.VIEWER if "viewer" in persona else OrgRole.MEMBER
        orgs.add_org_member(actor=staff, org=org, user=users[persona], role=role)
    outsider = UserFactory(username="outsider", is_staff=True)
    other = registries.create_organization(actor=outsider, slug="globex", name="Globex")
    users["outsider"] = outsider
    team = orgs.create_team(actor=staff, org=org, name="vision")
    orgs.add_team_member(actor=staff, team=team, user=users["team_member"])
    orgs.add_team_member(actor=staff, team=team, user=users["member"])
    project = artifacts.create_project(actor=staff, team=team, name="detector")
    registry = registries.create_registry(
        actor=staff, org=org, name="Golden Models", visibility=Visibility.RESTRICTED, artifact_types=["model"]
    )
    for persona, role in [
        ("registry_admin", "admin"),
        ("member", "member"),
        ("viewer", "viewer"),
        ("restricted_viewer", "restricted_viewer"),
    ]:
        registries.grant_registry_role(actor=staff, registry=registry, principal=users[persona], role=role)
    registries.grant_registry_role(actor=staff, registry=registry, principal=team, role="member")
    registries.declare_protected_alias(actor=staff, registry=registry, alias="production")
    return World(org=org, other_org=other, team=team, project=project, registry=registry, users=users)


def _auto_now(field):
    """The value `pre_save` gives an `auto_now`/`auto_now_add` field on insert."""
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return datetime.date.today()
    return datetime.datetime.now().time()


class _WorldSnapshot:
    """The rows the first `build_world()` of this test process wrote, replayed for every later test.

    Building the world through the services costs ~700 queries; replaying its rows costs one INSERT
    per table. Each test still gets its own copy inside its own transaction (rolled back after it),
    so nothing is shared between tests but Python objects deep-copied from the first build. The
    services themselves stay covered: the first test of each process builds the world for real.
    """

    def __init__(self):
        self.rows: list[tuple[type, list[dict]]] = []
        self.world: World | None = None
        self.catalog: dict | None = None
        self.inserts: list[tuple[str, list[list], list[tuple[int, object]]]] | None = None

    @staticmethod
    def _catalog() -> dict:
        """Where the migrations' rows (content types, permissions) are: replayed rows point at them.

        A transactional test's flush re-creates them under new ids; then the snapshot no longer fits.
        """
        return Permission.objects.aggregate(low=Min("pk"), high=Max("pk"), types=Max("content_type_id"))

    @staticmethod
    def _tables() -> list[type]:
        models = django_apps.get_models(include_auto_created=True)
        return [m for m in models if m._meta.managed and not m._meta.proxy]

    def record(self) -> World:
        before = {model: set(model._base_manager.values_list("pk", flat=True)) for model in self._tables()}
        world = build_world()
        for model, pks in before.items():
            rows = [
                row for row in model._base_manager.order_by("pk").values() if row[model._meta.pk.attname] not in pks
            ]
            if rows:
                self.rows.append((model, rows))
        self.world, self.catalog, self.inserts = copy.deepcopy(world), self._catalog(), None
        return world

    def fits(self) -> bool:
        return self.world is not None and self._catalog() == self.catalog

    def _prepare_inserts(self) -> None:
        """One INSERT per table and its rows' parameters, prepared once as `bulk_create` would prepare them
        (`get_db_prep_save`); only `auto_now`/`auto_now_add` columns take the time of each replay, as
        `bulk_create`'s `pre_save` gives them. Building model instances for every test cost more than the SQL."""
        self.inserts = []
        quote = connection.ops.quote_name
        for model, rows in self.rows:
            fields = [f for f in model._meta.concrete_fields if not f.generated]
            columns = ", ".join(quote(f.column) for f in fields)
            placeholders = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
            stamped = [
                (i, f)
                for i, f in enumerate(fields)
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            ]
            params = [[f.get_db_prep_save(row[f.attname], connection) for f in fields] for row in rows]
            self.inserts.append((sql, params, stamped))

    def replay(self) -> World:
        if self.inserts is None:
            self._prepare_inserts()
        # One transaction: foreign keys are checked at its end, so the tables' order does not matter
        # (transactional tests run in autocommit mode, where each INSERT would be checked alone).
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params, stamped in self.inserts:
                if stamped:
                    params = [list(row) for row in params]
                    for row in params:
                        for i, field in stamped:
                            row[i] = field.get_db_prep_save(_auto_now(field), connection)
                cursor.executemany(sql, params)
        return copy.deepcopy(self.world)


_snapshot = _WorldSnapshot()


@pytest.fixture
def world(db) -> World:
    if _snapshot.fits():
        return _snapshot.replay()
    return _snapshot.record() if _snapshot.world is None else build_world()


# --- Permission-matrix helpers shared by the view tests ---

ALL = ["org_admin", "registry_admin", "member", "team_member", "viewer", "restricted_viewer", "outsider", "anonymous"]


def statuses(ok: int, *, writers: int | None = None, admins: int | None = None, org_viewers: int | None = None):
    """Expected status per persona for the world's restricted registry.

    `ok` for everyone who may do it; `writers` for Member-role personas, `org_viewers` for
    viewer/restricted_viewer, `admins` for org_admin/registry_admin (defaults: `ok`). Outsiders get
    404 (they cannot see the registry) and anonymous visitors a redirect to the login page.
    """
    admins = ok if admins is None else admins
    writers = ok if writers is None else writers
    org_viewers = ok if org_viewers is None else org_viewers
    table = {
        "org_admin": admins,
        "registry_admin": admins,
        "member": writers,
        "team_member": writers,
        "viewer": org_viewers,
        "restricted_viewer": org_viewers,
        "outsider": 404,
        "anonymous": 302,
    }
    return [(persona, table[persona]) for persona in ALL]


def login_as(client, world, persona):
    """Log `persona` in on `client` (anonymous stays logged out) and return the client."""
    if persona != "anonymous":
        client.force_login(world[persona])
    return client


@pytest.fixture
def login(client, world):
    """login("member") → the test client, logged in as that persona."""
    return lambda persona: login_as(client, world, persona)


def assert_status(response, persona, status):
    assert response.status_code == status, response.content[:2000]
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def assert_fragment(response, fragment_id):
    """An htmx answer: the fragment, no page around it, and a Vary header for caches."""
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="{fragment_id}"' in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]
