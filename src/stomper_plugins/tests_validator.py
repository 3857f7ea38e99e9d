"""Built-in plugin ``pytest``: the ``tests`` validator (being written)."""
