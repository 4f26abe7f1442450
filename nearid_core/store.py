"""Persistent run store: sweeps and runs in an embedded SQLite database, artefacts as files.

Layout under the store home (``$NEARID_HOME``, else ``./.nearid/``)::

    nearid.sqlite                              meta, sweeps, runs (WAL mode)
    artefacts/<sweep_id>/<name>.npz            sweep-level arrays (e.g. held-out data)
    artefacts/<sweep_id>/<run_id>/<name>.npz   run arrays; state_dict.pt for weights

Every method is one short transaction on a connection owned by the calling thread, so a
worker process can write while app threads read. Files are written atomically (temp file,
fsync, ``os.replace``): a killed writer leaves the previous file or none, never half a file.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from nearid_core._sqlite import (
    SCHEMA_VERSION,
    STATUSES,
    StoreError,
    append_losses,
    atomic_write,
    check_progress,
    check_status,
    connect,
    dumps,
    fail_dead_owners,
    init_db,
    list_npz,
    load_npz,
    remove_stale_temp_files,
    resolve_id,
    run_counts,
    run_dict,
    save_npz,
    sweep_dict,
    transaction,
    update_row,
)

__all__ = ["DB_NAME", "SCHEMA_VERSION", "STATUSES", "RunStore", "StoreError", "default_home"]

DB_NAME = "nearid.sqlite"
_STATE_DICT = "state_dict.pt"
_inherited: list[sqlite3.Connection] = []  # connections copied by fork: never close them


def default_home() -> Path:
    """The store home: ``$NEARID_HOME`` if set and non-empty, else ``./.nearid``."""
    return Path(os.environ.get("NEARID_HOME") or ".nearid")


class RunStore:
    """Sweeps, runs, metrics and artefacts of nearid experiments.

    Parameters
    ----------
    home : str or Path, optional
        Store directory, created if missing. Default: ``default_home()``.

    Notes
    -----
    Safe for many threads and processes on one host (SQLite WAL, 30 s busy timeout). Not
    for network file systems. Status values are ``queued, running, done, failed,
    cancelled``; the process that sets a sweep ``running`` becomes its owner for
    ``recover``.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = Path(home if home is not None else default_home()).resolve()
        self.home.mkdir(parents=True, exist_ok=True)
        self.db_path = self.home / DB_NAME
        self.artefacts_dir = self.home / "artefacts"
        self._local = threading.local()
        init_db(self.db_path)

    def __reduce__(self) -> tuple[type[RunStore], tuple[Path]]:
        return (RunStore, (self.home,))  # picklable for spawned worker processes

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
            local.conn, local.pid = connect(self.db_path), os.getpid()
        return local.conn

    def _write(self):
        return transaction(self._conn(), write=True)

    def _read(self):
        return transaction(self._conn(), write=False)

    def _resolve(self, c: sqlite3.Connection, table: str, key: str) -> str:
        return resolve_id(c, table, key, self.home)

    def _update(self, c: sqlite3.Connection, table: str, row_id: str, **fields: Any) -> None:
        update_row(c, table, row_id, self.home, **fields)

    # ---------------------------------------------------------------- writing rows

    def create_sweep(self, config: dict, *, name: str = "") -> str:
        """Add a ``queued`` sweep with its config; return its 12-hex-digit id."""
        sweep_id, now = uuid.uuid4().hex[:12], time.time()
        with self._write() as c:
            c.execute(
                "INSERT INTO sweeps (id, name, created_at, updated_at, config, status, pid,"
                " hostname) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
                (sweep_id, name, now, now, dumps(config, what="config"), os.getpid(),
                 socket.gethostname()),
            )
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
                msg = f"no sweep with id {sweep_id!r} in the store at {self.home}"
                raise StoreError(msg) from None
            raise ValueError(f"run index {index} already exists in sweep {sweep_id}") from exc
        return run_id

    def set_sweep_status(self, sweep_id: str, status: str, *, reason: str | None = None,
                         progress: float | None = None, message: str | None = None,
                         timings: dict | None = None) -> None:
        """Set a sweep's status and ``reason`` (None clears it); other fields change only when
        given. ``done`` implies progress 1; ``running`` records this process as the owner."""
        fields: dict[str, Any] = {"status": check_status(status), "reason": reason}
        if progress is not None or status == "done":
            fields["progress"] = check_progress(1.0 if progress is None else progress)
        if message is not None:
            fields["message"] = message
        if timings is not None:
            fields["timings"] = dumps(timings, what="timings")
        if status == "running":
            fields.update(pid=os.getpid(), hostname=socket.gethostname())
        with self._write() as c:
            self._update(c, "sweeps", sweep_id, **fields)

    def claim_queued_sweep(self) -> str | None:
        """Atomically take the oldest ``queued`` sweep for this process (status ``running``);
        None when nothing is queued. Two runners never claim the same sweep."""
        with self._write() as c:
            row = c.execute("SELECT id FROM sweeps WHERE status = 'queued' "
                            "ORDER BY created_at LIMIT 1").fetchone()
            if row is None:
                return None
            self._update(c, "sweeps", row["id"], status="running", reason=None,
                         pid=os.getpid(), hostname=socket.gethostname())
            return row["id"]

    def request_cancel(self, sweep_id: str, *, reason: str = "cancelled by the user") -> bool:
        """Mark a queued or running sweep ``cancelled`` (its runner stops at its next check);
        False when it had already ended."""
        with self._write() as c:
            sid = self._resolve(c, "sweeps", sweep_id)
            status = c.execute("SELECT status FROM sweeps WHERE id = ?", (sid,)).fetchone()[0]
            if status not in ("queued", "running"):
                return False
            self._update(c, "sweeps", sid, status="cancelled", reason=reason)
            return True

    def set_run_status(self, run_id: str, status: str, *, reason: str | None = None) -> None:
        """Set a run's status and ``reason`` (None clears it)."""
        with self._write() as c:
            self._update(c, "runs", run_id, status=check_status(status), reason=reason)

    def set_runs_progress(self, sweep_id: str, progress: float, losses: dict[str, float], *,
                          message: str | None = None) -> None:
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
            for run_id, loss in losses.items():
                row = c.execute(
                    "SELECT loss_history FROM runs WHERE id = ? AND sweep_id = ?",
                    (run_id, sweep_id),
                ).fetchone()
                if row is None:
                    raise StoreError(f"no run {run_id!r} in sweep {sweep_id!r}")
                c.execute(
                    "UPDATE runs SET loss_history = ?, updated_at = ? WHERE id = ?",
                    (append_losses(row["loss_history"], float(loss)), now, run_id),
                )
            self._update(c, "sweeps", sweep_id, **fields)

    def set_run_result(self, run_id: str, *, metrics: dict, timings: dict | None = None,
                       status: str = "done", reason: str | None = None) -> None:
        """Store a run's metrics (and timings) and set its status, ``done`` by default."""
        fields = {"status": check_status(status), "reason": reason,
                  "metrics": dumps(metrics, what="metrics")}
        if timings is not None:
            fields["timings"] = dumps(timings, what="timings")
        with self._write() as c:
            self._update(c, "runs", run_id, **fields)

    def set_sweep_analysis(self, sweep_id: str, analysis: dict) -> None:
        """Store the sweep-level analysis (replacing any previous one)."""
        with self._write() as c:
            self._update(c, "sweeps", sweep_id, analysis=dumps(analysis, what="analysis"))

    def delete_sweep(self, sweep_id: str) -> None:
        """Delete a sweep (id or unique prefix), its runs and its artefact files."""
        with self._write() as c:
            sweep_id = self._resolve(c, "sweeps", sweep_id)
            c.execute("DELETE FROM sweeps WHERE id = ?", (sweep_id,))  # runs cascade
        # Rows first: a crash in between leaves orphan files, never rows without files.
        shutil.rmtree(self.artefacts_dir / sweep_id, ignore_errors=True)

    def recover(self) -> dict[str, Any]:
        """Fail sweeps and runs left live by a process that has ended; remove its temp files.

        Returns
        -------
        dict
            ``sweeps`` and ``runs``: ids marked ``failed`` with reason
            ``interrupted (process PID ended)``; ``temp_files_removed``: count.

        Notes
        -----
        Only owners on this host are judged. A recycled pid looks alive, so such a sweep
        stays ``running`` (the safe side) until its pid is free again.
        """
        with self._write() as c:
            sweeps, runs = fail_dead_owners(c, socket.gethostname())
        removed = remove_stale_temp_files(self.artefacts_dir) if self.artefacts_dir.exists() else 0
        return {"sweeps": sweeps, "runs": runs, "temp_files_removed": removed}

    # ---------------------------------------------------------------- reading rows

    def get_sweep(self, sweep_id: str) -> dict[str, Any]:
        """One sweep (id or unique prefix) as a dict; see ``list_sweeps`` for the keys."""
        with self._read() as c:
            row = c.execute("SELECT * FROM sweeps WHERE id = ?",
                            (self._resolve(c, "sweeps", sweep_id),)).fetchone()
            return sweep_dict(row, run_counts(c, row["id"]))

    def list_sweeps(self) -> list[dict[str, Any]]:
        """All sweeps, newest first. Keys: ``id, name, created_at, updated_at, config,
        status, reason, progress, message, analysis, timings, pid, hostname, run_counts``
        (runs per status, every status present) and ``n_runs``."""
        with self._read() as c:
            rows = c.execute("SELECT * FROM sweeps ORDER BY created_at DESC, rowid DESC")
            return [sweep_dict(row, run_counts(c, row["id"])) for row in rows.fetchall()]

    def list_runs(self, sweep_id: str) -> list[dict[str, Any]]:
        """The runs of a sweep (id or unique prefix) ordered by index; keys as ``get_run``."""
        with self._read() as c:
            rows = c.execute("SELECT * FROM runs WHERE sweep_id = ? ORDER BY idx",
                             (self._resolve(c, "sweeps", sweep_id),)).fetchall()
        return [run_dict(row) for row in rows]

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run (id or unique prefix). Keys: ``id, sweep_id, index, leak, seed, config,
        status, reason, metrics, loss_history, timings, created_at, updated_at``."""
        with self._read() as c:
            row = c.execute("SELECT * FROM runs WHERE id = ?",
                            (self._resolve(c, "runs", run_id),)).fetchone()
        return run_dict(row)

    # ---------------------------------------------------------------- artefact files

    def _run_dir(self, run_id: str) -> Path:
        with self._read() as c:
            row = c.execute("SELECT id, sweep_id FROM runs WHERE id = ?",
                            (self._resolve(c, "runs", run_id),)).fetchone()
        return self.artefacts_dir / row["sweep_id"] / row["id"]

    def _sweep_dir(self, sweep_id: str) -> Path:
        with self._read() as c:
            return self.artefacts_dir / self._resolve(c, "sweeps", sweep_id)

    def save_arrays(self, run_id: str, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Atomically write ``<name>.npz`` in the run's artefact directory.

        Parameters
        ----------
        run_id : str
            The run (id or unique prefix).
        name : str
            File stem: 1-100 characters from ``[A-Za-z0-9_.-]``, not starting with ``.``.
        arrays : dict of str to ndarray
            Any shapes and numeric/bool/str dtypes, e.g. latents ``(n_samples, n_dims)``;
            object arrays raise ValueError.

        Notes
        -----
        Replaces any previous file of that name; a reader or a crash sees the old file or
        the complete new one, never a partial one. Loaded back bit-for-bit.
        """
        save_npz(self._run_dir(run_id), name, arrays)

    def load_arrays(self, run_id: str, name: str) -> dict[str, np.ndarray]:
        """Load a run's ``<name>.npz`` (exactly as saved); StoreError if it is missing."""
        return load_npz(self._run_dir(run_id), name, f"run {run_id}")

    def list_arrays(self, run_id: str) -> list[str]:
        """Names of a run's complete ``.npz`` artefacts (temp files are never listed)."""
        return list_npz(self._run_dir(run_id))

    def save_sweep_arrays(self, sweep_id: str, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Like ``save_arrays`` for sweep-level data (e.g. held-out samples)."""
        save_npz(self._sweep_dir(sweep_id), name, arrays)

    def load_sweep_arrays(self, sweep_id: str, name: str) -> dict[str, np.ndarray]:
        """Like ``load_arrays`` for sweep-level data."""
        return load_npz(self._sweep_dir(sweep_id), name, f"sweep {sweep_id}")

    def list_sweep_arrays(self, sweep_id: str) -> list[str]:
        """Names of a sweep's complete sweep-level ``.npz`` artefacts."""
        return list_npz(self._sweep_dir(sweep_id))

    def save_state_dict(self, run_id: str, state_dict: dict[str, Any]) -> None:
        """Atomically save a torch ``state_dict`` (tensors only) for a run."""
        import torch  # lazy: the store is used by processes that never touch torch

        atomic_write(self._run_dir(run_id) / _STATE_DICT, lambda f: torch.save(state_dict, f))

    def load_state_dict(self, run_id: str) -> dict[str, Any]:
        """Load a run's ``state_dict`` onto the CPU (``weights_only=True``: no pickled code)."""
        import torch

        path = self._run_dir(run_id) / _STATE_DICT
        if not path.exists():
            raise StoreError(f"run {run_id} has no saved state_dict")
        return torch.load(path, map_location="cpu", weights_only=True)

