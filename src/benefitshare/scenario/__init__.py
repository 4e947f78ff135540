"""Scenario files: schema, project table, loading with inheritance and overrides, checks."""
