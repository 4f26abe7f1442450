"""The artefact-file half of :class:`nearid_core.runs.store.RunStore` (arrays and weights).

Kept apart so that ``store.py`` holds the rows and their state machine; nothing here is
meant to be used except through ``RunStore``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nearid_core.runs._files import atomic_write, list_npz, load_npz, load_torch, save_npz
from nearid_core.runs._sqlite import StoreError, resolve_id

_STATE_DICT = "state_dict.pt"


class ArtefactFiles:
    """Artefact methods; the class using it provides ``_read``, ``artefacts_dir``,
    ``home`` and ``readonly``."""

    def _run_dir(self, run_id: str) -> Path:
        with self._read() as c:
            row = c.execute("SELECT id, sweep_id FROM runs WHERE id = ?",
                            (resolve_id(c, "runs", run_id),)).fetchone()
        return self.artefacts_dir / row["sweep_id"] / row["id"]

    def _sweep_dir(self, sweep_id: str) -> Path:
        with self._read() as c:
            return self.artefacts_dir / resolve_id(c, "sweeps", sweep_id)

    def _check_writable(self) -> None:
        if self.readonly:
            raise StoreError("the run store is read-only here", path=self.home)

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
        self._check_writable()
        save_npz(self._run_dir(run_id), name, arrays)

    def load_arrays(self, run_id: str, name: str) -> dict[str, np.ndarray]:
        """Load a run's ``<name>.npz`` (exactly as saved); StoreError if it is missing,
        DamagedArtefact if it cannot be read."""
        return load_npz(self._run_dir(run_id), name, f"run {run_id}")

    def list_arrays(self, run_id: str) -> list[str]:
        """Names of a run's complete ``.npz`` artefacts (temp files are never listed)."""
        return list_npz(self._run_dir(run_id))

    def save_sweep_arrays(self, sweep_id: str, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Like ``save_arrays`` for sweep-level data (e.g. held-out samples)."""
        self._check_writable()
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

        self._check_writable()
        atomic_write(self._run_dir(run_id) / _STATE_DICT, lambda f: torch.save(state_dict, f))

    def load_state_dict(self, run_id: str) -> dict[str, Any]:
        """Load a run's ``state_dict`` onto the CPU (``weights_only=True``: no pickled code);
        StoreError if missing, DamagedArtefact if it cannot be read."""
        return load_torch(self._run_dir(run_id) / _STATE_DICT, f"run {run_id}")
