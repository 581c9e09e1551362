"""`mesh new`: domains and products from the templates in `templates/`.

  domain.new_domain, product.new_product, templates.load_templates
(imported from their modules: the product planner loads the recipe types, and with them Dagster).
"""
