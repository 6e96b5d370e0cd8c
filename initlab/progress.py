"""A dependency-free progress bar that appears only when the work takes longer than a second."""

from __future__ import annotations

import sys
import time
from typing import IO

__all__ = ["Progress"]


class Progress:
    """Progress over ``total`` steps, drawn on ``stream`` (stderr) once ``delay`` seconds have passed.

    Use as a context manager and call :meth:`update` after each step; ``postfix`` shows a running
    value (for example the loss). ``enabled=False`` draws nothing. Nothing is drawn for work that
    finishes within ``delay``, so quick commands stay quiet.
    """

    def __init__(self, total: int, desc: str = "", *, enabled: bool = True, delay: float = 1.0,
                 stream: IO[str] | None = None, width: int = 28):
        self.total, self.desc, self.enabled, self.delay = max(int(total), 1), desc, enabled, delay
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.n = 0
        self.postfix = ""
        self._start = time.perf_counter()
        self._last = 0.0
        self._drawn = False

    def __enter__(self) -> "Progress":
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1, postfix: str | None = None) -> None:
        self.n = min(self.n + n, self.total)
        if postfix is not None:
            self.postfix = postfix
        now = time.perf_counter()
        if not self.enabled or now - self._start < self.delay:
            return
        if self.n < self.total and now - self._last < 0.1:
            return
        self._last = now
        self._draw(now)

    def _draw(self, now: float) -> None:
        frac = self.n / self.total
        filled = int(round(frac * self.width))
        elapsed = now - self._start
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"\r{self.desc} [{bar}] {self.n}/{self.total} {elapsed:5.1f}s<{eta:4.1f}s {self.postfix}"
        self.stream.write(line)
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
