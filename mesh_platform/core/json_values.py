"""Results as JSON values: how a data class of the mesh is written for programs (`--json`, webhook bodies).

Each result is a data class; its fields, and the metadata on them, say what its JSON holds, so no result
builds a dictionary of its own."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any


def as_json(data: Any) -> Any:
    """`data` as JSON values, the one rendering every command's `--json` and every webhook body go through: a value
    whose class says `json_text` (an address, a column reference) and a path by their text; a time or a day in ISO
    8601; any other data class by its fields, then the properties its `json_properties` names (a mapping: JSON name →
    property); a pydantic model by
    its JSON dump; lists and mappings item by item; anything else as it is.

    A field's metadata may say: `json_name` renames it (None: left out), `json_value` is what to write of its
    value (a function of it: rounded, in seconds), `json_omit_none` leaves it out when None, `json_inline` writes
    its own fields in its place."""
    if getattr(data, "json_text", False) or isinstance(data, PurePath):
        return str(data)
    if isinstance(data, (dt.datetime, dt.date)):
        return data.isoformat()
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        rendered: dict[str, Any] = {}
        for field in dataclasses.fields(data):
            value = getattr(data, field.name)
            if (convert := field.metadata.get("json_value")) is not None and value is not None:
                value = convert(value)
            value = as_json(value)
            if field.metadata.get("json_inline"):
                rendered.update(value)
            elif value is None and field.metadata.get("json_omit_none"):
                continue
            elif (name := field.metadata.get("json_name", field.name)) is not None:
                rendered[name] = value
        properties = getattr(data, "json_properties", ())
        for name in properties:
            rendered[name] = as_json(getattr(data, properties[name] if isinstance(properties, Mapping) else name))
        return rendered
    if hasattr(data, "model_dump") and not isinstance(data, type):
        return data.model_dump(mode="json", by_alias=True)
    if isinstance(data, Mapping):
        return {key: as_json(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [as_json(item) for item in data]
    return data
