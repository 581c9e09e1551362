"""YAML files read with their source lines, so every error can point at a line.

Parsed by libyaml through PyYAML's C parser (a contract takes well under a
millisecond): the composed node tree gives each key's and item's line, and safe
YAML's types give the values. ruamel's round-trip parser is kept for the one file
the mesh edits in place (`scaffold.workspace_file`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mesh_platform.core.errors import ContractError, FileProblemsError, Problem
from mesh_platform.core.user_files import MAX_FILE_BYTES, UnreadableFileError, read_user_file

if TYPE_CHECKING:
    import pydantic

FieldPath = Sequence[str | int]


def field_name(path: FieldPath) -> str:
    """`('schema', 0, 'properties', 2, 'name')` → `schema[0].properties[2].name`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def kind_of(value: Any) -> str:
    """What kind of YAML value `value` is, for messages, never echoing a long one: 'a mapping', "the text 'abc'"."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        return f"the number {value}" if len(str(value)) <= 20 else "a number"
    text = str(value)
    return f"the text {text!r}" if len(text) <= 40 else f"a text of {len(text):,} characters"


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML mapping: plain JSON-like data plus the line of every node."""

    file: Path
    data: dict[str, Any]
    _lines: dict[tuple[str | int, ...], int]

    def line_of(self, path: FieldPath) -> int | None:
        """Line of the deepest node of `path` that exists (1-based)."""
        path = tuple(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return 1

    def problem(self, path: FieldPath, message: str, fix: str = "") -> Problem:
        return Problem(self.file, field_name(path), self.line_of(path), message, fix)

    def validation_problems(self, error: pydantic.ValidationError, fix: str = "", base: FieldPath = ()) -> list[Problem]:
        """A pydantic validation error of this document's data (or of the part at `base`), as located problems."""
        problems = []
        for item in error.errors():
            path = self._document_path((*base, *item["loc"]), missing=item["type"] == "missing")
            message = str(item["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
            if item["type"] == "extra_forbidden":
                message = f"unknown setting '{item['loc'][-1]}' (a typo?)"
            problems.append(self.problem(path, message, fix))
        return problems

    def _document_path(self, location: tuple, missing: bool) -> tuple[str | int, ...]:
        """The part of a pydantic error location that names fields of the document (union tags dropped)."""
        path: list[str | int] = []
        node: Any = self.data
        for part in location:
            if (
                isinstance(node, dict)
                and part in node
                or isinstance(node, list)
                and isinstance(part, int)
                and 0 <= part < len(node)
            ):
                node = node[part]
            else:
                continue  # a union member's name, or a field the document does not have
            path.append(part)
        if missing and location and location[-1] not in path[-1:]:
            path.append(location[-1])  # the missing field itself: its line is its parent's
        return tuple(path)


# Limits that keep a careless or hostile file from taking the mesh down (documented in the README; the size: core.user_files).
MAX_DEPTH = 64  # ODCS nests five levels deep
MAX_VALUES = 100_000  # values after YAML aliases are expanded ("billion laughs" stops here)


def load_yaml_document(file: Path, error_type: type[FileProblemsError] = ContractError) -> YamlDocument:
    """Read a YAML mapping; anything unusable (not a regular file, too large, not UTF-8 text, invalid YAML, too deep,
    too many values, an alias inside its own anchor) becomes an `error_type` naming the file and, where there is one, the line."""
    file = Path(file)
    try:
        raw = read_user_file(file, "YAML", MAX_FILE_BYTES, "keep one product's settings in it")
    except UnreadableFileError as error:
        raise error_type([Problem(file, "", None, error.message, error.fix)]) from None
    if b"\0" in raw:
        raise error_type([Problem(file, "", None, "the file is not text (it holds NUL bytes)", "give a YAML text file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise error_type(
            [
                Problem(
                    file,
                    "",
                    line,
                    f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})",
                    "save it as UTF-8",
                )
            ]
        ) from None
    return parse_yaml_document(text, file, error_type)


def parse_yaml_document(text: str, file: Path, error_type: type[FileProblemsError] = ContractError) -> YamlDocument:
    """Parse YAML text that came from `file` (a name for messages; it is not read)."""
    if (depth := _flow_depth(text)) > MAX_DEPTH:
        raise error_type(
            [
                Problem(
                    file,
                    "",
                    None,
                    f"the YAML nests {depth} levels deep; the mesh reads at most {MAX_DEPTH}",
                    "flatten the document",
                )
            ]
        )
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise error_type([Problem(file, "", line, f"invalid YAML: {error.problem or error}", "fix the YAML syntax")]) from None
    except RecursionError:
        raise error_type(
            [
                Problem(
                    file,
                    "",
                    None,
                    f"the YAML nests deeper than the mesh reads (at most {MAX_DEPTH} levels)",
                    "flatten the document",
                )
            ]
        ) from None
    except yaml.YAMLError as error:
        raise error_type([Problem(file, "", None, f"invalid YAML: {error}", "fix the YAML syntax")]) from None
    if not isinstance(node, yaml.MappingNode):
        raise error_type([Problem(file, "", 1, "the file must hold a YAML mapping (key: value pairs)")])
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        data = _Plain(lines, text).convert(node, ())
    except _TooLarge as limit:
        line = lines.get(limit.path[:1])  # the top-level field it happens under (aliased values keep their anchor's lines)
        raise error_type(
            [
                Problem(
                    file,
                    field_name(limit.path),
                    line,
                    str(limit),
                    "flatten the document; YAML aliases (*name) count once per use",
                )
            ]
        ) from None
    except _Unreadable as problem:
        raise error_type([Problem(file, field_name(problem.path), problem.line, str(problem), problem.fix)]) from None
    except RecursionError:  # the guards above stop first; should one not, a file still never takes its reader down
        message = f"the YAML nests deeper than the mesh reads (at most {MAX_DEPTH} levels)"
        raise error_type([Problem(file, "", None, message, "flatten the document")]) from None
    return YamlDocument(file=file, data=data, _lines=lines)


def _flow_depth(text: str) -> int:
    """How deep `[...]` and `{...}` nest (outside quotes): checked before parsing, whose recursion is slow to fail."""
    depth = deepest = 0
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


class _TooLarge(Exception):
    def __init__(self, message: str, path: tuple[str | int, ...]):
        super().__init__(message)
        self.path = path


class _Unreadable(Exception):
    """A node that is valid YAML but no plain value: a repeated key, an unknown tag."""

    def __init__(self, message: str, path: tuple[str | int, ...], line: int, fix: str):
        super().__init__(message)
        self.path, self.line, self.fix = path, line, fix


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # PyYAML's wheels carry libyaml; the pure-Python parser otherwise
_SCALARS = yaml.SafeLoader.yaml_constructors  # tag → constructor of safe YAML's types
_CONSTRUCTOR = yaml.constructor.SafeConstructor()  # what those constructors are methods of (scalars need no state)
_MERGE = "tag:yaml.org,2002:merge"
_COLLECTIONS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Plain:
    """Converts composed YAML nodes to JSON-compatible values, recording each key's and item's line, within the limits."""

    def __init__(self, lines: dict[tuple[str | int, ...], int], text: str):
        self.lines = lines
        self.text = text
        self.values = 0
        self.open: set[int] = set()  # the collections being converted: one met again is an alias inside its own anchor

    def convert(self, node: yaml.Node, path: tuple[str | int, ...], used_at: int | None = None) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise _TooLarge(f"the document holds more than {MAX_VALUES:,} values (counting each use of a YAML alias)", path)
        if len(path) > MAX_DEPTH:
            raise _TooLarge(f"the YAML nests deeper than the mesh reads (at most {MAX_DEPTH} levels)", path[:MAX_DEPTH])
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _COLLECTIONS:
            raise _Unreadable(f"the tag {node.tag} is not plain YAML", path, node.start_mark.line + 1, "remove the tag")
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            return self._scalar(node, path)
        if id(node) in self.open:
            raise self._loop(node, path, used_at)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            result_list = []
            for index, item in enumerate(node.value):
                child = (*path, index)
                self.lines[child] = item.start_mark.line + 1
                result_list.append(self.convert(item, child))
            return result_list
        finally:
            self.open.discard(id(node))

    def _loop(self, node: yaml.Node, path: tuple[str | int, ...], used_at: int | None) -> _Unreadable:
        """A collection met inside itself: an alias (`*name`, or a merge `<<: *name`) used within its own anchor's value."""
        anchored = node.start_mark.line + 1
        found = re.match(r"&([^\s,\[\]{}]+)", self.text[node.start_mark.index :])
        name = found.group(1) if found else ""
        used_at = used_at or self.lines.get(path) or anchored  # a merge's line, else the key or item holding the alias
        where = f" (line {used_at})" if used_at != anchored else ""
        return _Unreadable(
            f"the YAML alias *{name}{where} is used inside the value of its own anchor &{name} (line {anchored}): "
            "the value would never end",
            path,
            used_at,
            "remove the alias, or anchor a value outside the one using it",
        )

    def _mapping(self, node: yaml.MappingNode, path: tuple[str | int, ...]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # `<<: *defaults`: the keys the mapping does not set itself
                for source in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                    value = self.convert(source, path, used_at=key_node.start_mark.line + 1)
                    if not isinstance(value, dict):
                        message = "a merge (<<) takes a mapping or a list of mappings"
                        raise _Unreadable(message, path, key_node.start_mark.line + 1, "merge an anchored mapping: <<: *name")
                    merged = {**value, **merged}
                continue
            key = str(self._scalar(key_node, path))
            child = (*path, key)
            if key in result:
                raise _Unreadable(
                    f"the key '{key}' appears twice in this mapping", child, key_node.start_mark.line + 1, "keep one of them"
                )
            self.lines[child] = key_node.start_mark.line + 1
            result[key] = self.convert(value_node, child)
        return {**merged, **result}

    def _scalar(self, node: yaml.Node, path: tuple[str | int, ...]) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise _Unreadable(
                "a key must be a plain value, not a list or mapping", path, node.start_mark.line + 1, "write key: value"
            )
        construct = _SCALARS.get(node.tag)
        if construct is None:
            raise _Unreadable(f"the tag {node.tag} is not plain YAML", path, node.start_mark.line + 1, "remove the tag")
        try:
            value = construct(_CONSTRUCTOR, node)
        except yaml.YAMLError as error:
            raise _Unreadable(f"the value cannot be read: {error}", path, node.start_mark.line + 1, "fix the value") from None
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        return value
