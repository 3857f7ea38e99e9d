"""Built-in plugin ``validators``: syntax, scope, no-suppression, relint (being written)."""
