"""The upload source of the Compare page: files in, one message per bad file, the rest kept.

Every file is read through ``read_uploads`` (the test seam: ``(name, bytes)`` pairs) and
loaded by ``nearid_core.runs.embeddings`` (cached by content and choices). A bad file gets one
``st.error``: the loader's one-line message naming it and the fix from ``PROBLEMS``; the
other files stay usable. An ``.npz`` with several arrays gets a key picker, an array with 3+
axes a flatten / inputs-axis choice, and NaN/inf rows a checkbox that drops them from every
file.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import PurePath

import numpy as np
import streamlit as st

from nearid_core.runs.embeddings import (
    PROBLEMS,
    EmbeddingError,
    check_set,
    list_npz_keys,
    load_embedding,
    load_labels,
)

from .compare import Inputs
from .glossary import see

TYPES = ["npy", "npz", "csv", "tsv", "parquet"]
AXIS_CHOICES = ("flatten", "pick the axis that indexes inputs")
FILES, FACTORS, LABELS = "cmp_files", "cmp_factors", "cmp_labels"  # uploader keys


def read_uploads(files) -> list[tuple[str, bytes]]:
    """The uploader's files as ``(name, bytes)`` pairs: the one place uploads are read."""
    if files is None:
        return []
    files = files if isinstance(files, list) else [files]
    return [(f.name, f.getvalue()) for f in files]


def message(err: EmbeddingError) -> str:
    """The loader's one-line message and the fix for its problem."""
    fix = PROBLEMS.get(getattr(err, "problem", ""), "")
    return f"{err}" + (f" — to fix: {fix}." if fix else "")


def _tag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


@st.cache_data(max_entries=64, show_spinner=False)
def _load(data: bytes, name: str, role: str, key: str | None, axis: int | None,
          flatten: bool):
    """(loaded, None) or (None, EmbeddingError); cached by content and choices."""
    try:
        if role == "labels":
            return load_labels(data, name=name, key=key), None
        return load_embedding(data, name=name, key=key, axis=axis, flatten=flatten), None
    except EmbeddingError as err:
        return None, err


@st.cache_data(max_entries=64, show_spinner=False)
def _npz_keys(data: bytes, name: str):
    try:
        return [(i.key, tuple(i.shape)) for i in list_npz_keys(data, name=name)], None
    except EmbeddingError as err:
        return None, err


def _npy_ndim(data: bytes) -> int:
    f = io.BytesIO(data)
    version = np.lib.format.read_magic(f)
    reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
              else np.lib.format.read_array_header_2_0)
    return len(reader(f)[0])


def _npz_key(data: bytes, name: str, role: str):
    """The chosen array of an .npz: (key or None, its ndim or None), or an error."""
    keys, err = _npz_keys(data, name)
    if err is not None:
        return None, None, err
    if len(keys) == 1:
        return keys[0][0], len(keys[0][1]), None
    shapes = dict(keys)
    key = st.selectbox(f"{name} holds {len(keys)} arrays: which one is the "
                       f"{'labels' if role == 'labels' else 'embedding'}?", list(shapes),
                       key=f"cmp_npz_{role}_{_tag(data)}",
                       format_func=lambda k: f"{k} {shapes[k]}")
    return key, len(shapes[key]), None


def _axis_choice(name: str, data: bytes, ndim: int | None) -> tuple[int | None, bool]:
    """Flatten, or which axis indexes the inputs, for an array with 3+ axes."""
    how = st.radio(f"{name} has {ndim or 'more than 2'} axes", AXIS_CHOICES, horizontal=True,
                   key=f"cmp_axes_{_tag(data)}",
                   help="flatten: axis 0 indexes the inputs, the other axes become columns. "
                        "Or choose the axis that indexes the inputs; the rest are flattened."
                        + see("latent"))
    if how == AXIS_CHOICES[0]:
        return None, True
    axis = st.selectbox(f"Axis of {name} that indexes the inputs", list(range(ndim or 3)),
                        key=f"cmp_axis_{_tag(data)}")
    return int(axis), False


def load_one(name: str, data: bytes, role: str = "embedding"):
    """One file loaded with its pickers; None after its one error message."""
    key, ndim = None, None
    if PurePath(name).suffix.lower() == ".npz":
        key, ndim, err = _npz_key(data, name, role)
        if err is not None:
            st.error(message(err))
            return None
    loaded, err = _load(data, name, role, key, None, False)
    if err is not None and err.problem == "three_dim" and role != "labels":
        if ndim is None:
            try:
                ndim = _npy_ndim(data)
            except (ValueError, OSError):
                ndim = None
        axis, flatten = _axis_choice(name, data, ndim)
        loaded, err = _load(data, name, role, key, axis, flatten)
    if err is not None:
        st.error(message(err))
        return None
    for note in loaded.notes:
        st.caption(f"{name}: {note}")
    return loaded


def _names(pairs: list[tuple[str, bytes]]) -> list[str]:
    """Distinct display names: the file name, with " (2)", " (3)" ... for repeats."""
    out: list[str] = []
    for name, _ in pairs:
        pick, k = name, 1
        while pick in out:
            k += 1
            pick = f"{name} ({k})"
        out.append(pick)
    return out


