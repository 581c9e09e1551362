"""The catalog: every domain and product of the mesh, read from the repository's files.

Domains are the code locations of `workspace.yaml`; products are the recipe
folders (`defs.yaml` beside `contract.yaml`) under each domain's `defs/`.
Reading the catalog needs no Dagster: it parses YAML only, so the CLI stays fast.
A broken product is recorded with its error and never hides the others.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.address import Address
from mesh_platform.contract.model import Contract, load_contract
from mesh_platform.core.errors import (
    AddressError,
    FileProblemsError,
    MeshError,
    PortError,
    RecipeError,
)
from mesh_platform.core.inputs import ProductInput, parse_inputs
from mesh_platform.core.settings import MeshSettings
from mesh_platform.storage.ports import Port
from mesh_platform.core.yaml_document import load_yaml_document

if TYPE_CHECKING:
    from mesh_platform.governance.glossary import Glossary

RECIPE_FILE = "defs.yaml"
_CURRENT: dict = {}  # settings → (file signature, catalog), for Catalog.current
DEFAULT_CONTRACT_FILE = "contract.yaml"


@dataclass(frozen=True)
class Domain:
    """A domain: one code location of the workspace, one package under `domains/`."""

    name: str
    module: str
    folder: Path

    @property
    def defs_folder(self) -> Path:
        return self.folder / "defs"


@dataclass(frozen=True)
class Product:
    """A product as the catalog knows it: its contract, recipe and inputs."""

    contract: Contract
    recipe_file: Path
    recipe_type: str
    inputs: tuple[ProductInput, ...]

    @property
    def address(self) -> Address:
        return self.contract.address

    @property
    def folder(self) -> Path:
        return self.recipe_file.parent

    def port(self, settings: MeshSettings) -> Port:
        return Port(settings.ports_root, self.address.at_major(self.contract.major))


@dataclass
class Catalog:
    settings: MeshSettings
    domains: dict[str, Domain]
    products: dict[Address, Product] = field(default_factory=dict)
    broken: dict[Path, FileProblemsError] = field(default_factory=dict)

    @classmethod
    def current(cls, settings: MeshSettings) -> Catalog:
        """The catalog, read again only when a recipe, contract or the glossary changed (for definition loads)."""
        from mesh_platform.governance.glossary import glossary_file

        files = sorted(f for d in read_workspace(settings) for f in d.defs_folder.rglob("*.yaml"))
        if (glossary := glossary_file()).exists():
            files.append(glossary)
        signature = (settings.workspace_file.stat().st_mtime_ns, tuple((str(f), f.stat().st_mtime_ns) for f in files))
        cached = _CURRENT.get(settings)
        if cached is None or cached[0] != signature:
            _CURRENT[settings] = cached = (signature, cls.load(settings))
        return cached[1]

    @classmethod
    def load(cls, settings: MeshSettings | None = None) -> Catalog:
        settings = settings or MeshSettings.from_env()
        catalog = cls(settings=settings, domains={d.name: d for d in read_workspace(settings)})
        for domain in catalog.domains.values():
            for recipe_file in sorted(domain.defs_folder.rglob(RECIPE_FILE)):
                try:
                    product = read_product_folder(recipe_file, domain.name)
                except FileProblemsError as error:
                    catalog.broken[recipe_file] = error
                    continue
                if product.address in catalog.products:
                    other = catalog.products[product.address].recipe_file
                    catalog.broken[recipe_file] = RecipeError(
                        [load_yaml_document(recipe_file, RecipeError).problem((), f"{product.address} is also defined in {other}", "rename one of the products")]
                    )
                    continue
                catalog.products[product.address] = product
        return catalog

    @functools.cached_property
    def _glossary(self) -> tuple[Glossary, FileProblemsError | None]:
        from mesh_platform.governance.glossary import Glossary, glossary_file, load_glossary

        try:
            return load_glossary(), None
        except FileProblemsError as error:
            return Glossary(glossary_file(), {}), error

    @property
    def glossary(self) -> Glossary:
        """The glossary of shared terms (empty when its file is broken: see `glossary_error`)."""
        return self._glossary[0]

    @property
    def glossary_error(self) -> FileProblemsError | None:
        return self._glossary[1]

    def product(self, address: Address | str) -> Product:
        """The product at an address; an unknown address names the products that do exist."""
        wanted = (Address.parse(address) if isinstance(address, str) else address).unversioned()
        if wanted in self.products:
            return self.products[wanted]
        if wanted.domain not in self.domains:
            known = ", ".join(sorted(self.domains)) or "none"
            raise AddressError(f"{wanted}: there is no domain '{wanted.domain}' (domains: {known})")
        known = ", ".join(p.address.product for p in self.in_domain(wanted.domain)) or "none"
        raise AddressError(f"{wanted}: domain '{wanted.domain}' has no product '{wanted.product}' (its products: {known})")

    def port(self, address: Address | str) -> Port:
        """The port an address reads: its own `@v<major>`, else the product's current major."""
        address = Address.parse(address) if isinstance(address, str) else address
        product = self.product(address)
        major = address.major if address.major is not None else product.contract.major
        return Port(self.settings.ports_root, address.at_major(major))

    def deprecation(self, address: Address | str, today: dt.date | None = None) -> str | None:
        """The warning for reading an older major version; raises `PortError` once it is retired."""
        address = Address.parse(address) if isinstance(address, str) else address
        contract = self.product(address).contract
        if address.major is None or address.major >= contract.major:
            return None
        current = address.at_major(contract.major)
        until = contract.previous_major_served_until
        if until is not None and (today or dt.date.today()) > until:
            raise PortError(f"{address} was retired on {until}; read {current} instead (its contract: {contract.file})")
        when = f"served until {until}" if until else "no retirement date set"
        return f"{address} is deprecated: version {contract.version} is current ({when}); move to {current}"

    def in_domain(self, domain: str) -> list[Product]:
        return [p for p in self.products.values() if p.address.domain == domain]

    def upstream(self, product: Product) -> list[Product]:
        """The products this one reads that the catalog knows (an unknown input fails at build time)."""
        return [self.products[i.address.unversioned()] for i in product.inputs if i.address.unversioned() in self.products]

    def broken_in(self, domain: str) -> dict[Path, FileProblemsError]:
        """Broken product folders of a domain (they keep its code location from loading)."""
        folder = self.domains[domain].folder
        return {file: error for file, error in self.broken.items() if file.is_relative_to(folder)}

    def ordered(self, addresses: Iterable[Address] | None = None) -> list[Product]:
        """Products in dependency order (inputs first); raises on a dependency cycle."""
        wanted = set(addresses) if addresses is not None else set(self.products)
        order: list[Product] = []
        state: dict[Address, str] = {}

        def visit(product: Product, trail: tuple[Address, ...]) -> None:
            if state.get(product.address) == "done":
                return
            if state.get(product.address) == "visiting":
                cycle = " → ".join(map(str, (*trail, product.address)))
                raise MeshError(f"dependency cycle: {cycle}")
            state[product.address] = "visiting"
            for upstream in self.upstream(product):
                visit(upstream, (*trail, product.address))
            state[product.address] = "done"
            if product.address in wanted:
                order.append(product)

        for address in sorted(wanted):
            visit(self.product(address), ())
        return order


