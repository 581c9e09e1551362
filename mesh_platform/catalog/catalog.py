"""The catalog: every domain and product of the mesh, read from the repository's files.

Domains are the code locations of `workspace.yaml`; products are the recipe
folders (`defs.yaml` beside `contract.yaml`) under each domain's `defs/`.
Reading the catalog needs no Dagster and no state: it parses the repository's
YAML only, so the CLI stays fast and a code location's definitions depend on
its files alone. A broken product is recorded with its error and never hides
the others.
"""

from __future__ import annotations

import datetime as dt
import functools
import graphlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mesh_platform.catalog.agreements import Agreements
from mesh_platform.catalog.index import CatalogIndex
from mesh_platform.catalog.workspace import RECIPE_FILE, Domain, domain_of, read_workspace
from mesh_platform.contract.loading import load_contract
from mesh_platform.contract.model import Contract
from mesh_platform.core.address import Address
from mesh_platform.core.errors import AddressError, FileProblemsError, PortError, Problem, RecipeError
from mesh_platform.core.inputs import ProductInput, parse_inputs
from mesh_platform.core.settings import find_mesh_root
from mesh_platform.core.yaml_document import kind_of, load_yaml_document

DEFAULT_CONTRACT_FILE = "contract.yaml"


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
    def port_address(self) -> Address:
        """The address of the port the product publishes: its current major version."""
        return self.address.at_major(self.contract.major)

    @property
    def folder(self) -> Path:
        return self.recipe_file.parent


