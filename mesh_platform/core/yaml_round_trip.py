"""YAML files the mesh edits in place, their comments, order, quotes and indentation kept (ruamel's round trip).

`workspace.yaml` when a domain is added, a contract when `mesh contract sync` brings its
columns up to date. The indentation is read from the file, so a file keeps its own style;
the new version replaces the old one in one rename.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.util import load_yaml_guess_indent

from mesh_platform.core.user_files import read_user_text


def load_round_trip(file: Path) -> tuple[Any, YAML]:
    """The file's document (ruamel's commented mappings and lists) and a YAML that writes it back in the file's style."""
    text = read_user_text(Path(file), "YAML")  # a regular file of at most the limit, never a FIFO or a device
    _, sequence, offset = load_yaml_guess_indent(text)  # where a list item's content starts, and its dash
    sequence, offset = sequence or 2, offset or 0
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # a long line stays one line
    yaml.indent(mapping=max(sequence - offset, 2), sequence=sequence, offset=offset)
    return yaml.load(text), yaml


def write_round_trip(file: Path, document: Any, yaml: YAML) -> None:
    """Write `document` as the new version of `file`: beside it first, then swapped in atomically."""
    file = Path(file)
    handle, temporary = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
    os.close(handle)
    try:
        yaml.dump(document, Path(temporary))
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def dump_round_trip(document: Any, yaml: YAML) -> str:
    """The document as `write_round_trip` would write it."""
    import io

    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()
