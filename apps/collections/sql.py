"""Hand-written SQL for the API's hottest paths (docs/decisions.md, "Hand-written SQL"), where building
the ORM's query cost more than running it. Called only by this app's services and path lookups, which
keep the permission checks, validation, audit events and transactions. Runs on SQLite (3.35+) and
PostgreSQL; tests/collections/test_sql.py runs each on both."""

import functools

from django.apps import apps
from django.db import connection
from django.utils import timezone

from apps.artifacts.models import ArtifactSequence, ArtifactVersion, Project
from apps.orgs.models import Organization, Team
from apps.registries.models import Registry
from apps.registries.sql import granted
from lib.rows import any_of, build, fetch_all, select_list, width

# collections.models imports this module (path lookups), so this app's models are looked up by name.


def move_alias(collection_id: int, alias: str, link_id: int) -> bool:
    """Point the collection's `alias` at link `link_id`; False if the collection has no such alias yet."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE collections_linkalias SET link_id = %s WHERE collection_id = %s AND alias = %s",
            [link_id, collection_id, alias],
        )
        return cursor.rowcount > 0


def take_link_index(registry_id: int, name: str) -> tuple[int, str, str, int] | None:
    """Give the next link index of the collection `name` (case-insensitive) in a registry:
    (collection id, name, type, index), or None if there is no such collection.

    The UPDATE locks the row until the transaction ends, so concurrent links take consecutive
    indexes; a rollback gives the index back. `lower(name)` is the unique index's own expression.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE collections_collection SET next_index = next_index + 1, updated_at = %s"
            " WHERE registry_id = %s AND lower(name) = lower(%s) RETURNING id, name, type, next_index - 1",
            [connection.ops.adapt_datetimefield_value(timezone.now()), registry_id, name],
        )
        row = cursor.fetchone()
    return (row[0], row[1], row[2], row[3]) if row else None


# --- Resolving a registry version path: the link, everything its answer names, and the caller's
# permissions on its registry, in one statement (the ORM built 64 columns over 8 joins, and the
# permissions were a second query). ---


REGISTRY_FIELDS = (
    "id",
    "org_id",
    "name",
    "slug",
    "is_core",
    "visibility",
    "allow_all_types",
    "artifact_types",
    "has_automations",
)
ORG_FIELDS = ("id", "slug", "name")
# A registry found by name is handed to any service: every field, so none loads on its own later.
WHOLE_REGISTRY = (*REGISTRY_FIELDS, "description", "owner_id", "created_by_id", "created_at", "updated_at")


@functools.cache
def _link_spec() -> tuple:
    """What a link lookup selects: (model, table alias, fields); other fields load on access."""
    Collection, Link = apps.get_model("collections", "Collection"), apps.get_model("collections", "Link")
    version_fields = ("id", "sequence_id", "index", "state", "description", "metadata", "size", "file_count")
    version_fields += ("digest", "reference_uri", "run_id", "created_by_id", "created_at", "committed_at")
    return (
        (Organization, "o", ORG_FIELDS),
        (Registry, "r", REGISTRY_FIELDS),
        (Collection, "c", ("id", "registry_id", "name", "type")),
        (Team, "t", ("id", "org_id", "name")),
        (Project, "p", ("id", "team_id", "name")),
        (ArtifactSequence, "s", ("id", "project_id", "name", "type", "next_index")),
        (ArtifactVersion, "v", version_fields),
        (Link, "l", ("id", "collection_id", "version_id", "index", "linked_by_id", "created_at")),
    )


def _registry_conditions(user, registry: str, former: bool, org: str | None) -> tuple[list[str], list]:
    """WHERE conditions (and their parameters) for registries `r` named `registry` in org `o`."""
    if former:
        conditions = ["r.id IN (SELECT f.registry_id FROM registries_formername f WHERE lower(f.name) = lower(%s))"]
    else:
        conditions = ["lower(r.name) = lower(%s)"]
    params: list = [registry]
    if org:  # the org's slug (its entity name) or its display name, as W&B accepts both
        conditions.append("(o.slug = %s OR lower(o.name) = lower(%s))")
        params += [org, org]
    elif not user.is_superuser:
        conditions.append("o.id IN (SELECT m.org_id FROM orgs_membership m WHERE m.user_id = %s)")
        params.append(user.pk)
    return conditions, params


