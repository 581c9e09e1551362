"""`mesh new product`: a product folder from its recipe type's template, with its contract pre-filled."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mesh_platform.catalog.catalog import Catalog, read_product_folder
from mesh_platform.catalog.workspace import RECIPE_FILE
from mesh_platform.core.address import Address
from mesh_platform.core.errors import FileProblemsError, MeshError
from mesh_platform.core.names import check_name
from mesh_platform.core.settings import MeshSettings
from mesh_platform.scaffold.domain import domain_owner
from mesh_platform.scaffold.files import staged_folder
from mesh_platform.scaffold.owners import Owner
from mesh_platform.scaffold.plans import PlanRequest, RecipeType, seen_by
from mesh_platform.scaffold.templates import LANDING_FOLDER, Template, get_template


@dataclass(frozen=True)
class NewProduct:
    address: Address
    folder: Path
    files: tuple[Path, ...]
    notes: tuple[str, ...]
    sample_file: Path | None


def parse_target(target: str) -> tuple[str, str]:
    domain, slash, name = target.partition("/")
    if not slash or "/" in name:
        raise MeshError(f"'{target}' is not DOMAIN/NAME (e.g. sales/monthly_revenue)")
    return check_name(domain, "domain"), check_name(name, "product")


def new_product(
    settings: MeshSettings,
    target: str,
    template_name: str,
    recipe_types: Mapping[str, RecipeType],
    inputs: list[str] | None = None,
    owner: str | None = None,
    parameters: dict[str, str] | None = None,
    source_file: Path | None = None,
) -> NewProduct:
    """Create `target` (DOMAIN/NAME) with the recipe type whose template is `template_name`; `source_file`
    (`--from`) is what the product starts from: a data file for a source, a query for sql."""
    domain, name = parse_target(target)
    catalog = Catalog.load(settings.root)
    if template_name not in recipe_types:
        raise MeshError(
            f"there is no product template '{template_name}' (templates: {', '.join(sorted(recipe_types))}; see mesh templates)"
        )
    recipe = recipe_types[template_name]
    template = get_template(settings.templates_root, recipe.template)
    if domain not in catalog.domains:
        raise MeshError(f"there is no domain '{domain}'; create it first: mesh new domain {domain} --owner team:{domain}")
    address = Address(domain, name)
    folder = catalog.domains[domain].defs_folder / name
    if address in catalog.products or (folder.exists() and any(folder.iterdir())):
        raise MeshError(f"{address} already exists ({folder}); mesh new never overwrites")
    _check_input_count(recipe, inputs or [])
    if source_file is not None and recipe.from_file is None:
        takes = ", ".join(n for n, r in sorted(recipe_types.items()) if r.from_file) or "none"
        raise MeshError(f"template '{template_name}' takes no --from (templates that do: {takes})")
    input_products = tuple(seen_by(catalog.product(a), domain) for a in inputs or [])
    owner_ = Owner.parse(owner or domain_owner(catalog.domains[domain].folder) or f"team:{domain}", default_team=domain)
    landing = settings.landing_dir(domain)
    values = _parameter_values(recipe, parameters or {})
    request = PlanRequest(catalog, domain, name, input_products, values, source_file, landing)
    plan = recipe.plan(request)
    title = name.replace("_", " ").capitalize()
    sources = ", ".join(str(p.address) for p in input_products)
    context = {
        "domain": domain,
        "name": name,
        "address": str(address),
        "purpose": f"{title} of the {domain} domain" + (f", from {sources}." if sources else plan.purpose or "."),
        "usage": f"Used inside the {domain} domain (access: internal). To share it, set access to public, "
        "or to restricted with the consumer domains.",
        "team": owner_.team,
        "email": owner_.email,
        "recipe": recipe.type_name(),
        "inputs": [str(i) for i in plan.inputs],
        "aliases": [i.alias for i in plan.inputs],
        "input_products": [str(p.address) for p in input_products],
        "columns": plan.columns,
        "column_notes": plan.column_notes,
        "schema_note": plan.schema_note,
        **plan.settings,
    }
    with staged_folder(folder, staging_parent=settings.root) as staging:
        template.render(staging, context)
        _check_generated(staging, domain)
        copied = _deliver(landing, *plan.delivery) if plan.delivery is not None else None  # last: nothing can fail after it
    notes = list(plan.notes)
    if plan.delivery is not None:
        notes.append(f"{plan.delivery[0]} copied to {copied} (the product's landing folder: later deliveries go beside it)")
    sample = _write_sample(landing, plan.example_delivery, template) if plan.example_delivery else None
    return NewProduct(address, folder, tuple(sorted(p for p in folder.rglob("*") if p.is_file())), tuple(notes), sample)


def _parameter_values(recipe: RecipeType, given: dict[str, str]) -> dict[str, str | None]:
    known = set(recipe.parameters)
    if unknown := sorted(set(given) - known):
        allowed = ", ".join(sorted(known)) or "none"
        raise MeshError(f"template '{recipe.template}' has no parameter {', '.join(unknown)} (its parameters: {allowed})")
    return {name: given.get(name) for name in recipe.parameters}


def _check_input_count(recipe: RecipeType, inputs: list[str]) -> None:
    count, (low, high) = len(inputs), recipe.input_range()
    if count < low or (high is not None and count > high):
        wanted = f"exactly {low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
        raise MeshError(f"template '{recipe.template}' takes {wanted} --input, got {count}")


def _check_generated(folder: Path, domain: str) -> None:
    """The generated product must read back: a template bug never lands as a broken product."""
    try:
        read_product_folder(folder / RECIPE_FILE, domain)
    except FileProblemsError as error:
        raise MeshError(f"the template produced an invalid product (nothing was written): {error.problems[0]}") from None


def _deliver(landing: Path, file: Path, target: str) -> Path:
    """Copy `file` to `target` in the landing folder (never over a file already there)."""
    delivered = landing / target
    if delivered.exists():
        raise MeshError(f"{delivered} already exists in the landing folder; mesh new never overwrites (give --from that file)")
    delivered.parent.mkdir(parents=True, exist_ok=True)
    partial = delivered.with_name(f".{delivered.name}.partial")
    shutil.copyfile(file, partial)
    partial.replace(delivered)  # a build never reads half a file
    return delivered


def _write_sample(landing: Path, delivery: tuple[str, str], template: Template) -> Path | None:
    """The template's example delivery, unless files already match the product's pattern."""
    pattern, target = delivery
    if any(landing.glob(pattern)):
        return None
    sample = landing / target
    examples = sorted((template.folder / LANDING_FOLDER).glob(f"*{sample.suffix}"))
    if not examples:
        return None
    sample.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(examples[0], sample)
    return sample
