"""The marketing domain: campaigns and the customer view they target, built from the other domains' products."""
