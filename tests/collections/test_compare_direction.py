"""Metrics comparison: the best value follows the metric's direction (by name, or as the user sets it), and each metric is charted."""

import re

import pytest
from django.http import QueryDict

from apps.collections.compare import compare_versions, direction_by_name


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("loss", "lower"),
        ("val_loss", "lower"),
        ("valLoss", "lower"),
        ("eval.rmse", "lower"),
        ("train/mae", "lower"),
        ("latency_ms", "lower"),
        ("inference_time", "lower"),
        ("perplexity", "lower"),
        ("top1_error", "lower"),
        ("logloss", "lower"),
        ("accuracy", "higher"),
        ("val_acc", "higher"),
        ("eval.f1", "higher"),
        ("roc_auc", "higher"),
        ("mAP", "higher"),
        ("time_to_accuracy", "higher"),  # the last telling word decides
        ("epochs", None),
        ("rows", None),
        ("lr", None),
    ],
)
def test_direction_comes_from_the_metrics_name(name, direction):
    assert direction_by_name(name) == direction


@pytest.fixture
def three_versions(world):
    metrics = [
        {"accuracy": 0.8, "loss": 0.40, "epochs": 10},
        {"accuracy": 0.9, "loss": 0.25, "epochs": 30},
        {"accuracy": 0.85, "loss": 0.30},
    ]
    links = [
        world.link(world.version(name="m", content=str(i).encode(), metadata=m), collection="ranker")
        for i, m in enumerate(metrics)
    ]
    return links[0].collection, [link.index for link in links]


def _best(compared, key):
    row = next(row for row in compared["rows"] if row["key"] == key)
    return [cell["value"] for cell in row["cells"] if cell["best"]]


def test_the_lowest_loss_and_the_highest_accuracy_are_best_and_an_unknown_metric_marks_none(three_versions):
    collection, indexes = three_versions
    compared = compare_versions(collection, indexes)
    assert _best(compared, "loss") == ["0.25"]
    assert _best(compared, "accuracy") == ["0.9"]
    assert _best(compared, "epochs") == []


def test_the_url_sets_a_metrics_direction_and_the_toggle_links_keep_the_rest_of_the_query(three_versions):
    collection, indexes = three_versions
    query = QueryDict(mutable=True)
    query.setlist("compare", [str(i) for i in indexes])
    query.setlist("lower", ["epochs"])
    query.setlist("higher", ["loss"])
    compared = compare_versions(collection, indexes, query)
    assert _best(compared, "epochs") == ["10"]
    assert _best(compared, "loss") == ["0.4"]
    rows = {row["key"]: row for row in compared["rows"]}
    assert (rows["loss"]["direction"], rows["loss"]["chosen"]) == ("higher", True)
    assert (rows["accuracy"]["direction"], rows["accuracy"]["chosen"]) == ("higher", False)
    # Back to the name's direction: no parameter left for loss; epochs' choice and the selection stay.
    back = QueryDict(rows["loss"]["lower_url"].removeprefix("?"))
    assert back.getlist("higher") == [] and back.getlist("lower") == ["epochs"]
    assert back.getlist("compare") == [str(i) for i in indexes]
    flipped = QueryDict(rows["accuracy"]["lower_url"].removeprefix("?"))
    assert flipped.getlist("lower") == ["epochs", "accuracy"]


def test_each_metric_is_charted_across_the_versions(three_versions):
    collection, indexes = three_versions
    rows = {row["key"]: row for row in compare_versions(collection, indexes)["rows"]}
    loss = rows["loss"]["chart"]
    assert [p["label"] for p in loss["points"]] == ["v0", "v1", "v2"]
    ys = [p["y"] for p in loss["points"]]
    assert ys[0] == loss["axis"]["top"] and ys[1] == loss["axis"]["bottom"]  # highest at the top, lowest at the bottom
    assert [p["best"] for p in loss["points"]] == [False, True, False]
    assert len(loss["lines"]) == 1 and len(loss["lines"][0].split()) == 3
    # A missing value breaks the line: epochs has two points, one segment.
    epochs = rows["epochs"]["chart"]
    assert [p["label"] for p in epochs["points"]] == ["v0", "v1"]
    assert len(epochs["lines"]) == 1


def test_the_collection_page_draws_direction_toggles_and_one_chart_per_metric(client, world, three_versions):
    collection, indexes = three_versions
    client.force_login(world["member"])
    url = collection.get_absolute_url() + "?" + "&".join(f"compare={i}" for i in indexes) + "&lower=epochs"
    html = client.get(url).content.decode()
    assert html.count('class="metric-chart"') == 3
    assert html.count('<polyline class="series"') == 3
    bold = re.findall(r'<td class="num best">([^<]+)</td>', html)
    assert sorted(bold) == ["0.25", "0.9", "10"]
    assert '<input type="hidden" form="compare-form" name="lower" value="epochs">' in html
    fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": "compare"})
    assert 'id="compare"' in fragment.content.decode() and "<html" not in fragment.content.decode()
