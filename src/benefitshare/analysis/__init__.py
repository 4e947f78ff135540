"""Analysis of results: outcomes, rule comparison, solver, sensitivity."""
