"""Find the input files and open them, decompressing .gz / .zst by their magic bytes."""

from __future__ import annotations

import glob
import gzip
import io
import os
import re
from pathlib import Path
from typing import IO, Iterable

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
# Files a directory walk passes over: they are never gateway logs.
_SKIP_SUFFIXES = {".md", ".txt", ".toml", ".yaml", ".yml", ".ini", ".cfg", ".py", ".sh", ".html", ".png", ".svg"}


class InputError(Exception):
    """Input the audit cannot use at all (a missing path, an unknown format): exit code 2."""


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(path: str | os.PathLike) -> bool:
    """s3a://, abfss://, gs://, hdfs://, file://…: an input Spark reads where it is (auditor.engine.spark_load)."""
    return bool(_URI.match(os.fspath(path)))


def _is_hidden(path: Path) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in path.parts)


def discover(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, directories (recursively) and globs into a sorted, de-duplicated file list.

    Sorting makes the audit independent of the order the user named the inputs in.
    """
    return discover_all(paths)[0]


def discover_all(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[tuple[Path, str, bool]]]:
    """(files to read, passed over) for ``paths``: each passed-over entry of a directory is (path, why,
    unreadable): a file skipped for its extension (not unreadable), or one that cannot be opened (a
    directory or file without read permission, a broken link: unreadable, counted against the gate)."""
    found: set[Path] = set()
    passed: dict[Path, tuple[str, bool]] = {}
    for raw in paths:
        raw = os.fspath(raw)
        # A path that exists is itself, even when its name holds glob characters (a[b].jsonl is not ab.jsonl).
        literal = os.path.lexists(raw) or not glob.has_magic(raw)
        matches = [Path(raw)] if literal else [Path(m) for m in glob.glob(raw, recursive=True)]
        if not matches:
            raise InputError(f"{raw}: no file matches this pattern")
        for p in matches:
            if p.is_dir():
                _walk(p, found, passed)
            elif p.is_file():
                found.add(p)
            elif not p.exists():
                raise InputError(f"{raw}: no such file or directory")
            else:
                raise InputError(f"{raw}: not a regular file")
    for p in list(found):
        if not os.access(p, os.R_OK):
            found.discard(p)
            passed[p] = ("cannot open: permission denied", True)
    skipped = [(p, why, bad) for p, (why, bad) in sorted(passed.items(), key=lambda kv: kv[0].as_posix())]
    return sorted(found, key=lambda p: p.as_posix()), skipped


def _walk(top: Path, found: set[Path], passed: dict[Path, tuple[str, bool]]) -> None:
    def failed(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else top
        if not _is_hidden(where.relative_to(top) if where.is_relative_to(top) else where):
            passed[where] = (f"cannot open: {exc.strerror or exc}", True)

    for root, dirs, files in os.walk(top, onerror=failed):
        rel_root = Path(root).relative_to(top)
        dirs[:] = [d for d in dirs if not _is_hidden(rel_root / d)]
        for name in files:
            sub = Path(root) / name
            if _is_hidden(rel_root / name):
                continue
            if sub.suffix.lower() in _SKIP_SUFFIXES:
                passed[sub] = (f"skipped: {sub.suffix.lower()} files are documentation, code or configuration, "
                               "not gateway logs (name the file itself to read it)", False)
            elif sub.is_file():
                found.add(sub)
            elif os.path.islink(sub) and not sub.exists():
                passed[sub] = ("cannot open: a broken symbolic link", True)
            else:
                passed[sub] = ("skipped: not a regular file", False)


def compression_of(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


# Byte-order marks of the encodings read besides UTF-8 (UTF-32 first: its little-endian mark starts like UTF-16's).
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def text_kind(path: Path) -> str | None:
    """How the decompressed bytes must be transformed before they are UTF-8 lines: an encoding named by a
    byte-order mark, "cr" for a file whose lines end in a bare CR (old Mac), or None (plain UTF-8 lines)."""
    with _open_raw(path) as fh:
        try:
            head = fh.read(65536)
        except Exception:  # noqa: BLE001 - a damaged stream: the readers report it
            return None
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc
    if b"\r" in head and b"\n" not in head:
        return "cr"
    return None


class _Transcoded(io.RawIOBase):
    """UTF-8 bytes with LF line ends from a stream in another encoding or with CR line ends."""

    def __init__(self, raw: IO[bytes], kind: str):
        self.raw, self.kind, self.buf = raw, kind, b""
        if kind != "cr":
            # A decoding error becomes U+FFFD in the one line that holds it; the rest of the file reads.
            self.text = io.TextIOWrapper(raw, encoding=kind,
                                         errors="replace", newline=None)
            self.text.read(0)
            self._skip_bom = True

    def readable(self) -> bool:
        return True

    def _more(self, n: int) -> bytes:
        if self.kind == "cr":
            return self.raw.read(n).replace(b"\r", b"\n")
        chunk = self.text.read(max(n // 2, 1))
        if getattr(self, "_skip_bom", False):
            chunk, self._skip_bom = chunk.lstrip("\ufeff"), False
        return chunk.encode("utf-8", errors="replace")

    def readinto(self, b) -> int:
        if not self.buf:
            self.buf = self._more(len(b))
        n = min(len(b), len(self.buf))
        b[:n], self.buf = self.buf[:n], self.buf[n:]
        return n

    def close(self) -> None:
        (self.raw if self.kind == "cr" else self.text).close()
        super().close()


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes as UTF-8 lines: decompressed when it is gzip or zstd (whatever its name says), decoded
    when a byte-order mark names UTF-16/32, bare-CR line ends made LF."""
    kind = text_kind(path)
    fh = _open_raw(path)
    return io.BufferedReader(_Transcoded(fh, kind), 1 << 20) if kind else fh


# Files whose readers report how far they have got (see :class:`ByteMeter`), by absolute path. A plain dict,
# not a context variable: the reader runs in whichever DuckDB thread pulls the next batch.
_METERS: dict[str, "ByteMeter"] = {}


class ByteMeter:
    """How far the readers of one file have got, in bytes of the file on disk: compressed bytes for .gz and
    .zst, the CSV's own bytes, not those of the JSON documents made of it. A percentage of the file's size is
    only right in those units (counting decompressed or re-encoded bytes ran past 100%, or sat at 0%)."""

    def __init__(self, path: Path):
        self.key = os.path.abspath(path)
        self.pos = 0

    def __enter__(self) -> "ByteMeter":
        _METERS[self.key] = self
        return self

    def __exit__(self, *exc) -> None:
        _METERS.pop(self.key, None)


class _Metered(io.RawIOBase):
    def __init__(self, fh: IO[bytes], meter: ByteMeter):
        self.fh, self.meter = fh, meter

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.fh.readinto(b)
        if n:
            # The furthest any reader got: a file read twice (lines counted, then parsed) does not count double.
            self.meter.pos = max(self.meter.pos, self.fh.tell())
        return n

    def close(self) -> None:
        self.fh.close()
        super().close()


def _open_disk(path: Path) -> IO[bytes]:
    meter = _METERS.get(os.path.abspath(path))
    fh = open(path, "rb")
    return io.BufferedReader(_Metered(fh, meter), 1 << 16) if meter else fh


def _open_raw(path: Path) -> IO[bytes]:
    kind = compression_of(path)
    if kind == "gzip":
        fh = _open_disk(path)
        g = gzip.GzipFile(fileobj=fh, mode="rb")
        g.myfileobj = fh  # closed with it, as gzip.open does for the file it opens itself
        return g
    if kind == "zstd":
        return io.BufferedReader(_Zstd(_open_disk(path)))  # _Zstd imports zstandard as it is made
    return _open_disk(path)


class _Zstd(io.RawIOBase):
    """A zstd stream of one or more frames, fed to the decoder in small steps: when a frame is damaged, the
    output of everything before the damage has been handed out before the error is raised (a stream reader
    that decodes 128 KiB of input at a time would lose it)."""

    STEP = 4096

    def __init__(self, fh):
        import zstandard

        self.fh, self.zstd, self.buf, self.exc = fh, zstandard, b"", None
        self.d = zstandard.ZstdDecompressor().decompressobj()

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self.buf:
            if self.exc is not None:
                exc, self.exc = self.exc, None
                raise exc
            chunk = self.fh.read(self.STEP)
            if not chunk:
                return 0
            out = b""
            try:
                out += self.d.decompress(chunk)
                while self.d.eof and self.d.unused_data:  # the next frame starts in this chunk
                    rest = self.d.unused_data
                    self.d = self.zstd.ZstdDecompressor().decompressobj()
                    out += self.d.decompress(rest)
                if self.d.eof:
                    self.d = self.zstd.ZstdDecompressor().decompressobj()
            except self.zstd.ZstdError as exc:
                self.exc = OSError(f"zstd: {exc}")  # raised once the frames decoded before it are read
            self.buf = out
        n = min(len(b), len(self.buf))
        b[:n], self.buf = self.buf[:n], self.buf[n:]
        return n

    def close(self) -> None:
        self.fh.close()
        super().close()


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
