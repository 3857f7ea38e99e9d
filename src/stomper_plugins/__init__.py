"""stomper's built-in plugins. They use only the public ``stomper`` API, as any plugin would."""
