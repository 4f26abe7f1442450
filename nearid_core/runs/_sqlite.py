"""Low-level helpers for :mod:`nearid_core.runs.store`: SQLite schema and migrations,
connections (read-write or read-only), transactions, row helpers, JSON columns and the
liveness of a sweep's owner process.

The public API lives in ``store.py``; nothing here is meant to be imported elsewhere.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# v1 -> v2: status 'interrupted', heartbeat, started_at (tables rebuilt, _migrate_v1);
# v2 -> v3: saved comparisons, in a table created with the first one (COMPARISONS_DDL; a
# store that never saves one stays as small as before); nothing else changes. An older
# nearid refuses a newer store with check_version's message instead of guessing.
SCHEMA_VERSION = 3
BUSY_TIMEOUT_S = 30.0
HEARTBEAT_S = 1.0  # an owner refreshes its sweep's heartbeat this often
STALE_S = 30.0  # ... and is judged gone when it has not for this long (any host)

STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
LIVE = ("queued", "running")
ENDED = ("done", "failed", "cancelled", "interrupted")

_SWEEPS = f"""CREATE TABLE IF NOT EXISTS sweeps (
    id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN {STATUSES}),
    reason TEXT, progress REAL NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    message TEXT, analysis TEXT, timings TEXT NOT NULL DEFAULT '{{}}',
    pid INTEGER, hostname TEXT, heartbeat REAL, started_at REAL)"""
_RUNS = f"""CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, leak REAL NOT NULL, seed INTEGER NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN {STATUSES}),
    reason TEXT, metrics TEXT NOT NULL DEFAULT '{{}}',
    loss_history TEXT NOT NULL DEFAULT '[]', timings TEXT NOT NULL DEFAULT '{{}}',
    created_at REAL NOT NULL, updated_at REAL NOT NULL)"""
# Saved comparisons (runs/comparisons.py): JSON columns names, dims, config, result; the
# arrays are files under artefacts/comparisons/<id>/, written before the row.
COMPARISONS_DDL = """CREATE TABLE IF NOT EXISTS comparisons (
    id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    names TEXT NOT NULL, n_rows INTEGER NOT NULL, dims TEXT NOT NULL,
    has_factors INTEGER NOT NULL DEFAULT 0, has_labels INTEGER NOT NULL DEFAULT 0,
    config TEXT NOT NULL, result TEXT NOT NULL)"""
_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    _SWEEPS,
    _RUNS,
    "CREATE UNIQUE INDEX IF NOT EXISTS runs_by_sweep ON runs (sweep_id, idx)",
)


class StoreError(RuntimeError):
    """A run store that cannot be used, or an id that is not in it.

    ``message`` says what is wrong without any server path (safe to show in a web page);
    ``str(err)`` adds the path, for the command line and logs.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None) -> None:
        self.message, self.path = message, None if path is None else str(path)
        super().__init__(message if path is None else f"{message} ({path})")


