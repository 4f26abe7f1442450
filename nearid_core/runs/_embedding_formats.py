"""File formats behind ``nearid_core.runs.embeddings``: sources, sniffing, header peeks, reads.

Everything here works on one open binary stream and raises ``Problem(code, detail)`` without
the file's name; ``embeddings`` adds the display name. Header peeks read only the bytes that
describe an array (npy header, zip directory plus each member's npy header, parquet footer,
a text file's first line and line count), so limits are checked before any data is loaded.
Nothing is ever unpickled: ``np.load`` always runs with ``allow_pickle=False`` and object
dtypes are refused from the header before that.
"""

from __future__ import annotations

import csv
import io
import os
import re
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pyarrow as pa

FORMATS = (".npy", ".npz", ".csv", ".tsv", ".parquet")
SEPARATORS = {".csv": ",", ".tsv": "\t"}
_MAGIC = {".npy": (b"\x93NUMPY",), ".npz": (b"PK\x03\x04", b"PK\x05\x06"), ".parquet": (b"PAR1",)}
_SIGNATURES = (  # leading bytes -> what the content looks like, and the extension to use
    (b"\x93NUMPY", "a .npy array", ".npy"),
    (b"PK\x03\x04", "a zip archive such as .npz", ".npz"),
    (b"PK\x05\x06", "an empty zip archive", None),
    (b"PAR1", "a .parquet table", ".parquet"),
    (b"\x89PNG", "a PNG image", None),
    (b"\xff\xd8\xff", "a JPEG image", None),
    (b"GIF8", "a GIF image", None),
    (b"%PDF", "a PDF document", None),
    (b"\x1f\x8b", "a gzip archive", None),
    (b"\x89HDF", "an HDF5 file", None),
    (b"\x80", "a Python pickle", None),
    (b"\xff\xfe", "UTF-16 text (save it as UTF-8)", None),
    (b"\xfe\xff", "UTF-16 text (save it as UTF-8)", None),
)
# What a truncated, garbled or foreign file raises from numpy, zipfile, pyarrow or pandas.
_DAMAGE = (ValueError, OSError, EOFError, KeyError, IndexError, TypeError, OverflowError,
           SyntaxError, NotImplementedError, RuntimeError, tokenize.TokenError,
           zipfile.BadZipFile, zlib.error, struct.error, csv.Error, pa.ArrowException)
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


