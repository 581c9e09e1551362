"""The mesh's domains: one package each, one Dagster code location each (workspace.yaml)."""
