"""`initlab labs`, `initlab train`, `initlab compare` (issue 5): being built."""

from __future__ import annotations

__all__ = ["COMMANDS"]

COMMANDS: list = []
