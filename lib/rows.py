"""Model instances from rows of hand-written SQL (the apps' `sql.py` modules): which columns to select,
and instances built from them with the database converters the ORM applies (datetimes, booleans and
JSON on SQLite). Fields left out load on access, as with `only()` (Model.from_db)."""

import contextlib
import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections


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
    instances, at, db = {}, 0, connections[DEFAULT_DB_ALIAS]  # the connection itself, not its per-thread proxy
    for model, attnames, converters in _plan(spec, db.vendor)[1]:
        values = []
        for (col, functions), value in zip(converters, row[at : at + len(attnames)], strict=True):
            for converter in functions:
                value = converter(value, col, db)
            values.append(value)
        at += len(attnames)
        instances[model._meta.model_name] = model.from_db(db.alias, attnames, values)
    return instances


def width(spec: tuple) -> int:
    return sum(len(names) for _, _, names in spec)


@functools.cache
def _insert_plan(model, vendor: str, rows: int) -> tuple[str, list]:
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    table, pk = connection.ops.quote_name(model._meta.db_table), model._meta.pk
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    values = ", ".join([f"({', '.join(['%s'] * len(fields))})"] * rows)
    return f"INSERT INTO {table} ({names}) VALUES {values} RETURNING {connection.ops.quote_name(pk.column)}", fields


def insert(*instances) -> None:
    """INSERT `instances` (of one model) as new rows, in one statement, and set their primary keys:
    `save(force_insert=True)` without the ORM's per-call query building, for the append-only rows a hot
    write adds (docs/decisions.md). Fields are prepared as save() prepares them (`auto_now_add` filled,
    JSON and datetimes adapted); no model signals are sent and `save()` overrides are not called, so use
    it only for models that have neither. Keys come back in the rows' order, as Django's bulk_create
    relies on too."""
    if not instances:
        return
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not its per-thread proxy
    sql, fields = _insert_plan(type(instances[0]), db.vendor, len(instances))
    params = [field.get_db_prep_save(field.pre_save(one, True), db) for one in instances for field in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    for one, (pk,) in zip(instances, keys, strict=True):
        one.pk = pk
        one._state.adding, one._state.db = False, db.alias


def any_of(column: str, ids: list[int]) -> tuple[str, list]:
    """A condition `column` is one of `ids` (integer keys), and its parameters. On PostgreSQL one array parameter,
    so the statement reads the same for any number of ids: psycopg parses a statement of more than 50 parameters
    again on every call (a millisecond for a page of 100 ids) and can prepare it once. The array is sent as its
    text, `{1,2,3}`: psycopg's list adapter took 76 µs for 100 ints, the text 14 µs. SQLite takes the plain list."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(CAST(%s AS bigint[]))", ["{" + ",".join(str(int(pk)) for pk in ids) + "}"]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def fetch_all(*statements: tuple[str, list]) -> list[list[tuple]]:
    """The rows of each statement (sql, params), for independent reads of one answer.

    On PostgreSQL (psycopg 3) they go in one pipeline: sent together, answered in one round trip. Run one by one,
    each waits for the database process to wake up and answer (0.1–0.2 ms a statement here, docs/decisions.md).
    On SQLite, in the same process, they run one after another."""
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not its per-thread proxy
    db.ensure_connection()
    cursors = [db.cursor() for _ in statements]
    try:
        with db.wrap_database_errors, _pipeline(db):
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                cursor.execute(sql, params)
        return [cursor.fetchall() for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


def _pipeline(db):
    """A psycopg pipeline on `db`'s connection: PostgreSQL through psycopg 3 and a libpq that has them (14+)."""
    if db.vendor == "postgresql":
        try:
            from psycopg import Pipeline
        except ImportError:  # psycopg 2
            return contextlib.nullcontext()
        if Pipeline.is_supported():
            return db.connection.pipeline()
    return contextlib.nullcontext()
