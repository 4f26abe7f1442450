"""Loading and validating users' embedding files (nearid_core.runs.embeddings).

Known answers: every format gives back exactly the float64 values saved (text through
round-trip parsing, so equality is exact, no tolerance); every bad file in BAD_FILES gives
its problem code in one clean line; limits are enforced from headers with the data readers
patched to fail; nothing is ever unpickled.
"""

from __future__ import annotations

import io
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bad_embedding_files import (  # noqa: E402
    BAD_FILES,
    SET_LEVEL,
    claimed_npy,
    csv_text,
    good_file,
    matrix,
    npz_bytes,
)

from nearid_core.runs.embeddings import (  # noqa: E402
    MAX_MB_ENV,
    PROBLEMS,
    EmbeddingError,
    Limits,
    check_set,
    list_npz_keys,
    load_embedding,
    load_factors,
    load_labels,
    load_many,
)

X = matrix(64, 4, seed=3)


class Upload(io.BytesIO):
    """Like Streamlit's UploadedFile: a BytesIO with the browser's file name."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name


def _write(path: Path, writer) -> Path:
    writer(path)
    return path


ROUND_TRIPS = {  # name -> (file name, writer, load options)
    "npy": ("e.npy", lambda p: np.save(p, X), {}),
    "npy_fortran": ("e.npy", lambda p: np.save(p, np.asfortranarray(X)), {}),
    "npz_single": ("e.npz", lambda p: np.savez(p, emb=X), {}),
    "npz_compressed": ("e.npz", lambda p: np.savez_compressed(p, X), {}),
    "npz_multi_key": ("e.npz", lambda p: np.savez(p, other=X[:, :2], emb=X), {"key": "emb"}),
    "csv_no_header": ("e.csv", lambda p: np.savetxt(p, X, delimiter=","), {}),
    "csv_repr_no_header": ("e.csv", lambda p: p.write_text(csv_text(X)), {}),
    "csv_pandas_names": ("e.csv", lambda p: pd.DataFrame(X).to_csv(p, index=False), {}),
    "csv_pandas_index": ("e.csv", lambda p: pd.DataFrame(X).to_csv(p), {}),
    "csv_named_header": ("e.csv", lambda p: pd.DataFrame(X, columns=list("abcd")).to_csv(
        p, index=False), {}),
    "csv_savetxt_comment_header": ("e.csv", lambda p: np.savetxt(
        p, X, delimiter=",", header="a,b,c,d"), {}),
    "tsv": ("e.tsv", lambda p: np.savetxt(p, X, delimiter="\t"), {}),
    "tsv_pandas": ("e.tsv", lambda p: pd.DataFrame(X).to_csv(p, sep="\t"), {}),
    "parquet": ("e.parquet", lambda p: pd.DataFrame(X, columns=list("abcd")).to_parquet(
        p, index=False), {}),
    "parquet_with_index": ("e.parquet", lambda p: pd.DataFrame(X, index=np.arange(64) * 3)
                           .to_parquet(p), {}),
}


@pytest.mark.parametrize("case", list(ROUND_TRIPS))
def test_round_trip_is_exact(tmp_path, case):
    file_name, writer, options = ROUND_TRIPS[case]
    path = _write(tmp_path / file_name, writer)
    for source in (path, str(path), path.read_bytes(), Upload(path.read_bytes(), file_name)):
        emb = load_embedding(source, name=file_name if isinstance(source, bytes) else None,
                             **options)
        assert emb.name == file_name
        assert emb.values.dtype == np.float64 and emb.values.shape == X.shape
        assert np.array_equal(emb.values, X)  # exact: binary formats, or round-trip text
        assert not emb.values.flags.writeable
    if case == "npz_multi_key":
        assert emb.source_key == "emb"


def test_integers_booleans_and_float32_become_float64(tmp_path):
    ints = np.arange(64 * 3).reshape(64, 3)
    np.save(tmp_path / "i.npy", ints)
    assert np.array_equal(load_embedding(tmp_path / "i.npy").values, ints.astype(float))
    bits = np.random.default_rng(0).random((64, 3)) > 0.5
    np.save(tmp_path / "b.npy", bits)
    emb = load_embedding(tmp_path / "b.npy")
    assert np.array_equal(emb.values, bits.astype(float)) and "0/1" in " ".join(emb.notes)
    np.save(tmp_path / "f.npy", X.astype(">f4"))  # big-endian float32
    assert np.array_equal(load_embedding(tmp_path / "f.npy").values,
                          X.astype(np.float32).astype(np.float64))


def test_uploaded_file_read_before_and_left_open():
    buf = io.BytesIO()
    np.save(buf, X)
    up = Upload(buf.getvalue(), "C:\\Users\\me\\emb.npy")  # browsers may send full paths
    up.read()  # a page may have read it already
    emb = load_embedding(up)
    assert emb.name == "emb.npy" and np.array_equal(emb.values, X) and not up.closed


def test_display_name_is_base_name_on_one_line(tmp_path):
    with pytest.raises(EmbeddingError) as info:
        load_embedding(b"junk", name="/tmp/upload-123/bad\nname.txt")
    assert str(info.value).startswith("bad?name.txt: ") and "/tmp" not in str(info.value)


@pytest.mark.parametrize("case_id, build, problem", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_file_gives_one_clear_line(tmp_path, case_id, build, problem):
    path = build(tmp_path)
    if problem in SET_LEVEL:
        emb = load_embedding(path)  # fine alone; wrong next to the good file
        def call(): check_set([emb, load_embedding(good_file(tmp_path))])
    else:
        def call(): load_embedding(path)
    with pytest.raises(EmbeddingError) as info:
        call()
    error, text = info.value, str(info.value)
    assert error.problem == problem, text
    assert problem in PROBLEMS
    assert path.name in error.name and text.startswith(error.name + ": ")
    assert "\n" not in text and str(tmp_path) not in text
    assert "Traceback" not in text and 'File "' not in text and "Error:" not in text
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    if path.is_file() and problem not in SET_LEVEL:  # the same verdict for an upload
        with pytest.raises(EmbeddingError) as again:
            load_embedding(Upload(path.read_bytes(), path.name))
        assert again.value.problem == problem and str(again.value) == text


def test_bad_files_cover_every_file_problem():
    assert len(BAD_FILES) >= 30 and len({c[0] for c in BAD_FILES}) == len(BAD_FILES)
    assert {c[2] for c in BAD_FILES} == set(PROBLEMS) - {"axis"}


@pytest.fixture
def no_data_reads(monkeypatch):
    """Make every data reader fail loudly: limits must be decided from headers alone."""
    def refuse(*args, **kwargs):
        raise AssertionError("data was read before the limits were checked")
    for owner, attr in ((np, "load"), (np.lib.format, "read_array"), (pd, "read_csv"),
                        (pd, "read_parquet"), (pq, "read_table"), (pq.ParquetFile, "read")):
        monkeypatch.setattr(owner, attr, refuse)


def _table_files(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "t.csv", tmp_path / "t.tsv", tmp_path / "t.parquet"]
    paths[0].write_text(csv_text(X))
    paths[1].write_text(csv_text(X, "\t"))
    pd.DataFrame(X).to_parquet(paths[2])
    return paths


@pytest.mark.usefixtures("no_data_reads")
def test_limits_come_from_headers_before_any_data(tmp_path):
    cases = [  # (content, name, limits, problem)
        (claimed_npy((2_000_000, 4)), "h.npy", Limits(), "too_many_rows"),
        (claimed_npy((10, 40_000)), "h.npy", Limits(), "too_many_cols"),
        (claimed_npy((100_000, 4_000)), "h.npy", Limits(), "too_large"),
        (npz_bytes(a=X, b=X), "h.npz", Limits(max_rows=10), "too_many_rows"),
        (claimed_npy((64, 8, 8)), "h.npy", Limits(max_cols=32), "three_dim"),
    ]
    for content, name, limits, problem in cases:
        with pytest.raises(EmbeddingError) as info:
            load_embedding(content, name=name, limits=limits, key="a")
        assert info.value.problem == problem
    with pytest.raises(EmbeddingError) as info:
        load_embedding(claimed_npy((64, 8, 8)), name="h.npy", flatten=True,
                       limits=Limits(max_cols=32))
    assert info.value.problem == "too_many_cols"
    for path in _table_files(tmp_path):
        for limits, problem in ((Limits(max_rows=10), "too_many_rows"),
                                (Limits(max_cols=2), "too_many_cols"),
                                (Limits(max_mb=0.001), "too_large")):
            with pytest.raises(EmbeddingError) as info:
                load_embedding(path, limits=limits)
            assert info.value.problem == problem, (path.name, str(info.value))


def test_list_npz_keys_reads_headers_only(tmp_path, no_data_reads):
    path = tmp_path / "m.npz"
    path.write_bytes(npz_bytes(compressed=True, a=X, b=X[:, :2].astype(np.float32)))
    infos = list_npz_keys(path)
    assert [(i.key, i.shape, str(i.dtype)) for i in infos] == [("a", (64, 4), "float64"),
                                                               ("b", (64, 2), "float32")]


def test_npz_key_errors_list_the_arrays(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, first=X, second=X[:, :2])
    for key, fragment in ((None, "holds 2 arrays"), ("third", "has no array 'third'")):
        with pytest.raises(EmbeddingError) as info:
            load_embedding(path, key=key)
        assert info.value.problem == "npz_key" and fragment in str(info.value)
        assert "'first' (64, 4), 'second' (64, 2)" in str(info.value)
    assert load_embedding(path, key="second").source_key == "second"


def test_size_limit_from_argument_and_env(tmp_path, monkeypatch):
    path = tmp_path / "e.npy"
    np.save(path, X)  # 2,176 bytes
    with pytest.raises(EmbeddingError) as info:
        load_embedding(path, limits=Limits(max_mb=0.001))  # 1,048 bytes
    assert info.value.problem == "too_large" and "limit is 0.0 MB" in str(info.value)
    monkeypatch.setenv(MAX_MB_ENV, "0.001")
    assert Limits().max_mb == 0.001
    with pytest.raises(EmbeddingError, match="e.npy: is 0.0 MB"):
        load_embedding(path)
    assert load_embedding(path, limits=Limits(max_mb=1)).n_rows == 64
    monkeypatch.setenv(MAX_MB_ENV, "lots")
    with pytest.raises(ValueError, match=MAX_MB_ENV):
        Limits()
    with pytest.raises(ValueError, match="Limits.max_rows"):
        Limits(max_mb=1, max_rows=0)


class WritesMarker:
    """Unpickling this would create ``path``: proof of whether anything was unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def test_pickle_inside_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled.txt"
    payload = np.array([[WritesMarker(marker), 1.0]] * 8, dtype=object)
    np.save(tmp_path / "p.npy", payload, allow_pickle=True)
    np.savez(tmp_path / "p.npz", emb=payload)
    for name in ("p.npy", "p.npz"):
        for loader in (load_embedding, load_labels):
            with pytest.raises(EmbeddingError) as info:
                loader(tmp_path / name)
            assert info.value.problem == "pickle"
    assert not marker.exists()


