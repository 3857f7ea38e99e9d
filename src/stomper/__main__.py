"""``python -m stomper``."""

from __future__ import annotations

from stomper.cli import main

raise SystemExit(main())
