"""W&B's Mongo-like filter language (spec §8), compiled to one Q object the database evaluates.

`apply_filter(rows, {"name": {"$regex": "^gold"}, "tag": "x"}, FIELDS, "collection")` narrows a
queryset without running anything in Python, on SQLite and PostgreSQL alike. Each app declares
which fields its rows offer (a dict of `Field`); unknown fields and operators are refused with a
message naming them.
"""

import datetime
import functools
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import regex
from django.core.exceptions import ValidationError
from django.db import DataError, OperationalError, connection, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from lib.text import INT64_MAX, INT64_MIN, json_problem, text_problem
from lib.text import loads as strict_loads

MAX_CLAUSES = 200
MAX_DEPTH = 12
MAX_REGEX = 500
COMPARISONS = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
FIELD_OPERATORS = {"$eq", "$ne", "$in", "$nin", "$regex", "$exists", "$contains", "$not", *COMPARISONS}
LOGICAL_OPERATORS = {"$and", "$or", "$nor", "$not"}
NESTED_QUANTIFIER_RE = re.compile(r"\([^()]*[+*}][^()]*\)\s*[+*{]")
METADATA_KEY_RE = re.compile(r"[A-Za-z0-9_\- ]{1,128}")
# Hard limits, whatever the pattern: seconds one REGEXP call may take on SQLite (Python evaluates it
# there), and milliseconds a whole search statement may take on PostgreSQL.
REGEX_TIMEOUT = 0.25
SEARCH_STATEMENT_TIMEOUT_MS = 5000
TOO_SLOW = "The search took too long: make the filter (or its $regex) simpler."


def _invalid(message: str) -> ValidationError:
    return ValidationError({"filter": message})


def _string(value, field: str) -> str:
    if not isinstance(value, str):
        raise _invalid(f"“{field}” compares with text, not {json.dumps(value)[:60]}.")
    if problem := text_problem(value):
        raise _invalid(f"The value for “{field}” {problem}.")
    return value


def _integer(value, field: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"v?\d{1,18}", value):
        return int(value.lstrip("v"))
    if isinstance(value, int) and not isinstance(value, bool):
        if not INT64_MIN <= value <= INT64_MAX:
            raise _invalid(f"“{field}” compares with a number between -2^63 and 2^63 - 1.")
        return value
    raise _invalid(f"“{field}” compares with a number (or “vN”), not {json.dumps(value)[:60]}.")


def _datetime(value, field: str) -> datetime.datetime:
    """Dates as W&B takes them: `YYYY-MM-DD[ HH:MM:SS]` or ISO 8601; naive means UTC."""
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
            if parsed is None and (day := parse_date(value.strip())) is not None:
                parsed = datetime.datetime.combine(day, datetime.time())
        except ValueError:
            parsed = None
    if parsed is None:
        raise _invalid(f"“{field}” compares with a date like “2025-01-31 12:00:00”, not {json.dumps(value)[:60]}.")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, datetime.UTC)


def _json_scalar(value, field: str):
    if isinstance(value, dict | list):
        raise _invalid(f"“{field}” compares with a number, text, true/false or null.")
    if problem := json_problem(value):
        raise _invalid(f"The value for “{field}” {problem}.")
    return value


@dataclass(frozen=True)
class Field:
    """A filterable field: where it lives in the ORM and how its values are read.

    `kind` is "text", "int", "datetime", "json" (metadata keys) or "many" (tags, aliases:
    matched through an EXISTS subquery so a row never repeats and `$ne` means "has none").
    """

    path: str
    kind: str = "text"
    clean: Callable | None = None  # value adapter, e.g. stripping `wandb-registry-`
    many: Callable | None = None  # for kind "many": lambda **lookups -> queryset correlated with OuterRef
    regex_on: Callable | None = None  # what $regex sees instead of `path`, e.g. the registry's full name


