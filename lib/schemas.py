"""Request bodies of the JSON API: JSON types taken as they are, integers that fit a 64-bit column.

Pydantic's default (lax) mode turns `"5"` and `true` into the integer 5 and 1, and accepts any
integer; a body that says `"size": "5"` is a client bug to report, and `2**70` a value no column
holds. Every request body schema derives from `Payload`; integer fields use `Size` or `Id`.
"""

from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field, model_validator

from lib.text import INT64_MAX


class Payload(Schema):
    """A request body: strict JSON types (no "5" for 5, no true for 1, no 5 for "5")."""

    model_config = ConfigDict(strict=True)

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, value, handler, info):
        # Replaces ninja's validator of the same name, which reads fields as attributes of whatever it
        # is given: `[]` or `null` would pass as an object with every field left out.
        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON object, not {_json_type(value)}")
        return handler(value)


def _json_type(value) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


Size = Annotated[int, Field(ge=0, le=INT64_MAX)]
Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
