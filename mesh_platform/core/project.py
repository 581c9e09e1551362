"""The mesh's project settings file, `mesh.yaml` at the mesh's root: what every command and code location of the mesh uses.

    # mesh.yaml
    name: acme                          # the mesh's name (shown by mesh init and the README stub)
    home: .mesh                         # MESH_HOME: the mesh's state (Dagster instance, DuckDB workspaces, ports, vault)
    landing: landing                    # where source files arrive, one folder per domain (kept by mesh reset)
    glossary: governance/glossary.yaml  # the governance group's glossary of shared terms
    policies: governance/policies.py    # the governance group's own mesh-wide policies, on top of the platform's
    principals: governance/principals.yaml  # the readers that are no domain (analysts, BI services), each with an owner
    macros: macros.sql                  # the mesh's SQL macros, which every domain's SQL may call
    deployment: local                   # the deployment used without --env / MESH_ENV (deploy/<name>.yaml)
    retention: 90d                      # how long old port versions stay where a contract sets no retention SLA (default: all)

Paths are relative to the mesh's root. Every setting may be left out (its default above); an environment
variable overrides the file where one exists (MESH_HOME, MESH_LANDING, MESH_GLOSSARY, MESH_ENV), so a
deployment or a test changes configuration, never the file.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mesh_platform.core.durations import parse_duration
from mesh_platform.core.errors import FileProblemsError

PROJECT_FILE = "mesh.yaml"


class ProjectFileError(FileProblemsError):
    """A `mesh.yaml` that cannot be used."""


class ProjectSettings(BaseModel):
    """What `mesh.yaml` says; each field's default is what a mesh without the file uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="The mesh's name.")
    home: str = Field(".mesh", min_length=1, description="MESH_HOME: the Dagster instance, DuckDB workspaces, ports and vault.")
    landing: str = Field(
        "landing", min_length=1, description="Where source files arrive, one folder per domain (mesh reset keeps them)."
    )
    glossary: str = Field(
        "governance/glossary.yaml", min_length=1, description="The glossary of shared terms (no file: an empty glossary)."
    )
    policies: str = Field(
        "governance/policies.py", min_length=1, description="The governance group's own mesh-wide policies (no file: none)."
    )
    principals: str = Field(
        "governance/principals.yaml",
        min_length=1,
        description="The principals that are no domain, each with an owner (no file: the domains only).",
    )
    macros: str = Field(
        "macros.sql", min_length=1, description="The mesh's SQL macros, which every domain's SQL may call (no file: none)."
    )
    deployment: str = Field("local", description="The deployment without --env: deploy/<name>.yaml.")
    retention: str | None = Field(
        None, description="How long old port versions stay where a contract sets no retention SLA (30d, 12w…); none: all."
    )
    agreement_warning_days: int = Field(
        14, ge=0, description="How many days before a usage agreement ends mesh check warns of it."
    )

    @field_validator("home", "landing", "glossary", "policies", "principals", "macros")
    @classmethod
    def _a_path(cls, value: str) -> str:
        if "\\" in value or "\x00" in value:
            raise ValueError(f"'{value}' is not a path: write it with / (relative to the mesh's root, or absolute)")
        return value

    @field_validator("deployment")
    @classmethod
    def _a_deployment_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", value):
            raise ValueError(f"'{value}' is not a deployment name: letters, digits, '-' and '_', naming deploy/<name>.yaml")
        return value

    @field_validator("retention")
    @classmethod
    def _a_duration(cls, value: str | None) -> str | None:
        if value is not None and not parse_duration(value):
            raise ValueError(f"'{value}' is not a duration: write a count and a unit, e.g. 30d, 12w or 1y")
        return value

    @property
    def default_retention(self) -> dt.timedelta | None:
        return parse_duration(self.retention) if self.retention else None

    @classmethod
    def read(cls, root: Path) -> ProjectSettings:
        """The settings of the mesh at `root`: its `mesh.yaml`, or every default when it has none."""
        file = Path(root) / PROJECT_FILE
        if not file.is_file():
            return cls()
        from mesh_platform.core.yaml_document import load_yaml_document

        document = load_yaml_document(file, ProjectFileError)
        try:
            return cls.model_validate(document.data)
        except ValidationError as error:
            raise ProjectFileError(
                document.validation_problems(error, f"see the settings in {PROJECT_FILE}'s header or the README")
            ) from None
