"""Export a stored sweep to one ``.npz`` file that loads with ``allow_pickle=False``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ._files import atomic_write
from .store import RunStore


def sweep_arrays(store: RunStore, sweep_id: str) -> dict[str, np.ndarray]:
    """Every array of a sweep, flat, with configs as JSON text (unicode arrays).

    Keys: ``x_test`` (n, d_x), ``u_test`` (n, d_u), ``test_idx`` (n,), ``leaks``, ``seeds``,
    ``status`` (M,), ``sweep_config_json``, ``analysis_json``, and per model ``k``:
    ``run{k}_latents`` (n, d_z), ``run{k}_ica_latents`` (after analysis), ``run{k}_b``,
    ``run{k}_distortion`` (n,), ``run{k}_loss_history`` and ``run{k}_config_json``.
    """
    sweep = store.get_sweep(sweep_id)
    runs = store.list_runs(sweep["id"])
    out = dict(store.load_sweep_arrays(sweep["id"], "data"))
    out["leaks"] = np.array([r["leak"] for r in runs])
    out["seeds"] = np.array([r["seed"] for r in runs])
    out["status"] = np.array([r["status"] for r in runs])
    out["sweep_config_json"] = np.array(json.dumps(sweep["config"]))
    out["analysis_json"] = np.array(json.dumps(sweep["analysis"]))
    for r in runs:
        k, names = r["index"], store.list_arrays(r["id"])
        if "heldout" in names:
            held = store.load_arrays(r["id"], "heldout")
            for key in ("latents", "b", "distortion", "loss_history"):
                out[f"run{k}_{key}"] = held[key]
        if "ica" in names:
            out[f"run{k}_ica_latents"] = store.load_arrays(r["id"], "ica")["latents"]
        meta = {kk: r[kk] for kk in ("id", "leak", "seed", "status", "reason", "metrics")}
        out[f"run{k}_config_json"] = np.array(json.dumps(meta))
    return out


def export_npz(store: RunStore, sweep_id: str, path: str | os.PathLike) -> int:
    """Write ``sweep_arrays`` to ``path`` atomically; return the number of runs."""
    arrays = sweep_arrays(store, sweep_id)
    atomic_write(Path(path), lambda fh: np.savez_compressed(fh, **arrays))
    return len(arrays["leaks"])
