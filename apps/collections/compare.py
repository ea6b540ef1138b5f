"""The collection page's metrics comparison: numeric metadata of chosen versions side by side, and charted.

Which value is best depends on the metric: the highest accuracy, the lowest loss. The direction
comes from the metric's name (W&B's and Keras' conventions: `val_loss`, `eval.rmse`,
`latency_ms` are lower-is-better; `accuracy`, `f1`, `auc` higher) unless the URL says otherwise
(`?higher=<metric>` / `?lower=<metric>`, set by the toggle beside each metric). A metric whose
name says neither (`epochs`) marks no best value until the user picks a direction.
"""

import re

from django.http import QueryDict

from apps.artifacts.models import numeric_metadata
from apps.collections.models import Collection

COMPARE_MAX = 10
HIGHER, LOWER = "higher", "lower"

# Words of a metric's name, matched from its end: the last telling word decides (`time_to_accuracy`).
LOWER_WORDS = {
    "loss", "error", "err", "errors", "mse", "mae", "rmse", "rmsle", "mape", "nll", "perplexity", "ppl",
    "wer", "cer", "ter", "latency", "time", "duration", "seconds", "secs", "ms", "cost", "fpr", "fnr",
    "eer", "distance", "regret", "memory", "size",
}  # fmt: skip
HIGHER_WORDS = {
    "acc", "accuracy", "f1", "f1score", "precision", "recall", "auc", "roc", "auroc", "ap", "map", "iou",
    "miou", "dice", "bleu", "rouge", "rouge1", "rouge2", "rougel", "meteor", "r2", "score", "ndcg", "mrr",
    "top1", "top5", "hit", "hits", "reward", "return", "throughput", "fps", "qps", "tpr", "specificity",
    "sensitivity", "psnr", "ssim", "win", "pass",
}  # fmt: skip

# The chart drawn for each metric (an inline SVG, like the lineage graph).
CHART_W, CHART_H = 300, 150
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 14, 14, 26


def format_number(value: int | float | None) -> str | None:
    """Up to 6 significant digits for floats (0.95, 1.2e-05); integers as they are."""
    return None if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def direction_by_name(key: str) -> str | None:
    """ "lower" for a loss, error, latency…; "higher" for accuracy, F1, AUC…; None when the name says neither."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()  # valLoss → val_loss
    for word in reversed(re.findall(r"[a-z0-9]+", spaced)):
        if word in LOWER_WORDS or word.endswith(("loss", "error")):
            return LOWER
        if word in HIGHER_WORDS or word.endswith("accuracy"):
            return HIGHER
    return None


def _directions(keys: list[str], query: QueryDict) -> dict[str, tuple[str | None, bool]]:
    """Each metric's direction and whether the user chose it (the URL) rather than its name."""
    chosen = dict.fromkeys(query.getlist(HIGHER), HIGHER) | dict.fromkeys(query.getlist(LOWER), LOWER)
    return {key: (chosen[key], True) if key in chosen else (direction_by_name(key), False) for key in keys}


def _toggle_url(query: QueryDict, key: str, direction: str) -> str:
    """This page's query string with `key`'s direction set (no parameter when the name already says it)."""
    params = query.copy()
    for name in (HIGHER, LOWER):
        params.setlist(name, [other for other in params.getlist(name) if other != key])
    if direction_by_name(key) != direction:
        params.appendlist(direction, key)
    return "?" + params.urlencode()


def _best(values: list, direction: str | None):
    present = [v for v in values if v is not None]
    if direction is None or len(present) < 2 or min(present) == max(present):
        return None  # nothing to beat, or a tie
    return max(present) if direction == HIGHER else min(present)


def metric_chart(values: list, labels: list[str], best) -> dict:
    """An SVG line chart of one metric across versions: points, the line (broken where a value is missing), axes."""
    present = [v for v in values if v is not None]
    low, high = min(present), max(present)
    plot_w, plot_h = CHART_W - PAD_LEFT - PAD_RIGHT, CHART_H - PAD_TOP - PAD_BOTTOM
    step = plot_w / (len(values) - 1) if len(values) > 1 else 0
    points, segments, segment = [], [], []
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        x = PAD_LEFT + (i * step if len(values) > 1 else plot_w / 2)
        if value is None:
            segments.append(segment)
            segment = []
            continue
        y = PAD_TOP + (plot_h / 2 if high == low else (high - value) / (high - low) * plot_h)
        point = {"x": round(x, 1), "y": round(y, 1), "label": label, "value": format_number(value)}
        point["best"] = value == best
        points.append(point)
        segment.append(f"{point['x']},{point['y']}")
    segments.append(segment)
    ticks = [
        {"x": round(PAD_LEFT + (i * step if len(values) > 1 else plot_w / 2), 1), "label": label}
        for i, label in enumerate(labels)
    ]
    return {
        "width": CHART_W,
        "height": CHART_H,
        "lines": [" ".join(s) for s in segments if len(s) > 1],
        "points": points,
        "ticks": ticks,
        "axis": {"left": PAD_LEFT, "right": CHART_W - PAD_RIGHT, "top": PAD_TOP, "bottom": CHART_H - PAD_BOTTOM},
        "high": format_number(high),
        "low": format_number(low),
        "label_y": CHART_H - 8,
    }


def compare_versions(collection: Collection, indexes: list[int | None], query: QueryDict | None = None) -> dict | None:
    """Numeric metadata of the chosen versions side by side; the best value per row is marked, by direction."""
    indexes = sorted({i for i in indexes if i is not None})[:COMPARE_MAX]
    if not indexes:
        return None
    query = query if query is not None else QueryDict()
    links = list(collection.links.filter(index__in=indexes).select_related("version").order_by("index"))
    values = [numeric_metadata(link.version.metadata) for link in links]
    labels = [f"v{link.index}" for link in links]
    keys = sorted(set().union(*values))
    directions = _directions(keys, query)
    rows = []
    for key in keys:
        cells = [metrics.get(key) for metrics in values]
        direction, chosen = directions[key]
        best = _best(cells, direction)
        rows.append(
            {
                "key": key,
                "direction": direction,
                "chosen": chosen,
                "higher_url": _toggle_url(query, key, HIGHER),
                "lower_url": _toggle_url(query, key, LOWER),
                "cells": [{"value": format_number(v), "best": v is not None and v == best} for v in cells],
                "chart": metric_chart(cells, labels, best),
            }
        )
    return {"links": links, "rows": rows, "selected": {link.index for link in links}}
