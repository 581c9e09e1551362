"""Using products: reading them by address, querying them with SQL, finding them."""
