"""Bad embedding files, each with the problem code it must raise; for tests and fuzzing.

``BAD_FILES`` holds ``(id, builder, problem)``: ``builder(tmp_path)`` writes one file (or, for
two cases, a directory or nothing) under ``tmp_path`` and returns its path. All cases expect
default ``Limits``. Cases whose problem is in ``SET_LEVEL`` load fine on their own and fail in
``check_set`` next to ``good_file(tmp_path)`` (``GOOD_SHAPE`` rows x dims), as in
``python -m nearid_core compare BAD GOOD``.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

GOOD_SHAPE = (64, 4)
SET_LEVEL = frozenset({"nonfinite", "rows_mismatch", "too_few_rows"})
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
Builder = Callable[[Path], Path]


def matrix(n: int = GOOD_SHAPE[0], d: int = GOOD_SHAPE[1], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))  # (n, d)


def good_file(tmp_path: Path) -> Path:
    """A valid (64, 4) float64 ``.npy`` that every SET_LEVEL case is checked against."""
    path = tmp_path / "good.npy"
    np.save(path, matrix(seed=1))
    return path


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def npz_bytes(compressed: bool = False, allow_pickle: bool = False, **arrays) -> bytes:
    buf = io.BytesIO()
    if allow_pickle:  # np.savez always allows pickles; this names the intent
        np.savez(buf, **arrays)
    else:
        (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def claimed_npy(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """A ``.npy`` header claiming ``shape`` followed by only 64 bytes of data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue() + bytes(64)


def csv_text(array: np.ndarray, sep: str = ",") -> str:
    return "\n".join(sep.join(repr(float(v)) for v in row) for row in array) + "\n"


def _file(name: str, content: bytes | str | Callable[[], bytes | str]) -> Builder:
    def build(tmp_path: Path) -> Path:
        data = content() if callable(content) else content
        path = tmp_path / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path
    return build


def _zip_with_readme() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "not an array")
    return buf.getvalue()


def _zip_member(npy: bytes, name: str = "emb.npy") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, npy)
    return buf.getvalue()


def _corrupt_npz() -> bytes:
    data = bytearray(npz_bytes(compressed=True, emb=matrix(512, 8)))
    mid = len(data) // 2
    data[mid: mid + 64] = bytes(64)  # inside the deflated member data
    return bytes(data)


def _with(array: np.ndarray, row: int, col: int, value: float) -> np.ndarray:
    out = array.copy()
    out[row, col] = value
    return out


def _constant(array: np.ndarray, col: int) -> np.ndarray:
    out = array.copy()
    out[:, col] = 0.5
    return out


def _directory(tmp_path: Path) -> Path:
    path = tmp_path / "folder.npy"
    path.mkdir()
    return path


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "missing.npy"


