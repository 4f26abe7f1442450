"""Saved comparisons: the arrays a user compared and the Compare result, kept in the run store.

Uploaded arrays live only as long as the session that holds them, unless saved here. A saved
comparison is one row of the ``comparisons`` table (schema v3; created with the first saved
comparison, so readers treat a missing table as none saved) plus one file,
``artefacts/comparisons/<id>/arrays.npz`` (``allow_pickle=False``-loadable: ``emb_0`` ..
``emb_{k-1}`` in the order of ``names``, then ``factors`` and ``labels`` when given).

Crash safety: the file is written atomically *before* the row is inserted, so a process
killed at any moment leaves either no row (and at most an orphaned folder) or a complete
comparison. Orphaned folders are removed by ``RunStore.recover()`` and by the next save;
a save in progress holds a shared ``flock`` on ``artefacts/comparisons/.lock`` so that the
clean-up (which takes it exclusively, or skips) never removes files a live process is
about to commit. Locks are per host, like the store itself (not for network file systems).
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nearid_core.engine import faults
from nearid_core.runs._files import DamagedArtefact, load_npz, save_npz
from nearid_core.runs._sqlite import (
    COMPARISONS_DDL,
    StoreError,
    dumps,
    loads,
    resolve_id,
    update_row,
)
from nearid_core.runs.sweep_latents import (
    default_model_indices,
    model_name,
    sweep_embeddings,
)

if TYPE_CHECKING:
    from nearid_core.runs.store import RunStore
    from nearid_core.studies.compare import CompareResult

try:
    import fcntl
except ImportError:  # not POSIX: no clean-up while anything could be saving
    fcntl = None

__all__ = ["SavedComparison", "default_model_indices", "delete_comparison", "id_kind",
           "list_comparisons", "model_name",
           "load_comparison", "remove_orphans", "rename_comparison", "save_comparison",
           "sweep_embeddings"]

FOLDER = "comparisons"  # under the store's artefacts folder
ARRAYS = "arrays"
MAX_NAME = 200
_LIST = "id, name, created_at, updated_at, names, n_rows, dims, has_factors, has_labels"


@dataclass(frozen=True, eq=False)
class SavedComparison:
    """One saved comparison, exactly as saved.

    embeddings : name -> (n_rows, d_k) floats, in the saved order; factors (n_rows, d_u) or
    None; labels (n_rows,) int64 or str, or None; config : the CompareConfig as a dict;
    result : ``CompareResult.to_json_dict()``.
    """

    id: str
    name: str
    created_at: float
    embeddings: dict[str, np.ndarray] = field(repr=False)
    factors: np.ndarray | None = field(repr=False)
    labels: np.ndarray | None = field(repr=False)
    config: dict = field(repr=False)
    result: dict = field(repr=False)


def _root(store: RunStore) -> Path:
    return store.artefacts_dir / FOLDER


def check_name(name: str) -> str:
    """A comparison's label: at most MAX_NAME printable characters (stripped)."""
    if not isinstance(name, str) or len(name) > MAX_NAME or not name.isprintable():
        raise ValueError(f"a comparison name must be at most {MAX_NAME} printable characters; "
                         f"got {str(name)[:40]!r}")
    return name.strip()


def _labels(labels: Any, n: int) -> np.ndarray:
    """Labels as int64 or str (both load without pickle); (n,) or ValueError."""
    values = np.asarray(labels)
    if values.ndim != 1 or values.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},); got {values.shape}")
    if values.dtype.kind in "iub":
        return values.astype(np.int64)
    if values.dtype.kind == "U" or (values.dtype == object
                                    and all(isinstance(v, str) for v in values)):
        return values.astype(str)
    raise ValueError(f"labels must be integers or text; got dtype {values.dtype}")


