"""Stage timings of one audit (``--profile``, ``audit(profile=Profiler())``): wall time, CPU time, rows and peak
memory of each stage (the load of each file, each rule, attribution, scoring, reconciliation, each renderer).

The stages mark themselves with :func:`stage`, which reads the profiler of the current context (a
``ContextVar``): the stages need no profiler argument threaded through every signature, and with no profiler
active a stage costs one lookup. The profiler only measures; the CLI prints its :meth:`Profiler.table` to
standard error, so the report on standard output is the same with or without it.

Peak memory is each stage's own: the process's resident high-water mark (``VmHWM``) is reset as a stage
begins (``/proc/self/clear_refs``, Linux) and read as it ends; a stage inside another (the pricing build
inside PRC001) folds its peak into its parent's. Where the mark cannot be reset the figure is the process's
peak so far, and the table says so.
"""

from __future__ import annotations

import contextvars
import os
import resource
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

_CURRENT: contextvars.ContextVar["Profiler | None"] = contextvars.ContextVar("audit_logs_profiler", default=None)


@dataclass
class Stage:
    """One measured stage; ``rows`` may be set inside the ``with`` block, once they are known."""

    name: str
    depth: int = 0
    rows: int | None = None
    wall: float = 0.0
    cpu: float = 0.0
    peak_kb: int = 0
    _max_kb: int = field(default=0, repr=False)  # the highest mark seen before a child stage reset it


class _Null(Stage):
    """The stage handed out when no profiler is active: setting its rows does nothing anyone reads."""


def _hwm_kb() -> int:
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux; never reset


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # 5: reset the peak RSS to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _cpu() -> float:
    t = os.times()
    return t.user + t.system  # every thread of the process: DuckDB's workers included


class Profiler:
    def __init__(self) -> None:
        self.stages: list[Stage] = []
        self._open: list[Stage] = []
        self.per_stage_peak = True  # False once the high-water mark could not be reset
        self._peak_kb = 0  # every mark read before a reset: the process's peak survives the per-stage resets

    @contextmanager
    def active(self) -> Iterator["Profiler"]:
        """Make this the profiler that :func:`stage` reports to, for the ``with`` block (nesting is fine: the
        CLI activates it around the audit and the renderers, ``audit()`` around its own stages)."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    @contextmanager
    def stage(self, name: str, rows: int | None = None) -> Iterator[Stage]:
        mark = _hwm_kb()
        self._peak_kb = max(self._peak_kb, mark)
        for s in self._open:  # the parents' peaks so far survive the reset below
            s._max_kb = max(s._max_kb, mark)
        self.per_stage_peak = self.per_stage_peak and _reset_hwm()
        st = Stage(name, depth=len(self._open), rows=rows)
        self.stages.append(st)  # in start order: a parent is listed above its children
        self._open.append(st)
        t0, c0 = time.perf_counter(), _cpu()
        try:
            yield st
        finally:
            st.wall, st.cpu = time.perf_counter() - t0, _cpu() - c0
            st.peak_kb = max(_hwm_kb(), st._max_kb)
            self._peak_kb = max(self._peak_kb, st.peak_kb)
            self._open.pop()
            if self._open:
                self._open[-1]._max_kb = max(self._open[-1]._max_kb, st.peak_kb)

    def process_peak_kb(self) -> int:
        """The process's peak RSS so far. ``VmHWM`` alone no longer says it once a stage has reset it."""
        return max(self._peak_kb, _hwm_kb())

    def rows_of(self, prefix: str) -> int:
        """The rows of the top-level stages whose name starts with ``prefix`` (``"load "``: records read)."""
        return sum(s.rows or 0 for s in self.stages if s.depth == 0 and s.name.startswith(prefix))

    def table(self) -> str:
        """The stages as a fixed-width table, one line each, children indented under their parent."""
        peak = "peak RSS" if self.per_stage_peak else "peak RSS*"
        width = max([len("stage")] + [len(s.name) + 2 * s.depth for s in self.stages])
        lines = [f"{'stage':<{width}}  {'wall s':>8}  {'CPU s':>8}  {'rows':>11}  {peak:>9}"]
        for s in self.stages:
            rows = "" if s.rows is None else f"{s.rows:,}"
            label = "  " * s.depth + s.name
            lines.append(f"{label:<{width}}  {s.wall:>8.3f}  {s.cpu:>8.3f}  {rows:>11}  {s.peak_kb / 1024:>6,.0f} MB")
        top = [s for s in self.stages if s.depth == 0]
        lines.append(f"{'total (top-level stages)':<{width}}  {sum(s.wall for s in top):>8.3f}  {sum(s.cpu for s in top):>8.3f}"
                     f"  {'':>11}  {self.process_peak_kb() / 1024:>6,.0f} MB (the process's peak)")
        lines.append("rows: records read (load), records flagged (rule), records (attribution, reconciliation), "
                     "teams (scoring), characters written (render), rows written (export)")
        if not self.per_stage_peak:
            lines.append("* the process's peak so far: its high-water mark could not be reset per stage")
        return "\n".join(lines) + "\n"


@contextmanager
def stage(name: str, rows: int | None = None) -> Iterator[Stage]:
    """Measure the ``with`` block as a stage of the active profiler, if any."""
    prof = _CURRENT.get()
    if prof is None:
        yield _Null(name)
        return
    with prof.stage(name, rows) as st:
        yield st
