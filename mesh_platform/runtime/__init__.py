"""Running the mesh: domain code locations, materializing across domains, health, the UI."""
