"""The message base every wire model shares, and JSON encoding, validated decoding and JSON Schema."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_TOPIC_PREFIX = "crowd/v1"

Id = str  # ids travel in topic levels: no '/', '+', '#'
ID_PATTERN = r"^[A-Za-z0-9_.-]+$"


def id_field(description: str | None = None) -> Any:
    """A site, camera or zone id: it is a topic level, so no '/', '+' or '#'."""
    return Field(min_length=1, max_length=128, pattern=ID_PATTERN, description=description)


class WireMessage(BaseModel):
    """Base of every message: unknown keys and non-finite numbers are refused (a NaN density must not
    reach an alert rule). The serialization schema marks defaulted fields required: senders always send
    every field."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, json_schema_serialization_defaults_required=True
    )


MessageT = TypeVar("MessageT", bound=BaseModel)


class MessageError(ValueError):
    """A payload that is not valid JSON or does not match its model; the text says which field."""


def encode(message: BaseModel) -> bytes:
    """The UTF-8 JSON payload of a message, with wire names (`schema`, `in`)."""
    return message.model_dump_json(by_alias=True).encode("utf-8")


def validation_problems(err: ValidationError, first_only: bool = False) -> str:
    """`field.path: message` for each error (or the first), as the dead letters and logs show them."""
    errors = err.errors()[:1] if first_only else err.errors()
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors)


def decode(model: type[MessageT], payload: bytes | str) -> MessageT:
    """Parse and validate a payload; raises MessageError with a readable reason."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:  # RecursionError: deeply nested JSON
        raise MessageError(f"{model.__name__}: payload is not JSON: {err}") from None
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise MessageError(f"{model.__name__}: {validation_problems(err)}") from None


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of what is sent for `model`."""
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
