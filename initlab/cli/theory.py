"""`initlab theory`, `initlab theory phase`, `initlab recommend` (issue 3): being built."""

from __future__ import annotations

__all__ = ["COMMANDS"]

COMMANDS: list = []
