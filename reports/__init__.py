"""Renderers: they read stored finding rows, never the cluster or Git."""
