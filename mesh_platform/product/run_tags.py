"""The tags the platform puts on the Dagster runs that build products (no Dagster import: the CLI reads them too)."""

# The domain of a run, whoever launched it. Dagster's own `dagster/code_location` names it too, but only on
# runs launched through a code location (the UI, sensors, backfills): `mesh materialize` runs execute in
# process and carry none.
DOMAIN_TAG = "mesh/domain"

# Dagster's tags of a run building a range of partitions, as a single-run backfill sets them (Dagster exports no
# public constant for them): `mesh materialize` sets them on the runs it executes and on those it submits.
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

# The id `mesh materialize` gives each run it starts or submits, to find it in the instance, and who launched it.
BATCH_TAG = "mesh/batch"
LAUNCHED_BY_TAG = "mesh/launched_by"
