"""The sales domain: customer orders and revenue."""
