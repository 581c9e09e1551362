"""The tags the platform puts on the Dagster runs that build products (no Dagster import: the CLI reads them too)."""

# The domain of a run, whoever launched it. Dagster's own `dagster/code_location` names it too, but only on
# runs launched through a code location (the UI, sensors, backfills): `mesh materialize` runs execute in
# process and carry none.
DOMAIN_TAG = "mesh/domain"
