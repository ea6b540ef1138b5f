"""The hand-written statements (apps/*/sql.py), run on SQLite and on PostgreSQL (DATABASE_URL)."""

import datetime

import pytest
from django.db import connection

from apps.artifacts import sql as artifacts_sql
from apps.artifacts.models import ArtifactSequence, VersionTag
from apps.collections import sql
from apps.collections.models import Collection
from apps.registries import services as registries
from lib.rows import any_of, fetch_all


def test_take_sequence_index_counts_up_and_knows_missing_artifacts(world):
    version = world.version(name="seq")
    sequence = version.sequence
    assert artifacts_sql.take_sequence_index(world.project.pk, "seq") == (sequence.pk, "model", 1)
    assert artifacts_sql.take_sequence_index(world.project.pk, "seq") == (sequence.pk, "model", 2)
    assert ArtifactSequence.objects.get(pk=sequence.pk).next_index == 3
    assert artifacts_sql.take_sequence_index(world.project.pk, "nope") is None


def test_take_link_index_matches_names_case_insensitively(world):
    link = world.link()
    before = Collection.objects.get(pk=link.collection_id).updated_at
    taken = sql.take_link_index(world.registry.pk, "CLASSIFIER")
    assert taken == (link.collection_id, "classifier", "model", 1)
    collection = Collection.objects.get(pk=link.collection_id)
    assert collection.next_index == 2 and collection.updated_at > before
    assert isinstance(collection.updated_at, datetime.datetime) and collection.updated_at.tzinfo is not None
    assert sql.take_link_index(world.registry.pk, "other") is None


def test_find_links_brings_the_rows_and_the_callers_permissions(world, django_assert_num_queries):
    link = world.link(version=world.version(metadata={"acc": 0.5}), aliases=["candidate"])
    common = {"registry": "golden models", "former": False, "collection": "Classifier", "org": None}
    with django_assert_num_queries(1):
        ((found, codenames),) = sql.find_links(world["viewer"], index=None, alias="candidate", **common)
        # Everything an answer names is loaded: no further query.
        assert found.collection.registry.org.slug == "acme" and found.collection.registry.has_automations is False
        assert found.version.sequence.project.team.name == "vision" and found.version.metadata == {"acc": 0.5}
        assert found.collection.registry.artifact_types == ["model"] and found.created_at.tzinfo is not None
    assert found == link and codenames == {"view_registry", "download_registry"}
    ((_, codenames),) = sql.find_links(world["team_member"], index=0, alias=None, **common)  # through the team
    assert codenames == {"view_registry", "download_registry", "write_registry"}
    assert sql.find_links(world["outsider"], index=0, alias=None, **common) == []  # not in the org
    ((_, codenames),) = sql.find_links(world["outsider"], index=0, alias=None, **common | {"org": "Acme ML"})
    assert codenames == set()  # found by the org's display name, but nothing granted
    assert sql.find_links(world["viewer"], index=1, alias=None, **common) == []


def test_find_links_by_a_former_registry_name(world):
    world.link()
    registries.rename_registry(actor=world["org_admin"], registry=world.registry, name="Silver")
    common = {"collection": "classifier", "org": "acme", "index": 0, "alias": None}
    assert sql.find_links(world["viewer"], registry="golden models", former=False, **common) == []
    assert len(sql.find_links(world["viewer"], registry="golden models", former=True, **common)) == 1


def test_version_extras_and_alias_state(world):
    link = world.link(version=world.version(files={"b.txt": b"bee"}), aliases=["candidate"])
    VersionTag.objects.create(version=link.version, name="good")
    aliases, tags, files = sql.version_extras(link.pk, link.version_id)
    assert (aliases, tags) == (["candidate", "latest"], ["good"])
    assert [(path, size) for path, _, size, _ in files] == [("b.txt", 3), ("model.bin", 7)]
    assert all(len(sha256) == 64 and len(md5) == 32 for _, sha256, _, md5 in files)
    held, protected, tags = sql.alias_state(link.collection_id, world.registry.pk, link.version_id)
    assert held == {"candidate": (link.pk, 0), "latest": (link.pk, 0)}
    assert (protected, tags) == ({"production"}, ["good"])


