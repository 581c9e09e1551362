"""What every layer shares: addresses, errors, settings, YAML with lines, names, SQL quoting."""