def connect(path: Path, *, readonly: bool = False, immutable: bool = False) -> sqlite3.Connection:
    """Open a connection in autocommit mode; transactions are explicit (see ``transaction``).

    ``readonly`` opens with ``mode=ro``; ``immutable`` also skips locking and the WAL (for
    read-only media, where SQLite cannot create the ``-shm`` file).
    """
    if readonly or immutable:
        query = "immutable=1" if immutable else "mode=ro"
        conn = sqlite3.connect(f"{path.as_uri()}?{query}", uri=True, timeout=BUSY_TIMEOUT_S,
                               isolation_level=None)
    else:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not (readonly or immutable):
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
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(conn: sqlite3.Connection) -> int | None:
    """The store's schema version; None for an empty database. StoreError when the file is
    a database of something else."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return None
    if "meta" not in tables:
        raise StoreError("the database is not a nearid run store (it has no 'meta' table)")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None or not str(row["value"]).isdigit():
        raise StoreError("the run store's schema version is missing or garbled")
    return int(row["value"])


def check_version(version: int | None) -> None:
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"the run store has schema version {version}; this nearid understands up to "
            f"{SCHEMA_VERSION}: upgrade nearid or point NEARID_HOME elsewhere")


def init_db(path: Path) -> None:
    """Create, check or migrate the database at ``path``; StoreError when it cannot be used."""
    try:
        conn = connect(path)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the run store's database: {exc}", path=path) from None
    try:
        with transaction(conn, write=False):  # refuse a foreign file before changing it
            check_version(schema_version(conn))
        conn.execute("PRAGMA journal_mode = WAL")  # persistent; must be outside a transaction
        with transaction(conn, write=True):
            version = schema_version(conn)
            check_version(version)
            if version == 1:
                _migrate_v1(conn)
            for statement in _DDL:  # v2 -> v3 is the version number alone (see above)
                conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES "
                         "('schema_version', ?)", (str(SCHEMA_VERSION),))
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"the run store's database cannot be used: {exc}", path=path) from None
    finally:
        conn.close()


def _migrate_v1(conn: sqlite3.Connection) -> None:
    """v1 -> v2: status 'interrupted', heartbeat and started_at columns. SQLite cannot
    change a CHECK constraint in place, so both tables are rebuilt (one transaction)."""
    conn.execute("PRAGMA defer_foreign_keys = ON")
    for table, ddl, extra in (("sweeps", _SWEEPS, ", NULL, NULL"), ("runs", _RUNS, "")):
        conn.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
        conn.execute(ddl)
        conn.execute(f"INSERT INTO {table} SELECT *{extra} FROM {table}_v1")
    conn.execute("DROP TABLE runs_v1")
    conn.execute("DROP TABLE sweeps_v1")
    conn.execute("DROP INDEX IF EXISTS runs_by_sweep")


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
    except OverflowError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS) or raced with exit: assume alive, the safe side
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def owner_gone(row: sqlite3.Row | dict, host: str, now: float) -> str | None:
    """Why a running sweep's owner is gone (a reason for the store), or None if it lives.

    On this host a dead pid decides at once; anywhere, a heartbeat older than STALE_S does
    (a recycled pid or a frozen process never refreshes it).
    """
    pid, beat = row["pid"], row["heartbeat"]
    if row["hostname"] == host and pid is not None and not pid_alive(int(pid)):
        return f"interrupted: its process {pid} ended without finishing (killed or crashed)"
    if beat is not None and now - beat > STALE_S:
        return (f"interrupted: its process {pid} on {row['hostname']} stopped reporting "
                f"{now - beat:.0f} s ago")
    return None


# ---------------------------------------------------------------- rows


def resolve_id(c: sqlite3.Connection, table: str, key: str) -> str:
    """The full id in ``table`` given an id or a unique prefix; StoreError otherwise."""
    kind = table[:-1]
    if not isinstance(key, str) or not key:
        raise StoreError(f"no {kind} id given (got {key!r})")
    if c.execute(f"SELECT 1 FROM {table} WHERE id = ?", (key,)).fetchone():
        return key
    rows = c.execute(
        f"SELECT id FROM {table} WHERE substr(id, 1, length(?)) = ? LIMIT 2", (key, key),
    ).fetchall()
    if len(rows) > 1:
        raise StoreError(f"{kind} id prefix {key!r} is ambiguous; give more characters")
    if not rows:
        shown = key if len(key) <= 40 else key[:40] + "…"
        raise StoreError(f"no {kind} with id {shown!r} in the store")
    return rows[0]["id"]


def update_row(c: sqlite3.Connection, table: str, row_id: str, **fields: Any) -> None:
    """Set ``fields`` and ``updated_at`` on one row; StoreError if the id is unknown."""
    sets = ", ".join(f"{k} = ?" for k in fields)
    cur = c.execute(
        f"UPDATE {table} SET {sets}, updated_at = ? WHERE id = ?",
        (*fields.values(), time.time(), row_id),
    )
    if cur.rowcount == 0:
        raise StoreError(f"no {table[:-1]} with id {row_id!r} in the store")


def end_sweep(c: sqlite3.Connection, sweep_id: str, status: str, reason: str | None,
              *, expect: tuple[str, ...] = LIVE, runs_too: bool = True, **fields: Any) -> bool:
    """Compare-and-set: move a sweep whose status is in ``expect`` to ``status`` (and its
    live runs too, with the same reason); False, changing nothing, when it was not."""
    now, marks = time.time(), ", ".join("?" * len(expect))
    sets = "".join(f", {k} = ?" for k in fields)
    cur = c.execute(
        f"UPDATE sweeps SET status = ?, reason = ?, updated_at = ?{sets}"
        f" WHERE id = ? AND status IN ({marks})",
        (status, reason, now, *fields.values(), sweep_id, *expect))
    if cur.rowcount == 0:
        return False
    if runs_too:
        c.execute("UPDATE runs SET status = ?, reason = ?, updated_at = ? WHERE sweep_id = ?"
                  " AND status IN (?, ?)", (status, reason, now, sweep_id, *LIVE))
    return True


def incomplete_submissions(c: sqlite3.Connection) -> list[str]:
    """Queued sweeps whose runs do not match their config's grid (a submission cut short
    by an older nearid, which wrote the sweep and its runs in separate transactions)."""
    bad = []
    for row in c.execute("SELECT id, config FROM sweeps WHERE status = 'queued'").fetchall():
        n = c.execute("SELECT COUNT(*) FROM runs WHERE sweep_id = ?", (row["id"],)).fetchone()[0]
        try:
            cfg = json.loads(row["config"])
            # A study (runs.study_jobs) is one row with no runs.
            want = 0 if "study" in cfg else len(cfg.get("leaks", ())) * int(cfg.get("seeds", 0))
        except (ValueError, TypeError, AttributeError):
            want = -1
        if n != want:
            bad.append(row["id"])
    return bad


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
    kind = out["config"].get("study", "sweep") if isinstance(out["config"], dict) else "sweep"
    return out | {"run_counts": counts, "n_runs": sum(counts.values()), "kind": kind}


def run_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A runs row as a plain dict with decoded JSON; ``idx`` becomes ``index``."""
    out = dict(row)
    out["index"] = out.pop("idx")
    for key in ("config", "metrics", "loss_history", "timings"):
        out[key] = loads(out[key])
    return out
