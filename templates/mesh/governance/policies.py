"""The governance group's own mesh-wide policies: every product of every domain meets them,
on top of the platform's (`mesh policies` lists all). Each is a function over one product that
yields a `Finding` per problem; its id starts with `governance.` and its docstring's first line
says what it requires. `mesh check` runs them, and so does every build (a blocking check).

    from mesh_platform.governance import Finding, policy

    @policy("governance.named-steward", severity="warning")
    def named_steward(product, mesh):
        \"\"\"Every product names a data steward among its team members.\"\"\"
        if not any("steward" in (m.role or "").lower() for m in product.contract.members):
            yield Finding("the product has no data steward", "add a team member with role: steward", ("team", "members"))
"""
