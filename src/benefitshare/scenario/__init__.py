"""Scenario files: the schema, the project table, loading with inheritance and overrides, checks.

The layer above the split rules and below the model: ``schema`` (the sections of a scenario file
and :class:`~benefitshare.scenario.schema.ScenarioSpec`), ``uncertainty`` (the ``[uncertainty]``
section), ``projects`` (the CSV project table), ``load`` (reading files, ``base =``
inheritance, overrides, :class:`~benefitshare.scenario.load.Scenario`), ``messages`` (which file
set each key; validation errors as problems) and ``checks`` (checks across sections).
"""
