"""A dependency-free progress display that suits where it is shown, and stays quiet for quick work.

On a terminal it is a bar redrawn in place (``\\r``, at most ten times a second). Anywhere else (a log
file, a pipe, CI) it prints at most one plain line every ``interval`` seconds (10) and a final line,
so a log never fills with copies of the bar. Nothing at all is shown for work that ends within
``delay`` seconds (1).
"""

from __future__ import annotations

import sys
import time
from typing import IO

__all__ = ["Progress"]


class Progress:
    """Progress over ``total`` steps on ``stream`` (stderr); a context manager, :meth:`update` after each step.

    ``postfix`` shows a running value (for example the loss). ``enabled=False`` shows nothing.
    """

    def __init__(self, total: int, desc: str = "", *, enabled: bool = True, delay: float = 1.0,
                 stream: IO[str] | None = None, width: int = 28, interval: float = 10.0):
        self.total, self.desc, self.enabled, self.delay = max(int(total), 1), desc, enabled, delay
        self.stream = stream if stream is not None else sys.stderr
        self.width, self.interval = width, interval
        isatty = getattr(self.stream, "isatty", None)
        try:
            self.tty = bool(isatty()) if isatty is not None else False
        except (ValueError, OSError):  # a closed stream
            self.tty = False
        self.n = 0
        self.postfix = ""
        self._start = time.perf_counter()
        self._last = self._start
        self._drawn = False

    def __enter__(self) -> "Progress":
        self._start = self._last = time.perf_counter()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(stopped=exc_type is not None)

    def update(self, n: int = 1, postfix: str | None = None) -> None:
        self.n = min(self.n + n, self.total)
        if postfix is not None:
            self.postfix = postfix
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._start < self.delay:
            return
        if self.tty:
            if self.n < self.total and now - self._last < 0.1 and self._drawn:
                return
        elif now - self._last < self.interval:
            return
        self._last = now
        self._draw(now)

    def _line(self, now: float) -> str:
        frac = self.n / self.total
        elapsed = now - self._start
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        if not self.tty:
            return f"{self.desc}: {self.n}/{self.total} after {elapsed:.1f}s (~{eta:.0f}s left) {self.postfix}".rstrip()
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        return f"\r{self.desc} [{bar}] {self.n}/{self.total} {elapsed:5.1f}s<{eta:4.1f}s {self.postfix}"

    def _draw(self, now: float) -> None:
        try:
            self.stream.write(self._line(now) + ("" if self.tty else "\n"))
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream must not stop the work
            self.enabled = False
            return
        self._drawn = True

    def close(self, stopped: bool = False) -> None:
        """Draw the final state (if anything was shown, or the work took longer than ``delay``).

        ``stopped`` (an exception or Ctrl-C left the block): the work did not finish, so a line that was
        drawn is ended where it stood and no "done" line is printed (the error says what happened)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if stopped:
            if self.tty and self._drawn:
                try:
                    self.stream.write("\n")
                    self.stream.flush()
                except (OSError, ValueError):
                    pass
        elif not self._drawn and now - self._start < self.delay:
            return
        elif self.tty:
            self._draw(now)
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        else:
            try:
                self.stream.write(f"{self.desc}: {self.n}/{self.total} done in {now - self._start:.1f}s "
                                  f"{self.postfix}".rstrip() + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self._drawn = False
        self.enabled = False
