"""Charts. Nothing in the package imports this layer except plot methods, lazily, and the CLI."""