def read_workspace(settings: MeshSettings) -> list[Domain]:
    """The domains listed as code locations in `workspace.yaml`."""
    document = load_yaml_document(settings.workspace_file, RecipeError)
    domains = []
    for index, entry in enumerate(document.data.get("load_from") or []):
        location = (entry or {}).get("python_module")
        if not isinstance(location, dict) or not location.get("module_name"):
            raise RecipeError([document.problem(("load_from", index), "not a python_module code location", "list each domain as python_module: {module_name: domains.<name>.definitions}")])
        module = str(location["module_name"])
        parts = module.split(".")
        name = str(location.get("location_name") or parts[-2])
        domains.append(Domain(name=name, module=module, folder=settings.root.joinpath(*parts[:-1])))
    return domains


def domain_of(recipe_file: Path) -> str:
    """The domain a product folder belongs to: the folder that holds its `defs/` folder."""
    for folder in recipe_file.parents:
        if folder.name == "defs":
            return folder.parent.name
    raise RecipeError([load_yaml_document(recipe_file, RecipeError).problem((), "the product is not inside a domain's defs/ folder", "move it to domains/<domain>/defs/<product>/")])


def read_product_folder(recipe_file: Path, domain: str | None = None) -> Product:
    """Read one product folder: the recipe's type, contract and inputs (no Dagster needed)."""
    document = load_yaml_document(recipe_file, RecipeError)
    attributes = document.data.get("attributes") or {}
    return assemble_product(
        recipe_file,
        recipe_type=str(document.data.get("type", "")),
        contract_file=str(attributes.get("contract", DEFAULT_CONTRACT_FILE)),
        inputs=attributes.get("inputs") or [],
        domain=domain,
    )


def assemble_product(recipe_file: Path, recipe_type: str, contract_file: str, inputs: list[str], domain: str | None = None) -> Product:
    """A product from its recipe's settings; the contract must belong to the folder's domain."""
    domain = domain or domain_of(recipe_file)
    contract = load_contract(recipe_file.parent / contract_file)
    if contract.domain != domain:
        raise RecipeError(
            [contract.source.problem(("domain",), f"the contract says domain '{contract.domain}' but the product lives in domain '{domain}'", f"set domain: {domain}")]
        )
    try:
        parsed = parse_inputs(inputs)
    except AddressError as error:
        document = load_yaml_document(recipe_file, RecipeError)
        raise RecipeError([document.problem(("attributes", "inputs"), str(error), "write inputs as mesh://<domain>/<product>")]) from None
    return Product(contract=contract, recipe_file=recipe_file, recipe_type=recipe_type, inputs=parsed)
