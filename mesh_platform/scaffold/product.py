"""`mesh new product`: a product folder from a product template, with its contract pre-filled."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from mesh_platform.core.address import Address
from mesh_platform.catalog.catalog import RECIPE_FILE, Catalog, read_product_folder
from mesh_platform.core.errors import FileProblemsError, MeshError
from mesh_platform.scaffold.domain import domain_owner
from mesh_platform.scaffold.files import staged_folder
from mesh_platform.core.names import check_name
from mesh_platform.scaffold.owners import Owner
from mesh_platform.scaffold.plans import PLANS, PlanRequest, seen_by
from mesh_platform.scaffold.templates import LANDING_FOLDER, Template, get_template
from mesh_platform.core.settings import MeshSettings


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
    inputs: list[str] | None = None,
    owner: str | None = None,
    parameters: dict[str, str] | None = None,
) -> NewProduct:
    domain, name = parse_target(target)
    catalog = Catalog.load(settings)
    template = get_template(settings.root / "templates", template_name, "product")
    if domain not in catalog.domains:
        raise MeshError(f"there is no domain '{domain}'; create it first: mesh new domain {domain} --owner team:{domain}")
    address = Address(domain, name)
    folder = catalog.domains[domain].defs_folder / name
    if address in catalog.products or (folder.exists() and any(folder.iterdir())):
        raise MeshError(f"{address} already exists ({folder}); mesh new never overwrites")
    _check_input_count(template, inputs or [])
    input_products = tuple(seen_by(catalog.product(a), domain) for a in inputs or [])
    owner_ = Owner.parse(owner or domain_owner(catalog.domains[domain].folder) or f"team:{domain}", default_team=domain)
    plan = PLANS[template.name](PlanRequest(catalog, domain, name, input_products, template.parameter_values(parameters or {})))
    title = name.replace("_", " ").capitalize()
    sources = ", ".join(str(p.address) for p in input_products)
    context = {
        "domain": domain,
        "name": name,
        "address": str(address),
        "purpose": f"{title} of the {domain} domain"
        + (f", from {sources}." if sources else ", as delivered to its landing folder." if template.name == "source" else "."),
        "usage": f"Used inside the {domain} domain (access: internal). To share it, set access to public, "
        "or to restricted with the consumer domains.",
        "team": owner_.team,
        "email": owner_.email,
        "recipe": template.recipe,
        "inputs": [str(i) for i in plan.inputs],
        "aliases": [i.alias for i in plan.inputs],
        "input_products": [str(p.address) for p in input_products],
        "columns": plan.columns,
        **plan.settings,
    }
    with staged_folder(folder, staging_parent=settings.root) as staging:
        template.render(staging, context)
        _check_generated(staging, domain)
    sample = _write_sample(settings, domain, plan.settings, template) if template.name == "source" else None
    return NewProduct(address, folder, tuple(sorted(p for p in folder.rglob("*") if p.is_file())), tuple(plan.notes), sample)


def _check_input_count(template: Template, inputs: list[str]) -> None:
    count, low, high = len(inputs), template.min_inputs, template.max_inputs
    if count < low or (high is not None and count > high):
        wanted = f"exactly {low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
        raise MeshError(f"template '{template.name}' takes {wanted} --input, got {count}")


def _check_generated(folder: Path, domain: str) -> None:
    """The generated product must read back: a template bug never lands as a broken product."""
    try:
        read_product_folder(folder / RECIPE_FILE, domain)
    except FileProblemsError as error:
        raise MeshError(f"the template produced an invalid product (nothing was written): {error.problems[0]}") from None


def _write_sample(settings: MeshSettings, domain: str, plan_settings: dict, template: Template) -> Path | None:
    """An example delivery for a new source, so that it materializes before real files arrive."""
    landing = settings.landing_dir(domain)
    pattern = str(plan_settings["path"])
    if any(landing.glob(pattern)):
        return None
    sample = landing / pattern.replace("*", "example")
    if "*" in sample.name or sample.suffix != ".csv":
        return None
    sample.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template.folder / LANDING_FOLDER / "example.csv", sample)
    return sample
