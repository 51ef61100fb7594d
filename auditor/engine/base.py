"""What every engine offers the stages after the load."""

from __future__ import annotations

from typing import Any, Protocol, Sequence


class EngineError(RuntimeError):
    """The engine cannot run (not installed, cannot start): a usage error, exit 2."""


class Result(Protocol):
    description: Sequence[tuple]

    def fetchall(self) -> list[tuple]: ...

    def fetchone(self) -> tuple | None: ...


class Engine(Protocol):
    name: str

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Result: ...

    def register(self, name: str, table: Any) -> None: ...

    def unregister(self, name: str) -> None: ...

    def has(self, name: str) -> bool: ...

    def write(self, sql: str, path: str, fmt: str) -> int: ...

    def write_parts(self, sql: str, path: str, fmt: str) -> int: ...