def _grouped(rows, spec: tuple, key_at: int, assemble) -> list[tuple]:
    """One (object, codenames) per distinct row[key_at]: the rows repeat an object once per codename held."""
    found: dict = {}
    for row in rows:
        if row[key_at] not in found:
            found[row[key_at]] = (assemble(build(row, spec)), set())
        if row[-1]:
            found[row[key_at]][1].add(row[-1])
    return [(obj, frozenset(codenames)) for obj, codenames in found.values()]


def find_registries(user, *, registry: str, former: bool, org: str | None) -> list[tuple]:
    """Registries named `registry` (case-insensitive; `former`: an old name) in `org` or else the caller's
    orgs, each with its org and the codenames `user` holds on it. The caller decides what the user may see."""
    spec = ((Registry, "r", WHOLE_REGISTRY), (Organization, "o", ORG_FIELDS))
    conditions, params = _registry_conditions(user, registry, former, org)
    query = (
        f"SELECT {select_list(spec)}, perm.codename FROM registries_registry r"
        " JOIN orgs_organization o ON o.id = r.org_id"
        f" LEFT JOIN ({granted()}) perm ON perm.registry_id = r.id WHERE {' AND '.join(conditions)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [user.pk, user.pk, *params])
        rows = cursor.fetchall()

    def assemble(instances):
        found = instances["registry"]
        found.org = instances["organization"]
        return found

    return _grouped(rows, spec, 0, assemble)


def find_links(
    user,
    *,
    registry: str,
    former: bool,
    collection: str,
    renamed: bool = False,
    org: str | None,
    index: int | None,
    alias: str | None,
) -> list[tuple]:
    """Links at `<registry>/<collection>:<vN|alias>` (names case-insensitive; `former`: a registry's old
    name), in `org` (its slug or display name) or else the caller's orgs (all, for a superuser), each
    with the codenames `user` holds on its registry. The link comes with its collection, registry, org,
    version, sequence, project and team loaded. The caller decides what the user may see.
    """
    spec = _link_spec()
    conditions, params = _registry_conditions(user, registry, former, org)
    if renamed:  # a name the collection had before a rename
        conditions.append(
            "c.id IN (SELECT cf.collection_id FROM collections_collectionformername cf WHERE lower(cf.name) = lower(%s))"
        )
    else:
        conditions.append("lower(c.name) = lower(%s)")
    params.append(collection)
    # From the collection to its one link: by the (collection, index) or the (collection, alias) unique index.
    # Written in this order on purpose: PostgreSQL keeps the written join order past eight tables, and left to
    # choose it read every link of the collection (estimated at the average collection's count) and hashed them.
    if index is not None:
        link_join = ' JOIN collections_link l ON l.collection_id = c.id AND l."index" = %s'
    else:
        link_join = (
            " JOIN collections_linkalias a ON a.collection_id = c.id AND a.alias = %s"
            " JOIN collections_link l ON l.id = a.link_id"
        )
    query = (
        f"SELECT {select_list(spec)}, perm.codename FROM collections_collection c"
        " JOIN registries_registry r ON r.id = c.registry_id"
        " JOIN orgs_organization o ON o.id = r.org_id"
        f"{link_join}"
        " JOIN artifacts_artifactversion v ON v.id = l.version_id"
        " JOIN artifacts_artifactsequence s ON s.id = v.sequence_id"
        " JOIN artifacts_project p ON p.id = s.project_id"
        " JOIN orgs_team t ON t.id = p.team_id"
        f" LEFT JOIN ({granted()}) perm ON perm.registry_id = r.id"
        f" WHERE {' AND '.join(conditions)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [index if index is not None else alias, user.pk, user.pk, *params])
        rows = cursor.fetchall()
    return _grouped(rows, spec, width(spec) - len(spec[-1][2]), _assemble_link)


def _assemble_link(instances: dict):
    org, registry, collection = instances["organization"], instances["registry"], instances["collection"]
    team, project, sequence = instances["team"], instances["project"], instances["artifactsequence"]
    version, link = instances["artifactversion"], instances["link"]
    registry.org, collection.registry, team.org, project.team = org, registry, org, team
    sequence.project, version.sequence = project, sequence
    link.collection, link.version = collection, version
    return link


# --- What an answer about one linked version shows, and what an alias change checks ---


def version_extras(link_id: int, version_id: int) -> tuple[list[str], list[str], list[tuple]]:
    """A linked version's aliases, its tags, and its files as (path, sha256, size, md5), in one statement."""
    query = (
        "SELECT 'a', alias, NULL, CAST(NULL AS BIGINT), NULL FROM collections_linkalias WHERE link_id = %s"
        " UNION ALL SELECT 't', name, NULL, CAST(NULL AS BIGINT), NULL FROM artifacts_versiontag WHERE version_id = %s"
        " UNION ALL SELECT 'f', e.path, e.sha256, e.size, b.md5 FROM artifacts_manifestentry e"
        " LEFT JOIN artifacts_blob b ON b.sha256 = e.sha256 WHERE e.version_id = %s"
    )
    aliases, tags, files = [], [], []
    with connection.cursor() as cursor:
        cursor.execute(query, [link_id, version_id, version_id])
        for kind, name, sha256, size, md5 in cursor.fetchall():
            if kind == "a":
                aliases.append(name)
            elif kind == "t":
                tags.append(name)
            else:
                files.append((name, sha256, size, md5))
    return sorted(aliases), sorted(tags), sorted(files)


def page_details(
    link_ids: list[int], version_ids: list[int], collection_ids: list[int]
) -> tuple[dict[int, tuple], dict[int, tuple], dict[int, list[str]], dict[int, list[str]]]:
    """What a page of links shows beyond their own columns, in three statements sent together (`fetch_all`):

    - by version id: (index, state, metadata, description, size, digest, artifact name, type, project name, team
      name);
    - by collection id: (collection name, registry name, org slug);
    - the links' aliases ({link id: sorted aliases}) and the versions' tags ({version id: sorted tags}).

    The ORM's `values()` across seven relations cost more to build than the page took to read. Two small joins, not
    one of eight tables: PostgreSQL plans a statement for its values until it has run five times on a connection,
    and an eight-table join took it a millisecond to plan.
    """
    if not link_ids:
        return {}, {}, {}, {}
    version_is, version_params = any_of("v.id", version_ids)
    versions = (
        'SELECT v.id, v."index", v.state, v.metadata, v.description, v.size, v.digest, s.name, s.type, p.name, t.name'
        " FROM artifacts_artifactversion v JOIN artifacts_artifactsequence s ON s.id = v.sequence_id"
        f" JOIN artifacts_project p ON p.id = s.project_id JOIN orgs_team t ON t.id = p.team_id WHERE {version_is}"
    )
    collection_is, collection_params = any_of("c.id", collection_ids)
    collections = (
        "SELECT c.id, c.name, r.name, o.slug FROM collections_collection c"
        " JOIN registries_registry r ON r.id = c.registry_id JOIN orgs_organization o ON o.id = r.org_id"
        f" WHERE {collection_is}"
    )
    links, link_params = any_of("link_id", link_ids)
    tagged, tag_params = any_of("version_id", version_ids)
    labels = (
        f"SELECT 'a', link_id, alias FROM collections_linkalias WHERE {links}"
        f" UNION ALL SELECT 't', version_id, name FROM artifacts_versiontag WHERE {tagged}"
    )
    version_rows, collection_rows, label_rows = fetch_all(
        (versions, version_params), (collections, collection_params), (labels, [*link_params, *tag_params])
    )
    metadata = ArtifactVersion._meta.get_field("metadata")
    by_version = {
        row[0]: (*row[1:3], metadata.from_db_value(row[3], None, connection), *row[4:]) for row in version_rows
    }
    by_collection = {row[0]: row[1:] for row in collection_rows}
    aliases: dict[int, list[str]] = {}
    tags: dict[int, list[str]] = {}
    for kind, pk, name in label_rows:
        (aliases if kind == "a" else tags).setdefault(pk, []).append(name)
    for named in (aliases, tags):
        for names in named.values():
            names.sort()
    return by_version, by_collection, aliases, tags


def alias_state(collection_id: int, registry_id: int, version_id: int) -> tuple[dict, set[str], list[str]]:
    """What an alias change on a link decides from, in one statement: the collection's aliases
    ({alias: (link id, link index)}), the registry's protected aliases, and the version's tags."""
    query = (
        "SELECT 'a', a.alias, a.link_id, k.\"index\" FROM collections_linkalias a"
        " JOIN collections_link k ON k.id = a.link_id WHERE a.collection_id = %s"
        " UNION ALL SELECT 'p', alias, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT) FROM registries_protectedalias"
        " WHERE registry_id = %s"
        " UNION ALL SELECT 't', name, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT) FROM artifacts_versiontag"
        " WHERE version_id = %s"
    )
    aliases, protected, tags = {}, set(), []
    with connection.cursor() as cursor:
        cursor.execute(query, [collection_id, registry_id, version_id])
        for kind, name, link_id, index in cursor.fetchall():
            if kind == "a":
                aliases[name] = (link_id, index)
            elif kind == "p":
                protected.add(name)
            else:
                tags.append(name)
    return aliases, protected, sorted(tags)
