"""Low-level helpers for :mod:`nearid_core.store`: SQLite schema, connections and row
helpers, JSON columns, process liveness, and atomic ``.npz`` artefact files.

The public API lives in ``store.py``; nothing here is meant to be imported elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
TEMP_PREFIX = ".tmp-"  # loaders and listings skip names starting with this

STATUSES = ("queued", "running", "done", "failed", "cancelled")
LIVE = ("queued", "running")
_RESERVED_KEYS = ("file", "allow_pickle")  # clash with np.savez's own parameters

_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"""CREATE TABLE IF NOT EXISTS sweeps (
        id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL, updated_at REAL NOT NULL,
        config TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN {STATUSES}),
        reason TEXT, progress REAL NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
        message TEXT, analysis TEXT, timings TEXT NOT NULL DEFAULT '{{}}',
        pid INTEGER, hostname TEXT)""",
    f"""CREATE TABLE IF NOT EXISTS runs (
        id TEXT PRIMARY KEY,
        sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL, leak REAL NOT NULL, seed INTEGER NOT NULL,
        config TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN {STATUSES}),
        reason TEXT, metrics TEXT NOT NULL DEFAULT '{{}}',
        loss_history TEXT NOT NULL DEFAULT '[]', timings TEXT NOT NULL DEFAULT '{{}}',
        created_at REAL NOT NULL, updated_at REAL NOT NULL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS runs_by_sweep ON runs (sweep_id, idx)",
)
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}")


class StoreError(RuntimeError):
    """A run store that cannot be opened, or an id that is not in it."""


def connect(path: Path) -> sqlite3.Connection:
    """Open a connection in autocommit mode; transactions are explicit (see ``transaction``)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    # NORMAL is crash-safe in WAL mode; only a power cut can lose the last commits.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, *, write: bool) -> Iterator[sqlite3.Connection]:
    """One short transaction; writers take the lock up front so the busy timeout applies
    (a deferred read-then-write transaction can fail at once with SQLITE_BUSY in WAL mode)."""
    if conn.in_transaction:  # left open by a failed COMMIT: start clean
        conn.execute("ROLLBACK")
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def init_db(path: Path) -> None:
    """Create or check the database at ``path``; raise StoreError if its schema is newer."""
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")  # persistent; must be outside a transaction
        with transaction(conn, write=True):
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
            row = has_meta and conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
            version = int(row["value"]) if row else None
            if version is not None and version > SCHEMA_VERSION:
                raise StoreError(
                    f"store at {path} has schema version {version}, this nearid understands "
                    f"up to {SCHEMA_VERSION}; upgrade nearid or point NEARID_HOME elsewhere"
                )
            for statement in _DDL:
                conn.execute(statement)
            if version is None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open run store at {path}: {exc}") from exc
    finally:
        conn.close()


def check_status(status: str) -> str:
    """Return ``status`` if it is a known status, else raise ValueError naming it."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    return status


def check_progress(progress: float) -> float:
    """Return ``progress`` as a float in [0, 1], else raise ValueError naming it."""
    value = float(progress)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"progress must be a number in [0, 1]; got {progress!r}")
    return value


