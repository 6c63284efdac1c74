"""Promogate: a self-hosted promotion engine served as a GraphQL API."""

__version__ = "0.1.0"
