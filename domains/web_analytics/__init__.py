"""The web analytics domain (the clicks subdomain): page views and sessions of the shop website."""
