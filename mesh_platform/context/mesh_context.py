"""One context per command and per code location: what the mesh is, read once where it starts, and handed down.

A `mesh` command makes one in its entry point (`cli.context`), a domain's code location in `domain_definitions`,
a consumer's `read_product` when given none. It holds the settings (the environment, and the deployment named
once: `--env` is given here, never through `os.environ`), what is read from the repository's files — the
catalog, the glossary, the principals and the policy files, the recipes' column lineage — each read the first
time it is asked for and kept for the context's life, and who the command acts as (`identity`). Nothing is
kept between contexts: two contexts over two meshes in one process see their own files, and a context made
after an edit sees the edit.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.governance.identity import Identity, resolve_identity
from mesh_platform.governance.reads import PortReader
from mesh_platform.governance.view import MeshView
from mesh_platform.lineage.mesh_lineage import MeshLineage
from mesh_platform.lineage.recipe_lineage import RecipeLineage
from mesh_platform.storage.ports import PortStore


@dataclass(eq=False)
class MeshContext:
    """The mesh one command or one code location works on."""

    settings: MeshSettings
    _identities: dict[tuple[str | None, str], Identity] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_env(
        cls,
        environment: str | None = None,
        *,
        start: Path | None = None,
        root: Path | None = None,
        require_environment: bool = True,
    ) -> MeshContext:
        """The mesh the process's environment names (`environment`: the deployment, over MESH_ENV; `root`: the
        repository, e.g. a code location's own; see `MeshSettings.from_env`)."""
        return cls(
            MeshSettings.from_env(start=start, root=root, require_environment=require_environment, environment=environment)
        )

    @functools.cached_property
    def catalog(self) -> Catalog:
        """The mesh's domains and products, as the repository's files are when first asked for."""
        return Catalog.load(self.settings.root)

    @functools.cached_property
    def view(self) -> MeshView:
        """The mesh as policies see it from the repository's files (no published state: what definitions load with)."""
        return MeshView.of(self.catalog, self.settings.glossary_file, lineage_of=_recipe_lineage)

    @functools.cached_property
    def checked_view(self) -> MeshView:
        """The view with the mesh's published state (what `mesh check` looks at; never a development namespace's)."""
        return self.view.with_ports(PortStore.of(self.settings.published))

    @property
    def lineage(self) -> MeshLineage:
        """Column lineage of the mesh's products (each computed when first asked for)."""
        return self.view.lineage

    @functools.cached_property
    def ports(self) -> PortStore:
        """The ports this context reads and writes (a development namespace's over the mesh's, when it names one)."""
        return PortStore.of(self.settings)

    @functools.cached_property
    def reader(self) -> PortReader:
        """Reads the mesh's ports as consumers do: access rules, masking, the access log."""
        return PortReader(
            catalog=self.catalog,
            ports=self.ports,
            log=AccessLog(self.settings.access_log_target),
            principals=self.view.readers,  # no hashing key: reading never needs one
            clock=self.settings.clock,
        )

    def identity(self, claimed: str | None = None, claimed_by: str = "--as") -> Identity:
        """Who this command acts as (`claimed`: the name given by `claimed_by`): the caller's word on the embedded shape,
        the store credentials' principal in a deployment (asked of the store once per context)."""
        key = (claimed, claimed_by)
        if key not in self._identities:
            self._identities[key] = resolve_identity(self.settings.deployment, self.view.readers, claimed, claimed_by)
        return self._identities[key]

    def in_dev(self, name: str | None = None) -> MeshContext:
        """This mesh in a development namespace (default: the user's own); the files already read are kept."""
        context = MeshContext(self.settings.in_dev(name))
        for kept in ("catalog", "view"):
            if kept in self.__dict__:
                context.__dict__[kept] = self.__dict__[kept]
        return context


def _recipe_lineage(product: Product, inputs: Mapping[str, list[str]]) -> RecipeLineage:
    """The lineage a product's recipe states (`recipes.base.recipe_lineage`, Dagster-bound: loaded when first asked)."""
    from mesh_platform.recipes.base import recipe_lineage

    return recipe_lineage(product, inputs)
