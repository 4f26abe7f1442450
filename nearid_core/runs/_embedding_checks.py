"""Per-file checks behind ``nearid_core.runs.embeddings``: dtype, shape, limits, labels.

``read_matrix`` and ``read_labels`` peek at a header, check it against the limits, and only
then load the data. Problems are raised as ``Problem`` without the file's name.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nearid_core.runs import _embedding_formats as fmt
from nearid_core.runs import _embedding_tables as tables
from nearid_core.runs._embedding_formats import ArrayInfo, Problem, Source, mb

MAX_MB_ENV = "NEARID_MAX_UPLOAD_MB"
DEFAULT_MAX_MB = 500.0
_DTYPE_WORDS = {"c": "complex numbers", "U": "text", "S": "bytes", "M": "dates",
                "m": "time spans", "V": "records (a structured array)"}
_BOOL_NOTE = "read booleans as 0/1"


def _env_max_mb() -> float:
    raw = os.environ.get(MAX_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_MB
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{MAX_MB_ENV} must be a positive number of MB; got {raw!r}")
    return value


@dataclass(frozen=True)
class Limits:
    """Per-file limits; ``max_mb`` (2**20 bytes) defaults to ``$NEARID_MAX_UPLOAD_MB`` or 500."""

    max_mb: float = field(default_factory=_env_max_mb)
    max_rows: int = 1_000_000
    max_cols: int = 16_384

    def __post_init__(self):
        for name, kinds in (("max_mb", (int, float)), ("max_rows", int), ("max_cols", int)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0 \
                    or not math.isfinite(value):
                raise ValueError(f"Limits.{name} must be a positive number; got {value!r}")

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 2**20)


@dataclass(frozen=True)
class Plan:
    """Which axis holds the inputs, and the (n, d) matrix the array becomes."""

    axis: int
    n: int
    d: int
    notes: list[str]

    def apply(self, raw: np.ndarray) -> np.ndarray:
        return np.moveaxis(raw, self.axis, 0).reshape(self.n, self.d)  # (n, d)


def check_dtype(dtype: np.dtype, labels: bool = False) -> list[str]:
    """Refuse objects (pickle) and non-numbers; text is fine for labels. Returns notes."""
    if dtype.hasobject:
        raise Problem("pickle", "holds Python objects (dtype object), which would have to be "
                      "unpickled, and nearid never unpickles uploads; save a numeric array, "
                      "e.g. np.save(path, x.astype(float))")
    if dtype.kind in "iuf" or (labels and dtype.kind in "US"):
        return []
    if dtype.kind == "b":
        return [_BOOL_NOTE]
    hint = "; save x.real, or np.hstack([x.real, x.imag])" if dtype.kind == "c" else ""
    words = _DTYPE_WORDS.get(dtype.kind, "values")
    raise Problem("dtype", f"holds {words} (dtype {dtype}), not real numbers{hint}")


def plan(shape: tuple[int, ...], axis: int | None, flatten: bool, limits: Limits) -> Plan:
    """Check a header's shape against the options and limits, before loading any data."""
    k = len(shape)
    if k == 0:
        raise Problem("one_dim", "is a single number (0-D array), not a matrix of inputs x dims")
    if k == 1:
        raise Problem("one_dim", f"is 1-D with shape {shape}; if it is one value per input, "
                      "save x.reshape(-1, 1)")
    if axis is not None and not -k <= axis < k:
        raise Problem("axis", f"has no axis {axis}: its shape {shape} has axes 0 to {k - 1}")
    rest = int(np.prod(shape[1:], dtype=object))
    if axis is None and k > 2 and not flatten:
        raise Problem("three_dim", f"is {k}-D with shape {shape}; flatten it to "
                      f"({shape[0]}, {rest}) or choose the axis that indexes the inputs")
    ax = (axis or 0) % k
    n, d = shape[ax], int(np.prod(shape[:ax] + shape[ax + 1:], dtype=object))
    notes = []
    if ax:
        notes.append(f"took axis {ax} of shape {shape} as the inputs: now ({n}, {d})")
    elif k > 2:
        notes.append(f"flattened shape {shape} to ({n}, {d})")
    check_size(shape, n, d, limits)
    return Plan(ax, n, d, notes)


def check_size(shape: tuple[int, ...], n: int, d: int, limits: Limits) -> None:
    """Empty, too many rows or columns, or too large once loaded as float64."""
    if n == 0 or d == 0:
        raise Problem("empty", f"has no {'rows' if n == 0 else 'columns'} (shape {shape})")
    if n > limits.max_rows:
        raise Problem("too_many_rows", f"has {n:,} rows; the limit is {limits.max_rows:,}")
    if d > limits.max_cols:
        raise Problem("too_many_cols", f"has {d:,} columns; the limit is {limits.max_cols:,}")
    if n * d * 8 > limits.max_bytes:
        raise Problem("too_large", f"would take {mb(n * d * 8)} as float64 ({n:,} x {d:,}); "
                      f"the limit is {mb(limits.max_bytes)}")


def peek(src: Source, key: str | None) -> tuple[ArrayInfo, int]:
    """The header of a ``.npy``, or of the chosen ``.npz`` member; and missing data bytes."""
    if src.ext == ".npy":
        return fmt.npy_header(src.stream, src.size)
    members = fmt.npz_headers(src.stream)
    if key is None and len(members) == 1:
        return members[0]
    for member in members:
        if member[0].key == key:
            return member
    listing = ", ".join(f"{info.key!r} {info.shape}" for info, _ in members[:20])
    if key is None:
        raise Problem("npz_key", f"holds {len(members)} arrays ({listing}); choose which one "
                      "holds the embedding")
    raise Problem("npz_key", f"has no array {key!r}; it holds {listing}")


