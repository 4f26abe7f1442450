"""Tables behind ``nearid_core.runs.embeddings``: ``.parquet`` through its footer, ``.csv``/``.tsv``.

Like ``_embedding_formats``, these functions raise ``Problem`` without the file's name. Header
rules for text tables (documented in ``embeddings``): a first row with a non-numeric cell, or
exactly pandas' default names ``0, 1, ..., d-1`` (optionally after an empty index cell), is a
header; an empty first header cell marks pandas' index column, which is dropped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nearid_core.runs._embedding_formats import SEPARATORS, Problem, damaged

_INDEX_NOTE = "dropped the first column: it is unnamed, as pandas writes its index"


@dataclass(frozen=True)
class ParquetPeek:
    """A parquet file's footer: the open file, row count, data columns (index dropped)."""

    file: pq.ParquetFile
    rows: int
    columns: tuple[str, ...]
    notes: tuple[str, ...]


def _numeric_type(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) \
        or pa.types.is_decimal(t)


def _non_numeric(bad: list[str]) -> Problem:
    shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
    what = "a non-numeric column" if len(bad) == 1 else "non-numeric columns"
    return Problem("dtype", f"has {what}: {shown}; keep numbers only (or encode them as numbers)")


def parquet_peek(stream: io.IOBase, numeric: bool = True) -> ParquetPeek:
    """Read only the footer: row count, column names and types (index columns dropped)."""
    stream.seek(-4, io.SEEK_END)
    if stream.read(4) != b"PAR1":
        raise Problem("unreadable", "is truncated or damaged: the parquet footer is missing")
    stream.seek(0)
    with damaged(".parquet"):
        pf = pq.ParquetFile(stream)
        schema, rows = pf.schema_arrow, pf.metadata.num_rows
    index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
    fields = [f for f in schema if f.name not in index]
    notes = [f"dropped the pandas index column(s) {sorted(index)}"] if index else []
    if numeric:
        bad = [f"column {j} ({f.name!r}, {f.type})" for j, f in enumerate(fields)
               if not _numeric_type(f.type)]
        if bad:
            raise _non_numeric(bad)
        if any(pa.types.is_boolean(f.type) for f in fields):
            notes.append("read booleans as 0/1")
    return ParquetPeek(pf, rows, tuple(f.name for f in fields), tuple(notes))


def parquet_matrix(peek: ParquetPeek) -> np.ndarray:
    """The data columns as a float64 matrix, shape (rows, columns); nulls become NaN."""
    with damaged(".parquet"):
        table = peek.file.read(columns=list(peek.columns), use_pandas_metadata=False)
        cols = [pc.cast(table.column(j), pa.float64()).to_numpy() for j in range(table.num_columns)]
    return np.column_stack(cols) if cols else np.empty((peek.rows, 0))


def parquet_column(peek: ParquetPeek) -> np.ndarray:
    """The single data column as a numpy array (strings as objects, nulls as None or NaN)."""
    with damaged(".parquet"):
        column = peek.file.read(columns=list(peek.columns), use_pandas_metadata=False).column(0)
        if pa.types.is_dictionary(column.type):
            column = pc.cast(column, column.type.value_type)
        return column.to_numpy()


def text_shape(data: bytes, ext: str) -> tuple[int, int]:
    """(lines, fields in the first line) of a text table, without parsing it."""
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    return lines, len(_first_fields(data, ext))


def _first_fields(data: bytes, ext: str) -> list[str]:
    first = data.lstrip(b"\r\n").split(b"\n", 1)[0].decode("utf-8-sig", "replace").rstrip("\r")
    return next(csv.reader([first], delimiter=SEPARATORS[ext]), [])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _has_header(fields: list[str]) -> bool:
    if any(f.strip() and not _is_number(f) for f in fields):
        return True
    default = [str(j) for j in range(len(fields))]
    return len(fields) >= 2 and (fields == default or fields == ["", *default[:-1]])


def _read_csv(data: bytes, ext: str, **options) -> pd.DataFrame:
    with damaged(f"a {ext} table"):
        try:
            frame = pd.read_csv(io.BytesIO(data), sep=SEPARATORS[ext], encoding="utf-8-sig",
                                encoding_errors="replace", **options)
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame()
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise Problem("empty", "holds no data rows" if frame.shape[1] else "holds no columns")
    return frame


def read_numeric_text(data: bytes, ext: str) -> tuple[np.ndarray, list[str]]:
    """Parse an all-numeric text table exactly (round-trip floats); notes on what was done."""
    fields = _first_fields(data, ext)
    header = _has_header(fields)
    frame = _read_csv(data, ext, header=0 if header else None, float_precision="round_trip")
    notes = ["read the first row as column names"] if header else []
    if header and fields and not fields[0].strip() and frame.shape[1] > 1:
        frame, notes = frame.iloc[:, 1:], [*notes, _INDEX_NOTE]
    _check_numeric_columns(frame, header)
    if any(pd.api.types.is_bool_dtype(frame[c]) for c in frame.columns):
        notes.append("read booleans as 0/1")
    return frame.to_numpy(dtype=np.float64), notes


def _check_numeric_columns(frame: pd.DataFrame, header: bool) -> None:
    bad = []
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        wrong = np.flatnonzero(pd.to_numeric(col, errors="coerce").isna() & col.notna())
        named = f" ({frame.columns[j]!r})" if header else ""
        value = str(col.iloc[wrong[0]])[:30] if wrong.size else "?"
        bad.append(f"column {j}{named} holds {value!r} on data row {wrong[0] + 1 if wrong.size else '?'}")
    if bad:
        raise _non_numeric(bad)


def read_text_column(data: bytes, ext: str, header: bool | None) -> tuple[np.ndarray, list[str]]:
    """One column of cells as strings ('' where empty); ``header=None`` guesses (see module)."""
    frame = _read_csv(data, ext, header=None, dtype=str, keep_default_na=False)
    notes = []
    if frame.shape[1] == 2 and frame.iat[0, 0] == "":
        frame, header, notes = frame.iloc[:, 1:], True, [_INDEX_NOTE]
    if frame.shape[1] != 1:
        raise Problem("too_many_cols", f"has {frame.shape[1]} columns; labels need exactly one")
    cells = frame.iloc[:, 0].to_numpy(dtype=object)
    if header is None:
        first, rest = cells[0], set(cells[1:])
        header = len(cells) > 1 and not _is_number(first) and first not in rest
    if header:
        notes.append(f"took the first row {str(cells[0])[:30]!r} as a header")
        cells = cells[1:]
    return cells, notes
