"""Find the input files and open them, decompressing .gz / .zst by their magic bytes."""

from __future__ import annotations

import glob
import gzip
import io
import os
from pathlib import Path
from typing import IO, Iterable

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
# Files a directory walk passes over: they are never gateway logs.
_SKIP_SUFFIXES = {".md", ".txt", ".toml", ".py", ".sh", ".html", ".png", ".svg"}


class InputError(Exception):
    """Input the audit cannot use at all (a missing path, an unknown format): exit code 2."""


def _is_hidden(path: Path) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in path.parts)


def discover(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, directories (recursively) and globs into a sorted, de-duplicated file list.

    Sorting makes the audit independent of the order the user named the inputs in.
    """
    found: set[Path] = set()
    for raw in paths:
        raw = os.fspath(raw)
        matches = [Path(m) for m in glob.glob(raw, recursive=True)] if glob.has_magic(raw) else [Path(raw)]
        if not matches:
            raise InputError(f"{raw}: no file matches this pattern")
        for p in matches:
            if p.is_dir():
                for sub in p.rglob("*"):
                    rel = sub.relative_to(p)
                    if sub.is_file() and not _is_hidden(rel) and sub.suffix.lower() not in _SKIP_SUFFIXES:
                        found.add(sub)
            elif p.is_file():
                found.add(p)
            elif not p.exists():
                raise InputError(f"{raw}: no such file or directory")
            else:
                raise InputError(f"{raw}: not a regular file")
    return sorted(found, key=lambda p: p.as_posix())


def compression_of(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip or zstd (whatever its name says)."""
    kind = compression_of(path)
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "zstd":
        import zstandard

        fh = open(path, "rb")
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(fh, closefd=True))
    return open(path, "rb")


def head_bytes(path: Path, n: int = 65536) -> bytes:
    """The first ``n`` decompressed bytes, for format detection."""
    buf = bytearray()
    try:
        with open_binary(path) as fh:
            # read1 in a loop: a cut .gz/.zst shorter than n still gives its readable start (the reader then
            # reports the cut as a reject with its line) instead of failing the whole audit.
            while len(buf) < n:
                try:
                    chunk = fh.read1(n - len(buf)) if hasattr(fh, "read1") else fh.read(n - len(buf))
                except (OSError, EOFError, ValueError):
                    if buf:
                        break
                    raise
                if not chunk:
                    break
                buf += chunk
            return bytes(buf)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except Exception as exc:  # zstandard raises its own error type for corrupt frames
        raise InputError(f"{path}: cannot decompress: {exc}") from None