def load(src: Source, info: ArrayInfo, short_by: int) -> np.ndarray:
    if short_by:
        raise Problem("unreadable", f"is truncated: {short_by:,} bytes of array data are missing")
    return fmt.read_stored(src.stream, info.key)


def read_text(src: Source, limits: Limits, max_cols: int | None = None) -> bytes:
    """A text table's bytes, after checking its line count and first line against limits."""
    data = src.stream.read()
    lines, cols = tables.text_shape(data, src.ext)
    if lines > limits.max_rows + 1:  # + 1: a header line
        raise Problem("too_many_rows", f"has {lines:,} lines; the limit is "
                      f"{limits.max_rows:,} rows")
    if max_cols is not None and cols > max_cols:
        raise Problem("too_many_cols", f"has {cols:,} columns; the limit is {max_cols:,}")
    return data


def read_matrix(src: Source, key: str | None, axis: int | None, flatten: bool,
                limits: Limits) -> tuple[np.ndarray, str | None, list[str]]:
    """(raw (n, d) array, npz key, notes), checked from the header before loading."""
    if src.ext in (".npy", ".npz"):
        info, short_by = peek(src, key)
        notes = check_dtype(info.dtype)
        layout = plan(info.shape, axis, flatten, limits)
        return layout.apply(load(src, info, short_by)), info.key, notes + layout.notes
    if src.ext == ".parquet":
        pq = tables.parquet_peek(src.stream)
        layout = plan((pq.rows, len(pq.columns)), axis, flatten, limits)
        return layout.apply(tables.parquet_matrix(pq)), None, [*pq.notes, *layout.notes]
    raw, notes = tables.read_numeric_text(read_text(src, limits, limits.max_cols), src.ext)
    layout = plan(raw.shape, axis, flatten, limits)
    return layout.apply(raw), None, notes + layout.notes


def _finite_range(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: min and max over finite entries, and how many entries are finite."""
    finite = np.isfinite(values)  # (n, d)
    if finite.all():
        return values.min(axis=0), values.max(axis=0), np.full(values.shape[1], len(values))
    lo = np.where(finite, values, np.inf).min(axis=0)
    hi = np.where(finite, values, -np.inf).max(axis=0)
    return lo, hi, finite.sum(axis=0)


def check_constant(values: np.ndarray, after: str = "") -> None:
    """Refuse columns whose finite entries (at least two) are all equal."""
    if values.shape[0] < 2:
        return
    lo, hi, count = _finite_range(values)
    cols = np.flatnonzero((lo == hi) & (count >= 2)).tolist()
    if not cols:
        return
    shown = ", ".join(map(str, cols[:5])) + (f" and {len(cols) - 5} more" if len(cols) > 5 else "")
    what = (f"column {shown} (0-based) is constant (every row holds {lo[cols[0]]:g})"
            if len(cols) == 1 else f"columns {shown} (0-based) are constant")
    raise Problem("constant_column", f"{what}{after}; remove constant columns, they carry no "
                  "information")


def read_labels(src: Source, key: str | None, header: bool | None,
                limits: Limits) -> tuple[np.ndarray, str | None, list[str]]:
    """(labels (n,) int64 or str, npz key, notes) from any accepted format."""
    if src.ext in (".npy", ".npz"):
        info, short_by = peek(src, key)
        check_dtype(info.dtype, labels=True)
        n = label_rows(info.shape, limits)
        raw, source_key, notes = load(src, info, short_by).reshape(n), info.key, []
    elif src.ext == ".parquet":
        pq = tables.parquet_peek(src.stream, numeric=False)
        label_rows((pq.rows, len(pq.columns)), limits)
        raw, source_key, notes = tables.parquet_column(pq), None, list(pq.notes)
    else:
        raw, notes = tables.read_text_column(read_text(src, limits), src.ext, header)
        label_rows(raw.shape, limits)
        source_key = None
    values, more = label_values(raw)
    return values, source_key, notes + more


def label_rows(shape: tuple[int, ...], limits: Limits) -> int:
    """Rows of a label array: 1-D, or 2-D with one column."""
    if len(shape) == 0:
        raise Problem("empty", "holds a single value (0-D array), not one label per input")
    if len(shape) > 2:
        raise Problem("three_dim", f"is {len(shape)}-D with shape {shape}; labels need one "
                      "value per input: a 1-D array or one column")
    if len(shape) == 2 and shape[1] > 1:
        raise Problem("too_many_cols", f"has {shape[1]:,} columns; labels need exactly one")
    check_size(shape, shape[0], shape[1] if len(shape) == 2 else 1, limits)
    return shape[0]


def label_values(raw: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Labels as int64 when integer-valued, else str; missing labels are an error."""
    raw = np.asarray(raw)  # (n,)
    if raw.dtype.kind in "USO":
        cells = raw.astype(object)
        missing = pd.isna(cells) | (cells == "")
        _check_missing(missing)
        numbers = pd.to_numeric(pd.Series(cells), errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(numbers).any():
            return cells.astype(str), []
        raw = numbers
    if raw.dtype.kind in "biu":
        return raw.astype(np.int64), [_BOOL_NOTE] if raw.dtype.kind == "b" else []
    _check_missing(~np.isfinite(raw))
    if np.all(raw == np.round(raw)) and np.all(np.abs(raw) < 2**53):
        return raw.astype(np.int64), []
    return raw.astype(str), ["kept non-integer numeric labels as text"]


def _check_missing(missing: np.ndarray) -> None:
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise Problem("nonfinite", f"has {int(missing.sum()):,} of {missing.size:,} labels "
                      f"missing (first at row {first}, 0-based); fill them in, or remove those "
                      "rows from every file")