def tags_of(model, fk: str, outer: str = "pk", name: str = "name") -> Callable:
    """A "many" matcher: rows of `model` whose `fk` points at the outer row and whose `name` matches."""

    def matcher(**lookups):
        return model.objects.filter(**{fk: OuterRef(outer)}, **{f"{name}{k}": v for k, v in lookups.items()})

    return matcher


class _Compiler:
    def __init__(self, fields: dict[str, Field], label: str):
        self.fields, self.label = fields, label
        self.aliases: dict[str, KeyTransform] = {}
        self.clauses = 0

    def field(self, name: str) -> tuple[Field, str]:
        """(field, ORM path or alias name) for a filter key; metadata keys become JSON aliases."""
        if name in self.fields:
            return self.fields[name], self.fields[name].path
        head, dot, key = name.partition(".")
        base = self.fields.get(head)
        if dot and base is not None and base.kind == "json":
            parts = key.split(".")
            if not all(METADATA_KEY_RE.fullmatch(p) and "__" not in p for p in parts):
                raise _invalid(f"“{name[:80]}”: metadata keys use letters, digits, spaces, '_' and '-'.")
            # KeyTransforms (not `metadata__key` strings), so keys like "gt" or "exact" stay keys.
            expression = KeyTransform(parts[0], base.path)
            for part in parts[1:]:
                expression = KeyTransform(part, expression)
            alias = f"_filter_{len(self.aliases)}"
            self.aliases[alias] = expression
            return Field(path=alias, kind="json_key"), alias
        known = ", ".join(sorted(self.fields) + [f"{k}.<key>" for k, f in self.fields.items() if f.kind == "json"])
        raise _invalid(f"Unknown field “{name[:80]}” in the {self.label} filter. Fields: {known}.")

    def value(self, field: Field, name: str, value):
        if field.kind == "int":
            return _integer(value, name)
        if field.kind == "datetime":
            return _datetime(value, name)
        if field.kind == "json_key":
            return _json_scalar(value, name)
        value = _string(value, name)
        return field.clean(value) if field.clean else value

    def node(self, spec, depth: int = 0) -> Q:
        if depth > MAX_DEPTH:
            raise _invalid("The filter is nested too deeply.")
        if not isinstance(spec, dict):
            raise _invalid(f'A {self.label} filter is a JSON object like {{"name": "x"}}.')
        q = Q()
        for key, value in spec.items():
            self.clauses += 1
            if self.clauses > MAX_CLAUSES:
                raise _invalid(f"The filter has more than {MAX_CLAUSES} clauses.")
            if key in ("$and", "$or", "$nor"):
                if not isinstance(value, list) or not value:
                    raise _invalid(f"{key} takes a non-empty list of filters.")
                parts = [self.node(item, depth + 1) for item in value]
                if key == "$and":
                    q &= _all(parts)
                else:
                    either = _any(parts)
                    q &= either if key == "$or" else ~either
            elif key == "$not":
                q &= ~self.node(value, depth + 1)
            elif key.startswith("$"):
                raise _invalid(f"Unknown operator “{key[:40]}”. Operators: {', '.join(sorted(LOGICAL_OPERATORS))}.")
            else:
                q &= self.condition(key, value, depth)
        return q

    def condition(self, name: str, spec, depth: int) -> Q:
        field, path = self.field(name)
        if not isinstance(spec, dict) or not spec:
            spec = {"$eq": spec}
        q = Q()
        for op, value in spec.items():
            if op not in FIELD_OPERATORS:
                raise _invalid(
                    f"Unknown operator “{str(op)[:40]}” on “{name[:80]}”. Operators: {', '.join(sorted(FIELD_OPERATORS))}."
                )
            if op == "$not":
                if not isinstance(value, dict):
                    value = {"$eq": value}
                q &= ~self.condition(name, value, depth + 1)
            else:
                q &= self.operator(field, path, name, op, value)
        return q

    def operator(self, field: Field, path: str, name: str, op: str, value) -> Q:
        if op == "$exists":
            if not isinstance(value, bool):
                raise _invalid(f"$exists on “{name}” takes true or false.")
            if field.kind == "many":
                exists = Q(Exists(field.many()))
                return exists if value else ~exists
            return Q(**{f"{path}__isnull": not value})
        if op in ("$in", "$nin"):
            if not isinstance(value, list) or len(value) > 1000:
                raise _invalid(f"{op} on “{name}” takes a list (at most 1,000 values).")
            values = [self.value(field, name, v) for v in value]
            matched = self.match(field, path, "__in", values)
            return matched if op == "$in" else ~matched
        if op == "$regex":
            pattern = _string(value, name)
            if len(pattern) > MAX_REGEX:
                raise _invalid(f"$regex on “{name}” is limited to {MAX_REGEX} characters.")
            if NESTED_QUANTIFIER_RE.search(pattern):
                # SQLite evaluates REGEXP with Python's backtracking engine: `(a+)+` can run for minutes.
                raise _invalid(f"$regex on “{name}”: nested repetition like “(a+)+” is not supported.")
            try:
                re.compile(pattern)
                _compiled(pattern)
            except (re.error, regex.error) as exc:
                raise _invalid(f"$regex on “{name}” is not a valid regular expression: {exc}.") from exc
            _check_regex_on_database(pattern, name)
            if field.kind in ("int", "datetime"):
                raise _invalid(f"$regex works on text fields, not “{name}”.")
            if field.regex_on is not None:
                # As in W&B, a registry-name $regex sees the full `wandb-registry-<name>`.
                alias = f"_filter_{len(self.aliases)}"
                self.aliases[alias] = field.regex_on()
                return Q(**{f"{alias}__regex": pattern})
            return self.match(field, path, "__regex", pattern)
        if op == "$contains":
            if field.kind in ("int", "datetime"):
                raise _invalid(f"$contains works on text fields, not “{name}”.")
            text = _string(value, name)
            # On a JSON key `contains` would mean JSON containment (not on SQLite): use substring.
            return self.match(field, path, "__icontains" if field.kind == "json_key" else "__contains", text)
        cleaned = self.value(field, name, value)
        if op in ("$eq", "$ne"):
            matched = self.match(
                field, path, "__isnull" if cleaned is None else "", True if cleaned is None else cleaned
            )
            return matched if op == "$eq" else ~matched
        if field.kind == "many":
            raise _invalid(f"{op} does not apply to “{name}”; use $eq, $ne, $in, $nin, $regex, $contains or $exists.")
        return self.match(field, path, f"__{COMPARISONS[op]}", cleaned)

    def match(self, field: Field, path: str, lookup: str, value) -> Q:
        if field.kind == "many":
            return Q(Exists(field.many(**{lookup or "": value}))) if lookup != "__isnull" else ~Q(Exists(field.many()))
        return Q(**{f"{path}{lookup or '__exact'}": value})