def check_name(name: str, what: str = "artefact name") -> str:
    """Artefact names become file names: letters, digits, ``_.-``, not starting with ``.``."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"{what} must be 1-100 characters from [A-Za-z0-9_.-], not starting with '.' "
            f"or '-'; got {name!r}"
        )
    return name


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def dumps(obj: Any, *, what: str) -> str:
    """Encode a JSON column. NaN/inf are kept (Python's JSON extension) so that a diverged
    loss survives the round trip; NumPy scalars and arrays are converted to plain values."""
    try:
        return json.dumps(obj, sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON-serialisable: {exc}") from exc


def loads(text: str | None) -> Any:
    """Decode a JSON column (``None`` stays ``None``)."""
    return None if text is None else json.loads(text)


def append_losses(history: str, loss: float) -> str:
    """Append one loss to a JSON list without re-encoding: JSON text is cheap to splice."""
    item = json.dumps(float(loss))
    return "[" + item + "]" if history == "[]" else history[:-1] + "," + item + "]"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` on this host is alive (zombies count as dead)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS) or raced with exit: assume alive, the safe side
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` via a temp file in the same directory, fsync, then ``os.replace``.

    Readers see either the old file or the complete new one, never a partial one. The temp
    name carries the writer's pid so that ``remove_stale_temp_files`` knows when it is safe.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{path.name}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def remove_stale_temp_files(root: Path) -> int:
    """Delete temp files under ``root`` whose writer process has ended; return how many."""
    removed = 0
    for tmp in root.rglob(f"{TEMP_PREFIX}*"):
        pid_text = tmp.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if pid_text.isdigit() and pid_alive(int(pid_text)):
            continue
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


# ---------------------------------------------------------------- rows


def resolve_id(c: sqlite3.Connection, table: str, key: str, home: Path) -> str:
    """The full id in ``table`` given an id or a unique prefix; StoreError otherwise."""
    kind = table[:-1]
    if c.execute(f"SELECT 1 FROM {table} WHERE id = ?", (key,)).fetchone():
        return key
    rows = c.execute(
        f"SELECT id FROM {table} WHERE ? != '' AND substr(id, 1, length(?)) = ? LIMIT 2",
        (key, key, key),
    ).fetchall()
    if len(rows) > 1:
        raise StoreError(f"{kind} id prefix {key!r} is ambiguous; give more characters")
    if not rows:
        raise StoreError(f"no {kind} with id {key!r} in the store at {home}")
    return rows[0]["id"]


def update_row(c: sqlite3.Connection, table: str, row_id: str, home: Path, **fields: Any) -> None:
    """Set ``fields`` and ``updated_at`` on one row; StoreError if the id is unknown."""
    sets = ", ".join(f"{k} = ?" for k in fields)
    cur = c.execute(
        f"UPDATE {table} SET {sets}, updated_at = ? WHERE id = ?",
        (*fields.values(), time.time(), row_id),
    )
    if cur.rowcount == 0:
        raise StoreError(f"no {table[:-1]} with id {row_id!r} in the store at {home}")


def fail_dead_owners(c: sqlite3.Connection, host: str) -> tuple[list[str], list[str]]:
    """Mark live sweeps/runs whose owner pid on ``host`` has ended as failed; return the
    (sweep ids, run ids) changed. Queued runs of such a sweep fail too: nobody will run them."""
    sweeps: list[str] = []
    runs: list[str] = []
    candidates = c.execute(
        "SELECT id, pid FROM sweeps WHERE hostname = ? AND pid IS NOT NULL AND (status ="
        " 'running' OR id IN (SELECT sweep_id FROM runs WHERE status = 'running'))",
        (host,),
    ).fetchall()
    for row in candidates:
        if pid_alive(row["pid"]):
            continue
        reason, args = f"interrupted (process {row['pid']} ended)", (row["id"], *LIVE)
        live = "status IN (?, ?)"
        query = f"SELECT id FROM runs WHERE sweep_id = ? AND {live}"
        runs += [r["id"] for r in c.execute(query, args)]
        for table, key in (("runs", "sweep_id"), ("sweeps", "id")):
            c.execute(
                f"UPDATE {table} SET status = 'failed', reason = ?, updated_at = ?"
                f" WHERE {key} = ? AND {live}",
                (reason, time.time(), *args),
            )
        sweeps.append(row["id"])
    return sweeps, runs


def run_counts(c: sqlite3.Connection, sweep_id: str) -> dict[str, int]:
    """Number of runs of a sweep per status, every status present."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in c.execute(
        "SELECT status, COUNT(*) AS n FROM runs WHERE sweep_id = ? GROUP BY status", (sweep_id,)
    ):
        counts[row["status"]] = row["n"]
    return counts


def sweep_dict(row: sqlite3.Row, counts: dict[str, int]) -> dict[str, Any]:
    """A sweeps row as a plain dict with decoded JSON, ``run_counts`` and ``n_runs``."""
    out = dict(row)
    for key in ("config", "analysis", "timings"):
        out[key] = loads(out[key])
    return out | {"run_counts": counts, "n_runs": sum(counts.values())}


def run_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A runs row as a plain dict with decoded JSON; ``idx`` becomes ``index``."""
    out = dict(row)
    out["index"] = out.pop("idx")
    for key in ("config", "metrics", "loss_history", "timings"):
        out[key] = loads(out[key])
    return out


# ---------------------------------------------------------------- .npz artefacts


def save_npz(directory: Path, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Atomically write ``directory/<name>.npz``; no object arrays (loading refuses pickle)."""
    bad = [k for k in arrays if not isinstance(k, str) or k in _RESERVED_KEYS]
    if bad:
        raise ValueError(f"array names must be strings other than {_RESERVED_KEYS}; got {bad}")
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    if any(a.dtype == object for a in arrays.values()):
        raise ValueError("object arrays cannot be stored (they would need pickle)")
    path = directory / f"{check_name(name)}.npz"
    atomic_write(path, lambda f: np.savez(f, allow_pickle=False, **arrays))


def load_npz(directory: Path, name: str, owner: str) -> dict[str, np.ndarray]:
    """Load ``directory/<name>.npz`` fully into memory; StoreError if missing."""
    path = directory / f"{check_name(name)}.npz"
    if not path.exists():
        raise StoreError(f"{owner} has no saved arrays named {name!r}")
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def list_npz(directory: Path) -> list[str]:
    """Names of the complete ``.npz`` files in ``directory`` (temp files skipped)."""
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.npz") if not p.name.startswith(TEMP_PREFIX))
