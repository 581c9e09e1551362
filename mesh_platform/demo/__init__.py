"""The demo mesh's source data (`mesh seed`)."""

# Sales orders `mesh seed` writes by default; the other domains scale with it.
DEFAULT_ROWS = 2000
