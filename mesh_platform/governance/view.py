"""The mesh as governance sees it: the catalog, the glossary, and — when a product runs — its published state.

Policies look at one product and, through this view, at the rest of the mesh.
When definitions load, the view holds the repository's files only (`ports` is
None): policies that read published state wait for the product's run, where the
blocking `governance` check evaluates them, and for `mesh check`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesh_platform.catalog.catalog import Catalog, Product, shortest_path
from mesh_platform.core.address import Address
from mesh_platform.core.errors import FileProblemsError
from mesh_platform.core.project import ProjectSettings
from mesh_platform.governance.glossary import Glossary, load_glossary
from mesh_platform.governance.principals import Principals, load_principals
from mesh_platform.lineage.mesh_lineage import MeshLineage, RecipeLineageOf
from mesh_platform.storage.ports import PortStore, PortVersion

if TYPE_CHECKING:
    from mesh_platform.governance.policies import Policy, Violation

PolicyFileReading = tuple[list["Policy"], list["Violation"]]


@dataclass
class MeshView:
    """What policies may look at besides the product: the rest of the mesh."""

    catalog: Catalog
    glossary: Glossary
    glossary_error: FileProblemsError | None = None  # the glossary file's problems (then `glossary` is empty)
    ports: PortStore | None = None  # None while definitions load: no published state is read then
    today: dt.date = field(default_factory=dt.date.today)
    policies_file: Path | None = None  # the governance group's own mesh-wide policies (mesh.yaml's `policies`)
    # How to ask a product's recipe for its column lineage (`recipes.validation.recipe_lineage`, a layer above); None:
    # a view of files only, whose `lineage` cannot be asked for.
    lineage_of: RecipeLineageOf | None = None
    # Each policy file's reading, once for this view and the views made from it (`with_ports`): a file is read again
    # by the next view, never served from a reading of an earlier one.
    policy_files: dict[tuple[Path, str], Any] = field(default_factory=dict, repr=False, compare=False)
    principals: Principals | None = (
        None  # the domains and the declared consumers (mesh.yaml's `principals`); None: the domains only
    )

    @classmethod
    def of(
        cls,
        catalog: Catalog,
        glossary_file: Path,
        ports: PortStore | None = None,
        today: dt.date | None = None,
        lineage_of: RecipeLineageOf | None = None,
    ) -> MeshView:
        """The view over `catalog` with the glossary in `glossary_file` (a broken glossary is kept as its error)."""
        try:
            glossary, error = load_glossary(glossary_file), None
        except FileProblemsError as problem:
            glossary, error = Glossary(Path(glossary_file), {}), problem
        project = ProjectSettings.read(catalog.root)
        policies_file = (catalog.root / project.policies).resolve()
        principals = load_principals((catalog.root / project.principals).resolve(), catalog.domains)
        return cls(catalog, glossary, error, ports, today or dt.date.today(), policies_file, lineage_of, principals=principals)

    def with_ports(self, ports: PortStore) -> MeshView:
        """This view with published state (a run's, `mesh check`'s): the same files, read once."""
        return replace(self, ports=ports, today=dt.date.today())

    def policy_file(self, file: Path, scope: str, read: Callable[[Path, str], PolicyFileReading]) -> PolicyFileReading:
        """The policies in `file` for `scope` and its problems, as `read` reads them: once per view."""
        key = (file, scope)
        if key not in self.policy_files:
            self.policy_files[key] = read(file, scope)
        return self.policy_files[key]

    @property
    def readers(self) -> Principals:
        """Every principal: the domains, and the consumers the principals file declares."""
        return self.principals or Principals(self.catalog.root / ProjectSettings().principals, tuple(self.catalog.domains))

    @property
    def reads_state(self) -> bool:
        """Whether published state (the ports) can be read: at run time and in `mesh check`, not at load."""
        return self.ports is not None

    @functools.cached_property
    def lineage(self) -> MeshLineage:
        """Column lineage of the mesh's products (each computed when a policy first asks)."""
        if self.lineage_of is None:
            raise RuntimeError("this view was made without the recipe types: MeshView.of(..., lineage_of=recipe_lineage)")
        return MeshLineage(self.catalog, self.lineage_of)

    def find(self, address: Address) -> Product | None:
        return self.catalog.products.get(address.unversioned())

    def domain_path(self, start: str, goal: str) -> list[str] | None:
        """A chain of domain dependencies from `start` to `goal`, if one exists."""
        edges: dict[str, set[str]] = {}
        for product in self.catalog.products.values():
            for item in product.inputs:
                if item.address.domain != product.address.domain:
                    edges.setdefault(product.address.domain, set()).add(item.address.domain)
        return shortest_path(edges, start, goal)

    def versions(self, product: Product) -> list[PortVersion]:
        """Every published version of the product's current major version, newest first."""
        if self.ports is None:
            raise RuntimeError("published state is not read while definitions load; mark the policy reads_state=True")
        return self.ports.port(product.port_address).versions()

    def first_published(self, product: Product) -> dt.datetime | None:
        """When the product's current major version was first published (None before its first publish)."""
        versions = self.versions(product)
        return versions[-1].published_at if versions else None
