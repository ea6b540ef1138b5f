"""The collection page's metrics comparison: numeric metadata of chosen versions side by side."""

from apps.artifacts.models import numeric_metadata
from apps.collections.models import Collection

COMPARE_MAX = 10


def format_number(value: int | float | None) -> str | None:
    """Up to 6 significant digits for floats (0.95, 1.2e-05); integers as they are."""
    return None if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def compare_versions(collection: Collection, indexes: list[int | None]) -> dict | None:
    """Numeric metadata of the chosen versions side by side; the highest value per row is marked."""
    indexes = sorted({i for i in indexes if i is not None})[:COMPARE_MAX]
    if not indexes:
        return None
    links = list(collection.links.filter(index__in=indexes).select_related("version").order_by("index"))
    values = [numeric_metadata(link.version.metadata) for link in links]
    rows = []
    for key in sorted(set().union(*values)):
        cells = [metrics.get(key) for metrics in values]
        present = [v for v in cells if v is not None]
        best = max(present) if len(present) > 1 and min(present) != max(present) else None
        rows.append(
            {
                "key": key,
                "cells": [{"value": format_number(v), "best": v is not None and v == best} for v in cells],
            }
        )
    return {"links": links, "rows": rows, "selected": {link.index for link in links}}