def _arrays(embeddings: Mapping[str, np.ndarray], factors, labels) -> dict[str, np.ndarray]:
    """The file's arrays, checked: >= 2 named (n, d) numeric matrices of the same rows."""
    if not isinstance(embeddings, Mapping) or len(embeddings) < 2:
        raise ValueError("a comparison needs a mapping of at least 2 named embeddings")
    if not all(isinstance(k, str) for k in embeddings):
        raise ValueError("embedding names must be strings")
    out = {}
    for k, (name, X) in enumerate(embeddings.items()):
        X = np.asarray(X)
        if X.ndim != 2 or X.dtype.kind not in "iuf" or X.shape[0] != _rows(embeddings):
            raise ValueError(f"embedding {name!r} must be a numeric (n_rows, d) array of the "
                             f"same rows as the others; got {X.dtype} {X.shape}")
        out[f"emb_{k}"] = X if X.dtype.kind == "f" else X.astype(np.float64)
    n = out["emb_0"].shape[0]
    if factors is not None:
        F = np.asarray(factors, dtype=np.float64)
        if F.ndim != 2 or F.shape[0] != n:
            raise ValueError(f"factors must have shape ({n}, d_u); got {F.shape}")
        out["factors"] = F
    if labels is not None:
        out["labels"] = _labels(labels, n)
    return out


def _rows(embeddings: Mapping[str, np.ndarray]) -> int:
    return np.shape(next(iter(embeddings.values())))[0]


@contextmanager
def _lock(store: RunStore, *, exclusive: bool) -> Iterator[bool]:
    """Shared (saving, waits) or exclusive (clean-up, never waits) lock; yields if held."""
    root = _root(store)
    root.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield not exclusive
        return
    with open(root / ".lock", "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def remove_orphans(store: RunStore) -> int:
    """Delete comparison folders without a row (a save killed before its insert); return how
    many. Skips when another process is saving, and on a read-only store."""
    root = _root(store)
    if store.readonly or not root.is_dir():
        return 0
    with _lock(store, exclusive=True) as held:
        if not held:
            return 0
        with store._read() as c:
            known = ({r[0] for r in c.execute("SELECT id FROM comparisons")}
                     if _has_table(c) else set())
        orphans = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                   and p.name not in known]
        for p in orphans:
            shutil.rmtree(p, ignore_errors=True)
    return len(orphans)


def _write_file(store: RunStore, cid: str, arrays: dict[str, np.ndarray]) -> None:
    try:
        save_npz(_root(store) / cid, ARRAYS, arrays)
    except OSError as exc:  # e.g. a full disk: nothing is listed, the folder goes
        shutil.rmtree(_root(store) / cid, ignore_errors=True)
        raise StoreError(f"cannot save the comparison's arrays: {exc.strerror or exc}",
                         path=store.home) from None


def save_comparison(store: RunStore, *, name: str, embeddings: dict[str, np.ndarray],
                    result: CompareResult, factors: np.ndarray | None = None,
                    labels: np.ndarray | None = None) -> str:
    """Keep a comparison's arrays and result in the store; return its new 12-hex id.

    Parameters
    ----------
    store : RunStore
    name : str
        A label, at most 200 printable characters.
    embeddings : dict of str to ndarray (n_rows, d_k)
        The arrays the result was computed on, in its order (at least two).
    result : CompareResult
        Saved as ``to_json_dict()`` (its config too); maps are not kept.
    factors : ndarray (n_rows, d_u), optional
    labels : ndarray (n_rows,) of int or str, optional

    Notes
    -----
    Arrays load back bit for bit (float dtypes kept, integers as float64; labels as int64 or
    str). The file is complete before the row exists: a kill at any moment leaves no listed
    comparison or a whole one. ValueError for bad arguments, StoreError on a read-only or
    broken store.
    """
    name = check_name(name)
    arrays = _arrays(embeddings, factors, labels)
    if store.readonly:
        raise StoreError("the run store is read-only here: comparisons cannot be saved",
                         path=store.home)
    doc = result.to_json_dict()
    names = list(embeddings)
    dims = [int(arrays[f"emb_{k}"].shape[1]) for k in range(len(names))]
    values = (dumps(names, what="names"), int(arrays["emb_0"].shape[0]), dumps(dims, what="dims"),
              int(factors is not None), int(labels is not None),
              dumps(doc["config"], what="config"), dumps(doc, what="result"))
    remove_orphans(store)
    cid, now = uuid.uuid4().hex[:12], time.time()
    with _lock(store, exclusive=False):
        _write_file(store, cid, arrays)
        faults.checkpoint("comparison")  # test hook: a kill between the file and the row
        with store._write() as c:
            c.execute(COMPARISONS_DDL)  # the first saved comparison creates the table
            c.execute("INSERT INTO comparisons (id, name, created_at, updated_at, names, n_rows,"
                      " dims, has_factors, has_labels, config, result) VALUES"
                      " (?,?,?,?,?,?,?,?,?,?,?)", (cid, name, now, now, *values))
    return cid


