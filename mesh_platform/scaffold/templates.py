"""The folders of `templates/`: the files `mesh new` writes, rendered with Jinja2.

`templates/domain/` makes a domain; every other folder belongs to the recipe type
that names it (`ProductRecipe.template`): what the folder holds is the best
example of that recipe, and what it means (description, inputs, parameters)
is the recipe type's. `.jinja` files are rendered, the others copied as they
are; `landing/` holds example deliveries written to the mesh's landing folder.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesh_platform.core.errors import MeshError

JINJA_SUFFIX = ".jinja"
DOMAIN_TEMPLATE = "domain"
LANDING_FOLDER = "landing"  # example deliveries a template ships; written to MESH_HOME, not the product folder
PARTIALS = "_partials"  # pieces the templates include


@dataclass(frozen=True)
class Template:
    """One folder of `templates/`."""

    name: str
    folder: Path

    def files(self) -> list[Path]:
        """The files the template writes (relative to its folder)."""
        files = (p.relative_to(self.folder) for p in self.folder.rglob("*") if p.is_file())
        return sorted(f for f in files if f.parts[0] != LANDING_FOLDER)

    def render(self, target: Path, context: dict[str, Any]) -> list[Path]:
        """Render every file into `target`; `.jinja` files through Jinja2, others copied as they are."""
        environment = _environment(self.folder.parent)
        written = []
        for relative in self.files():
            source = self.folder / relative
            out = target / (str(relative)[: -len(JINJA_SUFFIX)] if relative.name.endswith(JINJA_SUFFIX) else relative)
            out.parent.mkdir(parents=True, exist_ok=True)
            if source.name.endswith(JINJA_SUFFIX):
                template = environment.get_template(f"{self.name}/{relative.as_posix()}")
                out.write_text(template.render(**context))
            else:
                out.write_bytes(source.read_bytes())
            written.append(out)
        return written


@functools.cache
def _environment(root: Path):
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # A double-quoted scalar that is valid YAML whatever the text holds.
    environment.filters["quoted"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    # A Python string literal: text a user gave stays data in a generated .py file, never code.
    environment.filters["python_string"] = lambda value: repr(str(value))
    return environment


def template_folders(templates_root: Path) -> list[str]:
    """The names of the template folders (the partials aside)."""
    return (
        sorted(p.name for p in templates_root.iterdir() if p.is_dir() and p.name != PARTIALS) if templates_root.is_dir() else []
    )


def get_template(templates_root: Path, name: str) -> Template:
    folder = templates_root / name
    if not folder.is_dir() or name == PARTIALS:
        raise MeshError(
            f"there is no template folder '{name}' in {templates_root} (folders: {', '.join(template_folders(templates_root))})"
        )
    return Template(name, folder)
