"""The Lineage tab's graph: which nodes the user may open, and a column-per-level layout for an inline SVG."""

from django.db.models import prefetch_related_objects
from django.urls import reverse

from apps.artifacts.models import Project, lineage
from apps.collections.models import Link

LINEAGE_COLUMN, LINEAGE_ROW, NODE_W, NODE_H = 230, 58, 190, 42
CLUSTER_AT = 5


def lineage_access(user, levels: dict[int, list]) -> tuple[set[int], dict[int, Link]]:
    """Projects the user may open among the graph's nodes, and registry links for the other versions."""
    versions = [node for level, nodes in levels.items() if level % 2 == 0 for node in nodes]
    project_ids = {v.sequence.project_id for v in versions} | {
        run.project_id for level, nodes in levels.items() if level % 2 for run in nodes
    }
    visible = set(Project.objects.visible_to(user).filter(pk__in=project_ids).values_list("pk", flat=True))
    # Versions the user can't open at the source may still be reachable through a registry link.
    via_registry: dict[int, Link] = {}
    hidden = [v.pk for v in versions if v.sequence.project_id not in visible]
    if hidden:
        for other in (
            Link.objects.visible_to(user)
            .filter(version__in=hidden)
            .select_related("collection__registry__org")
            .order_by("pk")
        ):
            via_registry.setdefault(other.version_id, other)
    return visible, via_registry


def lineage_layout(levels: dict[int, list], edges: set, expanded: set[int], node_for, expand_url):
    """A column per level, centred rows; a level of CLUSTER_AT or more nodes becomes one cluster node."""
    clustered = {level for level, members in levels.items() if len(members) >= CLUSTER_AT} - expanded - {0}
    height = max(1 if level in clustered else len(members) for level, members in levels.items())
    nodes, node_of_key = [], {}
    for column, level in enumerate(sorted(levels)):
        members = levels[level]
        shown = [None] if level in clustered else members
        top = (height - len(shown)) * LINEAGE_ROW / 2
        for row, obj in enumerate(shown):
            if obj is None:
                kind = "runs" if level % 2 else "artifacts"
                node = {"kind": "cluster", "label": f"{len(members)} {kind}", "title": "Show each node"}
                node["url"] = expand_url(level)
                keys = [f"{'r' if level % 2 else 'a'}{member.pk}" for member in members]
            else:
                node = node_for(obj, level)
                keys = [node["key"]]
            node.update(x=10 + column * LINEAGE_COLUMN, y=10 + top + row * LINEAGE_ROW)
            nodes.append(node)
            node_of_key.update(dict.fromkeys(keys, node))
    # Edges into or out of a cluster collapse into one.
    pairs = {
        (id(node_of_key[a]), id(node_of_key[b])): (node_of_key[a], node_of_key[b])
        for a, b in edges
        if a in node_of_key and b in node_of_key
    }
    paths = [
        f"M{a['x'] + NODE_W},{a['y'] + NODE_H / 2} C{a['x'] + NODE_W + 30},{a['y'] + NODE_H / 2} "
        f"{b['x'] - 30},{b['y'] + NODE_H / 2} {b['x']},{b['y'] + NODE_H / 2}"
        for a, b in pairs.values()
    ]
    return nodes, paths, height


def lineage_node(obj, level: int, link: Link, visible: set[int], via_registry: dict) -> dict:
    if level % 2:  # a run
        run, shown = obj, obj.project_id in visible
        url = reverse("artifacts:artifact_list", args=[run.project.team.name, run.project.name]) + f"?run={run.run_id}"
        return {
            "key": f"r{run.pk}",
            "kind": "run",
            "label": (run.name or run.run_id) if shown else "private run",
            "sub": f"{run.run_id} · {run.state}" if shown else "in a project you are not in",
            "title": f"Run {run.run_id} ({run.name}), {run.state}, {run.created_at:%Y-%m-%d %H:%M}" if shown else "",
            "url": url if shown else "",
        }
    version = obj
    if version.pk == link.version_id:
        url, label = link.get_absolute_url(), f"{link.collection.name}:v{link.index}"
    elif version.sequence.project_id in visible:
        url, label = version.get_absolute_url(), f"{version.sequence.name}:{version.version_label}"
    elif version.pk in via_registry:
        other = via_registry[version.pk]
        url, label = other.get_absolute_url(), f"{other.collection.name}:v{other.index}"
    else:
        url, label = "", "private artifact"
    return {
        "key": f"a{version.pk}",
        "kind": "artifact",
        "label": label,
        "sub": version.sequence.type if url else "in a project you are not in",
        "title": f"{version} ({version.sequence.type}), {version.created_at:%Y-%m-%d %H:%M}" if url else "",
        "url": url,
        "current": version.pk == link.version_id,
    }


def graph(user, link: Link, depth: int, expanded: set[int]) -> dict:
    """The graph `depth` steps each way around `link`'s version, as the Lineage tab draws it.

    Levels of CLUSTER_AT or more nodes collapse into one node unless their level is in `expanded`.
    """
    levels, edges = lineage(link.version, depth)
    visible, via_registry = lineage_access(user, levels)
    nodes, paths, height = lineage_layout(
        levels,
        edges,
        expanded,
        lambda obj, level: lineage_node(obj, level, link, visible, via_registry),
        lambda level: f"?tab=lineage&depth={depth}&expand={','.join(map(str, sorted(expanded | {level})))}",
    )
    return {
        "nodes": nodes,
        "paths": paths,
        "svg_width": 20 + len(levels) * LINEAGE_COLUMN - (LINEAGE_COLUMN - NODE_W),
        "svg_height": 20 + height * LINEAGE_ROW,
        "node_w": NODE_W,
        "node_h": NODE_H,
        "lineage_empty": len(levels) == 1,
    }


# --- Lineage in the API (issue 16): the same redaction as the Lineage tab, as rows ---


def runs_as_seen(user, runs: list) -> list[dict]:
    """Runs as `user` may see them: runs in projects they are not in are "private", without a name,
    id or project (as the Lineage tab draws them). One query."""
    visible, _ = lineage_access(user, {1: runs})
    return [run_row(run, run.project_id in visible) for run in runs]


def run_row(run, shown: bool) -> dict:
    if not shown:
        return {"private": True, "run_id": None, "name": None, "state": None, "path": None, "created_at": None}
    project = run.project
    return {
        "private": False,
        "run_id": run.run_id,
        "name": run.name or run.run_id,
        "state": run.state,
        "path": f"{project.team.name}/{project.name}/{run.run_id}",
        "created_at": run.created_at,
    }


def versions_as_seen(user, versions: list) -> list[tuple | None]:
    """Each version as `user` may reach it: `(version, None)` from its source project, `(version, link)`
    through a registry they see, or None ("private artifact"), as on the Lineage tab. Three queries.
    """
    visible, via_registry = lineage_access(user, {0: versions})
    prefetch_related_objects(list(via_registry.values()), "aliases")
    found = []
    for version in versions:
        if version.sequence.project_id in visible:
            found.append((version, None))
        elif version.pk in via_registry:
            found.append((version, via_registry[version.pk]))
        else:
            found.append(None)
    return found
