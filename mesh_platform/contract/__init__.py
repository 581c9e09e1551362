"""The data contract: the ODCS v3.1 model with what the mesh adds, how contracts change, how they are exported."""
