"""Owner liveness for :class:`nearid_core.runs.store.RunStore`: heartbeats, judging dead
owners on every read, and ``recover``.

A running sweep belongs to the process that runs it. That process refreshes the sweep's
heartbeat every second; any reader marks the sweep ``interrupted`` as soon as its owner's
pid has ended on this host, or its heartbeat is older than ``STALE_S`` on any host.
Nothing here is meant to be used except through ``RunStore``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nearid_core.engine.lifecycle import Interrupted, reason_of
from nearid_core.runs._files import remove_stale_temp_files
from nearid_core.runs._sqlite import (
    HEARTBEAT_S,
    LIVE,
    StoreError,
    end_sweep,
    incomplete_submissions,
    owner_gone,
)


class OwnerLiveness:
    """Liveness methods; the class using it provides ``_read``, ``_write``, ``close``,
    ``readonly``, ``artefacts_dir``, ``_host`` and ``finish_sweep``."""

    _gone: dict[str, str] = {}

    @contextmanager
    def heartbeat(self, sweep_id: str, every_s: float = HEARTBEAT_S) -> Iterator[None]:
        """While inside, a thread refreshes the sweep's heartbeat: proof the owner lives."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(every_s):
                try:
                    with self._write() as c:
                        c.execute("UPDATE sweeps SET heartbeat = ? WHERE id = ? AND pid = ?",
                                  (time.time(), sweep_id, os.getpid()))
                except StoreError:
                    pass  # a busy or full disk: the next beat tries again
            self.close()

        thread = threading.Thread(target=beat, name=f"nearid-heartbeat-{sweep_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    @contextmanager
    def owned(self, sweep_id: str) -> Iterator[None]:
        """Inside: this process owns the running sweep (or study) and its heartbeat runs; an
        error ends it ``failed`` with the reason, a signal (KeyboardInterrupt,
        ``lifecycle.Interrupted``) ``interrupted``, and the exception is re-raised."""
        try:
            with self.heartbeat(sweep_id):
                yield
        except (KeyboardInterrupt, Interrupted) as err:
            self.finish_sweep(sweep_id, "interrupted", reason=reason_of(err))
            raise
        except BaseException as err:
            self.finish_sweep(sweep_id, "failed", reason=f"{type(err).__name__}: {err}")
            raise

    def recover(self) -> dict[str, Any]:
        """Settle what dead processes left behind; a no-op on a read-only store.

        Returns
        -------
        dict
            ``sweeps``: ids marked ``interrupted`` (owner gone) or ``failed`` (a queued
            sweep whose submission was cut short); ``runs``: run ids so marked;
            ``temp_files_removed``: count of half-written files of dead writers.
        """
        if self.readonly:
            return {"sweeps": [], "runs": [], "temp_files_removed": 0}
        sweeps, runs = self._reap()
        with self._write() as c:
            for sid in incomplete_submissions(c):
                live = c.execute("SELECT id FROM runs WHERE sweep_id = ?", (sid,)).fetchall()
                end_sweep(c, sid, "failed", "its submission was cut short (runs missing)")
                sweeps.append(sid)
                runs += [r["id"] for r in live]
        removed = remove_stale_temp_files(self.artefacts_dir) if self.artefacts_dir.exists() else 0
        return {"sweeps": sweeps, "runs": runs, "temp_files_removed": removed}

    def _reap(self, only: str | None = None) -> tuple[list[str], list[str]]:
        """Mark sweeps (and their live runs) whose owner is gone ``interrupted``."""
        query = ("SELECT id, status, pid, hostname, heartbeat FROM sweeps WHERE (status ="
                 " 'running' OR id IN (SELECT sweep_id FROM runs WHERE status IN (?, ?)))"
                 " AND pid IS NOT NULL")
        args: tuple = LIVE
        if only is not None:
            query, args = query + " AND id = ?", (*LIVE, only)
        with self._read() as c:
            rows = c.execute(query, args).fetchall()
        now = time.time()
        gone = [(r, why) for r in rows if (why := owner_gone(r, self._host, now))]
        if not gone or self.readonly:
            self._gone = {r["id"]: why for r, why in gone}  # shown by readers, not written
            return [], []
        try:
            return self._mark_gone(gone, now)
        except StoreError:  # e.g. a full disk: readers still see the truth
            self._gone = {r["id"]: why for r, why in gone}
            return [], []

    def _mark_gone(self, gone: list, now: float) -> tuple[list[str], list[str]]:
        sweeps, runs = [], []
        with self._write() as c:
            for r, why in gone:
                live = c.execute("SELECT id FROM runs WHERE sweep_id = ? AND status IN (?, ?)",
                                 (r["id"], *LIVE)).fetchall()
                if r["status"] == "running":
                    end_sweep(c, r["id"], "interrupted", why, expect=("running",))
                else:  # ended (e.g. cancelled) while its owner still had runs in hand
                    c.execute("UPDATE runs SET status = 'interrupted', reason = ?, updated_at"
                              " = ? WHERE sweep_id = ? AND status IN (?, ?)",
                              (why, now, r["id"], *LIVE))
                sweeps.append(r["id"])
                runs += [x["id"] for x in live]
        self._gone = {}
        return sweeps, runs

    def _truthful(self, d: dict[str, Any]) -> dict[str, Any]:
        why = getattr(self, "_gone", {}).get(d["id"])
        if why and d["status"] == "running":  # read-only store: shown, not written
            d = d | {"status": "interrupted", "reason": why}
        return d