def _odd_rows(embs: list, extra: list) -> set[str]:
    """Names of the files whose row count differs from most embeddings'."""
    counts = [e.n_rows for e in embs]
    usual = max(set(counts), key=lambda c: (counts.count(c), c))
    return {p.name for p in [*embs, *extra] if p.n_rows != usual}


def _nonfinite_count(embs: list, factors) -> int:
    masks = [m.nonfinite_rows for m in [*embs, *([factors] if factors is not None else [])]]
    return int(np.logical_or.reduce(masks).sum())


def _culprits(err: EmbeddingError, embs: list, factors, labels) -> set[str]:
    if err.problem == "rows_mismatch":
        return _odd_rows(embs, [p for p in (factors, labels) if p is not None])
    return {err.name, *err.name.split(", ")}


def checked_set(embs: list, factors=None, labels=None):
    """``check_set`` on the good files; a file it refuses is left out after its message (the
    others go on). NaN/inf rows wait for the drop checkbox. Returns an EmbeddingSet or None."""
    drop = False
    while len(embs) >= 2:
        try:
            return check_set(embs, factors=factors, labels=labels, drop_nonfinite=drop)
        except EmbeddingError as err:
            ticked = err.problem == "nonfinite" and st.session_state.get("cmp_dropnan")
            (st.warning if ticked else st.error)(message(err))
            if err.problem == "nonfinite" and not drop:
                n = _nonfinite_count(embs, factors)
                drop = st.checkbox(f"Drop these {n:,} rows from every file", key="cmp_dropnan",
                                   help="Rows stay aligned: the same rows leave every file."
                                        + see("latent"))
                if not drop:
                    return None
                continue
            bad = _culprits(err, embs, factors, labels)
            kept = [e for e in embs if e.name not in bad]
            new_factors = None if factors is not None and factors.name in bad else factors
            new_labels = None if labels is not None and labels.name in bad else labels
            if (len(kept) == len(embs) and new_factors is factors and new_labels is labels):
                return None  # nothing to leave out: the message says what to fix
            embs, factors, labels = kept, new_factors, new_labels
    st.info(f"{len(embs)} usable embedding file(s) left: comparing needs at least two.")
    return None


def _summary(s) -> None:
    rows = [{"file": e.name, "role": "embedding", "rows": e.n_rows, "dims": e.n_dims}
            for e in s.embeddings]
    for role, part in (("factors", s.factors), ("labels", s.labels)):
        if part is not None:
            dims = part.n_dims if role == "factors" else 1
            rows.append({"file": part.name, "role": role, "rows": part.n_rows, "dims": dims})
    st.dataframe(rows, hide_index=True, key="cmp_ready")
    for note in s.notes:
        st.info(note[0].upper() + note[1:] + ".")


def _embeddings(pairs: list[tuple[str, bytes]]) -> list:
    """Every good embedding file, named by its file (and array, for a many-array .npz)."""
    from dataclasses import replace

    out = []
    for (_, data), name in zip(pairs, _names(pairs), strict=True):
        loaded = load_one(name, data)
        if loaded is not None:
            several = loaded.source_key and len(_npz_keys(data, name)[0] or []) > 1
            out.append(replace(loaded, name=f"{name} [{loaded.source_key}]") if several
                       else loaded)
    return out


def _extra(file, role: str):
    pairs = read_uploads(file)
    return load_one(*pairs[0], role) if pairs else None


def upload_source(start, config) -> None:
    """The upload tab: files, optional factors and labels, checks, and the Compare button."""
    files = st.file_uploader(
        "Embeddings: two or more files of the same inputs, rows in the same order",
        type=TYPES, accept_multiple_files=True, key=FILES,
        help="Rows = inputs, columns = dimensions; widths may differ. .npy, .npz, .csv, "
             ".tsv or .parquet. Nothing leaves this server." + see("latent"))
    c1, c2 = st.columns(2)
    fac = c1.file_uploader("Ground-truth factors (optional, same rows)", type=TYPES, key=FACTORS)
    lab = c2.file_uploader("Labels (optional, one per row)", type=TYPES, key=LABELS)
    pairs = read_uploads(files)
    if not pairs:
        st.info("Upload two or more embedding files to compare them. For an example, download "
                "the digits embeddings from the **Table 1 on digits** tab and upload it twice, "
                "picking a different seed each time.")
        return
    embs = _embeddings(pairs)
    s = checked_set(embs, _extra(fac, "factors"), _extra(lab, "labels"))
    if s is None:
        return
    _summary(s)
    inputs = Inputs({e.name: np.asarray(e.values) for e in s.embeddings},
                    None if s.factors is None else np.asarray(s.factors.values),
                    None if s.labels is None else np.asarray(s.labels.values),
                    title="uploaded: " + ", ".join(e.name for e in s.embeddings),
                    source="upload", notes=s.notes)
    if st.button("Compare", type="primary", key="cmp_go_upload", disabled=config is None,
                 icon=":material/compare_arrows:"):
        start(inputs, config)
