"""Collection and link services: linking, aliases, protected aliases, tags, descriptions, deletion."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.artifacts.models import VersionTag
from apps.audit.models import Action, AuditEvent
from apps.collections import services
from apps.collections.models import Collection, CollectionTag, Link, LinkAlias
from apps.registries.services import create_registry


def aliases(link):
    return set(LinkAlias.objects.filter(link=link).values_list("alias", flat=True))


def test_link_auto_creates_collection_gives_indexes_and_moves_latest(world):
    first = world.link(version=world.version(content=b"1"))
    second = world.link(version=world.version(content=b"2"), aliases=["candidate"])
    collection = Collection.objects.get(registry=world.registry, name="classifier")
    assert (first.index, second.index, collection.type) == (0, 1, "model")
    assert aliases(first) == set()
    assert aliases(second) == {"latest", "candidate"}
    assert AuditEvent.objects.filter(action=Action.COLLECTION_CREATE, collection_pk=collection.pk).count() == 1
    link_events = AuditEvent.objects.filter(action=Action.COLLECTION_LINK, collection_pk=collection.pk)
    assert sorted(e.data["version"] for e in link_events) == ["v0", "v1"]
    assert AuditEvent.objects.get(action=Action.ALIAS_ADD).data["alias"] == "candidate"


def test_linking_the_same_version_twice_returns_the_existing_link(world):
    version = world.version()
    link = world.link(version=version)
    again = world.link(version=version)
    assert again.pk == link.pk
    assert Link.objects.filter(collection=link.collection).count() == 1
    assert AuditEvent.objects.filter(action=Action.COLLECTION_LINK).count() == 1


def test_a_version_can_be_linked_into_many_collections(world):
    version = world.version()
    world.link(version=version, collection="a")
    world.link(version=version, collection="b")
    assert version.links.count() == 2


def test_viewer_cannot_link_and_nothing_is_written(world):
    version = world.version()
    with pytest.raises(PermissionDenied):
        services.link_version(
            actor=world["viewer"], version=version, registry=world.registry, collection_name="classifier"
        )
    assert not Collection.objects.filter(registry=world.registry).exists()
    assert not AuditEvent.objects.filter(action__in=[Action.COLLECTION_LINK, Action.COLLECTION_CREATE]).exists()


def test_member_links_but_only_versions_they_can_see(world):
    version = world.version()
    link = services.link_version(
        actor=world["member"], version=version, registry=world.registry, collection_name="classifier"
    )
    assert link.linked_by == world["member"]
    # registry_admin is not in the project's team: the source version is invisible to them.
    with pytest.raises(PermissionDenied, match="cannot see"):
        services.link_version(
            actor=world["registry_admin"],
            version=world.version(content=b"z"),
            registry=world.registry,
            collection_name="classifier",
        )


def test_type_rules_on_link(world):
    dataset = world.version(name="images", type="dataset")
    with pytest.raises(ValidationError, match="does not accept"):
        world.link(version=dataset, collection="images")
    open_registry = create_registry(actor=world["org_admin"], org=world.org, name="Anything")
    world.link(version=world.version(), registry=open_registry, collection="mixed")
    with pytest.raises(ValidationError, match="holds “model”"):
        world.link(version=dataset, registry=open_registry, collection="mixed")


def test_versions_from_another_organization_cannot_be_linked(world):
    from apps.artifacts.services import create_project, log_artifact
    from apps.orgs.services import create_team

    outsider = world["outsider"]
    team = create_team(actor=outsider, org=world.other_org, name="globex-team")
    project = create_project(actor=outsider, team=team, name="p")
    version = log_artifact(actor=outsider, project=project, name="m", type="model", files={"a": b"a"})
    with pytest.raises(PermissionDenied):
        services.link_version(actor=outsider, version=version, registry=world.registry, collection_name="c")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "required"),
        ("a/b", "cannot contain"),
        ("a:b", "cannot contain"),
        ("x" * 129, "128"),
        ("settings", "reserved"),
    ],
)
def test_invalid_collection_names(world, name, message):
    with pytest.raises(ValidationError, match=message):
        services.create_collection(actor=world["member"], registry=world.registry, name=name, type="model")
    assert not Collection.objects.exists()


def test_create_collection_with_tags_and_duplicate_name(world):
    collection = services.create_collection(
        actor=world["member"],
        registry=world.registry,
        name="Detector",
        type="model",
        description="# Card",
        tags=["vision", "baseline v2"],
    )
    assert set(collection.tags.values_list("name", flat=True)) == {"vision", "baseline v2"}
    assert AuditEvent.objects.get(action=Action.COLLECTION_CREATE).data["tags"] == ["vision", "baseline v2"]
    with pytest.raises(ValidationError, match="already exists"):
        services.create_collection(actor=world["member"], registry=world.registry, name="detector", type="model")
    with pytest.raises(ValidationError, match="does not accept"):
        services.create_collection(actor=world["member"], registry=world.registry, name="d2", type="dataset")
    with pytest.raises(ValidationError, match="not a valid tag"):
        services.create_collection(
            actor=world["member"], registry=world.registry, name="d3", type="model", tags=["bad!tag"]
        )


def test_alias_is_unique_per_collection_and_moves(world):
    a = world.link(version=world.version(content=b"1"))
    b = world.link(version=world.version(content=b"2"))
    services.add_alias(actor=world["member"], link=a, alias="best")
    services.add_alias(actor=world["member"], link=b, alias="best")
    assert aliases(a) == set() and aliases(b) == {"latest", "best"}
    moved = AuditEvent.objects.filter(action=Action.ALIAS_ADD).first()
    assert moved.data == {"alias": "best", "version": "v1", "moved_from": "v0"}
    services.remove_alias(actor=world["member"], link=b, alias="best")
    assert aliases(b) == {"latest"}
    assert AuditEvent.objects.filter(action=Action.ALIAS_REMOVE).count() == 1


@pytest.mark.parametrize("alias", ["", "a/b", "a:b", "latest", "v3", "has space"])
def test_invalid_aliases(world, alias):
    link = world.link()
    with pytest.raises(ValidationError):
        services.add_alias(actor=world["member"], link=link, alias=alias)
    assert aliases(link) == {"latest"}


def test_latest_cannot_be_removed_and_viewer_cannot_alias(world):
    link = world.link()
    with pytest.raises(ValidationError, match="latest"):
        services.remove_alias(actor=world["member"], link=link, alias="latest")
    with pytest.raises(PermissionDenied):
        services.add_alias(actor=world["viewer"], link=link, alias="x")
    with pytest.raises(PermissionDenied):
        services.add_alias(actor=world["restricted_viewer"], link=link, alias="x")


def test_protected_alias_is_admin_only(world):
    link = world.link()
    with pytest.raises(PermissionDenied, match="protected"):
        services.add_alias(actor=world["member"], link=link, alias="production")
    other = world.version(content=b"q")
    with pytest.raises(PermissionDenied, match="protected"):
        services.link_version(
            actor=world["member"],
            version=other,
            registry=world.registry,
            collection_name="classifier",
            aliases=["production"],
        )
    assert not other.links.exists()
    services.add_alias(actor=world["registry_admin"], link=link, alias="production")
    assert "production" in aliases(link)
    # Holding a protected alias: members can neither unlink it nor delete its collection, nor remove it.
    with pytest.raises(PermissionDenied):
        services.remove_alias(actor=world["member"], link=link, alias="production")
    with pytest.raises(PermissionDenied):
        services.unlink_version(actor=world["member"], link=link)
    with pytest.raises(PermissionDenied):
        services.delete_collection(actor=world["member"], collection=link.collection)
    assert Link.objects.filter(pk=link.pk).exists()
    services.unlink_version(actor=world["registry_admin"], link=link)
    assert not Link.objects.filter(pk=link.pk).exists()


def test_unlink_moves_latest_back_and_keeps_indexes(world):
    a = world.link(version=world.version(content=b"1"))
    b = world.link(version=world.version(content=b"2"))
    services.unlink_version(actor=world["member"], link=b)
    assert aliases(a) == {"latest"}
    c = world.link(version=world.version(content=b"3"))
    assert c.index == 2  # indexes are never reused
    event = AuditEvent.objects.get(action=Action.COLLECTION_UNLINK)
    assert event.data["version"] == "v1" and event.collection_pk == a.collection_id
    with pytest.raises(PermissionDenied):
        services.unlink_version(actor=world["viewer"], link=c)


def test_tags_on_collections_and_versions(world):
    link = world.link()
    collection = link.collection
    services.add_collection_tag(actor=world["member"], collection=collection, tag="vision")
    services.add_collection_tag(actor=world["member"], collection=collection, tag="vision")
    assert CollectionTag.objects.filter(collection=collection).count() == 1
    services.remove_collection_tag(actor=world["member"], collection=collection, tag="vision")
    with pytest.raises(ValidationError):
        services.remove_collection_tag(actor=world["member"], collection=collection, tag="vision")
    services.add_version_tag(actor=world["member"], link=link, tag="validated")
    assert list(VersionTag.objects.filter(version=link.version).values_list("name", flat=True)) == ["validated"]
    services.remove_version_tag(actor=world["member"], link=link, tag="validated")
    actions = list(AuditEvent.objects.filter(collection_pk=collection.pk).values_list("action", flat=True))
    for action in [
        Action.COLLECTION_ADD_TAG,
        Action.COLLECTION_REMOVE_TAG,
        Action.VERSION_ADD_TAG,
        Action.VERSION_REMOVE_TAG,
    ]:
        assert action in actions
    with pytest.raises(ValidationError):
        services.add_version_tag(actor=world["member"], link=link, tag="no/slash")
    with pytest.raises(PermissionDenied):
        services.add_collection_tag(actor=world["viewer"], collection=collection, tag="x")


def test_descriptions_and_rename(world):
    link = world.link()
    collection = link.collection
    services.update_collection_description(actor=world["member"], collection=collection, description="## Summary")
    services.update_version_description(actor=world["member"], link=link, description="best so far")
    link.version.refresh_from_db()
    assert link.version.description == "best so far"
    with pytest.raises(ValidationError, match="100,000"):
        services.update_collection_description(actor=world["member"], collection=collection, description="x" * 100_001)
    services.rename_collection(actor=world["member"], collection=collection, name="classifier-v2")
    assert AuditEvent.objects.get(action=Action.COLLECTION_RENAME).data == {"from": "classifier", "to": "classifier-v2"}
    with pytest.raises(PermissionDenied):
        services.update_collection_description(actor=world["viewer"], collection=collection, description="x")


def test_delete_collection(world):
    link = world.link()
    collection = link.collection
    pk = collection.pk
    with pytest.raises(PermissionDenied):
        services.delete_collection(actor=world["viewer"], collection=collection)
    services.delete_collection(actor=world["member"], collection=collection)
    assert not Collection.objects.filter(pk=pk).exists()
    link.version.refresh_from_db()
    assert AuditEvent.objects.get(action=Action.COLLECTION_DELETE).data == {"name": "classifier", "links": 1}
