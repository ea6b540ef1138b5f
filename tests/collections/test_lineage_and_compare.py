"""The lineage layout and the metrics comparison as plain functions."""

from types import SimpleNamespace

from apps.collections.compare import compare_versions, format_number
from apps.collections.lineage import CLUSTER_AT, LINEAGE_COLUMN, LINEAGE_ROW, lineage_layout


def _nodes(prefix, count):
    return [SimpleNamespace(pk=n, name=f"{prefix}{n}") for n in range(1, count + 1)]


def _layout(levels, edges, expanded=frozenset()):
    def node_for(obj, level):
        return {"key": f"{'r' if level % 2 else 'a'}{obj.pk}", "label": obj.name}

    return lineage_layout(levels, edges, set(expanded), node_for, lambda level: f"?expand={level}")


def test_lineage_layout_puts_a_column_per_level_and_centres_short_columns():
    levels = {-1: _nodes("run", 1), 0: _nodes("art", 1), 1: _nodes("run", 3)}
    nodes, paths, height = _layout(levels, {("r1", "a1"), ("a1", "r1"), ("a1", "r2"), ("a1", "r3")})
    assert height == 3
    columns = sorted({node["x"] for node in nodes})
    assert columns == [10, 10 + LINEAGE_COLUMN, 10 + 2 * LINEAGE_COLUMN]
    centre = next(node for node in nodes if node["key"] == "a1")
    assert centre["y"] == 10 + LINEAGE_ROW  # one node in a column three high sits in the middle
    assert len(paths) == 4


def test_a_crowded_level_becomes_one_cluster_node_and_its_edges_collapse():
    levels = {0: _nodes("art", 1), 1: _nodes("run", CLUSTER_AT)}
    edges = {("a1", f"r{n}") for n in range(1, CLUSTER_AT + 1)}
    nodes, paths, height = _layout(levels, edges)
    cluster = [node for node in nodes if node.get("kind") == "cluster"]
    assert len(cluster) == 1
    assert cluster[0]["label"] == f"{CLUSTER_AT} runs"
    assert cluster[0]["url"] == "?expand=1"
    assert (len(paths), height) == (1, 1)


def test_an_expanded_level_shows_each_node_and_the_current_level_never_clusters():
    levels = {0: _nodes("art", CLUSTER_AT), 1: _nodes("run", CLUSTER_AT)}
    nodes, _, height = _layout(levels, set(), expanded={1})
    assert not [node for node in nodes if node.get("kind") == "cluster"]
    assert height == CLUSTER_AT


def test_format_number_keeps_six_significant_digits():
    assert [format_number(v) for v in (0.123456789, 1.2e-05, 42, None)] == ["0.123457", "1.2e-05", "42", None]


def test_compare_marks_the_highest_value_per_metric(world):
    first = world.link(world.version(name="m", metadata={"acc": 0.9, "loss": 0.3}))
    second = world.link(world.version(name="m", content=b"2", metadata={"acc": 0.8, "loss": 0.3, "f1": 1}))
    compared = compare_versions(first.collection, [first.index, second.index, None, 99])
    assert compared["selected"] == {first.index, second.index}
    rows = {row["key"]: row["cells"] for row in compared["rows"]}
    assert rows["acc"] == [{"value": "0.9", "best": True}, {"value": "0.8", "best": False}]
    assert rows["loss"] == [{"value": "0.3", "best": False}, {"value": "0.3", "best": False}]  # a tie marks none
    assert rows["f1"] == [{"value": None, "best": False}, {"value": "1", "best": False}]  # one value: nothing to beat
    assert compare_versions(first.collection, [None]) is None
