"""`mesh new`: domains and products from the folders of `templates/`, written all at once or not at all.

domain.new_domain     a domain package, registered as a code location in workspace.yaml
product.new_product   a product folder from its recipe type's template, its contract planned from its inputs
plans                 what a recipe type's plan says: columns, settings, notes
templates             rendering a template folder (Jinja2)
"""
