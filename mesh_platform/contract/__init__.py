"""The data contract: the ODCS v3.1 model with what the mesh adds, loading, change rules, export.

model     Contract, Column: the standard's pydantic model plus addresses, SLAs, partitions, foreign keys
settings  the mesh's customProperties as typed models (access, consumers, terms, masking, widening…)
loading   load_contract: a contract file checked against ODCS v3.1 and the mesh, with lines
schedule  SLA durations and cron schedules (validated as Dagster validates them)
types     DuckDB type kinds and widening
diff      what changed between two contracts, judged by one table of rules
export    the contract with a servers entry for its port
"""