class Problem(Exception):
    """A bad file described without its name: ``code`` is a slug, ``detail`` one line."""

    def __init__(self, code: str, detail: str):
        super().__init__(code, detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class ArrayInfo:
    """What a ``.npy`` header says: the npz key (None for a ``.npy`` file), shape and dtype."""

    key: str | None
    shape: tuple[int, ...]
    dtype: np.dtype


@dataclass(frozen=True)
class Source:
    """An opened file: display name, lower-case extension, seekable stream, size in bytes."""

    name: str
    ext: str
    stream: IO[bytes]
    size: int


def one_line(error: BaseException | str, limit: int = 200) -> str:
    """An exception's text on one line, without file paths (OSError keeps its strerror)."""
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def display_name(source: Any, name: str | None = None) -> str:
    """The name to show: ``name``, else the source's ``.name`` or path, base name only."""
    raw = name if name is not None else getattr(source, "name", None)
    if raw is None and isinstance(source, str | os.PathLike):
        raw = os.fspath(source)
    base = str(raw or "").replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[\x00-\x1f\x7f]", "?", base).strip() or "upload"


@contextmanager
def damaged(what: str) -> Iterator[None]:
    """Turn a library's complaint about broken content into ``Problem('unreadable')``."""
    try:
        yield
    except _DAMAGE as e:
        raise Problem("unreadable", f"cannot be read as {what}: {one_line(e)}") from None


@contextmanager
def opened(source: Any, name: str, max_bytes: int) -> Iterator[Source]:
    """Open a path, bytes or binary file-like; check extension, size and leading bytes."""
    ext = os.path.splitext(name)[1].lower()
    _check_extension(ext)
    own = isinstance(source, str | os.PathLike)
    try:
        stream = open(source, "rb") if own else _as_stream(source, max_bytes)  # noqa: SIM115
    except OSError as e:
        raise Problem("unreadable", f"cannot be opened: {one_line(e)}") from None
    try:
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
        if size > max_bytes:
            raise Problem("too_large", f"is {mb(size)}; the limit is {mb(max_bytes)}")
        if size == 0:
            raise Problem("empty", "is empty (0 bytes)")
        _check_content(stream, ext)
        yield Source(name, ext, stream, size)
    finally:
        if own:
            stream.close()


def mb(n_bytes: float) -> str:
    """Bytes as MB (2**20 bytes, as Streamlit's maxUploadSize counts them)."""
    return f"{n_bytes / 2**20:,.1f} MB"


def _as_stream(source: Any, max_bytes: int) -> IO[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    if not hasattr(source, "read"):
        raise TypeError(f"source must be a path, bytes or a binary file object; got {type(source)}")
    if getattr(source, "seekable", lambda: False)():
        return source
    return io.BytesIO(source.read(max_bytes + 1))  # enough to tell that it is too large


def _check_extension(ext: str) -> None:
    if ext in (".pkl", ".pickle", ".pt", ".pth", ".joblib"):
        raise Problem("wrong_type", f"is a {ext} file, which nearid never loads because loading "
                      "it can run code; save the array with np.save instead")
    if ext not in FORMATS:
        raise Problem("wrong_type", f"has extension {ext or '(none)'!r}; accepted: "
                      + ", ".join(FORMATS))


def _check_content(stream: IO[bytes], ext: str) -> None:
    head = stream.read(512)
    stream.seek(0)
    if ext in _MAGIC and not head.startswith(_MAGIC[ext]):
        raise Problem("wrong_type", f"is not a {ext} file: its content looks like {sniff(head)}")
    if ext in SEPARATORS and (b"\x00" in head or sniff(head) != "text"):
        raise Problem("wrong_type", f"is not a text table: its content looks like {sniff(head)}")


def sniff(head: bytes) -> str:
    """What leading bytes look like, with a rename hint when it is another accepted format."""
    for magic, what, ext in _SIGNATURES:
        if head.startswith(magic):
            return what + (f" (rename it to {ext})" if ext else "")
    if b"\x00" in head:
        return "binary data of an unknown kind"
    return "text"


def _short_by(stream_left: int, info: ArrayInfo) -> int:
    """How many data bytes the header promises beyond what the file holds (0: complete)."""
    if info.dtype.hasobject:
        return 0  # pickled payloads have no fixed size, and are refused anyway
    return max(0, int(np.prod(info.shape, dtype=object)) * info.dtype.itemsize - stream_left)


def _read_header(stream: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    with damaged(".npy"):
        version = np.lib.format.read_magic(stream)
        reader = _HEADER_READERS.get(version)
        if reader is None:
            raise Problem("unreadable", f"uses .npy format version {version[0]}.{version[1]}, "
                          "which nearid does not read; save it with np.save")
        shape, _, dtype = reader(stream)
    return tuple(int(s) for s in shape), dtype


def npy_header(stream: IO[bytes], size: int) -> tuple[ArrayInfo, int]:
    """Read a ``.npy`` header only: its ``ArrayInfo`` and how many data bytes are missing."""
    stream.seek(0)
    shape, dtype = _read_header(stream)
    info = ArrayInfo(None, shape, dtype)
    return info, _short_by(size - stream.tell(), info)


def npz_headers(stream: IO[bytes]) -> list[tuple[ArrayInfo, int]]:
    """Read the zip directory and each member's ``.npy`` header, never the array data."""
    stream.seek(0)
    with damaged(".npz"), zipfile.ZipFile(stream) as zf:
        members = [m for m in zf.infolist() if m.filename.endswith(".npy")]
        if not members and zf.infolist():
            raise Problem("wrong_type", "is a zip archive without .npy arrays, not an .npz file")
        found = []
        for member in members:
            with zf.open(member) as f:
                shape, dtype = _read_header(f)
                info = ArrayInfo(member.filename[: -len(".npy")], shape, dtype)
                found.append((info, _short_by(member.file_size - f.tell(), info)))
    if not found:
        raise Problem("empty", "holds no arrays")
    return found


def read_stored(stream: IO[bytes], key: str | None) -> np.ndarray:
    """Load a ``.npy`` (``key=None``) or one ``.npz`` member, with ``allow_pickle=False``."""
    stream.seek(0)
    with damaged(".npy" if key is None else ".npz"):
        if key is None:
            return np.load(stream, allow_pickle=False)
        with np.load(stream, allow_pickle=False) as archive:
            return archive[key]
