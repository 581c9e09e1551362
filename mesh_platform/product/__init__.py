"""A data product in Dagster: its asset, its checks, its build, and the platform resources it uses."""
