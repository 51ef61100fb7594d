"""Progress of a long audit on standard error: records read, rate, and an ETA when the input size is known.

Shown only to a person watching: when standard error is a terminal, the ``CI`` environment variable is
not set, and ``--quiet`` was not given. The API's ``audit(progress=...)`` takes any callable of the number
of records just read; :class:`Progress` is that callable, and the loader also tells it the input's total
size (``set_total``) and the bytes read so far (``add_bytes``, for files that are not compressed, and
``file_done`` when a whole file has been read), from which the ETA follows.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Mapping

MIN_INTERVAL = 0.25  # seconds between two redraws


def should_show(quiet: bool = False, stream: IO[str] | None = None, env: Mapping[str, str] | None = None) -> bool:
    stream = sys.stderr if stream is None else stream
    env = os.environ if env is None else env
    if quiet or env.get("CI"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0) + 0.5)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """One status line on ``stream``, redrawn in place at most every MIN_INTERVAL seconds."""

    def __init__(self, stream: IO[str] | None = None, clock=time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        self.start = clock()
        self.records = 0
        self.total_bytes: int | None = None
        self.done_bytes = 0
        self._last = float("-inf")
        self._width = 0

    # -- what the loader reports ------------------------------------------------------------------
    def __call__(self, n: int) -> None:
        self.records += n
        self._maybe_draw()

    def set_total(self, total_bytes: int | None) -> None:
        self.total_bytes = total_bytes or None

    def add_bytes(self, n: int) -> None:
        self.done_bytes += n

    def file_done(self, done_bytes: int) -> None:
        """All files so far are read: ``done_bytes`` is their total size."""
        self.done_bytes = done_bytes
        self._maybe_draw()

    # -- drawing ----------------------------------------------------------------------------------
    def line(self) -> str:
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = self.records / elapsed
        text = f"audit-logs: {self.records:,} records read, {rate:,.0f} records/s"
        if self.total_bytes:
            frac = min(self.done_bytes / self.total_bytes, 1.0)
            text += f", {frac:.0%}"
            if 0 < frac < 1:
                text += f", ETA {_duration(elapsed * (1 - frac) / frac)}"
        return text

    def _maybe_draw(self) -> None:
        now = self.clock()
        if now - self._last < MIN_INTERVAL:
            return
        self._last = now
        self.draw()

    def draw(self) -> None:
        text = self.line()
        pad = max(self._width - len(text), 0)
        self._width = len(text)
        try:
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        """Clear the status line (the report that follows starts on a clean line)."""
        if self._width:
            try:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._width = 0


def for_cli(quiet: bool) -> Progress | None:
    """The progress display for the command line, or None when it must stay quiet."""
    return Progress() if should_show(quiet) else None
