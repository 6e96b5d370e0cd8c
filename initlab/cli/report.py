"""`initlab report` (issue 2): being built."""

from __future__ import annotations

__all__ = ["COMMANDS"]

COMMANDS: list = []
