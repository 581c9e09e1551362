"""The customers domain: the CRM's customer profiles, built from its change events."""
