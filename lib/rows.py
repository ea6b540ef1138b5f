"""Model instances from rows of hand-written SQL (the apps' `sql.py` modules): which columns to select,
and instances built from them with the database converters the ORM applies (datetimes, booleans and
JSON on SQLite). Fields left out load on access, as with `only()` (Model.from_db)."""

import functools

from django.db import connection


@functools.cache
def _plan(spec: tuple, vendor: str) -> tuple[str, list]:
    columns, plan = [], []
    for model, alias, names in spec:
        fields = [model._meta.get_field(name.removesuffix("_id")) for name in names]
        # In the model's own order: from_db reads the values so.
        fields.sort(key=model._meta.concrete_fields.index)
        converters = []
        for field in fields:
            col = field.get_col(alias)
            converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
            columns.append(f'{alias}."{field.column}"')
        plan.append((model, [field.attname for field in fields], converters))
    return ", ".join(columns), plan


def select_list(spec: tuple) -> str:
    """The SELECT list for `spec`: ((model, table alias, (field names…)), …), in that order."""
    return _plan(spec, connection.vendor)[0]


def build(row, spec: tuple) -> dict:
    """{model name: instance} from the first columns of `row`, laid out as `select_list(spec)` lists them."""
    instances, at = {}, 0
    for model, attnames, converters in _plan(spec, connection.vendor)[1]:
        values = []
        for (col, functions), value in zip(converters, row[at : at + len(attnames)], strict=True):
            for converter in functions:
                value = converter(value, col, connection)
            values.append(value)
        at += len(attnames)
        instances[model._meta.model_name] = model.from_db(connection.alias, attnames, values)
    return instances


def width(spec: tuple) -> int:
    return sum(len(names) for _, _, names in spec)