def _check_regex_on_database(pattern: str, name: str) -> None:
    """Refuse a pattern the database's own regex engine cannot compile (PostgreSQL's ARE lacks
    `(?P<name>…)`, possessive quantifiers, …). SQLite runs the `regex` engine, compiled above."""
    if connection.vendor != "postgresql":
        return
    try:
        # A savepoint: the failed statement must not abort the caller's transaction. Compiling happens
        # before matching, and the empty string matches in no time whatever the pattern.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT '' ~ %s", [pattern])
    except DataError as exc:
        message = str(exc).strip().splitlines()[0]
        raise _invalid(f"$regex on “{name}” is not a regular expression the database understands: {message}.") from exc


def _all(parts: list[Q]) -> Q:
    q = Q()
    for part in parts:
        q &= part
    return q


def _any(parts: list[Q]) -> Q:
    q = parts[0]
    for part in parts[1:]:
        q |= part
    return q


def parse_json_param(raw: str | None, param: str) -> dict | None:
    """A filter from a query parameter (JSON text); empty means no filter."""
    if raw is None or not raw.strip():
        return None
    try:
        value = strict_loads(raw, integers=False)  # the compiler bounds numbers, naming the field
    except json.JSONDecodeError as exc:
        raise ValidationError({param: f"“{param}” is not valid JSON: {exc}."}) from exc
    except ValueError as exc:  # NaN, Infinity, NUL, numbers past 64 bits
        raise ValidationError({param: f"“{param}”: {exc}."}) from exc
    if not isinstance(value, dict):
        raise ValidationError({param: f"“{param}” must be a JSON object."})
    return value