@dataclass
class Catalog:
    root: Path
    domains: dict[str, Domain]
    products: dict[Address, Product] = field(default_factory=dict)
    broken: dict[Path, FileProblemsError] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path | None = None) -> Catalog:
        """Read the catalog of the repository at `root` (default: `MESH_ROOT`, else the one around the working folder).

        Product folders whose files did not change come from the compiled index (`catalog.index`)."""
        root = Path(root).resolve() if root is not None else find_mesh_root()
        catalog = cls(root=root, domains={d.name: d for d in read_workspace(root)})
        index = CatalogIndex(root)
        for domain in catalog.domains.values():
            read = []
            for recipe_file in sorted(domain.defs_folder.rglob(RECIPE_FILE)):
                product = index.cached(recipe_file)
                if product is None:
                    try:
                        product = read_product_folder(recipe_file, domain.name)
                    except FileProblemsError as error:
                        catalog.broken[recipe_file] = error
                        continue
                    except Exception as error:  # whatever one folder's files cause, the other folders are read
                        message = f"the product folder cannot be read: {type(error).__name__}: {error}"
                        problem = Problem(recipe_file, "", None, message)
                        catalog.broken[recipe_file] = RecipeError([problem])
                        continue
                    index.keep(product)
                read.append(product)
            for product, owner in _claims(read):
                if owner is None:
                    catalog.products[product.address] = product
                else:
                    catalog.broken[product.recipe_file] = duplicate_error(product, owner)
        index.save()
        return catalog

    @functools.cached_property
    def agreements(self) -> Agreements:
        """The mesh's usage agreements, as their files are when first asked for (`catalog.agreements`)."""
        return Agreements.load(self.root, self.domains)

    def by_recipe_file(self, recipe_file: Path) -> Product | None:
        """The product read from `recipe_file`, if it is in the catalog."""
        found = self._by_recipe_file.get(str(recipe_file))
        if found is None:  # another spelling of the path (a link, a relative path)
            wanted = Path(recipe_file).resolve()
            found = next((p for p in self.products.values() if p.recipe_file.resolve() == wanted), None)
        return found

    @functools.cached_property
    def _by_recipe_file(self) -> dict[str, Product]:
        return {str(p.recipe_file): p for p in self.products.values()}

    def product(self, address: Address | str) -> Product:
        """The product at an address; an unknown address names the products that do exist."""
        wanted = (Address.parse(address) if isinstance(address, str) else address).unversioned()
        if wanted in self.products:
            return self.products[wanted]
        if wanted.domain not in self.domains:
            known = ", ".join(sorted(self.domains)) or "none"
            raise AddressError(f"{wanted}: there is no domain '{wanted.domain}' (domains: {known})")
        if (reason := self.unloadable(wanted)) is not None:
            raise AddressError(f"{wanted}: {reason}")
        known = ", ".join(p.address.product for p in self.in_domain(wanted.domain)) or "none"
        raise AddressError(f"{wanted}: domain '{wanted.domain}' has no product '{wanted.product}' (its products: {known})")

    def unloadable(self, address: Address) -> str | None:
        """Why the product folder at `address` cannot be loaded (it exists, but its files are broken), or None."""
        domain = self.domains.get(address.domain)
        folder = domain.defs_folder / address.product if domain else None
        error = self.broken.get(folder / RECIPE_FILE) if folder else None
        if error is None:
            return None
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        return f"its folder {folder} cannot be loaded: {error.problems[0]}{more}"

    def port_address(self, address: Address | str) -> Address:
        """The port an address reads: its own `@v<major>`, else the product's current major."""
        address = Address.parse(address) if isinstance(address, str) else address
        product = self.product(address)
        return address.at_major(address.major if address.major is not None else product.contract.major)

    def deprecation(self, address: Address | str, today: dt.date | None = None) -> str | None:
        """The warning for reading an older major version; raises `PortError` once it is retired."""
        address = Address.parse(address) if isinstance(address, str) else address
        contract = self.product(address).contract
        if address.major is None or address.major >= contract.major:
            return None
        current = address.at_major(contract.major)
        until = contract.settings.serve_previous_major_until
        if until is not None and (today or dt.date.today()) > until:
            raise PortError(f"{address} was retired on {until}; read {current} instead (its contract: {contract.file})")
        when = f"served until {until}" if until else "no retirement date set"
        return f"{address} is deprecated: version {contract.version} is current ({when}); move to {current}"

    def in_domain(self, domain: str) -> list[Product]:
        return [p for p in self.products.values() if p.address.domain == domain]

    def upstream(self, product: Product) -> list[Product]:
        """The products this one reads that the catalog knows (an unknown input fails at build time)."""
        return [self.products[i.address.unversioned()] for i in product.inputs if i.address.unversioned() in self.products]

    def downstream(self, product: Product) -> list[Product]:
        """The products that read this one."""
        return sorted(
            (p for p in self.products.values() if any(i.address.unversioned() == product.address for i in p.inputs)),
            key=lambda p: p.address,
        )

    def broken_in(self, domain: str) -> dict[Path, FileProblemsError]:
        """Broken product folders of a domain (its code location loads each as a broken product)."""
        folder = self.domains[domain].folder
        return {file: error for file, error in self.broken.items() if file.is_relative_to(folder)}

    def input_chain(self, start: Address, goal: Address) -> list[Address] | None:
        """The shortest chain of inputs from product `start` to product `goal` (each reads the next), if any."""
        return shortest_path(self._input_edges, start.unversioned(), goal.unversioned())

    @functools.cached_property
    def _input_edges(self) -> dict[Address, set[Address]]:
        """Each product → the products it reads (a catalog is read whole, then only looked at)."""
        return {p.address: {i.address.unversioned() for i in p.inputs} for p in self.products.values()}

    def loops(self) -> dict[Address, list[Address]]:
        """The products whose inputs lead back to them, each with its shortest loop (it first and last).

        No build order exists for them (policy `mesh.no-product-cycles`): their code
        locations load them as broken products and `mesh materialize` fails them."""
        found = {}
        for product in self.products.values():
            chains = [c for i in product.inputs if (c := self.input_chain(i.address, product.address)) is not None]
            if chains:
                found[product.address] = [product.address, *min(chains, key=len)]
        return found

    def ordered(self, addresses: Iterable[Address] | None = None) -> list[Product]:
        """The products (all, or those at `addresses`) in dependency order, inputs first.

        Products in a dependency loop (`loops()`) have no place in any order: they are left out."""
        looped = self.loops()
        wanted = {self.product(a).address for a in addresses} if addresses is not None else set(self.products)
        graph: dict[Address, list[Address]] = {}  # the selection and everything it reads → its inputs
        pending = sorted(wanted - set(looped))
        while pending:
            address = pending.pop()
            if address not in graph:
                graph[address] = sorted(u.address for u in self.upstream(self.products[address]) if u.address not in looped)
                pending += graph[address]
        order = graphlib.TopologicalSorter(dict(sorted(graph.items()))).static_order()
        return [self.products[address] for address in order if address in wanted]


