"""Safe loading and validation of users' embedding files (the input side of Compare).

A user brings two or more embedding matrices of the same inputs in the same order (rows =
inputs, columns = dimensions), and optionally ground-truth factors and labels for the same
rows. ``load_embedding`` / ``load_factors`` / ``load_labels`` read one file each;
``load_many`` keeps the good files when some are bad; ``check_set`` checks the files against
each other. Every bad file ends in one ``EmbeddingError``: a one-line message naming the file
(display name only) and the problem, with a ``.problem`` code from ``PROBLEMS``.

Messages read ``"<name>: <detail>"``; for problems between files (``rows_mismatch``,
``nonfinite``) the name lists the files at fault, comma-separated.

Formats: ``.npy``; ``.npz`` (one array, chosen by ``key`` when it holds several); ``.csv`` /
``.tsv``; ``.parquet``. The file name's extension picks the format; content that does not
match it is ``wrong_type``. Decisions:
- Nothing is unpickled: ``allow_pickle=False``, and object dtypes are refused from the header.
- Integers become float64; booleans are read as 0/1 (binary codes are fair embeddings), noted.
- NaN/inf are kept by the loaders; ``check_set`` refuses them, or drops those rows from every
  file with ``drop_nonfinite=True`` so rows stay aligned.
- ``Limits.max_mb`` bounds both the file size and the float64 matrix it loads to; rows and
  columns are bounded too. All are checked from headers before data is read (CSV: from the
  line count and the first line).
- Text tables hold numbers only (strict: a non-numeric column is an error naming it). A
  first row with a non-number, or exactly pandas' default names ``0 .. d-1``, is a header;
  an empty first header cell marks pandas' index column, which is dropped. Floats are parsed
  round-trip exactly.
- A column whose finite values are all equal is refused (``constant_column``).
- Arrays with 3+ axes: ``flatten=True`` keeps axis 0 as the inputs and flattens the rest;
  ``axis=k`` makes axis k the inputs and flattens the rest (C order). On a 2-D array
  ``axis=1`` reads it transposed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from nearid_core.runs import _embedding_checks as checks
from nearid_core.runs import _embedding_formats as fmt
from nearid_core.runs._embedding_checks import DEFAULT_MAX_MB, MAX_MB_ENV, Limits
from nearid_core.runs._embedding_formats import FORMATS, ArrayInfo, Problem

__all__ = ["DEFAULT_MAX_MB", "FORMATS", "MAX_MB_ENV", "PROBLEMS", "ArrayInfo", "Embedding", "EmbeddingError",
           "EmbeddingSet", "Labels", "Limits", "check_set", "list_npz_keys", "load_embedding",
           "load_factors", "load_labels", "load_many"]

PROBLEMS = {  # problem code -> the fix a page or the command line can offer
    "wrong_type": "save the array as .npy, .npz, .csv, .tsv or .parquet, e.g. np.save(path, x)",
    "unreadable": "the file is damaged or truncated: save it again",
    "empty": "the file holds no rows or no columns",
    "pickle": "save a numeric array: np.save(path, np.asarray(x, dtype=float))",
    "dtype": "keep numeric data only (integers, floats, booleans)",
    "one_dim": "save a 2-D array (inputs x dims); one column is x.reshape(-1, 1)",
    "three_dim": "flatten all axes but the inputs axis, or choose the inputs axis",
    "axis": "choose an axis the array has",
    "too_large": f"use a smaller file, or raise {MAX_MB_ENV} (MB)",
    "too_many_rows": "use fewer rows: subsample the same rows in every file",
    "too_many_cols": "use fewer dimensions, e.g. project with PCA first",
    "npz_key": "choose which array of the .npz holds the embedding",
    "constant_column": "remove the constant columns: they carry no information",
    "nonfinite": "fix the NaN/inf values, or drop those rows from every file",
    "rows_mismatch": "use files with the same inputs in the same order",
    "too_few_rows": "use more rows or fewer dimensions",
}


class EmbeddingError(ValueError):
    """A bad file: ``str()`` is ``"<name>: <detail>"`` on one line; ``.problem`` is a code."""

    def __init__(self, name: str, problem: str, detail: str):
        self.name, self.problem, self.detail = name, problem, " ".join(detail.split())
        super().__init__(f"{name}: {self.detail}")

    def __reduce__(self):
        return type(self), (self.name, self.problem, self.detail)


@dataclass(frozen=True, eq=False)
class Embedding:
    """One loaded matrix. ``values``: (n_rows, n_dims) float64, read-only, NaN/inf kept."""

    name: str
    values: np.ndarray = field(repr=False)  # (n, d) float64
    source_key: str | None = None  # the .npz member it came from
    notes: tuple[str, ...] = ()  # what loading did, e.g. "flattened shape (n, 4, 8) to (n, 32)"

    @property
    def n_rows(self) -> int:
        return self.values.shape[0]

    @property
    def n_dims(self) -> int:
        return self.values.shape[1]

    @property
    def nonfinite_rows(self) -> np.ndarray:
        """(n,) bool: rows holding a NaN or inf."""
        return ~np.isfinite(self.values).all(axis=1)


@dataclass(frozen=True, eq=False)
class Labels:
    """One label per row. ``values``: (n,) int64, or str for text and non-integer numbers."""

    name: str
    values: np.ndarray = field(repr=False)  # (n,)
    source_key: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def n_rows(self) -> int:
        return self.values.shape[0]


@dataclass(frozen=True, eq=False)
class EmbeddingSet:
    """Files that passed ``check_set``: same rows, finite, enough rows per dimension."""

    embeddings: tuple[Embedding, ...]
    factors: Embedding | None
    labels: Labels | None
    rows: np.ndarray = field(repr=False)  # (n_kept,) int64: kept rows of the original files
    notes: tuple[str, ...] = ()

    @property
    def n_rows(self) -> int:
        return self.rows.shape[0]


@contextmanager
def _reported(name: str) -> Iterator[None]:
    try:
        yield
    except Problem as p:
        raise EmbeddingError(name, p.code, p.detail) from None
    except OSError as e:
        raise EmbeddingError(name, "unreadable", f"cannot be read: {fmt.one_line(e)}") from None


def load_embedding(source: Any, *, name: str | None = None, key: str | None = None,
                   axis: int | None = None, flatten: bool = False,
                   limits: Limits | None = None) -> Embedding:
    """Load one embedding matrix safely.

    Parameters
    ----------
    source : path, bytes, or binary file-like (e.g. Streamlit's UploadedFile)
    name : display name; defaults to the source's ``.name`` or path, base name only. Its
        extension picks the format.
    key : which array of an ``.npz`` holding several (see ``list_npz_keys``).
    axis, flatten : for arrays with 3+ axes (see the module docstring).
    limits : ``Limits()`` when None (read at call time, so the env variable applies).

    Returns
    -------
    Embedding with ``values`` of shape (n_rows, n_dims), float64.

    Notes
    -----
    Guarantees a finite-shaped numeric matrix without constant columns (over its finite
    rows); it may still hold NaN/inf rows, and says nothing about other files: use
    ``check_set``. Raises ``EmbeddingError`` for every bad file.
    """
    label = fmt.display_name(source, name)
    limits = limits or Limits()
    with _reported(label), fmt.opened(source, label, limits.max_bytes) as src:
        raw, source_key, notes = checks.read_matrix(src, key, axis, flatten, limits)
        values = np.ascontiguousarray(raw, dtype=np.float64)  # (n, d)
        checks.check_constant(values)
    values.setflags(write=False)
    return Embedding(label, values, source_key, tuple(notes))


def load_factors(source: Any, *, name: str | None = None, key: str | None = None,
                 axis: int | None = None, flatten: bool = False,
                 limits: Limits | None = None) -> Embedding:
    """Load ground-truth factors (n, k) for the same rows, with ``load_embedding``'s checks.

    ``check_set(..., factors=)`` aligns them with the embeddings (same rows, NaN rows dropped
    together) but does not ask for ``4 x k`` rows.
    """
    return load_embedding(source, name=name, key=key, axis=axis, flatten=flatten, limits=limits)


def load_labels(source: Any, *, name: str | None = None, key: str | None = None,
                header: bool | None = None, limits: Limits | None = None) -> Labels:
    """Load one label per row from a 1-D array or a one-column table, any dtype but objects.

    ``header`` (text tables only): None guesses -- a first cell that is not a number and does
    not occur again is a header. Integer-valued numbers give int64 labels, anything else str.
    Missing labels (NaN, empty cells) are an error (``nonfinite``).
    """
    label = fmt.display_name(source, name)
    limits = limits or Limits()
    with _reported(label), fmt.opened(source, label, limits.max_bytes) as src:
        values, source_key, notes = checks.read_labels(src, key, header, limits)
    return Labels(label, values, source_key, tuple(notes))


def load_many(sources: Sequence[Any], *, flatten: bool = False,
              limits: Limits | None = None) -> tuple[list[Embedding], list[EmbeddingError]]:
    """Load each source on its own: ``(loaded, errors)``; one bad file loses no other.

    An item is a source, or a ``(source, display name)`` pair.
    """
    loaded, errors = [], []
    for item in sources:
        source, name = item if isinstance(item, tuple) else (item, None)
        try:
            loaded.append(load_embedding(source, name=name, flatten=flatten, limits=limits))
        except EmbeddingError as e:
            errors.append(e)
    return loaded, errors


def list_npz_keys(source: Any, *, name: str | None = None,
                  limits: Limits | None = None) -> list[ArrayInfo]:
    """The arrays of an ``.npz`` (key, shape, dtype), from their headers, without the data."""
    label = fmt.display_name(source, name)
    with _reported(label), fmt.opened(source, label, (limits or Limits()).max_bytes) as src:
        if src.ext != ".npz":
            raise Problem("wrong_type", f"is a {src.ext} file, not .npz")
        return [info for info, _ in fmt.npz_headers(src.stream)]


def check_set(embeddings: Sequence[Embedding], *, factors: Embedding | None = None,
              labels: Labels | None = None, drop_nonfinite: bool = False,
              min_rows_per_dim: float = 4) -> EmbeddingSet:
    """Check files against each other: same rows, finite rows, enough rows per dimension.

    Parameters
    ----------
    embeddings : loaded embeddings, each (n, d_i), rows = the same inputs in the same order.
    factors, labels : optional ground truth for the same rows; factors (n, k) are exempt
        from the rows-per-dimension rule.
    drop_nonfinite : drop rows with NaN/inf in any file from every file (else an error).
    min_rows_per_dim : each embedding needs ``n >= min_rows_per_dim * d``.

    Returns
    -------
    EmbeddingSet, with ``rows`` (n_kept,) the kept row indices of the original files.

    Notes
    -----
    Row alignment is the caller's promise: equal counts are checked, equal order cannot be.
    """
    if not embeddings:
        raise ValueError("check_set needs at least one embedding")
    if not min_rows_per_dim > 0:
        raise ValueError(f"min_rows_per_dim must be positive; got {min_rows_per_dim!r}")
    matrices = [*embeddings, *([factors] if factors is not None else [])]
    _check_rows_match([*matrices, *([labels] if labels is not None else [])])
    masks = [m.nonfinite_rows for m in matrices]  # each (n,)
    counts = [(m.name, int(mask.sum())) for m, mask in zip(matrices, masks, strict=True)]
    bad = np.logical_or.reduce(masks)  # (n,)
    keep, notes = np.flatnonzero(~bad), ()
    if bad.any():
        if not drop_nonfinite or keep.size == 0:
            raise _nonfinite_error(counts, bad)
        notes = (f"dropped {int(bad.sum()):,} of {bad.size:,} rows with NaN or inf in some "
                 f"file ({_counts_text(counts)}) from every file; {keep.size:,} remain",)
        matrices = [_take(m, keep) for m in matrices]
        labels = _take(labels, keep) if labels is not None else None
    k = len(embeddings)
    _check_each(matrices[:k], matrices[k:], min_rows_per_dim, dropped=bool(notes))
    return EmbeddingSet(tuple(matrices[:k]), matrices[k] if factors is not None else None,
                        labels, keep, notes)


def _check_each(embeddings: list[Embedding], factors: list[Embedding], min_rows_per_dim: float,
                dropped: bool) -> None:
    """Constant columns (again, after dropping rows) and enough rows per dimension."""
    for m in [*embeddings, *factors]:
        with _reported(m.name):
            checks.check_constant(m.values, " after dropping rows with NaN or inf" if dropped else "")
    for e in embeddings:
        need = math.ceil(min_rows_per_dim * e.n_dims)
        if e.n_rows < need:
            raise EmbeddingError(e.name, "too_few_rows", f"has {e.n_rows:,} rows for "
                                 f"{e.n_dims:,} dims; comparing needs at least "
                                 f"{min_rows_per_dim:g} x {e.n_dims:,} = {need:,} rows")


def _check_rows_match(parts: list[Embedding | Labels]) -> None:
    counts = [p.n_rows for p in parts]
    if len(set(counts)) == 1:
        return
    (usual, times), *others = Counter(counts).most_common()
    odd = ", ".join(p.name for p in parts if p.n_rows != usual or times == others[0][1])
    listing = ", ".join(f"{p.name} {p.n_rows:,}" for p in parts)
    raise EmbeddingError(odd, "rows_mismatch", f"row counts differ ({listing}); every file "
                         "must hold the same inputs in the same order")


def _counts_text(counts: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {k:,}" for name, k in counts if k)


def _nonfinite_error(counts: list[tuple[str, int]], bad: np.ndarray) -> EmbeddingError:
    names = ", ".join(name for name, k in counts if k)
    if bad.all():
        return EmbeddingError(names, "nonfinite", f"every row has NaN or inf in some file "
                              f"({_counts_text(counts)}); nothing would be left after dropping "
                              "them")
    return EmbeddingError(names, "nonfinite", f"rows with NaN or inf: {_counts_text(counts)} "
                          f"({int(bad.sum()):,} of {bad.size:,} rows in all, first at row "
                          f"{int(np.flatnonzero(bad)[0])}, 0-based); fix them, or drop them "
                          "from every file (drop_nonfinite) so rows stay aligned")


def _take(part: Any, keep: np.ndarray) -> Any:
    values = part.values[keep]
    values.setflags(write=False)
    return replace(part, values=values)