def apply_filter(queryset: models.QuerySet, spec: dict | None, fields: dict[str, Field], label: str) -> models.QuerySet:
    """Narrow `queryset` by a W&B filter; ValidationError names any unknown field or operator."""
    if not spec:
        return queryset
    compiler = _Compiler(fields, label)
    q = compiler.node(spec)
    if compiler.aliases:
        queryset = queryset.alias(**compiler.aliases)
    return queryset.filter(q)


ORDER_FIELDS = {"name", "created_at", "updated_at"}


def check_order(order: str | None, default: str) -> str:
    """`[+-]name|created_at|updated_at` (the orders every search offers) → a Django order field."""
    order = (order or default).strip()
    field = order.lstrip("+-")
    if field not in ORDER_FIELDS or len(order) - len(field) > 1:
        raise ValidationError(
            {"order": f"Order by name, created_at or updated_at, with + or - in front; not “{order[:40]}”."}
        )
    return order.lstrip("+")


# --- Time limits ---


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern:
    return regex.compile(pattern)


def bounded_regexp(pattern: str | None, text) -> bool | None:
    """SQLite's REGEXP with a time limit (the `regex` engine's timeout): a pattern like `^(a|a)+$`
    backtracks for minutes in Python's `re` and would stall every other request on the database.

    Raises TimeoutError, which SQLite reports as an OperationalError that `time_limited_search`
    turns into a 400.
    """
    if pattern is None or text is None:
        return None
    return bool(_compiled(pattern).search(text if isinstance(text, str) else str(text), timeout=REGEX_TIMEOUT))


def install_bounded_regexp(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: replace Django's REGEXP function on SQLite connections."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("REGEXP", 2, bounded_regexp, deterministic=True)


def _timed_out(exc: OperationalError) -> bool:
    cause = exc.__cause__
    return type(cause).__name__ == "QueryCanceled" or "user-defined function raised exception" in str(exc)


# A filter this short and without `$regex` is searched without a time limit on PostgreSQL (time_limited_search).
SHORT_FILTER = 200


def can_be_slow(*filters: str | None) -> bool:
    """Whether a search by these filters (JSON texts, as received) can take long whatever the data: a `$regex`
    (a pattern's cost per row has no bound) or a long filter (up to MAX_CLAUSES clauses, each evaluated per row).
    A few comparisons cost what reading the rows costs, as a list without a filter does."""
    for text in filters:
        if not text:
            continue
        if len(text) > SHORT_FILTER:
            return True
        try:
            spec = json.loads(text)
        except ValueError:
            return True  # refused by the search itself, with a message
        if _mentions_regex(spec):
            return True
    return False


def _mentions_regex(value) -> bool:
    if isinstance(value, dict):
        return any(key == "$regex" or _mentions_regex(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_mentions_regex(item) for item in value)
    return False


@contextmanager
def time_limited_search(*filters: str | None) -> Iterator[None]:
    """Evaluate a search by `filters` (the JSON texts received) under a hard time limit; running out is a
    ValidationError (400).

    PostgreSQL: a statement timeout for this transaction, when a filter `can_be_slow` (otherwise the transaction
    and its timeout cost three round trips, a tenth of a page of the SDK's version walk, for nothing). SQLite:
    REGEXP's own timeout (no transaction, so a search never takes SQLite's write lock).
    """
    try:
        if connection.vendor == "postgresql" and can_be_slow(*filters):
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL statement_timeout = {int(SEARCH_STATEMENT_TIMEOUT_MS)}")
                yield
        else:
            yield
    except OperationalError as exc:
        if _timed_out(exc):
            raise ValidationError({"filter": TOO_SLOW}) from exc
        raise