_M = matrix()
_TEXT_COLUMN = "a,b,c,species\n" + csv_text(_M[:, :3]).replace("\n", ",setosa\n")
BAD_FILES: list[tuple[str, Builder, str]] = [
    ("txt_extension", _file("emb.txt", csv_text(_M)), "wrong_type"),
    ("no_extension", _file("emb", npy_bytes(_M)), "wrong_type"),
    ("pickle_extension", _file("emb.pkl", pickle.dumps(_M)), "wrong_type"),
    ("png_as_npy", _file("emb.npy", PNG), "wrong_type"),
    ("text_as_npy", _file("emb.npy", csv_text(_M)), "wrong_type"),
    ("npz_as_npy", _file("emb.npy", npz_bytes(emb=_M)), "wrong_type"),
    ("npy_as_npz", _file("emb.npz", npy_bytes(_M)), "wrong_type"),
    ("zip_without_arrays", _file("emb.npz", _zip_with_readme), "wrong_type"),
    ("png_as_parquet", _file("emb.parquet", PNG), "wrong_type"),
    ("npy_as_parquet", _file("emb.parquet", npy_bytes(_M)), "wrong_type"),
    ("png_as_csv", _file("emb.csv", PNG), "wrong_type"),
    ("npy_as_tsv", _file("emb.tsv", npy_bytes(_M)), "wrong_type"),
    ("utf16_csv", _file("emb.csv", csv_text(_M).encode("utf-16")), "wrong_type"),
    ("gzipped_csv", _file("emb.csv", lambda: gzip.compress(csv_text(_M).encode())), "wrong_type"),
    ("npy_truncated", _file("emb.npy", npy_bytes(_M)[:-100]), "unreadable"),
    ("npy_header_cut", _file("emb.npy", npy_bytes(_M)[:20]), "unreadable"),
    ("npy_garbled_header", _file("emb.npy", b"\x93NUMPY\x01\x00\x20\x00{'descr': ???}" + bytes(40)),
     "unreadable"),
    ("npz_truncated", _file("emb.npz", lambda: npz_bytes(emb=_M)[:1000]), "unreadable"),
    ("npz_corrupt_data", _file("emb.npz", _corrupt_npz), "unreadable"),
    ("parquet_truncated", _file("emb.parquet", lambda: parquet_bytes(pd.DataFrame(_M))[:-10]),
     "unreadable"),
    ("parquet_garbled_footer", _file("emb.parquet", b"PAR1" + bytes(200) + b"PAR1"), "unreadable"),
    ("csv_ragged", _file("emb.csv", "1.5,2.5\n3.5,4.5\n5.5,6.5,7.5\n"), "unreadable"),
    ("directory", _directory, "unreadable"),
    ("missing_file", _missing, "unreadable"),
    ("zero_bytes_npy", _file("emb.npy", b""), "empty"),
    ("zero_bytes_csv", _file("emb.csv", b""), "empty"),
    ("zero_bytes_parquet", _file("emb.parquet", b""), "empty"),
    ("csv_header_only", _file("emb.csv", "a,b,c\n"), "empty"),
    ("csv_blank_lines", _file("emb.csv", "\n\n\n"), "empty"),
    ("npy_zero_rows", _file("emb.npy", npy_bytes(np.zeros((0, 4)))), "empty"),
    ("npy_zero_cols", _file("emb.npy", npy_bytes(np.zeros((64, 0)))), "empty"),
    ("npz_no_arrays", _file("emb.npz", lambda: npz_bytes()), "empty"),
    ("npy_object_array", _file("emb.npy", lambda: npy_bytes(
        np.array([[{"a": 1}, None]] * 64, dtype=object), allow_pickle=True)), "pickle"),
    ("npz_object_member", _file("emb.npz", lambda: npz_bytes(
        allow_pickle=True, emb=np.array([[1.0, "x"]] * 64, dtype=object))), "pickle"),
    ("npy_record_with_object", _file("emb.npy", lambda: npy_bytes(
        np.zeros(64, dtype=[("a", "f8"), ("b", "O")]), allow_pickle=True)), "pickle"),
    ("npy_complex", _file("emb.npy", npy_bytes(_M * (1 + 1j))), "dtype"),
    ("npy_text", _file("emb.npy", npy_bytes(_M.astype(str))), "dtype"),
    ("npy_bytes", _file("emb.npy", npy_bytes(_M.astype("S8"))), "dtype"),
    ("npy_datetime", _file("emb.npy", npy_bytes(np.zeros((64, 4), dtype="datetime64[s]"))),
     "dtype"),
    ("npy_structured", _file("emb.npy", npy_bytes(np.zeros((64,), dtype=[("a", "f8"), ("b", "f8")]))),
     "dtype"),
    ("csv_text_column", _file("emb.csv", _TEXT_COLUMN), "dtype"),
    ("tsv_text_column", _file("emb.tsv", _TEXT_COLUMN.replace(",", "\t")), "dtype"),
    ("parquet_text_column", _file("emb.parquet", lambda: parquet_bytes(
        pd.DataFrame({"a": _M[:, 0], "b": _M[:, 1], "label": ["x"] * 64}))), "dtype"),
    ("npy_1d", _file("emb.npy", npy_bytes(_M[:, 0])), "one_dim"),
    ("npy_0d", _file("emb.npy", npy_bytes(np.float64(3.0))), "one_dim"),
    ("npy_3d", _file("emb.npy", npy_bytes(_M.reshape(64, 2, 2))), "three_dim"),
    ("npy_4d", _file("emb.npy", npy_bytes(np.zeros((8, 2, 2, 2)))), "three_dim"),
    ("npz_two_arrays", _file("emb.npz", lambda: npz_bytes(a=_M, b=_M[:, :2])), "npz_key"),
    ("npy_claims_2m_rows", _file("emb.npy", claimed_npy((2_000_000, 4))), "too_many_rows"),
    ("npz_member_claims_2m_rows", _file("emb.npz", lambda: _zip_member(claimed_npy((2_000_000, 4)))),
     "too_many_rows"),
    ("npy_claims_20k_cols", _file("emb.npy", claimed_npy((64, 20_000))), "too_many_cols"),
    ("npy_claims_100_gb", _file("emb.npy", claimed_npy((900_000, 16_000))), "too_large"),
    ("npy_constant_column", _file("emb.npy", npy_bytes(_constant(_M, 2))), "constant_column"),
    ("csv_constant_column", _file("emb.csv", csv_text(_constant(_M, 0))), "constant_column"),
    ("parquet_constant_column", _file("emb.parquet", lambda: parquet_bytes(
        pd.DataFrame(_constant(_M, 3)))), "constant_column"),
    ("npy_nan_row", _file("emb.npy", npy_bytes(_with(_M, 5, 1, np.nan))), "nonfinite"),
    ("npy_inf_row", _file("emb.npy", npy_bytes(_with(_M, 7, 0, -np.inf))), "nonfinite"),
    ("csv_empty_cell", _file("emb.csv", "a,b,c,d\n" + csv_text(_M[1:]) + "1.5,,2.5,3.5\n"),
     "nonfinite"),
    ("parquet_null", _file("emb.parquet", lambda: parquet_bytes(
        pd.DataFrame(_with(_M, 9, 2, np.nan)))), "nonfinite"),
    ("npy_63_rows", _file("emb.npy", npy_bytes(matrix(63, 4))), "rows_mismatch"),
    ("csv_65_rows", _file("emb.csv", csv_text(matrix(65, 4))), "rows_mismatch"),
    ("npy_64_rows_20_dims", _file("emb.npy", npy_bytes(matrix(64, 20))), "too_few_rows"),
]
