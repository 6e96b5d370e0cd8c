"""`initlab bench` (issues 2 and 4): being built."""

from __future__ import annotations

__all__ = ["COMMANDS"]

COMMANDS: list = []