def test_find_registries_brings_whole_registries_and_permissions(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        ((registry, codenames),) = sql.find_registries(
            world["member"], registry="golden models", former=False, org=None
        )
        assert (registry.description, registry.org.slug, registry.created_at.tzinfo is not None) == ("", "acme", True)
    assert registry == world.registry and codenames == {"view_registry", "download_registry", "write_registry"}
    assert sql.find_registries(world["outsider"], registry="golden models", former=False, org=None) == []


def test_move_alias_points_an_existing_alias_only(world):
    from apps.collections.models import LinkAlias

    first = world.link()
    second = world.link(version=world.version(name="model-b"))
    assert sql.move_alias(first.collection_id, "latest", first.pk) is True
    assert LinkAlias.objects.get(collection_id=first.collection_id, alias="latest").link_id == first.pk
    assert sql.move_alias(first.collection_id, "production", second.pk) is False  # no such alias: nothing made
    assert not LinkAlias.objects.filter(alias="production").exists()


def test_insert_writes_the_row_as_save_would(world):
    from apps.audit.models import AuditEvent
    from lib.rows import insert

    event = AuditEvent(org=world.org, org_slug="acme", action="artifact:create", data={"n": [1, "é"]})
    insert(event)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.data == {"n": [1, "é"]} and stored.org_id == world.org.pk
    assert stored.created_at == event.created_at and stored.created_at.tzinfo is not None  # auto_now_add filled
    assert event._state.adding is False


def test_insert_writes_many_rows_in_one_statement_keys_in_order(world, django_assert_num_queries):
    from apps.audit.models import AuditEvent
    from lib.rows import insert

    events = [AuditEvent(org=world.org, org_slug="acme", action="artifact:create", data={"n": n}) for n in range(3)]
    with django_assert_num_queries(1):
        insert(*events)
    assert [e.pk for e in events] == sorted(e.pk for e in events)
    assert [AuditEvent.objects.get(pk=e.pk).data for e in events] == [{"n": 0}, {"n": 1}, {"n": 2}]
    with django_assert_num_queries(0):
        insert()


def test_a_batch_writes_its_audit_events_together_when_it_ends(world, django_assert_num_queries):
    from django.db import transaction

    from apps.audit.models import AuditEvent
    from apps.audit.services import batched, record

    before = AuditEvent.objects.count()
    with django_assert_num_queries(1), batched():
        first = record(actor=None, org=world.org, action="artifact:create", target=world.org)
        with batched():  # a nested block writes with the outer one
            second = record(actor=None, org=world.org, action="artifact:commit", target=world.org)
        assert first.pk is None and second.pk is None
    assert first.pk < second.pk
    assert list(AuditEvent.objects.filter(pk__gte=first.pk).order_by("pk").values_list("action", flat=True)) == [
        "artifact:create",
        "artifact:commit",
    ]

    def failing_service():
        with transaction.atomic(), batched():
            record(actor=None, org=world.org, action="artifact:create", target=world.org)
            raise RuntimeError("the service failed")

    with pytest.raises(RuntimeError):
        failing_service()
    assert AuditEvent.objects.count() == before + 2
    # Outside a batch each event is written at once.
    assert record(actor=None, org=world.org, action="artifact:create", target=world.org).pk is not None


def test_page_details_bring_a_pages_columns_and_labels(world):
    link = world.link(version=world.version(metadata={"acc": 0.5}, description="first"), aliases=["candidate"])
    VersionTag.objects.create(version=link.version, name="good")
    versions, collections, aliases, tags = sql.page_details([link.pk], [link.version_id], [link.collection_id])
    index, state, metadata, description, size, digest, artifact, type, project, team = versions[link.version_id]
    assert (index, state, metadata, description, size) == (0, "committed", {"acc": 0.5}, "first", link.version.size)
    assert (digest, artifact, type, project, team) == (link.version.digest, "model-a", "model", "detector", "vision")
    assert collections == {link.collection_id: ("classifier", "Golden Models", "acme")}
    assert aliases == {link.pk: ["candidate", "latest"]} and tags == {link.version_id: ["good"]}
    assert sql.page_details([], [], []) == ({}, {}, {}, {})


def test_a_page_of_ids_is_one_parameter_on_postgresql(world):
    """lib.rows.any_of: the same statement text for 3 ids or 100, so psycopg parses it once (it re-parses a
    statement of more than 50 parameters on every call) and PostgreSQL can prepare it."""
    few, many = any_of("l.id", [1, 2, 3]), any_of("l.id", list(range(1, 101)))
    if connection.vendor == "postgresql":
        assert few == ("l.id = ANY(CAST(%s AS bigint[]))", ["{1,2,3}"]) and many[0] == few[0] and len(many[1]) == 1
    else:
        assert few == ("l.id IN (%s, %s, %s)", [1, 2, 3]) and len(many[1]) == 100
    link = world.link(aliases=["candidate"])
    ids = [link.pk, *range(10**9, 10**9 + 99)]  # a page of 100 ids, one of them real
    versions, collections, aliases, _ = sql.page_details(
        ids, [*ids[1:], link.version_id], [*ids[1:], link.collection_id]
    )
    assert list(versions) == [link.version_id] and list(collections) == [link.collection_id]
    assert aliases == {link.pk: ["candidate", "latest"]}


def test_fetch_all_answers_each_statement_in_one_round_trip_on_postgresql(world, tmp_path):
    """lib.rows.fetch_all: each statement's rows, in order; on PostgreSQL the statements go in one pipeline, so the
    client sends one Sync (one wait for the server) for all of them, where one by one it sends one each."""
    link = world.link(aliases=["candidate"])
    statements = [
        ("SELECT id FROM collections_link WHERE id = %s", [link.pk]),
        ("SELECT alias FROM collections_linkalias WHERE link_id = %s ORDER BY alias", [link.pk]),
        ("SELECT id FROM collections_link WHERE id = %s", [-1]),
    ]
    if connection.vendor != "postgresql":
        assert fetch_all(*statements) == [[(link.pk,)], [("candidate",), ("latest",)], []]
        return
    connection.ensure_connection()
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as out:
        connection.connection.pgconn.trace(out.fileno())
        try:
            found = fetch_all(*statements)
        finally:
            connection.connection.pgconn.untrace()
    assert found == [[(link.pk,)], [("candidate",), ("latest",)], []]
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    assert [fields[3] for fields in sent if fields[1] == "F" and fields[3] in ("Sync", "Execute")].count("Sync") == 1
    assert sum(fields[1] == "F" and fields[3] == "Execute" for fields in sent) == 3
