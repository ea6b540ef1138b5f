"""MLflow's search grammar, translated into the W&B filter language that lib.filters compiles.

MLflow sends `clause (AND clause)*`, each `ident comparator value`: `name LIKE 'fraud%'`,
``tags.`team` = 'vision'``, `version_number >= 3`, `run_id IN ('a', 'b')`. Each clause becomes one
entry of a W&B filter (`{"$and": [...]}`), so the same compiler turns it into SQL and the same
keyset pagination pages it: there is no second search engine here. Tag keys become fields of
their own (`tag.<key>`, matched through an EXISTS subquery), which gives MLflow's rule for free:
a model without the tag matches `tags.k != 'v'`.
"""

import re

from django.core.exceptions import ValidationError
from django.db.models import OuterRef

from lib.filters import Field

TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<number>-?\d+)
      | (?P<list>\((?:\s*(?:'(?:[^']|'')*'|"(?:[^"]|"")*"|-?\d+)\s*,?)*\s*\))
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<ident>(?:[A-Za-z_][\w]*\.)?(?:`[^`]+`|"[^"]+"|[A-Za-z_][\w.]*))
    )""",
    re.VERBOSE,
)
LIST_ITEM_RE = re.compile(r"""'((?:[^']|'')*)'|"((?:[^"]|"")*)"|(-?\d+)""")
WORD_OPERATORS = {"LIKE", "ILIKE", "IN"}
MAX_CLAUSES = 50


def _invalid(message: str) -> ValidationError:
    return ValidationError({"filter": message})


def _unquote(token: str) -> str:
    quote = token[0]
    return token[1:-1].replace(quote * 2, quote)


def like_to_regex(pattern: str, insensitive: bool) -> str:
    """SQL LIKE (`%` any run, `_` one character) as an anchored regular expression for `$regex`.

    `\\A`/`\\Z` anchor the whole value on PostgreSQL (ARE) and in Python's `re` (SQLite) alike, and
    the leading `(?s)` lets `%` cross newlines in both.
    """
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return f"(?{'i' if insensitive else ''}s)\\A{body}\\Z"


def _tokens(text: str) -> list[tuple[str, str]]:
    found, pos = [], 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise _invalid(f"Cannot parse the filter near “{text[pos : pos + 30].strip()}”.")
        kind = match.lastgroup
        found.append((kind, match.group(kind)))
        pos = match.end()
    return found


def _split_clauses(tokens: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    clauses, current = [], []
    for kind, text in tokens:
        if kind == "ident" and text.upper() == "AND":
            if not current:
                raise _invalid("“AND” needs a condition on each side.")
            clauses.append(current)
            current = []
        elif kind == "ident" and text.upper() == "OR":
            raise _invalid("MLflow filters join conditions with AND only; OR is not supported.")
        else:
            current.append((kind, text))
    if not current:
        raise _invalid("The filter ends without a condition.")
    clauses.append(current)
    if len(clauses) > MAX_CLAUSES:
        raise _invalid(f"A filter has at most {MAX_CLAUSES} conditions.")
    return clauses


def _identifier(text: str, attributes: dict[str, str]) -> tuple[str, str | None]:
    """(attribute name, None) or ("tag", key) for an identifier like `name`, `attribute.name`, ``tags.`k` ``."""
    head, dot, rest = text.partition(".")
    if dot and head.lower() in ("tag", "tags"):
        key = _unquote(rest) if rest[:1] in ('"', "`") else rest
        if not key:
            raise _invalid("A tag condition names its key: tags.<key>.")
        return "tag", key
    name = rest if dot and head.lower() in ("attribute", "attributes", "attr") else text
    name = _unquote(name) if name[:1] in ('"', "`") else name
    if name not in attributes:
        raise _invalid(f"Invalid attribute “{name[:60]}”. Filter on {', '.join(sorted(attributes))} or tags.<key>.")
    return name, None


def _value(kind: str, text: str):
    if kind == "string":
        return _unquote(text)
    if kind == "number":
        return int(text)
    if kind == "list":
        items = []
        for match in LIST_ITEM_RE.finditer(text):
            single, double, number = match.groups()
            items.append(
                single.replace("''", "'") if single is not None else double if double is not None else int(number)
            )
        if not items:
            raise _invalid("An IN list needs at least one value: ('a', 'b').")
        return items
    raise _invalid(f"Expected a quoted value, a number or a list, not “{text[:40]}”.")


def translate(
    text: str | None, attributes: dict[str, str], numbers: dict[str, int] | None = None
) -> tuple[dict | None, dict[str, str]]:
    """An MLflow filter as a W&B filter spec, and the tag keys it names (field name → key).

    `attributes` maps MLflow attribute names to W&B filter fields; `numbers` maps numeric
    attributes to an offset added to their values (MLflow's version N is our index N-1).
    """
    if text is None or not text.strip():
        return None, {}
    if len(text) > 10_000:
        raise _invalid("The filter is longer than 10,000 characters.")
    numbers = numbers or {}
    parts, tag_fields = [], {}
    for clause in _split_clauses(_tokens(text)):
        if clause[0][0] != "ident":
            raise _invalid(f"A condition starts with a name, not “{clause[0][1][:40]}”.")
        name, key = _identifier(clause[0][1], attributes)
        rest = clause[1:]
        negated = bool(rest) and rest[0][1].upper() == "NOT"
        if negated:
            rest = rest[1:]
        if len(rest) != 2 or (rest[0][0] == "ident" and rest[0][1].upper() not in WORD_OPERATORS):
            raise _invalid("Each condition is `<name> <comparator> <value>`, e.g. name = 'model'.")
        operator, (value_kind, value_text) = rest[0][1].upper(), rest[1]
        if negated and operator != "IN":
            raise _invalid("NOT is only supported as NOT IN.")
        value = _value(value_kind, value_text)
        if key is not None:
            field = f"tag.{key}"
            tag_fields[field] = key
        else:
            field = attributes[name]
        if name in numbers:
            if not all(isinstance(v, int) for v in (value if isinstance(value, list) else [value])):
                raise _invalid(f"“{name}” compares with whole numbers.")
            value = [v + numbers[name] for v in value] if isinstance(value, list) else value + numbers[name]
        elif isinstance(value, int) or (isinstance(value, list) and any(isinstance(v, int) for v in value)):
            raise _invalid(f"“{name if key is None else 'tags.' + key}” compares with quoted text.")
        parts.append({field: _condition(operator, value, negated, name, key)})
    return {"$and": parts}, tag_fields


def _condition(operator: str, value, negated: bool, name: str, key: str | None) -> dict:
    label = name if key is None else f"tags.{key}"
    if operator == "IN":
        if not isinstance(value, list):
            raise _invalid(f"IN takes a list: {label} IN ('a', 'b').")
        return {"$nin" if negated else "$in": value}
    if isinstance(value, list):
        raise _invalid(f"A list goes with IN, not {operator}.")
    if operator in ("LIKE", "ILIKE"):
        if not isinstance(value, str):
            raise _invalid(f"{operator} compares with a quoted pattern.")
        return {"$regex": like_to_regex(value, operator == "ILIKE")}
    if operator in ("=", "!=", "<>"):
        return {"$eq": value} if operator == "=" else {"$ne": value}
    if key is not None or isinstance(value, str):
        raise _invalid(f"{operator} compares numbers; use =, !=, LIKE or ILIKE on “{label}”.")
    return {{"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}[operator]: value}


def tag_fields(model, fk: str, keys: dict[str, str], outer: str = "pk") -> dict[str, Field]:
    """Filter fields for the tag keys a filter names: a tag row with that key whose value matches."""

    def matcher(key: str):
        def many(**lookups):
            where = {f"value{lookup}": v for lookup, v in lookups.items()}
            return model.objects.filter(**{fk: OuterRef(outer)}, name=key, **where)

        return many

    return {field: Field("tags", "many", many=matcher(key)) for field, key in keys.items()}


ORDER_RE = re.compile(r"\s*(?:attribute\.)?(\w+)(?:\s+(ASC|DESC))?\s*", re.IGNORECASE)


def order(clauses: list[str], columns: dict[str, str], default: str) -> str:
    """The first `order_by` clause (`name ASC`, `version_number DESC`) as a Django order field.

    Keyset pages walk one column plus a unique tiebreak (creation order), so the first clause
    decides the order; later clauses are checked but ties always fall back to creation order.
    """
    clauses = [c for c in clauses if c and c.strip()]
    if not clauses:
        return default
    if len(clauses) > 10:
        raise ValidationError({"order_by": "At most 10 order_by clauses."})
    for clause in clauses:
        match = ORDER_RE.fullmatch(clause)
        if match is None or match.group(1) not in columns:
            raise ValidationError(
                {"order_by": f"Order by {', '.join(sorted(columns))} with ASC or DESC, not “{clause[:60]}”."}
            )
    match = ORDER_RE.fullmatch(clauses[0])
    descending = (match.group(2) or "ASC").upper() == "DESC"
    return ("-" if descending else "") + columns[match.group(1)]
