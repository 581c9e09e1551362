"""YAML files read with their source lines, so every error can point at a line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from mesh_platform.core.errors import ContractError, FileProblemsError, Problem

if TYPE_CHECKING:
    import pydantic

FieldPath = Sequence[str | int]


def field_name(path: FieldPath) -> str:
    """`('schema', 0, 'properties', 2, 'name')` → `schema[0].properties[2].name`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


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
            if isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                continue  # a union member's name, or a field the document does not have
            path.append(part)
        if missing and location and location[-1] not in path[-1:]:
            path.append(location[-1])  # the missing field itself: its line is its parent's
        return tuple(path)


# Limits that keep a careless or hostile file from taking the mesh down (documented in the README).
MAX_FILE_BYTES = 1024 * 1024  # a contract or recipe is a few kilobytes
MAX_DEPTH = 64  # ODCS nests five levels deep
MAX_VALUES = 100_000  # values after YAML aliases are expanded ("billion laughs" stops here)


def load_yaml_document(file: Path, error_type: type[FileProblemsError] = ContractError) -> YamlDocument:
    """Read a YAML mapping; anything unusable (unreadable, too large, not UTF-8 text, invalid YAML,
    too deep, too many values) becomes an `error_type` naming the file and, where there is one, the line."""
    file = Path(file)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise error_type([Problem(file, "", None, f"the file has {size:,} bytes; the mesh reads YAML files of at most {MAX_FILE_BYTES:,}", "keep one product's settings in it")])
        raw = file.read_bytes()
    except OSError as error:
        raise error_type([Problem(file, "", None, f"cannot read the file: {error.strerror}")]) from None
    if b"\0" in raw:
        raise error_type([Problem(file, "", None, "the file is not text (it holds NUL bytes)", "give a YAML text file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise error_type([Problem(file, "", line, f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})", "save it as UTF-8")]) from None
    return parse_yaml_document(text, file, error_type)


def parse_yaml_document(text: str, file: Path, error_type: type[FileProblemsError] = ContractError) -> YamlDocument:
    """Parse YAML text that came from `file` (a name for messages; it is not read)."""
    if (depth := _flow_depth(text)) > MAX_DEPTH:
        raise error_type([Problem(file, "", None, f"the YAML nests {depth} levels deep; the mesh reads at most {MAX_DEPTH}", "flatten the document")])
    try:
        node = YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise error_type(
            [Problem(file, "", line, f"invalid YAML: {error.problem or error}", "fix the YAML syntax")]
        ) from None
    except RecursionError:
        raise error_type([Problem(file, "", None, f"the YAML nests deeper than the mesh reads (at most {MAX_DEPTH} levels)", "flatten the document")]) from None
    except Exception as error:  # ruamel raises plain errors too (e.g. for some malformed tokens)
        raise error_type([Problem(file, "", None, f"invalid YAML: {error}", "fix the YAML syntax")]) from None
    if not isinstance(node, CommentedMap):
        raise error_type([Problem(file, "", 1, "the file must hold a YAML mapping (key: value pairs)")])
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        data = _Plain(lines).convert(node, ())
    except _TooLarge as limit:
        line = lines.get(limit.path[:1])  # the top-level field it happens under (aliased values keep their anchor's lines)
        raise error_type([Problem(file, field_name(limit.path), line, str(limit), "flatten the document; YAML aliases (*name) count once per use")]) from None
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


class _Plain:
    """Converts ruamel nodes to JSON-compatible values, recording each child's line, within the limits."""

    def __init__(self, lines: dict[tuple[str | int, ...], int]):
        self.lines = lines
        self.values = 0

    def convert(self, node: Any, path: tuple[str | int, ...]) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise _TooLarge(f"the document holds more than {MAX_VALUES:,} values (counting each use of a YAML alias)", path)
        if len(path) > MAX_DEPTH:
            raise _TooLarge(f"the YAML nests deeper than the mesh reads (at most {MAX_DEPTH} levels)", path[:MAX_DEPTH])
        if isinstance(node, CommentedMap):
            result = {}
            for key, value in node.items():
                child = (*path, str(key))
                self.lines[child] = node.lc.key(key)[0] + 1
                result[str(key)] = self.convert(value, child)
            return result
        if isinstance(node, CommentedSeq):
            result_list = []
            for index, value in enumerate(node):
                child = (*path, index)
                self.lines[child] = node.lc.item(index)[0] + 1
                result_list.append(self.convert(value, child))
            return result_list
        if isinstance(node, (dt.date, dt.datetime)):
            return node.isoformat()
        if isinstance(node, str):
            return str(node)  # drop ruamel's scalar string subclasses
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        return node
