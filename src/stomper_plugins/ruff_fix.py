"""Built-in plugin ``ruff-fix``: ruff's own fixes as a deterministic agent (being written)."""
