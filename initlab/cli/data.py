"""`initlab data list|fetch|path` (issue 5): being built."""

from __future__ import annotations

__all__ = ["COMMANDS"]

COMMANDS: list = []