def _has_table(c) -> bool:
    # Created with the first saved comparison; a v2 store opened read-only has none either.
    return c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name ="
                     " 'comparisons'").fetchone() is not None


def _resolve(c, cid: str) -> str:
    if not _has_table(c):
        raise StoreError(f"no comparison with id {str(cid)[:40]!r} in the store")
    return resolve_id(c, "comparisons", cid)


def id_kind(store: RunStore, key: str) -> tuple[str, str]:
    """``("sweep", id)`` or ``("comparison", id)`` for an id or unique prefix of either kind
    (the command line's ``show`` and ``delete`` take both); StoreError otherwise."""
    with store._read() as c:
        tables = [("sweep", "sweeps")] + ([("comparison", "comparisons")] if _has_table(c) else [])
        hits = [(kind, r[0]) for kind, table in tables for r in c.execute(
            f"SELECT id FROM {table} WHERE substr(id, 1, length(?)) = ? LIMIT 2", (key, key))]
    exact = [h for h in hits if h[1] == key]
    if len(exact) == 1 or len(hits) == 1:
        return (exact or hits)[0]
    if hits:
        raise StoreError(f"id prefix {key!r} is ambiguous; give more characters")
    shown = key if len(key) <= 40 else key[:40] + "…"
    raise StoreError(f"no sweep or saved comparison with id {shown!r} in the store")


def list_comparisons(store: RunStore) -> list[dict]:
    """Saved comparisons, newest first: ``id, name, created_at, updated_at, names`` (list),
    ``n_rows, dims`` (list), ``has_factors, has_labels`` (bool). Arrays are not read."""
    with store._read() as c:
        if not _has_table(c):
            return []
        rows = c.execute(f"SELECT {_LIST} FROM comparisons ORDER BY created_at DESC,"
                         " rowid DESC").fetchall()
    return [dict(r) | {"names": loads(r["names"]), "dims": loads(r["dims"]),
                       "has_factors": bool(r["has_factors"]), "has_labels": bool(r["has_labels"])}
            for r in rows]


def load_comparison(store: RunStore, cid: str) -> SavedComparison:
    """One saved comparison (id or unique prefix) with its arrays.

    StoreError for an unknown id or missing files; DamagedArtefact (a StoreError) when the
    file cannot be read or does not match its row.
    """
    with store._read() as c:
        row = c.execute("SELECT * FROM comparisons WHERE id = ?", (_resolve(c, cid),)).fetchone()
    cid, names, dims = row["id"], loads(row["names"]), loads(row["dims"])
    folder = _root(store) / cid
    if not (folder / f"{ARRAYS}.npz").is_file():
        raise StoreError(f"the saved arrays of comparison {cid} are missing", path=folder)
    arrays = load_npz(folder, ARRAYS, f"comparison {cid}")
    embeddings = {n: arrays.get(f"emb_{k}") for k, n in enumerate(names)}
    shapes = [getattr(X, "shape", None) for X in embeddings.values()]
    extras = all((key in arrays) == bool(row[f"has_{key}"]) for key in ("factors", "labels"))
    if shapes != [(row["n_rows"], d) for d in dims] or not extras:
        raise DamagedArtefact(f"the saved arrays of comparison {cid} do not match its record",
                              path=folder)
    return SavedComparison(cid, row["name"], row["created_at"], embeddings,
                           arrays.get("factors"), arrays.get("labels"),
                           loads(row["config"]), loads(row["result"]))


def rename_comparison(store: RunStore, cid: str, name: str) -> None:
    """Set a saved comparison's name; ValueError past 200 characters or for control chars."""
    name = check_name(name)
    with store._write() as c:
        update_row(c, "comparisons", _resolve(c, cid), name=name)


def delete_comparison(store: RunStore, cid: str) -> None:
    """Delete a saved comparison (id or unique prefix): its row, then its files."""
    with store._write() as c:
        cid = _resolve(c, cid)
        c.execute("DELETE FROM comparisons WHERE id = ?", (cid,))
    # Row first: a crash in between leaves an orphaned folder (removed later), never a row
    # without its files.
    shutil.rmtree(_root(store) / cid, ignore_errors=True)

