"""The catalog: the mesh's domains and products as the repository's files declare them."""
