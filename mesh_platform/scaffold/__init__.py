"""`mesh new`: domains and products from the templates in `templates/`."""

from mesh_platform.scaffold.domain import new_domain
from mesh_platform.scaffold.product import new_product
from mesh_platform.scaffold.templates import Template, load_templates

__all__ = ["Template", "load_templates", "new_domain", "new_product"]
