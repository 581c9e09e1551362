"""The planning domain: forecasts that combine products of several domains."""