def test_three_dims_flatten_or_axis(tmp_path):
    cube = np.random.default_rng(1).normal(size=(64, 3, 5))  # (n, t, d)
    np.save(tmp_path / "c.npy", cube)
    flat = load_embedding(tmp_path / "c.npy", flatten=True)
    assert np.array_equal(flat.values, cube.reshape(64, 15))
    assert flat.notes == ("flattened shape (64, 3, 5) to (64, 15)",)
    for axis in (2, -1):
        moved = load_embedding(tmp_path / "c.npy", axis=axis)
        assert np.array_equal(moved.values, np.moveaxis(cube, 2, 0).reshape(5, 192))
    np.save(tmp_path / "t.npy", X.T)  # saved as (dims, inputs)
    assert np.array_equal(load_embedding(tmp_path / "t.npy", axis=1).values, X)
    with pytest.raises(EmbeddingError) as info:
        load_embedding(tmp_path / "c.npy", axis=3)
    assert info.value.problem == "axis" and "axes 0 to 2" in str(info.value)


def test_check_set_drops_the_same_rows_everywhere(tmp_path):
    a, b, f = X.copy(), matrix(64, 3, seed=4), matrix(64, 2, seed=5)
    a[[2, 10], 0] = np.nan
    b[[10, 40], 1] = np.inf
    f[50, 0] = np.nan
    embs = [load_embedding(_save(tmp_path / "a.npy", a)), load_embedding(_save(tmp_path / "b.npy", b))]
    factors = load_factors(_save(tmp_path / "f.npy", f))
    labels = load_labels(_save(tmp_path / "l.npy", np.arange(64) % 3))
    with pytest.raises(EmbeddingError) as info:
        check_set(embs, factors=factors, labels=labels)
    assert info.value.problem == "nonfinite" and info.value.name == "a.npy, b.npy, f.npy"
    assert "a.npy 2, b.npy 2, f.npy 1 (4 of 64 rows" in str(info.value)
    assert "drop_nonfinite" in str(info.value)
    out = check_set(embs, factors=factors, labels=labels, drop_nonfinite=True)
    keep = np.setdiff1d(np.arange(64), [2, 10, 40, 50])
    assert np.array_equal(out.rows, keep) and out.n_rows == 60
    assert np.array_equal(out.embeddings[0].values, a[keep])
    assert np.array_equal(out.embeddings[1].values, b[keep])
    assert np.array_equal(out.factors.values, f[keep])
    assert np.array_equal(out.labels.values, (np.arange(64) % 3)[keep])
    assert out.notes[0].startswith("dropped 4 of 64 rows")


