"""A domain's Dagster code location: its products (the defs folder) plus what the platform adds.

A domain's `definitions.py` is two lines:

    from mesh_platform import domain_definitions
    defs = domain_definitions(__file__)

Each product folder is loaded on its own (`recipes.validation.load_recipe`, the
same checks `mesh check` runs): a folder that cannot load — a broken contract, a
recipe setting its type refuses, an unknown type, a file beyond the mesh's
limits, inputs that lead back to the product itself, a second folder of a product
the catalog holds in another (a copied folder) — becomes a broken product
that says why and refuses to build, and the domain's other products load as
usual. The platform adds its resources (configured from the environment, see
`product.resources`), the sensor that runs the products' automation conditions,
the sensor that notifies people (`product.notice_sensor`, when the deployment configures notifications),
and the in-process executor: a domain's products share one DuckDB file and run
one at a time anyway, so one process per run is all a run needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from mesh_platform.catalog.workspace import RECIPE_FILE
from mesh_platform.context import MeshContext
from mesh_platform.core.errors import FileProblemsError
from mesh_platform.core.settings import repository_of
from mesh_platform.governance.check import platform_policies
from mesh_platform.governance.view import MeshView
from mesh_platform.product.broken import broken_name, broken_product
from mesh_platform.product.notice_sensor import notice_sensor
from mesh_platform.product.resources import platform_resources
from mesh_platform.product.run_tags import DOMAIN_TAG
from mesh_platform.recipes.validation import load_recipe, recipe_problems


def domain_definitions(
    definitions_file: str | Path, resources: Mapping[str, Any] | None = None, context: MeshContext | None = None
) -> dg.Definitions:
    """The domain's definitions, from one `context` (default: the environment's, for the domain's repository) read
    once for the whole load; `resources` replace the platform's defaults by key (e.g. in tests)."""
    folder = Path(definitions_file).resolve().parent
    domain = folder.name
    context = context or MeshContext.from_env(root=repository_of(folder))
    settings, catalog, view = context.settings, context.catalog, context.view
    loops = _dependency_loops(view, domain)
    unread = {file.resolve(): error for file, error in catalog.broken.items() if file.is_relative_to(folder)}
    held = {p.recipe_file.resolve(): p.address.product for p in catalog.products.values() if p.address.domain == domain}
    products, broken_names = [], set[str]()
    for recipe_file in sorted((folder / "defs").rglob(RECIPE_FILE)):
        resolved = recipe_file.resolve()
        if resolved in loops or resolved in unread:
            problems = loops[resolved] if resolved in loops else _catalog_problems(recipe_file, unread[resolved])
            product = None
        else:
            product, problems = _product(recipe_file, view)
        if product is None:  # a broken folder's asset takes no name a product of the domain holds
            name = broken_name(recipe_file, {n for f, n in held.items() if f != resolved} | broken_names)
            broken_names.add(name)
            product = broken_product(domain, recipe_file, problems, name)
        products.append(product)
    automation = dg.AutomationConditionSensorDefinition(
        name=f"{domain}_products_on_schedule",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Rebuilds the {domain} domain's products on their contracts' update frequency.",
        run_tags={DOMAIN_TAG: domain},
    )
    sensors: list[dg.SensorDefinition] = [automation]
    notifications = settings.deployment.notifications
    if notifications is not None and notifications.enabled:  # off: no sensor at all, nothing ticking for nothing
        blocking = [
            spec.key
            for d in products
            for a in d.assets or ()
            if isinstance(a, dg.AssetsDefinition)
            for spec in a.check_specs
            if spec.blocking
        ]
        sensors.append(notice_sensor(domain, view, blocking))
    platform = dg.Definitions(
        sensors=sensors,
        resources={**platform_resources(settings, domain), **(resources or {})},
        executor=dg.in_process_executor,
    )
    return dg.Definitions.merge(*products, platform)


def _product(recipe_file: Path, view: MeshView) -> tuple[dg.Definitions | None, list[str]]:
    """One product folder's definitions, or why it cannot load: a broken product, never a broken domain."""
    try:
        return load_recipe(recipe_file).product_definitions(recipe_file.parent, view), []
    except Exception as error:  # whatever one folder raises (its files are the domain's to fix), the others load
        return None, _problems(error)


def _catalog_problems(recipe_file: Path, error: FileProblemsError) -> list[str]:
    """Why the catalog holds no product for the folder (a broken contract, a second folder of one product),
    with what its recipe's own check finds besides."""
    problems = _problems(error)
    return problems + [text for problem in recipe_problems(recipe_file) if (text := str(problem)) not in problems]


def _dependency_loops(view: MeshView, domain: str) -> dict[Path, list[str]]:
    """The domain's product folders whose inputs lead back to them (policy mesh.no-product-cycles): no
    build order exists, and Dagster refuses a cyclic asset graph, so each loads as a broken product."""
    [rule] = [rule for rule in platform_policies() if rule.id == "mesh.no-product-cycles"]
    loops = {}
    for product in view.catalog.in_domain(domain):
        if violations := rule.run(product, view):
            loops[product.recipe_file.resolve()] = [f"{v.file}:{v.line}: {v.message} — {v.fix}" for v in violations]
    return loops


def _problems(error: BaseException) -> list[str]:
    """What is wrong, as the user can fix it: the file problems, else the error's own message."""
    if isinstance(error, FileProblemsError):
        return [str(problem) for problem in error.problems]
    lines = [line for line in str(error).splitlines() if line.strip()]
    return ["\n".join(lines[:12]) or type(error).__name__]
