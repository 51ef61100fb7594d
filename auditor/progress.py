"""Progress of a long audit on standard error: records read, rate, and an ETA when the input size is known.

Shown only to a person watching: when standard error is a terminal, the ``CI`` environment variable is
not set, and ``--quiet`` was not given. The API's ``audit(progress=...)`` takes any callable of the number
of records just read; :class:`Progress` is that callable, and the loader also tells it the input's total
size (``set_total``) and the bytes read so far (``add_bytes``, for files that are not compressed, and
``file_done`` when a whole file has been read), from which the percentage and the ETA follow: the
percentage is bytes read / bytes to read, never records, so it moves with the work.

After the load the API names each phase (``phase``: rules, one ``step`` per rule, scoring, reports), so
the line never sits still while work goes on, and ``finish`` draws the last line at 100%.
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


def _size(n: int) -> str:
    for unit, k in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= k:
            return f"{n / k:,.1f} {unit}"
    return f"{n:,} bytes"


def phase(progress, name: str, total: int | None = None) -> None:
    """Tell ``progress`` a phase begins, when it is a :class:`Progress` (a plain callable is left alone)."""
    if hasattr(progress, "phase"):
        progress.phase(name, total)


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
        self.phase_name = "reading"
        self.phase_total: int | None = None
        self.phase_done = 0
        self.phase_label = ""
        self.finished = False

    # -- what the loader reports ------------------------------------------------------------------
    def __call__(self, n: int) -> None:
        self.records += n
        self._maybe_draw()

    def set_total(self, total_bytes: int | None) -> None:
        self.total_bytes = total_bytes or None

    def add_bytes(self, n: int) -> None:
        self.done_bytes += max(n, 0)

    def file_done(self, done_bytes: int) -> None:
        """All files so far are read: ``done_bytes`` is their total size."""
        self.done_bytes = max(self.done_bytes, done_bytes)
        self._maybe_draw()

    # -- what the API reports after the load ----------------------------------------------------------
    def phase(self, name: str, total: int | None = None) -> None:
        """A new phase (``checking rules``, ``scoring teams``, ``writing reports``); drawn at once."""
        if self.total_bytes:
            self.done_bytes = self.total_bytes  # the load is over: every byte was read
        self.phase_name, self.phase_total, self.phase_done, self.phase_label = name, total, 0, ""
        self.draw()

    def step(self, label: str = "") -> None:
        """One unit of the current phase starts (a rule: its name)."""
        self.phase_done += 1
        self.phase_label = label
        self._maybe_draw()

    def finish(self) -> None:
        """The last line: 100%, how many records, how long; kept on screen (a newline ends it)."""
        self.finished = True
        self.draw()
        try:
            self.stream.write("\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass
        self._width = 0

    # -- drawing ----------------------------------------------------------------------------------
    def line(self) -> str:
        elapsed = max(self.clock() - self.start, 1e-9)
        if self.finished:
            return f"audit-logs: done, 100%: {self.records:,} records read in {_duration(elapsed)}"
        if self.phase_name != "reading":
            text = f"audit-logs: {self.records:,} records read; {self.phase_name}"
            if self.phase_total:
                text += f" {min(self.phase_done, self.phase_total)} of {self.phase_total}"
            if self.phase_label:
                text += f" ({self.phase_label})"
            return text + f", {_duration(elapsed)} so far"
        rate = self.records / elapsed
        text = f"audit-logs: reading: {self.records:,} records read, {rate:,.0f} records/s"
        if self.total_bytes:
            frac = min(self.done_bytes / self.total_bytes, 1.0)
            text += f", {frac:.0%} of {_size(self.total_bytes)}"
            if 0.01 <= frac < 1:  # no ETA from the first percent: it would swing wildly
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