def _claims(products: list[Product]) -> Iterator[tuple[Product, Product | None]]:
    """Each product read, with the product that already holds its address (None: it holds it itself).

    Of folders claiming one address (a folder copied without renaming its product), the folder named
    after the product keeps it, else the first in path order: the copy is the broken one."""
    by_address: dict[Address, list[Product]] = {}
    for product in products:
        by_address.setdefault(product.address, []).append(product)
    for claims in by_address.values():
        owner = next((p for p in claims if p.folder.name == p.address.product), claims[0])
        yield owner, None
        yield from ((product, owner) for product in claims if product is not owner)


def duplicate_error(product: Product, owner: Product) -> RecipeError:
    """The problem of a product folder whose contract names a product another folder already holds."""
    message = f"{product.address} is already the product of {owner.folder} (is this folder a copy of it?)"
    fix = "give this product a name of its own (the contract's name), or delete the folder"
    return RecipeError([product.contract.source.problem(("name",), message, fix)])


def read_product_folder(recipe_file: Path, domain: str | None = None) -> Product:
    """Read one product folder: the recipe's type, contract and inputs (no Dagster needed)."""
    document = load_yaml_document(recipe_file, RecipeError)

    def refuse(path: tuple, message: str, fix: str) -> RecipeError:
        return RecipeError([document.problem(("attributes", *path), message, fix)])

    attributes = document.data.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise refuse(
            (),
            f"attributes must be a mapping of settings, not {kind_of(attributes)}",
            "write attributes: then indented name: value lines",
        )
    inputs = attributes.get("inputs") or []
    if not isinstance(inputs, list):
        raise refuse(
            ("inputs",),
            f"inputs must be a list of product addresses, not {kind_of(inputs)}",
            "write inputs: [mesh://<domain>/<product>, …]",
        )
    if (index := next((i for i, item in enumerate(inputs) if not isinstance(item, str)), None)) is not None:
        raise refuse(
            ("inputs", index), f"an input is a product address, not {kind_of(inputs[index])}", "write mesh://<domain>/<product>"
        )
    contract_file = attributes.get("contract", DEFAULT_CONTRACT_FILE)
    if not isinstance(contract_file, str):
        raise refuse(
            ("contract",),
            f"contract must be a file name, not {kind_of(contract_file)}",
            f"write contract: {DEFAULT_CONTRACT_FILE}",
        )
    recipe_type = str(document.data.get("type", ""))
    return assemble_product(recipe_file, recipe_type=recipe_type, contract_file=contract_file, inputs=inputs, domain=domain)


def assemble_product(
    recipe_file: Path, recipe_type: str, contract_file: str, inputs: list[str], domain: str | None = None
) -> Product:
    """A product from its recipe's settings; the contract must belong to the folder's domain."""
    domain = domain or domain_of(recipe_file)
    contract = load_contract(recipe_file.parent / contract_file)
    if contract.domain != domain:
        raise RecipeError(
            [
                contract.source.problem(
                    ("domain",),
                    f"the contract says domain '{contract.domain}' but the product lives in domain '{domain}'",
                    f"set domain: {domain}",
                )
            ]
        )
    try:
        parsed = parse_inputs(inputs)
    except AddressError as error:
        document = load_yaml_document(recipe_file, RecipeError)
        raise RecipeError(
            [
                document.problem(
                    ("attributes", "inputs", _bad_input(inputs)), str(error), "write inputs as mesh://<domain>/<product>"
                )
            ]
        ) from None
    return Product(contract=contract, recipe_file=recipe_file, recipe_type=recipe_type, inputs=parsed)


def _bad_input(inputs: list[str]) -> int:
    """The index of the first input that does not parse, or that repeats an earlier one's alias."""
    for index in range(len(inputs)):
        try:
            parse_inputs(inputs[: index + 1])
        except AddressError:
            return index
    return 0


def shortest_path(edges: dict, start, goal) -> list | None:
    """The shortest chain of `edges` (node → the nodes it leads to) from `start` to `goal`, breadth first, or None."""
    trail, seen = [[start]], {start}
    while trail:
        path = trail.pop(0)
        if path[-1] == goal:
            return path
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt not in seen:
                seen.add(nxt)
                trail.append([*path, nxt])
    return None