def _save(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


def test_check_set_row_counts_and_rows_per_dim(tmp_path):
    a = load_embedding(_save(tmp_path / "a.npy", X))
    b = load_embedding(_save(tmp_path / "b.npy", matrix(60, 4)))
    c = load_embedding(_save(tmp_path / "c.npy", matrix(64, 4, seed=7)))
    with pytest.raises(EmbeddingError) as info:
        check_set([a, b, c])
    assert info.value.problem == "rows_mismatch" and info.value.name == "b.npy"
    assert "(a.npy 64, b.npy 60, c.npy 64)" in str(info.value)
    wide = load_embedding(_save(tmp_path / "w.npy", matrix(64, 17)))
    with pytest.raises(EmbeddingError, match=r"w.npy: has 64 rows for 17 dims.* = 68 rows"):
        check_set([a, wide])
    assert check_set([a, wide], min_rows_per_dim=2).n_rows == 64
    many_factors = load_factors(_save(tmp_path / "f.npy", matrix(64, 30)))
    assert check_set([a, c], factors=many_factors).factors is many_factors  # exempt


def test_check_set_constant_after_drop_and_all_rows_dropped(tmp_path):
    a = X.copy()
    a[0, 1] = 7.0  # column 1 is constant except on row 0, which has a NaN
    a[1:, 1] = 0.0
    a[0, 0] = np.nan
    emb = load_embedding(_save(tmp_path / "a.npy", a))
    with pytest.raises(EmbeddingError) as info:
        check_set([emb], drop_nonfinite=True)
    assert info.value.problem == "constant_column" and "after dropping" in str(info.value)
    all_nan = X.copy()
    all_nan[:, 3] = np.nan
    nan = load_embedding(_save(tmp_path / "n.npy", all_nan))
    with pytest.raises(EmbeddingError) as info:
        check_set([nan, load_embedding(good_file(tmp_path))], drop_nonfinite=True)
    assert info.value.problem == "nonfinite" and "every row has NaN or inf" in str(info.value)


def test_load_many_keeps_the_good_files(tmp_path):
    good = _save(tmp_path / "a.npy", X)
    bad = tmp_path / "b.npy"
    bad.write_bytes(b"not numpy")
    buf = io.BytesIO()
    np.save(buf, X)
    loaded, errors = load_many([good, bad, (buf.getvalue(), "c.npy")])
    assert [e.name for e in loaded] == ["a.npy", "c.npy"]
    assert [(e.name, e.problem) for e in errors] == [("b.npy", "wrong_type")]


LABEL_CASES = {  # name -> (file name, writer, expected values, header option)
    "csv_series_with_index": ("l.csv", lambda p: pd.Series(["x", "y"] * 32, name="kind").to_csv(p),
                              np.array(["x", "y"] * 32), None),
    "csv_strings_header": ("l.csv", lambda p: p.write_text("kind\n" + "x\ny\n" * 32),
                           np.array(["x", "y"] * 32), None),
    "csv_strings_no_header": ("l.csv", lambda p: p.write_text("x\ny\n" * 32),
                              np.array(["x", "y"] * 32), None),
    "csv_forced_no_header": ("l.csv", lambda p: p.write_text("kind\n" + "x\ny\n" * 32),
                             np.array(["kind"] + ["x", "y"] * 32), False),
    "csv_ints_header": ("l.csv", lambda p: p.write_text("digit\n" + "3\n4\n" * 32),
                        np.array([3, 4] * 32), None),
    "npy_ints_column": ("l.npy", lambda p: np.save(p, (np.arange(64) % 5)[:, None]),
                        np.arange(64) % 5, None),
    "npy_integral_floats": ("l.npy", lambda p: np.save(p, np.arange(64.0)), np.arange(64), None),
    "npy_fractions": ("l.npy", lambda p: np.save(p, np.arange(64) / 2),
                      (np.arange(64) / 2).astype(str), None),
    "npy_text": ("l.npy", lambda p: np.save(p, np.array(["cat", "dog"] * 32)),
                 np.array(["cat", "dog"] * 32), None),
    "npy_bool": ("l.npy", lambda p: np.save(p, np.arange(64) % 2 == 0),
                 (np.arange(64) % 2 == 0).astype(int), None),
    "parquet_category": ("l.parquet", lambda p: pd.DataFrame(
        {"k": pd.Categorical(["a", "b"] * 32)}).to_parquet(p), np.array(["a", "b"] * 32), None),
    "parquet_ints": ("l.parquet", lambda p: pd.DataFrame({"k": np.arange(64)}).to_parquet(p),
                     np.arange(64), None),
}


@pytest.mark.parametrize("case", list(LABEL_CASES))
def test_labels(tmp_path, case):
    file_name, writer, expected, header = LABEL_CASES[case]
    labels = load_labels(_write(tmp_path / file_name, writer), header=header)
    assert labels.values.dtype.kind == expected.dtype.kind
    assert np.array_equal(labels.values, expected)


@pytest.mark.parametrize("file_name, writer, problem", [
    ("l.npy", lambda p: np.save(p, np.zeros((64, 2))), "too_many_cols"),
    ("l.csv", lambda p: p.write_text("a,b\n1,2\n3,4\n"), "too_many_cols"),
    ("l.csv", lambda p: p.write_text(",kind\n0,x\n1,\n2,y\n"), "nonfinite"),
    ("l.npy", lambda p: np.save(p, np.array([1.0, np.nan, 2.0])), "nonfinite"),
    ("l.parquet", lambda p: pd.DataFrame({"k": ["a", None, "b"]}).to_parquet(p), "nonfinite"),
    ("l.npy", lambda p: np.save(p, np.zeros((4, 2, 2))), "three_dim"),
    ("l.npy", lambda p: np.save(p, np.zeros(3, dtype=complex)), "dtype"),
])
def test_bad_labels(tmp_path, file_name, writer, problem):
    with pytest.raises(EmbeddingError) as info:
        load_labels(_write(tmp_path / file_name, writer))
    assert info.value.problem == problem and str(info.value).startswith(file_name + ": ")


def test_labels_must_match_rows(tmp_path):
    emb = load_embedding(_save(tmp_path / "a.npy", X))
    labels = load_labels(_save(tmp_path / "l.npy", np.arange(63)))
    with pytest.raises(EmbeddingError) as info:
        check_set([emb], labels=labels)
    assert info.value.problem == "rows_mismatch" and "l.npy 63" in str(info.value)


def test_error_survives_pickling():
    error = EmbeddingError("a.npy", "dtype", "holds text")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.problem, copy.name) == ("a.npy: holds text", "dtype", "a.npy")


def _damaged_variants(data: bytes, rng: np.random.Generator, count: int) -> list[bytes]:
    cuts = [data[:k] for k in np.linspace(0, len(data) - 1, count // 2).astype(int)]
    flips = []
    for _ in range(count // 2):
        garbled = bytearray(data)
        at = int(rng.integers(len(data)))
        garbled[at: at + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
        flips.append(bytes(garbled))
    return cuts + flips


@pytest.mark.parametrize("case", ["npy", "npz_compressed", "csv_pandas_index", "tsv", "parquet"])
def test_damaged_files_load_or_fail_cleanly(tmp_path, case):
    file_name, writer, _ = ROUND_TRIPS[case]
    data = _write(tmp_path / file_name, writer).read_bytes()
    for variant in _damaged_variants(data, np.random.default_rng(0), 60):
        for loader in (load_embedding, load_labels):
            try:
                loader(variant, name=file_name)
            except EmbeddingError as e:  # anything else fails the test
                assert e.problem in PROBLEMS and "\n" not in str(e)
