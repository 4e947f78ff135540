"""The model: inputs, the pipeline stages over ``(draws, projects, years)``, and the result."""
