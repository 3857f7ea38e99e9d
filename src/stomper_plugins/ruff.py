"""Built-in plugin ``ruff``: the ruff linter (being written)."""
