"""The templates in `templates/`: what each is for, its parameters, and how it renders (Jinja2)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from mesh_platform.core.errors import MeshError

TEMPLATE_FILE = "template.yaml"
JINJA_SUFFIX = ".jinja"
LANDING_FOLDER = "landing"  # example deliveries a template ships; written to MESH_HOME, not the product folder


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    default: str | None = None


@dataclass(frozen=True)
class Template:
    """One folder of `templates/`, described by its `template.yaml`."""

    name: str
    folder: Path
    kind: Literal["domain", "product"]
    description: str
    recipe: str | None
    min_inputs: int
    max_inputs: int | None
    parameters: tuple[Parameter, ...]

    def files(self) -> list[Path]:
        """The files the template writes (relative to its folder), `template.yaml` aside."""
        files = (p.relative_to(self.folder) for p in self.folder.rglob("*") if p.is_file())
        return sorted(f for f in files if f.name != TEMPLATE_FILE and f.parts[0] != LANDING_FOLDER)

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

    def parameter_values(self, given: dict[str, str]) -> dict[str, str | None]:
        known = {p.name for p in self.parameters}
        if unknown := sorted(set(given) - known):
            allowed = ", ".join(sorted(known)) or "none"
            raise MeshError(f"template '{self.name}' has no parameter {', '.join(unknown)} (its parameters: {allowed})")
        return {p.name: given.get(p.name, p.default) for p in self.parameters}


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
    return environment


def load_templates(templates_root: Path) -> dict[str, Template]:
    """Every template under `templates_root`, by name."""
    templates = {}
    for spec_file in sorted(templates_root.glob(f"*/{TEMPLATE_FILE}")):
        spec = yaml.safe_load(spec_file.read_text()) or {}
        inputs = spec.get("inputs") or {}
        templates[spec_file.parent.name] = Template(
            name=spec_file.parent.name,
            folder=spec_file.parent,
            kind=spec.get("kind", "product"),
            description=str(spec.get("description", "")).strip(),
            recipe=spec.get("recipe"),
            min_inputs=int(inputs.get("min", 0)),
            max_inputs=inputs.get("max"),
            parameters=tuple(
                Parameter(str(p["name"]), str(p.get("description", "")), None if p.get("default") is None else str(p["default"]))
                for p in spec.get("parameters") or []
            ),
        )
    return templates


def get_template(templates_root: Path, name: str, kind: str) -> Template:
    templates = {n: t for n, t in load_templates(templates_root).items() if t.kind == kind}
    if name not in templates:
        raise MeshError(f"there is no {kind} template '{name}' (templates: {', '.join(sorted(templates))}; see mesh templates)")
    return templates[name]
