"""Hand-written SQL for the API's hottest paths (docs/decisions.md, "Hand-written SQL"), where building
the ORM's query cost more than running it. Called only by this app's services and path lookups, which
keep the permission checks, validation, audit events and transactions. Runs on SQLite (3.35+) and
PostgreSQL; tests/collections/test_sql.py runs each on both."""

import functools

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from apps.artifacts.models import ArtifactSequence, ArtifactVersion, Project
from apps.orgs.models import Organization, Team
from apps.registries.models import Registry, RegistryGroupObjectPermission, RegistryUserObjectPermission

# collections.models imports this module (path lookups), so this app's models are looked up by name.


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


# (model, fields) in the order the SELECT lists them; other fields load on access (Model.from_db).
def _link_columns():
    Collection, Link = apps.get_model("collections", "Collection"), apps.get_model("collections", "Link")
    return [
        (Organization, ["id", "slug", "name"]),
        (
            Registry,
            [
                "id",
                "org_id",
                "name",
                "slug",
                "is_core",
                "visibility",
                "allow_all_types",
                "artifact_types",
                "has_automations",
            ],
        ),
        (Collection, ["id", "registry_id", "name", "type"]),
        (Team, ["id", "org_id", "name"]),
        (Project, ["id", "team_id", "name"]),
        (ArtifactSequence, ["id", "project_id", "name", "type", "next_index"]),
        (
            ArtifactVersion,
            [
                "id",
                "sequence_id",
                "index",
                "state",
                "description",
                "metadata",
                "size",
                "file_count",
                "digest",
                "reference_uri",
                "run_id",
                "created_by_id",
                "created_at",
                "committed_at",
            ],
        ),
        (Link, ["id", "collection_id", "version_id", "index", "linked_by_id", "created_at"]),
    ]


@functools.cache
def _link_select(vendor: str) -> tuple[str, list]:
    """The SELECT list and, per model, its fields with their database converters (as the ORM applies them)."""
    aliases = {"orgs": "o", "registry": "r", "collection": "c", "team": "t", "project": "p"}
    aliases |= {"artifactsequence": "s", "artifactversion": "v", "link": "l", "organization": "o"}
    columns, models = [], []
    for model, names in _link_columns():
        table = aliases[model._meta.model_name]
        fields = [model._meta.get_field(name.removesuffix("_id")) for name in names]
        converters = []
        for field in fields:
            col = field.get_col(table)
            converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
            columns.append(f'{table}."{field.column}"')
        models.append((model, [f.attname for f in fields], converters))
    return ", ".join(columns), models


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
    select, models = _link_select(connection.vendor)
    perms = [
        (RegistryUserObjectPermission, "x.user_id = %s"),
        (RegistryGroupObjectPermission, "x.group_id IN (SELECT ug.group_id FROM {groups} ug WHERE ug.user_id = %s)"),
    ]
    granted = " UNION ALL ".join(
        f"SELECT x.content_object_id AS registry_id, ap.codename FROM {model._meta.db_table} x"
        f" JOIN {Permission._meta.db_table} ap ON ap.id = x.permission_id WHERE "
        + where.format(groups=get_user_model().groups.through._meta.db_table)
        for model, where in perms
    )
    params: list = [user.pk, user.pk]
    if former:
        registry_match = "r.id IN (SELECT f.registry_id FROM registries_formername f WHERE lower(f.name) = lower(%s))"
    else:
        registry_match = "lower(r.name) = lower(%s)"
    if renamed:  # a name the collection had before a rename
        collection_match = "c.id IN (SELECT cf.collection_id FROM collections_collectionformername cf WHERE lower(cf.name) = lower(%s))"
    else:
        collection_match = "lower(c.name) = lower(%s)"
    conditions = [registry_match, collection_match]
    params += [registry, collection]
    if org:
        conditions.append("(o.slug = %s OR lower(o.name) = lower(%s))")
        params += [org, org]
    elif not user.is_superuser:
        conditions.append("o.id IN (SELECT m.org_id FROM orgs_membership m WHERE m.user_id = %s)")
        params.append(user.pk)
    if index is not None:
        conditions.append('l."index" = %s')
        params.append(index)
        alias_join = ""
    else:
        # Both columns of the (collection, alias) unique index, so the lookup walks it.
        alias_join = " JOIN collections_linkalias a ON a.collection_id = l.collection_id AND a.link_id = l.id"
        conditions.append("a.alias = %s")
        params.append(alias)
    query = (
        f"SELECT {select}, perm.codename FROM collections_link l"
        " JOIN collections_collection c ON c.id = l.collection_id"
        " JOIN registries_registry r ON r.id = c.registry_id"
        " JOIN orgs_organization o ON o.id = r.org_id"
        " JOIN artifacts_artifactversion v ON v.id = l.version_id"
        " JOIN artifacts_artifactsequence s ON s.id = v.sequence_id"
        " JOIN artifacts_project p ON p.id = s.project_id"
        " JOIN orgs_team t ON t.id = p.team_id"
        f"{alias_join}"
        f" LEFT JOIN ({granted}) perm ON perm.registry_id = r.id"
        f" WHERE {' AND '.join(conditions)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    found: dict = {}
    link_at = len(rows[0]) - 1 - len(models[-1][1]) if rows else 0  # the link's id: its first column
    for row in rows:
        link_id = row[link_at]
        if link_id not in found:
            found[link_id] = (_build_link(row, models), set())
        if row[-1]:
            found[link_id][1].add(row[-1])
    return [(link, frozenset(codenames)) for link, codenames in found.values()]


def _build_link(row, models):
    instances, at = {}, 0
    for model, attnames, converters in models:
        values = []
        for value in row[at : at + len(attnames)]:
            col, functions = converters[len(values)]
            for converter in functions:
                value = converter(value, col, connection)
            values.append(value)
        at += len(attnames)
        instances[model._meta.model_name] = model.from_db(connection.alias, attnames, values)
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
