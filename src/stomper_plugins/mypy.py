"""Built-in plugin ``mypy``: the mypy type checker (being written)."""
