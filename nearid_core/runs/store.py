"""Persistent run store: sweeps and runs in an embedded SQLite database, artefacts as files.

Layout under the store home (``$NEARID_HOME``, else ``./.nearid/``)::

    nearid.sqlite                              meta, sweeps, runs, comparisons (WAL mode)
    artefacts/<sweep_id>/<name>.npz            sweep-level arrays (e.g. held-out data)
    artefacts/<sweep_id>/<run_id>/<name>.npz   run arrays; state_dict.pt for weights
    artefacts/comparisons/<id>/arrays.npz      saved comparisons (``runs/comparisons.py``)

Every method is one short transaction on a connection owned by the calling thread, so a
worker process can write while app threads read. Files are written atomically (temp file,
fsync, ``os.replace``): a killed writer leaves the previous file or none, never half a file.
Status changes are compare-and-set, so a cancel or an interruption is never overwritten,
and every read judges whether a running sweep's owner is still alive (pid on this host,
heartbeat anywhere): a dead owner's sweep reads as ``interrupted`` at once.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nearid_core.engine import faults
from nearid_core.runs._artefacts import ArtefactFiles
from nearid_core.runs._files import DamagedArtefact
from nearid_core.runs._liveness import OwnerLiveness
from nearid_core.runs._open import ARTEFACTS, DB_NAME, open_store
from nearid_core.runs._sqlite import (
    ENDED,
    LIVE,
    SCHEMA_VERSION,
    STATUSES,
    StoreError,
    append_losses,
    check_progress,
    check_status,
    connect,
    dumps,
    end_sweep,
    incomplete_submissions,
    resolve_id,
    run_counts,
    run_dict,
    sweep_dict,
    transaction,
    update_row,
)
from nearid_core.runs.comparisons import remove_orphans

__all__ = ["DB_NAME", "ENDED", "LIVE", "SCHEMA_VERSION", "STATUSES", "DamagedArtefact",
           "RunStore", "StoreError", "TRAINED_PROGRESS", "default_home"]

# A sweep's progress once every model is trained; its analysis runs from here to done.
TRAINED_PROGRESS = 0.9
_inherited: list[sqlite3.Connection] = []  # connections copied by fork: never close them
_HOST = socket.gethostname()


def default_home() -> Path:
    """The store home: ``$NEARID_HOME`` if set and non-empty, else ``./.nearid``."""
    return Path(os.environ.get("NEARID_HOME") or ".nearid")


class RunStore(ArtefactFiles, OwnerLiveness):
    """Sweeps, runs, metrics and artefacts of nearid experiments.

    Parameters
    ----------
    home : str or Path, optional
        Store directory, created if missing. Default: ``default_home()``.
    readonly : bool, optional
        Open without writing anything; default: read-only exactly when the folder cannot be
        written (read-only media, permissions). Writes then raise StoreError.

    Notes
    -----
    Safe for many threads and processes on one host (SQLite WAL, 30 s busy timeout). Not
    for network file systems. Every way a store can be unusable (a file instead of a
    folder, not a database, a newer schema, an empty database beside saved artefacts)
    raises StoreError here, never later. Statuses: ``queued, running, done, failed,
    cancelled, interrupted``; the process that runs a sweep owns it and keeps its heartbeat.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *,
                 readonly: bool | None = None) -> None:
        self.home = Path(home if home is not None else default_home()).absolute()
        self.db_path = self.home / DB_NAME
        self.artefacts_dir = self.home / ARTEFACTS
        self._local = threading.local()
        self._host = _HOST
        self.readonly, self._immutable = open_store(self.home, readonly)

    def __reduce__(self) -> tuple[type[RunStore], tuple[Path]]:
        return (RunStore, (self.home,))  # picklable for spawned worker processes

    def recover(self) -> dict[str, Any]:
        """Settle what dead processes left behind (see ``OwnerLiveness.recover``); the
        folders of comparisons whose save was killed before its row count as half-written
        files in ``temp_files_removed``."""
        out = super().recover()
        if not self.readonly:
            out["temp_files_removed"] += remove_orphans(self)
        return out

    def change_token(self) -> tuple[int, ...]:
        """Changes whenever any process commits to the store; costs two ``stat`` calls.

        For pollers (the app's live progress): read the store again only when this moved.
        Every commit of a WAL database appends to its ``-wal`` file, and a checkpoint
        rewrites the database file, so their sizes and modification times move together.
        """
        token: list[int] = []
        for path in (self.db_path, self.db_path.with_name(self.db_path.name + "-wal")):
            try:
                st = path.stat()
                token += [st.st_mtime_ns, st.st_size, st.st_ino]
            except OSError:
                token += [0, 0, 0]
        return tuple(token)

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the calling thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.__dict__.clear()

    def _conn(self) -> sqlite3.Connection:
        # One connection per thread and process, kept open: closing the last connection to
        # a WAL database checkpoints it, which would make every small write cost an fsync.
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            if getattr(local, "conn", None) is not None:
                _inherited.append(local.conn)
            local.conn = connect(self.db_path, readonly=self.readonly and not self._immutable,
                                 immutable=self._immutable)
            local.pid = os.getpid()
        return local.conn

    @contextmanager
    def _tx(self, write: bool) -> Iterator[sqlite3.Connection]:
        if write and self.readonly:
            raise StoreError("the run store is read-only here: it can be listed, shown and "
                             "exported, not changed", path=self.home)
        try:
            with transaction(self._conn(), write=write) as c:
                yield c
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:  # damaged file, disk full, I/O error
            raise StoreError(f"the run store's database failed: {exc}", path=self.db_path) from None

    def _write(self):
        return self._tx(True)

    def _read(self):
        return self._tx(False)

    # ---------------------------------------------------------------- writing rows

    def create_sweep(self, config: dict, *, name: str = "", runs: list[dict] | None = None,
                     claim: bool = False) -> str:
        """Add a sweep with its config and runs in one transaction; return its 12-hex id.

        ``runs``: dicts with ``index, leak, seed, config``. ``claim``: the sweep starts
        ``running``, owned by this process (a command that runs what it submits), else
        ``queued`` for a runner.
        """
        sweep_id, now = uuid.uuid4().hex[:12], time.time()
        status = "running" if claim else "queued"
        rows = [(uuid.uuid4().hex[:12], sweep_id, int(r["index"]), float(r["leak"]),
                 int(r["seed"]), dumps(r["config"], what="config"), status, now, now)
                for r in runs or ()]
        with self._write() as c:
            c.execute(
                "INSERT INTO sweeps (id, name, created_at, updated_at, config, status, pid,"
                " hostname, heartbeat, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sweep_id, name, now, now, dumps(config, what="config"), status, os.getpid(),
                 _HOST, now if claim else None, now if claim else None))
            faults.checkpoint("submission")  # test hook: a kill inside the transaction
            c.executemany(
                "INSERT INTO runs (id, sweep_id, idx, leak, seed, config, status, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return sweep_id

    def add_run(self, sweep_id: str, *, index: int, leak: float, seed: int, config: dict) -> str:
        """Add a ``queued`` run to a sweep; return its id. ``index`` is unique per sweep."""
        run_id, now = uuid.uuid4().hex[:12], time.time()
        try:
            with self._write() as c:
                c.execute(
                    "INSERT INTO runs (id, sweep_id, idx, leak, seed, config, status,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                    (run_id, sweep_id, int(index), float(leak), int(seed),
                     dumps(config, what="config"), now, now),
                )
        except sqlite3.IntegrityError as exc:
            if "FOREIGN KEY" in str(exc):
                raise StoreError(f"no sweep with id {sweep_id!r} in the store") from None
            raise ValueError(f"run index {index} already exists in sweep {sweep_id}") from exc
        return run_id

    def set_sweep_status(self, sweep_id: str, status: str, *, reason: str | None = None,
                         progress: float | None = None, message: str | None = None,
                         timings: dict | None = None) -> None:
        """Set a sweep's fields unconditionally (an administrative setter; jobs use the
        compare-and-set ``start_sweep`` / ``finish_sweep``). ``done`` implies progress 1;
        ``running`` records this process as the owner."""
        fields: dict[str, Any] = {"status": check_status(status), "reason": reason}
        if progress is not None or status == "done":
            fields["progress"] = check_progress(1.0 if progress is None else progress)
        if message is not None:
            fields["message"] = message
        if timings is not None:
            fields["timings"] = dumps(timings, what="timings")
        if status == "running":
            fields.update(pid=os.getpid(), hostname=_HOST, heartbeat=time.time())
        with self._write() as c:
            update_row(c, "sweeps", sweep_id, **fields)

    def start_sweep(self, sweep_id: str, *, message: str = "starting") -> bool:
        """Compare-and-set ``queued -> running`` with this process as the owner (runs too);
        True also when this process already owns it running, False otherwise."""
        now = time.time()
        with self._write() as c:
            row = c.execute("SELECT status, pid, hostname FROM sweeps WHERE id = ?",
                            (sweep_id,)).fetchone()
            if row is None:
                raise StoreError(f"no sweep with id {sweep_id!r} in the store")
            if row["status"] == "running":
                return row["pid"] == os.getpid() and row["hostname"] == _HOST
            ok = end_sweep(c, sweep_id, "running", None, expect=("queued",), pid=os.getpid(),
                           hostname=_HOST, heartbeat=now, started_at=now, progress=0.0,
                           message=message)
            return ok

    def finish_sweep(self, sweep_id: str, status: str, *, reason: str | None = None,
                     message: str | None = None, timings: dict | None = None) -> bool:
        """Compare-and-set ``running -> status``; its live runs end with the same status
        unless it is ``done``. False (nothing changed) when the sweep was no longer running,
        e.g. cancelled meanwhile."""
        fields: dict[str, Any] = {"progress": 1.0} if status == "done" else {}
        if message is not None:
            fields["message"] = message
        if timings is not None:
            fields["timings"] = dumps(timings, what="timings")
        with self._write() as c:
            return end_sweep(c, sweep_id, check_status(status), reason, expect=("running",),
                             runs_too=status != "done", **fields)

    def claim_queued_sweep(self) -> str | None:
        """Atomically take the oldest ``queued`` sweep for this process (status ``running``);
        None when nothing is queued. Two runners never claim the same sweep."""
        for _ in range(3):
            with self._write() as c:
                bad = incomplete_submissions(c)
                for sid in bad:
                    end_sweep(c, sid, "failed", "its submission was cut short (runs missing)")
                row = c.execute("SELECT id FROM sweeps WHERE status = 'queued' "
                                "ORDER BY created_at, rowid LIMIT 1").fetchone()
            if row is None:
                return None
            if self.start_sweep(row["id"]):
                return row["id"]
        return None

    def request_cancel(self, sweep_id: str, *, reason: str = "cancelled by the user") -> bool:
        """Mark a queued or running sweep ``cancelled`` (its owner stops at its next check
        and records what it finished); False when it had already ended."""
        with self._write() as c:
            sid = resolve_id(c, "sweeps", sweep_id)
            status = c.execute("SELECT status FROM sweeps WHERE id = ?", (sid,)).fetchone()[0]
            return end_sweep(c, sid, "cancelled", reason, runs_too=status == "queued")

    def set_run_status(self, run_id: str, status: str, *, reason: str | None = None) -> None:
        """Set a run's status and ``reason`` (None clears it)."""
        with self._write() as c:
            update_row(c, "runs", run_id, status=check_status(status), reason=reason)

    def set_runs_progress(self, sweep_id: str, progress: float, losses: dict[str, float], *,
                          message: str | None = None) -> bool:
        """Append one loss per run to its ``loss_history`` and set the sweep's progress.

        Parameters
        ----------
        sweep_id : str
            The sweep the runs belong to (exact id).
        progress : float
            Fraction of the sweep done, in [0, 1].
        losses : dict of str to float
            Run id -> current training loss; NaN and inf are stored as such.
        message : str, optional
            Replaces the sweep's progress message when given.

        Returns
        -------
        bool
            False (nothing written) when the sweep is no longer running.

        Notes
        -----
        One transaction (all or nothing), about 0.2 ms for ten runs: cheap enough for every
        few hundred training steps. Unknown or foreign run ids raise StoreError.
        """
        fields: dict[str, Any] = {"progress": check_progress(progress)}
        if message is not None:
            fields["message"] = message
        now = time.time()
        with self._write() as c:
            row = c.execute("SELECT status FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
            if row is None:
                raise StoreError(f"no sweep with id {sweep_id!r} in the store")
            if row["status"] != "running":
                return False
            for run_id, loss in losses.items():
                run = c.execute("SELECT loss_history FROM runs WHERE id = ? AND sweep_id = ?",
                                (run_id, sweep_id)).fetchone()
                if run is None:
                    raise StoreError(f"no run {run_id!r} in sweep {sweep_id!r}")
                c.execute("UPDATE runs SET loss_history = ?, updated_at = ? WHERE id = ?",
                          (append_losses(run["loss_history"], float(loss)), now, run_id))
            update_row(c, "sweeps", sweep_id, **fields)
            return True

    def set_run_result(self, run_id: str, *, metrics: dict, timings: dict | None = None,
                       status: str = "done", reason: str | None = None) -> None:
        """Store a run's metrics (and timings) and set its status, ``done`` by default."""
        fields = {"status": check_status(status), "reason": reason,
                  "metrics": dumps(metrics, what="metrics")}
        if timings is not None:
            fields["timings"] = dumps(timings, what="timings")
        with self._write() as c:
            update_row(c, "runs", run_id, **fields)

    def set_sweep_analysis(self, sweep_id: str, analysis: dict) -> None:
        """Store the sweep-level analysis (replacing any previous one)."""
        with self._write() as c:
            update_row(c, "sweeps", sweep_id, analysis=dumps(analysis, what="analysis"))

    def rename_sweep(self, sweep_id: str, name: str) -> None:
        """Set a sweep's name (any status); ValueError past 200 characters."""
        if not isinstance(name, str) or len(name) > 200 or not name.isprintable():
            raise ValueError("a sweep name must be at most 200 printable characters")
        with self._write() as c:
            update_row(c, "sweeps", resolve_id(c, "sweeps", sweep_id), name=name.strip())

    def delete_sweep(self, sweep_id: str) -> None:
        """Delete an ended sweep (id or unique prefix), its runs and its artefact files.

        A queued or running sweep is refused with StoreError: cancel it first.
        """
        self._reap()
        with self._write() as c:
            sweep_id = resolve_id(c, "sweeps", sweep_id)
            status = c.execute("SELECT status FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()[0]
            if status in LIVE:
                raise StoreError(f"sweep {sweep_id} is {status}: cancel it first "
                                 f"(python -m nearid_core cancel {sweep_id}), then delete it")
            c.execute("DELETE FROM sweeps WHERE id = ?", (sweep_id,))  # runs cascade
        # Rows first: a crash in between leaves orphan files, never rows without files.
        shutil.rmtree(self.artefacts_dir / sweep_id, ignore_errors=True)

    # ---------------------------------------------------------------- reading rows

    def get_sweep(self, sweep_id: str) -> dict[str, Any]:
        """One sweep (id or unique prefix) as a dict; see ``list_sweeps`` for the keys."""
        with self._read() as c:
            sid = resolve_id(c, "sweeps", sweep_id)
        self._reap(sid)
        with self._read() as c:
            row = c.execute("SELECT * FROM sweeps WHERE id = ?", (sid,)).fetchone()
            return self._truthful(sweep_dict(row, run_counts(c, row["id"])))

    def list_sweeps(self, kind: str | None = "sweep") -> list[dict[str, Any]]:
        """Sweeps, newest first. Keys: ``id, name, created_at, updated_at, config,
        status, reason, progress, message, analysis, timings, pid, hostname, heartbeat,
        started_at, run_counts`` (runs per status, every status present), ``n_runs`` and
        ``kind``. A running sweep whose owner is gone is returned (and stored) as
        ``interrupted``.

        ``kind``: "sweep" (the default) lists leak × seed sweeps only; a study name
        ("disentangle", "batch"; see ``runs.study_jobs``) lists those studies; "study" every
        study; None everything the table holds.
        """
        where = {"sweep": " WHERE json_extract(config, '$.study') IS NULL",
                 "study": " WHERE json_extract(config, '$.study') IS NOT NULL",
                 None: ""}.get(kind, " WHERE json_extract(config, '$.study') = ?")
        args = (kind,) if kind not in ("sweep", "study", None) else ()
        self._reap()
        with self._read() as c:
            rows = c.execute(f"SELECT * FROM sweeps{where} ORDER BY created_at DESC, rowid DESC",
                             args)
            return [self._truthful(sweep_dict(row, run_counts(c, row["id"])))
                    for row in rows.fetchall()]

    def list_runs(self, sweep_id: str) -> list[dict[str, Any]]:
        """The runs of a sweep (id or unique prefix) ordered by index; keys as ``get_run``."""
        with self._read() as c:
            rows = c.execute("SELECT * FROM runs WHERE sweep_id = ? ORDER BY idx",
                             (resolve_id(c, "sweeps", sweep_id),)).fetchall()
        return [run_dict(row) for row in rows]

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run (id or unique prefix). Keys: ``id, sweep_id, index, leak, seed, config,
        status, reason, metrics, loss_history, timings, created_at, updated_at``."""
        with self._read() as c:
            row = c.execute("SELECT * FROM runs WHERE id = ?",
                            (resolve_id(c, "runs", run_id),)).fetchone()
        return run_dict(row)
